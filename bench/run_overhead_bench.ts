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
 * the machine the other just warmed), and, with `--peers 2,20,300`, 300 peers of the Go reference
 * peer (the smallest image: static binary FROM scratch, `lib/go/scratch-image.sh`), one round, with
 * tm's peak memory (VmHWM of the tm process) and what the run left behind on the host. The 300
 * peers have no target and took 5 of the 7.4 minutes of this bench on the loaded test bed, so
 * `deno task bench` leaves them out (bench/scale_bench.ts covers peers at scale).
 *
 * Usage: deno run -A bench/run_overhead_bench.ts [--peers 2,20] [--rounds 3] [--go-image TAG]
 * [--cpu-prof-dir DIR] (`--go-image`: an already built Go reference peer image instead of building
 * one; `--cpu-prof-dir`: each tm run writes a V8 CPU profile, `.cpuprofile`, there).
 * Needs the testbed (`scripts/testbed/setup.sh`; honours TM_TESTBED_DIR).
 */
import { parseArgs } from "node:util";
import { ConfigSchema } from "../src/plan/schema.ts";
import { LABELS } from "../src/runtimes/docker/container_names.ts";
import { DockerRedis } from "../src/runtimes/docker/docker_redis.ts";
import { testbedHostEntry } from "../tests/support/e2e.ts";
import { freePort } from "../tests/support/redis_server.ts";
import { testbed } from "../tests/support/testbed.ts";
import { uniqueId } from "../tests/support/scratch_images.ts";
import {
  BARE_PARALLEL,
  bareRound as bareSequence,
  containersOf,
  phaseDurations,
  removeConfigDirs,
  removeLabelled,
  tmRound as tmCli,
} from "./support/testbed_rounds.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const { values: flags } = parseArgs({
  args: Deno.args,
  options: {
    peers: { type: "string", default: "2,20" },
    rounds: { type: "string" },
    "go-image": { type: "string" },
    "cpu-prof-dir": { type: "string" },
  },
});
const ROUNDS = Number(flags.rounds ?? 3);
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

/** The bare sequence (bench/support/testbed_rounds.ts) on host A; its duration, ms. */
function bareRound(name: string, peers: number, image: string): Promise<number> {
  return bareSequence(bed, rawConfig(name, peers, image, freePort()), [host], {
    startedWithinMs: STARTED_WAIT_MS,
  });
}

/** One `tm <config>` through the CLI on a Redis started before its clock; throws unless it passed. */
async function tmRound(
  name: string,
  peers: number,
  image: string,
  touchEveryPeer = false,
): Promise<TmRound> {
  const runId = uniqueId("tm-redis");
  const raw = rawConfig(name, peers, image, freePort(), touchEveryPeer);
  const redis = await new DockerRedis({
    redis: ConfigSchema.parse(raw).redis,
    runId,
    // Not the test's own name: tm would take it for another run of its test on the host.
    test: `${name}-redis`,
  }).start(AbortSignal.timeout(60_000));
  try {
    const profile = flags["cpu-prof-dir"];
    const run = await tmCli(
      bed,
      raw,
      ["--redis-url", redis.url],
      undefined,
      profile ? ["--cpu-prof", `--cpu-prof-dir=${profile}`] : [],
    );
    if (!run.success) {
      throw new Error(
        `tm failed (exit ${run.code}) on ${peers} peers:\n${
          (run.stdout + run.stderr).slice(-4000)
        }`,
      );
    }
    return {
      ms: run.ms,
      peakBytes: run.peakBytes,
      phases: phaseDurations(run.log),
      leftovers: await containersOf(host, `${LABELS.test}=${name}`),
      connected: peersWith(run.log, /\] (\S+)\s+STATUS\s+connected\b/),
      sent: peersWith(run.log, /\] (\S+)\s+SENT\s+connect \(#\d+/),
    };
  } finally {
    await redis.stop();
    await removeLabelled(host, `${LABELS.run}=${runId}`);
    await removeLabelled(host, `${LABELS.test}=${name}`);
    await removeConfigDirs(name, Array.from({ length: peers }, (_, i) => peerName(i)));
  }
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
${BARE_PARALLEL} at once), a Redis watcher waiting for every peer's \`started\`, one OpenSSH
login running \`docker rm -f\` of them all. Both run on a Redis container started before their
clock (tm through \`--redis-url\`). Median of
the rounds; bare runs first in odd rounds, tm first in even ones. Peak memory: VmHWM of the tm process. Left behind: this
test's containers on the host after tm exited.

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
