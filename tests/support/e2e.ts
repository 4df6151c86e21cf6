/**
 * Test support for end-to-end tests of the `tm` command on the two-host testbed: a workspace per
 * test (a unique test name, a temp dir that is tm's cwd and holds the config, a private copy of
 * the testbed's known_hosts and a private TMPDIR), tm as a subprocess whose output can be awaited
 * line by line, the containers a test left on either host, the run's log file parsed, and a
 * cleanup (`await using`) that removes this test's containers, config dirs and temp dir even when
 * the test failed.
 */
import { stringify } from "yaml";
import { alive, lines } from "./process_output.ts";
import { hostDocker, type Testbed, testbed, type TestbedHost } from "./testbed.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

/** How tm exited, with everything it printed. */
export interface TmResult {
  code: number;
  signal: Deno.Signal | null;
  stdout: string;
  stderr: string;
}

/** A running `tm`; its output is collected as it arrives. */
export interface TmProcess {
  readonly pid: number;
  /** stdout and stderr lines so far, in arrival order per stream. */
  readonly stdout: readonly string[];
  readonly stderr: readonly string[];
  /**
   * The first line (stdout or stderr, already printed or to come) matching `pattern`.
   * Rejects when tm exits without printing one, or after `ms` (default 60 s).
   */
  waitFor(pattern: RegExp, ms?: number): Promise<string>;
  kill(signal: Deno.Signal): void;
  /** Settles when tm exited and both streams were read to the end. */
  readonly done: Promise<TmResult>;
}

/** A container found by label on a testbed host. */
export interface FoundContainer {
  id: string;
  name: string;
  state: string;
  labels: Record<string, string>;
}

/** One line of the run's log file. */
export interface LogLine {
  /** Seconds since the run started. */
  t: number;
  /** Peer name, or `tm`. */
  source: string;
  /** Upper-case tag of tm's own events (`STATUS`, `SENT`, ...) or the peer's log level. */
  tag: string;
  text: string;
}

/** Options of a tm run in a workspace. */
export interface TmOptions {
  /** Extra environment variables. Default: none. */
  env?: Record<string, string>;
  /** tm's working directory, where it writes its log file. Default: the workspace's `dir`. */
  cwd?: string;
}

/** Options of a host entry in a test config. */
export interface HostEntryOptions {
  /** First UDP port of the host's peers. Default: a random port in 20000-59999. */
  basePort?: number;
  /** Default: none. */
  tags?: string[];
}

/** The config entry of a testbed host: key auth, the testbed's SSH port. */
export function testbedHostEntry(
  host: TestbedHost,
  options: HostEntryOptions = {},
): Record<string, unknown> {
  return {
    name: host.name,
    address: host.address,
    ssh_port: host.port,
    ssh_user: host.user,
    ssh_auth: host.key,
    base_port: options.basePort ?? nextBasePort(),
    ...(options.tags ? { tags: options.tags } : {}),
  };
}

/** One end-to-end test's private corner of the testbed; `await using` cleans it up. */
export interface Workspace extends AsyncDisposable {
  readonly bed: Testbed;
  /** The test's unique name (config `name`, `tm.test` label, container name prefix). */
  readonly name: string;
  /** tm's cwd: the config, the log file. */
  readonly dir: string;
  /** TMPDIR given to tm: anything left in it is a temp file tm did not remove. */
  readonly tmpDir: string;
  /** A private copy of the testbed's known_hosts (TM_KNOWN_HOSTS). */
  readonly knownHosts: string;
  /**
   * A TCP port on this machine for the Redis container: the first of a block of its own
   * (`nextBasePort`), not an ephemeral port found free, which any connection made before the
   * container starts could take as its local port.
   */
  readonly redisPort: number;
  /** Config entry of a testbed host (key auth, the testbed's SSH port). */
  host(host: TestbedHost, options?: HostEntryOptions): Record<string, unknown>;
  /** Writes `config` (with `name` set to the test's name) as YAML; returns its path. */
  writeConfig(config: Record<string, unknown>, file?: string): Promise<string>;
  /**
   * Writes the two-host config most end-to-end tests use: `near` on host A and `far` on host B,
   * each bootstrapped with the other, the test bed's images, startup 30 s and shutdown 10 s, and
   * `commands` as the timeline; `extra` adds or overrides top-level fields. Returns its path.
   */
  writeNearFarConfig(
    commands: Record<string, unknown>[],
    extra?: Record<string, unknown>,
  ): Promise<string>;
  /** The argv, extra environment and working directory `start` runs tm with. */
  command(
    args: string[],
    options?: TmOptions,
  ): { argv: string[]; env: Record<string, string>; cwd: string };
  /** Starts `deno run -A main.ts ...args` in `dir`. */
  start(args: string[], options?: TmOptions): TmProcess;
  /** Runs tm to the end. */
  run(args: string[], options?: TmOptions): Promise<TmResult>;
  /** This test's containers (any state) on both hosts, by the `tm.test` label. */
  containers(): Promise<{ hosta: FoundContainer[]; hostb: FoundContainer[] }>;
  /** The run's log file (the newest `*.log` in `dir`), as text. */
  logText(): Promise<string>;
  /** The run's log file parsed line by line. */
  logLines(): Promise<LogLine[]>;
  /** Peer config dirs of this test left under the hosts' home (`~/peer-config`). */
  leftoverConfigDirs(): Promise<string[]>;
  /** Entries left in `tmpDir`. */
  leftoverTempFiles(): Promise<string[]>;
}

/**
 * Ports from `PORT_BLOCK_FIRST` on, in blocks of `PORT_BLOCK_SIZE`: one block a host entry.
 * They start above the fixed ports some tests' process peers bind (21000, 21100) and end below
 * 32,768, where Linux's ephemeral range and Docker's for a port published without a
 * number (32768-60999) begin: a random port up to 60,000 could meet one a container was given.
 */
const PORT_BLOCK_FIRST = 22_000;
const PORT_BLOCK_SIZE = 100;
const PORT_BLOCKS = 107;
/** The last block handed out, shared by every test process and worker (read under flock). */
const PORT_BLOCK_FILE = `${Deno.env.get("TMPDIR") ?? "/tmp"}/tm-test-port-block`;

/**
 * A base port for a host's peers (UDP), whose block of 100 no concurrent test is using: blocks
 * are handed out in turn, through a counter file every test process shares, so a block comes
 * back only after 106 others. Random ports clashed: in CI a peer on host B failed to start with
 * "Bind for 0.0.0.0:57496 failed: port is already allocated".
 */
export function nextBasePort(): number {
  const file = Deno.openSync(PORT_BLOCK_FILE, { create: true, read: true, write: true });
  try {
    file.lockSync(true);
    const text = new TextDecoder().decode(Deno.readFileSync(PORT_BLOCK_FILE)).trim();
    const last = /^\d+$/.test(text) ? Number(text) : Math.floor(Math.random() * PORT_BLOCKS);
    const block = (last + 1) % PORT_BLOCKS;
    Deno.writeTextFileSync(PORT_BLOCK_FILE, String(block));
    return PORT_BLOCK_FIRST + block * PORT_BLOCK_SIZE;
  } finally {
    file.close();
  }
}

/** A unique lower-case test name `e2e-<label>-<random>`. */
export function uniqueTestName(label: string): string {
  return `e2e-${label}-${crypto.randomUUID().slice(0, 8)}`;
}

/** Creates a workspace for one end-to-end test (sets the testbed up on first use). */
export async function workspace(label: string): Promise<Workspace> {
  const bed = await testbed();
  const name = uniqueTestName(label);
  const dir = await Deno.makeTempDir({ prefix: `tm-${name}-` });
  const tmpDir = `${dir}/.tmp`;
  await Deno.mkdir(tmpDir);
  const knownHosts = `${dir}/.known_hosts`;
  await Deno.copyFile(bed.knownHostsPath, knownHosts);
  const redisPort = nextBasePort();
  const containerPrefix = `tm-${name}-`;

  const env = (extra: Record<string, string> = {}) => ({
    TM_KNOWN_HOSTS: knownHosts,
    TMPDIR: tmpDir,
    ...extra,
  });

  const ws: Workspace = {
    bed,
    name,
    dir,
    tmpDir,
    knownHosts,
    redisPort,
    host: testbedHostEntry,
    async writeConfig(config, file = "test.yaml") {
      const path = `${dir}/${file}`;
      await Deno.writeTextFile(path, stringify({ name, ...config }, { lineWidth: 0 }));
      return path;
    },
    writeNearFarConfig(commands, extra = {}) {
      const image = bed.peerImage;
      return this.writeConfig({
        timeout: { startup: 30, shutdown: 10 },
        redis: { port: redisPort, image: bed.redisImage },
        images: [image],
        hosts: [this.host(bed.hostA, { tags: ["a"] }), this.host(bed.hostB, { tags: ["b"] })],
        peers: [
          { name: "near", image, runs_on: "a", bootstrap: ["far"] },
          { name: "far", image, runs_on: "b", bootstrap: ["near"] },
        ],
        commands,
        ...extra,
      });
    },
    command(args, options = {}) {
      return {
        argv: [
          Deno.execPath(),
          "run",
          "-A",
          "--config",
          `${ROOT}deno.json`,
          `${ROOT}main.ts`,
          ...args,
        ],
        env: env(options.env),
        cwd: options.cwd ?? dir,
      };
    },
    start(args, options = {}) {
      return startTm(ws.command(args, options));
    },
    run(args, options = {}) {
      return startTm(ws.command(args, options)).done;
    },
    async containers() {
      const [hosta, hostb] = await Promise.all([
        labelled(bed.hostA, `tm.test=${name}`),
        labelled(bed.hostB, `tm.test=${name}`),
      ]);
      return { hosta, hostb };
    },
    async logText() {
      // `<name>-<stamp>.log`, then `-2.log`, … for runs started in the same second: by stamp,
      // then by that number.
      const order = (name: string) => {
        const [, stamped = name, n = "1"] =
          name.match(/^(.*-\d{4}(?:-\d\d){5})(?:-(\d+))?\.log$/) ?? [];
        return `${stamped}#${n.padStart(6, "0")}`;
      };
      const logs = [...Deno.readDirSync(dir)].filter((e) => e.isFile && e.name.endsWith(".log"))
        .map((e) => e.name).sort((a, b) => order(a) < order(b) ? -1 : 1);
      if (logs.length === 0) throw new Error(`no log file in ${dir}`);
      return await Deno.readTextFile(`${dir}/${logs.at(-1)}`);
    },
    async logLines() {
      return parseLogFile(await ws.logText());
    },
    async leftoverConfigDirs() {
      // Both testbed hosts log in as root on this machine's filesystem: one home.
      const found: string[] = [];
      try {
        for await (const entry of Deno.readDir("/root/peer-config")) {
          if (entry.name.startsWith(containerPrefix)) found.push(`/root/peer-config/${entry.name}`);
        }
      } catch (error) {
        if (!(error instanceof Deno.errors.NotFound)) throw error;
      }
      return found;
    },
    async leftoverTempFiles() {
      const found: string[] = [];
      for await (const entry of Deno.readDir(tmpDir)) found.push(`${tmpDir}/${entry.name}`);
      return found;
    },
    async [Symbol.asyncDispose]() {
      await removeTestContainers(bed, name);
      for (const path of await ws.leftoverConfigDirs()) {
        await Deno.remove(path, { recursive: true }).catch(() => {});
      }
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
  return ws;
}

/** Removes every container labelled `tm.test=<test>` on both hosts; never throws. */
export async function removeTestContainers(bed: Testbed, test: string): Promise<void> {
  await Promise.all([bed.hostA, bed.hostB].map(async (host) => {
    const found = await labelled(host, `tm.test=${test}`).catch(() => []);
    if (found.length > 0) {
      await hostDocker(host, ["rm", "-f", "-v", ...found.map((c) => c.id)]).catch(() => {});
    }
  }));
}

/** Containers (any state) carrying `label` (`key=value`) on a testbed host. */
export async function labelled(
  host: Pick<TestbedHost, "name" | "dockerHost">,
  label: string,
): Promise<FoundContainer[]> {
  const { code, stdout, stderr } = await hostDocker(host, [
    "ps",
    "-a",
    "--no-trunc",
    "--filter",
    `label=${label}`,
    "--format",
    "{{json .}}",
  ]);
  if (code !== 0) throw new Error(`docker ps on ${host.name}: ${stderr.trim()}`);
  return stdout.split("\n").filter((l) => l.trim() !== "").map((line) => {
    const raw = JSON.parse(line) as { ID: string; Names: string; State: string; Labels: string };
    const labels: Record<string, string> = {};
    for (const pair of raw.Labels.split(",")) {
      const at = pair.indexOf("=");
      if (at > 0) labels[pair.slice(0, at)] = pair.slice(at + 1);
    }
    return { id: raw.ID, name: raw.Names, state: raw.State, labels };
  });
}

/** Whether `image` exists on a testbed host's engine. */
export async function hasImage(
  host: Pick<TestbedHost, "dockerHost">,
  image: string,
): Promise<boolean> {
  return (await hostDocker(host, ["image", "inspect", image])).code === 0;
}

/**
 * Parses the log file's lines (`<date> <time> [  <t>s] <source> <TAG> <text>`); lines of other
 * shapes (continuations) are skipped.
 */
export function parseLogFile(text: string): LogLine[] {
  const parsed: LogLine[] = [];
  for (const line of text.split("\n")) {
    const match = /^\S+ \S+ \[\s*([\d.]+)s\] (\S+)\s+(\S+) ?(.*)$/.exec(line);
    if (!match) continue;
    parsed.push({
      t: Number(match[1]),
      source: match[2],
      tag: match[3],
      text: match[4].trimStart(),
    });
  }
  return parsed;
}

/** Pids of live processes whose command line matches `pattern` (pgrep -f), tm's own excluded. */
export async function processesMatching(pattern: string): Promise<number[]> {
  const output = await new Deno.Command("pgrep", { args: ["-f", pattern], stdout: "piped" })
    .output();
  return new TextDecoder().decode(output.stdout).split("\n").filter((l) => l !== "")
    .map(Number).filter((pid) => pid !== Deno.pid);
}

/** Polls until none of `pids` exists; returns those still alive after `ms`. */
export async function awaitGone(pids: number[], ms = 5_000): Promise<number[]> {
  const deadline = performance.now() + ms;
  let left = pids.filter(alive);
  while (left.length > 0 && performance.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    left = left.filter(alive);
  }
  return left;
}

/** A process and its command line. */
export interface ProcessInfo {
  pid: number;
  command: string;
}

/**
 * The local `address port` pairs of `pid`'s established TCP connections to the testbed hosts'
 * sshds, as the hosts see them in `$SSH_CONNECTION` (read while tm is connected).
 */
export async function sshClientEnds(pid: number, bed: Testbed): Promise<string[]> {
  const servers = new Set(
    [bed.hostA, bed.hostB].map((h) => `${h.address}:${h.port}`),
  );
  const output = await new Deno.Command("ss", {
    args: ["-tnpH", "state", "established"],
    stdout: "piped",
  }).output();
  const ends: string[] = [];
  for (const line of new TextDecoder().decode(output.stdout).split("\n")) {
    const match = /(\S+):(\d+)\s+(\S+:\d+)\s+users:.*\bpid=(\d+),/.exec(line);
    if (match && Number(match[4]) === pid && servers.has(match[3])) {
      ends.push(`${match[1]} ${match[2]}`);
    }
  }
  return ends;
}

/**
 * Live processes a tm run started: locally (they inherit tm's private `TMPDIR`) and on the
 * hosts over its SSH connections (`$SSH_CONNECTION` starts with one of `sshEnds`). Both testbed
 * hosts share this machine's process table.
 */
export async function processesOfRun(tmpDir: string, sshEnds: string[]): Promise<ProcessInfo[]> {
  const marks = [
    `TMPDIR=${tmpDir} `,
    ...sshEnds.map((end) => `SSH_CONNECTION=${end} `),
  ];
  const found: ProcessInfo[] = [];
  for await (const entry of Deno.readDir("/proc")) {
    const pid = Number(entry.name);
    if (!Number.isInteger(pid) || pid === Deno.pid) continue;
    try {
      const environ = (await Deno.readTextFile(`/proc/${pid}/environ`)).split("\0");
      if (!environ.some((v) => marks.some((mark) => (v + " ").startsWith(mark)))) continue;
      const command = (await Deno.readTextFile(`/proc/${pid}/cmdline`)).replaceAll("\0", " ");
      found.push({ pid, command: command.trim() });
    } catch {
      // gone meanwhile, or a kernel thread
    }
  }
  return found;
}

/** The names in a directory (none if it does not exist). */
export function entries(dir: string): Set<string> {
  try {
    return new Set([...Deno.readDirSync(dir)].map((e) => e.name));
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return new Set();
    throw error;
  }
}

function startTm(
  { argv, env, cwd }: { argv: string[]; env: Record<string, string>; cwd: string },
): TmProcess {
  const child = new Deno.Command(argv[0], {
    args: argv.slice(1),
    cwd,
    env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stdout: string[] = [];
  const stderr: string[] = [];
  let ended = false;
  const waiters = new Set<() => void>();
  const notify = () => waiters.forEach((wake) => wake());
  const collect = async (stream: ReadableStream<Uint8Array>, into: string[]) => {
    for await (const line of lines(stream)) {
      into.push(line);
      notify();
    }
  };
  const done = Promise.all([
    child.status,
    collect(child.stdout, stdout),
    collect(child.stderr, stderr),
  ]).then(([status]) => ({
    code: status.code,
    signal: status.signal,
    stdout: stdout.join("\n"),
    stderr: stderr.join("\n"),
  })).finally(() => {
    ended = true;
    notify();
  });

  return {
    pid: child.pid,
    stdout,
    stderr,
    done,
    kill: (signal) => child.kill(signal),
    waitFor(pattern, ms = 60_000) {
      return new Promise<string>((resolve, reject) => {
        const check = () => {
          const found = stdout.find((l) => pattern.test(l)) ?? stderr.find((l) => pattern.test(l));
          if (found === undefined && !ended) return;
          waiters.delete(check);
          clearTimeout(timer);
          if (found !== undefined) resolve(found);
          else {
            reject(
              new Error(
                `tm exited without printing ${pattern}:\n${stdout.join("\n")}\n${
                  stderr.join("\n")
                }`,
              ),
            );
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`no line matched ${pattern} in ${ms} ms:\n${stdout.join("\n")}`));
        }, ms);
        waiters.add(check);
        check();
      });
    },
  };
}
