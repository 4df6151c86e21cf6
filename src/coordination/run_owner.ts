/**
 * RunOwner: who is running a run — the run id and test, and the orchestrator process that
 * runs it (its machine, boot and start time, so a reused pid is not mistaken for it).
 *
 * Containers carry it as labels and the Redis lease stores it as its value, so that a later
 * run can tell whether the run that left something behind is still alive (docs/concurrency.md):
 * on the same machine the process table answers at once and exactly; from another machine only
 * the run's Redis lease can (`src/coordination/redis_lease.ts`).
 */

/** The process that runs a run, and where. */
export interface RunOwner {
  /** The run's id (`tm.run`). */
  runId: string;
  /** The test's name (`tm.test`). */
  test: string;
  /** The orchestrator machine's hostname, for messages. */
  hostname: string;
  /** A stable id of the orchestrator machine (`/etc/machine-id`; the hostname without one). */
  machine: string;
  /** The orchestrator's pid. */
  pid: number;
  /**
   * `<boot id>/<start time in clock ticks>` of that pid (Linux); "" where unknown. With
   * `machine` it names the process exactly: a reused pid has another start time.
   */
  process: string;
}

/** Whether a run's process lives, as far as this machine can see. */
export type ProcessState = "alive" | "dead" | "elsewhere";

/** The owner of a run that this process runs. */
export function currentOwner(runId: string, test: string): RunOwner {
  const hostname = Deno.hostname();
  return {
    runId,
    test,
    hostname,
    machine: machineId() ?? hostname,
    pid: Deno.pid,
    process: processIdentity(Deno.pid) ?? "",
  };
}

/**
 * Whether `owner`'s process is alive: "elsewhere" when it ran on another machine, or when this
 * machine cannot tell (no `/proc`, no process identity recorded).
 */
export function processState(owner: RunOwner): ProcessState {
  if (owner.machine !== (machineId() ?? Deno.hostname()) || owner.process === "") {
    return "elsewhere";
  }
  if (!owner.process.startsWith(`${bootId()}/`)) return "dead"; // the machine rebooted since
  return processIdentity(owner.pid) === owner.process ? "alive" : "dead";
}

/** "run 1a2b3c4d of test demo (pid 4242 on build-7)", for messages. */
export function describeOwner(owner: RunOwner): string {
  return `run ${owner.runId} of test ${JSON.stringify(owner.test)} (pid ${owner.pid} on ${
    owner.hostname || "an unknown machine"
  })`;
}

/** Parses an owner written by `JSON.stringify(owner)`; undefined if it is not one. */
export function parseOwner(text: string): RunOwner | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== "object" || value === null) return undefined;
  const v = value as Record<string, unknown>;
  const strings = ["runId", "test", "hostname", "machine", "process"] as const;
  if (!strings.every((key) => typeof v[key] === "string")) return undefined;
  if (typeof v.pid !== "number" || !Number.isInteger(v.pid)) return undefined;
  return {
    runId: v.runId as string,
    test: v.test as string,
    hostname: v.hostname as string,
    machine: v.machine as string,
    pid: v.pid,
    process: v.process as string,
  };
}

let cachedMachineId: string | null | undefined;

/** `/etc/machine-id` (systemd, D-Bus), or null. */
function machineId(): string | null {
  if (cachedMachineId !== undefined) return cachedMachineId;
  cachedMachineId = null;
  for (const path of ["/etc/machine-id", "/var/lib/dbus/machine-id"]) {
    const id = readText(path)?.trim();
    if (id) return cachedMachineId = id;
  }
  return cachedMachineId;
}

function bootId(): string {
  return readText("/proc/sys/kernel/random/boot_id")?.trim() ?? "";
}

/** `<boot id>/<start time>` of a live pid, from `/proc/<pid>/stat`; undefined if none. */
function processIdentity(pid: number): string | undefined {
  const stat = readText(`/proc/${pid}/stat`);
  if (stat === undefined) return undefined;
  // Fields after the command name (which may hold spaces and parentheses): state is field 3,
  // starttime field 22.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const start = fields[22 - 3];
  const boot = bootId();
  return start && boot ? `${boot}/${start}` : undefined;
}

function readText(path: string): string | undefined {
  try {
    return Deno.readTextFileSync(path);
  } catch {
    return undefined;
  }
}

/** Whether a run is still going: "unknown" when nothing this run can reach tells. */
export type Liveness = "alive" | "dead" | "unknown";
