/**
 * Test support: a two-node Docker Swarm of the test bed's engines, formed for a test and left
 * as found. Host A's engine (this machine's, shared) is initialised as the manager, advertising
 * the address host B reaches it at; host B's engine joins. The nodes are labelled `tm.name` a/b
 * and `tm.tag.a`/`tm.tag.b`. `leave()` makes both engines leave and removes what `swarm init`
 * created (`docker_gwbridge`; the ingress network goes with the swarm). An engine already in a
 * swarm of somebody else's is not touched: `formSwarm` then says why the test must be skipped.
 *
 * One engine is in one swarm at a time, and four test files form this one while the suite runs
 * them in parallel (scripts/test.sh): a lock held from `formSwarm` to `leave` makes them take
 * turns. Without it, CI saw a second file's `swarm init` refused ("already part of a swarm") and
 * that file's cleanup make the engines leave under the first file's running test.
 */
import { hostDocker, type Testbed } from "./testbed.ts";
import { eventually } from "./until.ts";
import { killServing } from "./host_b_sshd.ts";

const TMP = Deno.env.get("TMPDIR") ?? "/tmp";
/** Held (flock) from `formSwarm` until `leave`: the test files that form the swarm take turns. */
const SWARM_LOCK = `${TMP}/tm-testbed-swarm.lock`;
/**
 * The cluster ID of the swarm `formSwarm` formed last. A swarm with this ID is the test bed's:
 * another test file's, which the lock waits for, or one a killed run left, which is left.
 */
const SWARM_MARK = `${TMP}/tm-testbed-swarm.cluster`;

/** `docker info` format: the node's swarm state and, on a manager, its cluster's ID. */
const SWARM_STATE = "{{.Swarm.LocalNodeState}} {{if .Swarm.Cluster}}{{.Swarm.Cluster.ID}}{{end}}";

/** The ID of the swarm the test bed formed last; "" when none is known. */
function markedCluster(): string {
  try {
    return Deno.readTextFileSync(SWARM_MARK).trim();
  } catch {
    return "";
  }
}

/**
 * Why a swarm cannot be formed here (this machine's engine is in a swarm the test bed did not
 * form, or there is no engine), for a test's `ignore`; undefined when it can. Asked
 * synchronously, at registration: a swarm another test file formed is not a reason, since
 * `formSwarm` waits for it to be left.
 */
export function swarmBusy(): string | undefined {
  const state = new Deno.Command("docker", {
    args: ["info", "--format", SWARM_STATE],
    stdin: "null",
    stderr: "null",
  }).outputSync();
  if (state.code !== 0) return "no docker engine here";
  const [text, cluster = ""] = new TextDecoder().decode(state.stdout).trim().split(" ");
  if (text === "inactive") return undefined;
  if (cluster !== "" && cluster === markedCluster()) return undefined;
  return `this machine's engine is already in a swarm (${text}): it is not touched`;
}

/**
 * The `connection: swarm` host entry of the test bed's swarm (without `base_port`): this
 * machine's engine the manager, node b reached over SSH.
 */
export function swarmEntry(bed: Testbed, extra: Record<string, unknown> = {}) {
  return {
    connection: "swarm",
    manager: "local",
    nodes: {
      b: {
        address: bed.hostB.address,
        ssh_port: bed.hostB.port,
        ssh_user: bed.hostB.user,
        ssh_auth: bed.hostB.key,
      },
    },
    ...extra,
  };
}

/**
 * The peers, timeline and checks the swarm end-to-end tests run: near on node a, far and dave on
 * node b; both connect, dave restarts (exit 42), near is paused and resumed, then `faults` (more
 * timeline entries, before far's `pull` at `pullAt` s); every peer started, far connected, dave
 * restarted once, every exit 0.
 */
export function swarmTestBody(
  image: string,
  options: { faults?: Record<string, unknown>[]; pullAt?: number } = {},
) {
  return {
    peers: [
      { name: "near", image, runs_on: "a", bootstrap: ["far"] },
      { name: "far", image, runs_on: "b", bootstrap: ["near"] },
      { name: "dave", image, runs_on: "b" },
    ],
    commands: [
      { time: 0, peer: "near", command: "connect" },
      { time: 0, peer: "far", command: "connect" },
      { time: 1, peer: "dave", command: "restart|1" },
      { time: 1.5, fault: "pause", peer: "near" },
      { time: 2.5, fault: "resume", peer: "near" },
      ...options.faults ?? [],
      { time: options.pullAt ?? 5, peer: "far", command: "pull" },
    ],
    expect: [
      { peer: "*", status: "started", by: 0 },
      { peer: "far", status: "connected", by: 10 },
      { peer: "dave", restarts: 1 },
      { peer: "*", exit_code: 0 },
    ],
  };
}

export interface TestbedSwarm {
  /** Node ID of host A's engine (manager) and host B's (worker). */
  readonly nodes: { a: string; b: string };
  /** Leaves the swarm on both engines and removes what it created; idempotent. */
  leave(): Promise<void>;
}

async function docker(dockerHost: string, args: string[]): Promise<string> {
  const result = await hostDocker({ dockerHost }, args);
  if (result.code !== 0) {
    throw new Error(`docker ${args.join(" ")} (${dockerHost}): ${result.stderr.trim()}`);
  }
  return result.stdout.trim();
}

/** Times `docker swarm leave --force` is tried on one engine. */
const LEAVE_ATTEMPTS = 4;

/**
 * Makes an engine leave its swarm; undefined once it is out, else why not. A loaded machine was
 * seen to fail the leave with `context deadline exceeded` and keep the engine in the swarm, which
 * then refused every later swarm test: it is tried again while the engine says it is still in.
 */
async function leaveSwarm(host: string): Promise<string | undefined> {
  let last = "";
  for (let attempt = 0; attempt < LEAVE_ATTEMPTS; attempt++) {
    try {
      await docker(host, ["swarm", "leave", "--force"]);
    } catch (error) {
      last = String(error);
    }
    const state = await docker(host, ["info", "--format", "{{.Swarm.LocalNodeState}}"])
      .catch(() => "");
    if (state === "inactive") return undefined;
  }
  return last || `${host}: still in the swarm after ${LEAVE_ATTEMPTS} leaves`;
}

/**
 * Forms the swarm, once no other test file holds it, or returns why it cannot (host A's engine
 * in a swarm the test bed did not form). A test bed swarm found while holding the lock was left
 * by a killed run: both engines leave it first.
 */
export async function formSwarm(bed: Testbed): Promise<TestbedSwarm | string> {
  const lock = await Deno.open(SWARM_LOCK, { create: true, write: true });
  let held = true;
  const unlock = () => {
    if (held) lock.close();
    held = false;
  };
  try {
    await lock.lock(true);
    const formed = await formLocked(bed, unlock);
    if (typeof formed === "string") unlock();
    return formed;
  } catch (error) {
    unlock();
    throw error;
  }
}

async function formLocked(
  bed: Testbed,
  unlock: () => void,
): Promise<TestbedSwarm | string> {
  const a = bed.hostA.dockerHost;
  const b = bed.hostB.dockerHost;
  const [stateA, clusterA] = (await docker(a, ["info", "--format", SWARM_STATE]))
    .split(" ");
  if (stateA !== "inactive") {
    if (clusterA === undefined || clusterA === "" || clusterA !== markedCluster()) {
      return `host A's engine is already in a swarm (${stateA})`;
    }
    const failed = await leaveSwarm(a);
    if (failed) return `host A's engine is still in a swarm a killed test left: ${failed}`;
  }
  // Host B's engine is the test bed's own: any swarm it is in was left by a killed run.
  if (await docker(b, ["info", "--format", "{{.Swarm.LocalNodeState}}"]) !== "inactive") {
    const failed = await leaveSwarm(b);
    if (failed) return `host B's engine is still in a swarm a killed test left: ${failed}`;
  }
  const networks = async (host: string) =>
    new Set((await docker(host, ["network", "ls", "--format", "{{.Name}}"])).split("\n"));
  const before = { a: await networks(a), b: await networks(b) };
  let left = false;
  const leave = async () => {
    if (left) return;
    left = true;
    const problems: string[] = [];
    try {
      for (const [host, found] of [[b, before.b], [a, before.a]] as const) {
        const failed = await leaveSwarm(host);
        if (failed) problems.push(failed);
        for (const network of ["docker_gwbridge", "ingress"]) {
          if (found.has(network) || !(await networks(host)).has(network)) continue;
          await docker(host, ["network", "rm", network]).catch((e) => problems.push(String(e)));
        }
      }
    } finally {
      unlock();
    }
    if (problems.length > 0) throw new Error(problems.join("\n"));
  };
  try {
    const address = bed.hostB.orchestratorAddress;
    await docker(a, ["swarm", "init", "--advertise-addr", address]);
    Deno.writeTextFileSync(
      SWARM_MARK,
      await docker(a, ["info", "--format", "{{.Swarm.Cluster.ID}}"]),
    );
    const token = await docker(a, ["swarm", "join-token", "-q", "worker"]);
    await docker(b, ["swarm", "join", "--token", token, `${address}:2377`]);
    const nodes = {
      a: await docker(a, ["info", "--format", "{{.Swarm.NodeID}}"]),
      b: await docker(b, ["info", "--format", "{{.Swarm.NodeID}}"]),
    };
    for (const which of ["a", "b"] as const) {
      await docker(a, [
        "node",
        "update",
        "--label-add",
        `tm.name=${which}`,
        "--label-add",
        `tm.tag.${which}=1`,
        nodes[which],
      ]);
    }
    // The worker is listed ready once its first heartbeat reached the manager.
    await eventually(
      "host B's engine listed ready in the swarm",
      async () =>
        await docker(a, ["node", "inspect", nodes.b, "--format", "{{.Status.State}}"]) ===
          "ready",
    );
    return { nodes, leave };
  } catch (error) {
    await leave().catch(() => {});
    throw error;
  }
}

/**
 * Kills the sshd processes on host A (this machine's network namespace) serving the connections
 * from `clientPorts` (this machine's ends, as `sshClientEnds` lists them), as a dropped
 * connection would end them; host A's sshd itself stays up. Returns the pids killed.
 */
export function killHostASessions(bed: Testbed, clientPorts: number[]): Promise<number[]> {
  const server = `${bed.hostA.address}:${bed.hostA.port}`;
  const clients = new Set(clientPorts.map((port) => `${bed.hostA.orchestratorAddress}:${port}`));
  return killServing(null, (local, peer) => local === server && clients.has(peer));
}
