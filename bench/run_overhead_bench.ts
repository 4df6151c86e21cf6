/**
 * Setup and teardown overhead of a whole run (issue 9, item 3): `tm <config>` through the real
 * CLI (`deno run -A main.ts`) on testbed host A over SSH, a test whose timeline is empty, versus
 * the bare Docker work typed by hand, in the same run, alternating:
 *
 * - bare: one OpenSSH login that starts every container with `docker run -d` in parallel (the
 *   same command lines tm runs, from `runArgs`), a watcher that waits until each peer reported
 *   `started` in Redis, then one OpenSSH login running `docker rm -f` of them all. The Redis the
 *   peers report to is started before the clock starts (the issue's bare sequence has no Redis).
 * - tm: from spawning the CLI to its exit, cleanup included, on a Redis started before its clock
 *   as the bare sequence's is (`--redis-url`): both sides do the same work, and neither pays for
 *   a Redis container the other does not start.
 *
 * Cases: 2 and 20 peers of the testbed's peer image (targets ≤ 1.2× and ≤ 1.1×, issue 16; median of
 * ROUNDS rounds, bare first in odd rounds and tm first in even ones, so neither always runs on
 * the machine the other just warmed), and 300 peers of the Go reference peer (the smallest image:
 * static binary FROM scratch, `lib/go/scratch-image.sh`), one round, with tm's peak memory
 * (VmHWM of the tm process) and what the run left behind on the host.
 *
 * Usage: deno run -A bench/run_overhead_bench.ts [--peers 2,20,300] [--rounds 3] [--go-image TAG]
 * (`--go-image`: an already built Go reference peer image instead of building one).
 * Needs the testbed (`scripts/testbed/setup.sh`; honours TM_TESTBED_DIR).
 */
import { parseArgs } from "node:util";
import { stringify } from "yaml";
import { RedisCoordination } from "../src/coordination/redis_coordination.ts";
import { ConfigSchema } from "../src/plan/schema.ts";
import { peerEnvironment } from "../src/plan/environment.ts";
import { runArgs } from "../src/runtimes/docker/docker.ts";
import { containerName, LABELS, peerLabels } from "../src/runtimes/docker/container_names.ts";
import { configDir } from "../src/runtimes/docker/docker_runtime.ts";
import { DockerRedis } from "../src/runtimes/docker/docker_redis.ts";
import { HOST_GATEWAY_MAPPING, peerRedisUrl } from "../src/runtimes/docker/redis_address.ts";
import { commandLine } from "../src/transport/shell.ts";
import { place } from "../src/plan/placement.ts";
import { currentOwner } from "../src/coordination/run_owner.ts";
import { testbedHostEntry } from "../tests/support/e2e.ts";
import { freePort } from "../tests/support/redis_server.ts";
import { testbed } from "../tests/support/testbed.ts";
import { removeLabelled, uniqueId } from "../tests/support/scratch_images.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const { values: flags } = parseArgs({
  args: Deno.args,
  options: {
    peers: { type: "string", default: "2,20,300" },
    rounds: { type: "string" },
    "go-image": { type: "string" },
  },
});
const ROUNDS = Number(flags.rounds ?? 3);
/** Bare `docker run -d` in flight at once for the largest case (a human's `xargs -P`). */
const BARE_PARALLEL_MAX = 32;
/** How long a bare round waits for every `started` before it gives up. */
const STARTED_WAIT_MS = 180_000;

interface Case {
  peers: number;
  /** tm / bare at most this; undefined: reported only. */
  target?: number;
  rounds: number;
  image: "testbed" | "go";
  /** A timeline that sends every peer `connect` at 0 s (else none: a zero-length test). */
  touchEveryPeer?: boolean;
}

const CASES: Case[] = [
  { peers: 2, target: 1.2, rounds: ROUNDS, image: "testbed" as const },
  { peers: 20, target: 1.1, rounds: ROUNDS, image: "testbed" as const },
  { peers: 300, rounds: 1, image: "go" as const, touchEveryPeer: true },
].filter((c) => flags.peers.split(",").map(Number).includes(c.peers));

/** One tm run, measured. */
interface TmRound {
  ms: number;
  /** Peak resident memory of the tm process (VmHWM), bytes. */
  peakBytes: number;
  /** Time between phases, from the run's log file. */
  phases: Map<string, number>;
  /** Containers of the test (peers, Redis) still on the host after tm exited. */
  leftovers: number;
  /** Peers that reported `connected` (the log file's STATUS lines). */
  connected: number;
  /** Peers tm sent `connect` (the log file's SENT lines). */
  sent: number;
}

const bed = await testbed();
const host = bed.hostA;
const home = Deno.env.get("HOME") ?? "/root";
const sshArgs = [
  "-i",
  host.key,
  "-o",
  `UserKnownHostsFile=${bed.knownHostsPath}`,
  "-o",
  "BatchMode=yes",
  "-p",
  String(host.port),
  `${host.user}@${host.address}`,
];

/** Runs a shell script on the host through one OpenSSH login (the script on stdin). */
async function ssh(script: string): Promise<void> {
  const child = new Deno.Command("ssh", {
    args: [...sshArgs, "sh", "-s"],
    stdin: "piped",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(script));
  await writer.close();
  const out = await child.output();
  if (!out.success) {
    throw new Error(
      `ssh ${host.name} failed (exit ${out.code}): ${new TextDecoder().decode(out.stderr)}`,
    );
  }
}

/** `lib/go/scratch-image.sh`, if this checkout has the Go peer; null otherwise. */
async function buildGoImage(tag: string): Promise<string | null> {
  const script = `${ROOT}lib/go/scratch-image.sh`;
  try {
    await Deno.stat(script);
  } catch {
    return null;
  }
  const out = await new Deno.Command("bash", { args: [script, tag], stdout: "null" }).output();
  if (!out.success) throw new Error(`${script} ${tag} failed (exit ${out.code})`);
  return tag;
}

/** The test's config as written to its YAML file. */
function rawConfig(
  name: string,
  peers: number,
  image: string,
  redisPort: number,
  touchEveryPeer = false,
) {
  return {
    name,
    timeout: { startup: 240, shutdown: 120 },
    redis: { port: redisPort, image: bed.redisImage },
    hosts: [testbedHostEntry(host)],
    peers: Array.from({ length: peers }, (_, i) => ({
      name: peerName(i),
      image,
    })),
    commands: touchEveryPeer
      ? Array.from(
        { length: peers },
        (_, i) => ({ time: 0, peer: peerName(i), command: "connect" }),
      )
      : [],
  };
}

function peerName(index: number): string {
  return `p${String(index).padStart(3, "0")}`;
}

/** The bare sequence; resolves with its duration in ms. */
async function bareRound(name: string, peers: number, image: string): Promise<number> {
  const runId = uniqueId("bare");
  const redisPort = freePort();
  const config = ConfigSchema.parse(rawConfig(name, peers, image, redisPort));
  const plan = place(config);
  const redis = await new DockerRedis({ redis: config.redis, runId, test: name }).start(
    AbortSignal.timeout(60_000),
  );
  const coordination = await RedisCoordination.open(redis.url);
  const watching = new AbortController();
  try {
    await coordination.enableKeyspaceNotifications();
    const names = plan.map((p) => p.peer);
    await coordination.clearPeerKeys(names);
    const { url, needsHostGateway } = peerRedisUrl(redis.url, {
      orchestratorAddress: host.orchestratorAddress,
    });
    const lines = plan.map((placement) => {
      const container = containerName(name, placement.peer);
      return commandLine([
        "docker",
        ...runArgs({
          image,
          name: container,
          labels: peerLabels(currentOwner(runId, name), placement.peer),
          ports: [{ host: placement.port, container: placement.port, protocol: "udp" }],
          env: peerEnvironment(config, placement, url),
          volumes: [{ source: configDir(home, container), target: "/config" }],
          addHosts: needsHostGateway ? [HOST_GATEWAY_MAPPING] : [],
        }),
      ]) + " >/dev/null";
    });
    const started = new Set<string>();
    const allStarted = Promise.withResolvers<void>();
    const watcher = (async () => {
      for await (const update of coordination.statuses(names, watching.signal)) {
        if (update.status === "started") started.add(update.peer);
        if (started.size === names.length) return allStarted.resolve();
      }
    })();
    watcher.catch((error) => allStarted.reject(error));
    const timeout = setTimeout(
      () => allStarted.reject(new Error(`bare: ${started.size}/${peers} started in time`)),
      STARTED_WAIT_MS,
    );

    const t0 = performance.now();
    await ssh(parallelScript(lines, Math.min(peers, BARE_PARALLEL_MAX)));
    await allStarted.promise;
    clearTimeout(timeout);
    const containers = plan.map((p) => containerName(name, p.peer));
    await ssh(`${commandLine(["docker", "rm", "-f", "-v", ...containers])} >/dev/null`);
    return performance.now() - t0;
  } finally {
    watching.abort();
    await coordination.close().catch(() => {});
    await redis.stop();
    await removeLabelled(`${LABELS.run}=${runId}`);
    await removeConfigDirs(name, plan.map((p) => p.peer));
  }
}

/** Runs each line in the background, `parallel` at a time in waves; fails if any failed. */
function parallelScript(lines: string[], parallel: number): string {
  const waves: string[] = [];
  for (let i = 0; i < lines.length; i += parallel) {
    const wave = lines.slice(i, i + parallel);
    waves.push(
      wave.map((line, j) => `${line} & p${j}=$!`).join("\n") + "\n" +
        wave.map((_, j) => `wait $p${j} || rc=1`).join("\n"),
    );
  }
  return `rc=0\n${waves.join("\n")}\nexit $rc\n`;
}

async function removeConfigDirs(test: string, peers: string[]): Promise<void> {
  await Promise.all(
    peers.map((peer) =>
      Deno.remove(configDir(home, containerName(test, peer)), { recursive: true }).catch(() => {})
    ),
  );
}

/** One `tm <config>` through the CLI; throws unless it passed. */
async function tmRound(
  name: string,
  peers: number,
  image: string,
  touchEveryPeer = false,
): Promise<TmRound> {
  const dir = await Deno.makeTempDir({ prefix: `tm-bench-${name}-` });
  const runId = uniqueId("tm-redis");
  const redisPort = freePort();
  const redis = await new DockerRedis({
    redis: ConfigSchema.parse(rawConfig(name, peers, image, redisPort)).redis,
    runId,
    // Not the test's own name: tm would take it for another run of its test on the host.
    test: `${name}-redis`,
  }).start(AbortSignal.timeout(60_000));
  try {
    const config = rawConfig(name, peers, image, redisPort, touchEveryPeer);
    const path = `${dir}/test.yaml`;
    await Deno.writeTextFile(path, stringify(config, { lineWidth: 0 }));
    const t0 = performance.now();
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", `${ROOT}main.ts`, "--redis-url", redis.url, path],
      cwd: dir,
      env: { TM_KNOWN_HOSTS: bed.knownHostsPath, NO_COLOR: "1" },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    let peakBytes = 0;
    const sampler = setInterval(() => {
      peakBytes = Math.max(peakBytes, peakResidentBytes(child.pid));
    }, 100);
    const out = await child.output();
    clearInterval(sampler);
    const ms = performance.now() - t0;
    if (!out.success) {
      const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
      throw new Error(`tm failed (exit ${out.code}) on ${peers} peers:\n${text.slice(-4000)}`);
    }
    const log = [...Deno.readDirSync(dir)].find((e) => e.name.endsWith(".log"));
    const text = log ? await Deno.readTextFile(`${dir}/${log.name}`) : "";
    const leftovers = await leftoversOf(name);
    return {
      ms,
      peakBytes,
      phases: phaseDurations(text),
      leftovers,
      connected: peersWith(text, /\] (\S+)\s+STATUS\s+connected\b/),
      sent: peersWith(text, /\] (\S+)\s+SENT\s+connect \(#\d+/),
    };
  } finally {
    await redis.stop();
    await removeLabelled(`${LABELS.run}=${runId}`);
    await removeLabelled(`${LABELS.test}=${name}`);
    await removeConfigDirs(name, Array.from({ length: peers }, (_, i) => peerName(i)));
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

/** VmHWM of a live process, bytes; 0 once it is gone. */
function peakResidentBytes(pid: number): number {
  try {
    const status = Deno.readTextFileSync(`/proc/${pid}/status`);
    const kb = status.match(/^VmHWM:\s+(\d+) kB/m);
    return kb ? Number(kb[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** Seconds spent in each phase, from the `tm PHASE` lines of a run's log file. */
function phaseDurations(log: string): Map<string, number> {
  const marks: { phase: string; t: number }[] = [];
  let end = 0;
  for (const line of log.split("\n")) {
    const match = line.match(/\[\s*([\d.]+)s\] tm\s+(PHASE|RESULT)\s+(\S+)/);
    if (!match) continue;
    // The log writes `PHASE redis: getting Redis ready`: the phase's name is before the colon.
    const phase = match[3].replace(/:$/, "");
    if (match[2] === "PHASE") marks.push({ phase, t: Number(match[1]) * 1000 });
    else end = Number(match[1]) * 1000;
  }
  const durations = new Map<string, number>();
  marks.forEach((mark, i) => {
    const next = marks[i + 1]?.t ?? end;
    durations.set(mark.phase, (durations.get(mark.phase) ?? 0) + next - mark.t);
  });
  return durations;
}

/** Peers with a line matching `pattern` (its group 1: the source) in a run's log file. */
function peersWith(log: string, pattern: RegExp): number {
  const peers = new Set<string>();
  for (const line of log.split("\n")) {
    const match = line.match(pattern);
    if (match) peers.add(match[1]);
  }
  return peers.size;
}

/** This test's containers (peers and Redis, any state) still on host A. */
async function leftoversOf(test: string): Promise<number> {
  const out = await new Deno.Command("docker", {
    args: ["-H", host.dockerHost, "ps", "-aq", "--filter", `label=${LABELS.test}=${test}`],
  }).output();
  if (!out.success) throw new Error(`docker ps on ${host.name} failed`);
  return new TextDecoder().decode(out.stdout).split("\n").filter((l) => l !== "").length;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MiB`;

interface Result {
  c: Case;
  image: string;
  bare: number[];
  tm: TmRound[];
}

async function measure(c: Case, image: string): Promise<Result> {
  const name = uniqueId(`tm-bench-ovh${c.peers}`);
  const result: Result = { c, image, bare: [], tm: [] };
  for (let round = 1; round <= c.rounds; round++) {
    const bare = async () => result.bare.push(await bareRound(`${name}-b${round}`, c.peers, image));
    const tm = async () =>
      result.tm.push(await tmRound(`${name}-t${round}`, c.peers, image, c.touchEveryPeer));
    if (round % 2 === 1) {
      await bare();
      await tm();
    } else {
      await tm();
      await bare();
    }
    console.error(
      `${c.peers} peers, round ${round}: bare ${seconds(result.bare.at(-1)!)}, tm ${
        seconds(result.tm.at(-1)!.ms)
      }`,
    );
  }
  return result;
}

function tableRow(r: Result): string {
  const bare = median(r.bare);
  const tm = median(r.tm.map((t) => t.ms));
  const ratio = tm / bare;
  const met = r.c.target === undefined ? "—" : ratio <= r.c.target ? "met" : "**missed**";
  return `| ${r.c.peers} | \`${r.image}\` | ${r.c.rounds} | ${seconds(bare)} | ${seconds(tm)} | ${
    ratio.toFixed(2)
  }× | ${r.c.target === undefined ? "—" : `≤ ${r.c.target}×`} | ${met} | ${
    mib(Math.max(...r.tm.map((t) => t.peakBytes)))
  } | ${Math.max(...r.tm.map((t) => t.leftovers))} |`;
}

function touchedSentence(r: Result): string {
  const sent = Math.min(...r.tm.map((t) => t.sent));
  const connected = Math.min(...r.tm.map((t) => t.connected));
  return `With ${r.c.peers} peers tm's timeline sent every peer \`connect\` at 0 s: ${sent} of ` +
    `${r.c.peers} were sent, ${connected} peers were seen \`connected\` (a status a peer ` +
    `overwrites before tm reads it, here with \`stopped\`, is not seen); the run left ` +
    `${Math.max(...r.tm.map((t) => t.leftovers))} containers behind.`;
}

const PHASES = [
  "redis",
  "hosts",
  "images",
  "starting",
  "bootstrap",
  "timeline",
  "shutdown",
  "cleanup",
];

function phaseRow(r: Result): string {
  const byMs = [...r.tm].sort((a, b) => a.ms - b.ms);
  const run = byMs[Math.floor(byMs.length / 2)];
  return `| ${r.c.peers} | ${PHASES.map((p) => seconds(run.phases.get(p) ?? 0)).join(" | ")} | ${
    seconds(run.ms - [...run.phases.values()].reduce((a, b) => a + b, 0))
  } |`;
}

const results: Result[] = [];
const goTag = `${uniqueId("tm-bench-go-peer")}:bench`;
let goImage: string | null = null;
try {
  for (const c of CASES) {
    let image = bed.peerImage;
    if (c.image === "go") {
      goImage ??= flags["go-image"] ?? await buildGoImage(goTag);
      if (goImage === null) {
        console.error(`${c.peers} peers: skipped, this checkout has no lib/go/scratch-image.sh`);
        continue;
      }
      image = goImage;
    }
    results.push(await measure(c, image));
  }
} finally {
  if (goImage && goImage !== flags["go-image"]) {
    await new Deno.Command("docker", {
      args: ["rmi", "-f", goImage],
      stdout: "null",
      stderr: "null",
    })
      .output();
  }
}

const missed = results.filter((r) =>
  r.c.target !== undefined && median(r.tm.map((t) => t.ms)) / median(r.bare) > r.c.target
);
const verdict = results.length === 0
  ? "Nothing was measured."
  : missed.length === 0
  ? "Every target was met."
  : `Missed: ${missed.map((r) => `${r.c.peers} peers`).join(", ")}.`;
console.log(`## Setup and teardown overhead of a run

\`tm <config>\` through the CLI (\`deno run -A main.ts\`, its start-up included) on testbed host
${host.name} over SSH, with an empty timeline, versus the bare Docker work in the same run: one
OpenSSH login running every \`docker run -d\` (tm's own command lines) in parallel (at most
${BARE_PARALLEL_MAX} at once), a Redis watcher waiting for every peer's \`started\`, one OpenSSH
login running \`docker rm -f\` of them all. Both run on a Redis container started before their
clock (tm through \`--redis-url\`). Median of
the rounds; bare runs first in odd rounds, tm first in even ones. Peak memory: VmHWM of the tm process. Left behind: this
test's containers on the host after tm exited (the peer config dirs are kept by design).

| Peers | Image | Rounds | Bare | tm | tm / bare | Target | Met | tm peak memory | Left behind |
| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |
${results.map(tableRow).join("\n")}

${verdict}
${results.filter((r) => r.c.touchEveryPeer).map(touchedSentence).join("\n")}

Where tm's time went (its median round, from the run's log file; "other" is the CLI's start-up
and exit around the run; with 300 peers the tm run also sends its timeline, the bare one none):

| Peers | ${PHASES.join(" | ")} | other |
| --- | ${PHASES.map(() => "---").join(" | ")} | --- |
${results.map(phaseRow).join("\n")}
`);
