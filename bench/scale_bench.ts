/**
 * Scale (issue 17): the engine with thousands of peers, in one run of this file.
 *
 * 1. Simulated peers through the engine (`run()` with `SimulatedPeers`, bench/support): every
 *    peer starts, is bootstrapped with 3 others, gets one `work` command (all due at 1 s), pushes
 *    LINES log lines, the last one just before `stopped`, and exits. Afterwards every line must
 *    have been emitted, in order per peer, and no `<peer>_log` key left in Redis. Figures: tm's
 *    peak memory (RSS of this process, the simulator included; target ≤ 512 MiB at 10,000),
 *    time to all-started, status latency (a peer's SET of `started|sim-<epoch ms>` to the
 *    engine's `peer-status` event, p50/p99; the simulator shares the process, so this is an
 *    upper bound).
 * 2. Log drain at the same peer count: a backlog of DRAIN_LINES lines per peer, drained by tm
 *    (`RedisCoordination.logBatches()`, what the engine reads; notified `RPOP` rounds) and by the
 *    bare batch popper (a client that knows every list holds lines: pipelined `RPOP key 1000`
 *    over every key, 256 keys a round trip, each line as text), each on a fresh redis-server,
 *    3 rounds in alternating order; also tm's blocking fallback (`BLMPOP` naming every key, what
 *    tm did before) for reference. Target: tm ≥ 0.5× bare.
 * 3. Real peers on the two-host test bed (bench/support/testbed_scale.ts): examples/dht-1000.yaml
 *    with the test bed's hosts swapped in (`--real` Go reference peers, half on each host; each
 *    also logs `--real-lines` lines at the end) through the CLI beside the bare sequence; tm's
 *    peak memory (target ≤ 160 MiB), time to all started, tm / bare (target ≤ 1.2×), every line
 *    in the log file and the run record in order, nothing left on the hosts. Not by default:
 *    1,000 containers on this 2-core machine shared by others ran 8 minutes and its bare
 *    sequence failed (`fork/exec runc: resource temporarily unavailable`), which a whole
 *    `deno task bench` (25 minutes at most) cannot hold; `deno task bench scale -- --real 1000`.
 *
 * Usage: deno run -A bench/scale_bench.ts [--peers 10000] [--lines 20] [--real 0]
 *   [--real-lines 20] [--drain 0] [--real-log <file>] (`--peers 0` skips the simulated peers and
 *   the drain rates, `--real 0` the test bed, `--drain 0` the drain rates; `--real-log` keeps the
 *   test bed run's log file there)
 */
import { parseArgs } from "node:util";
import { Redis } from "ioredis";
import { run } from "../src/engine/run.ts";
import type { EngineEvent } from "../src/engine/events.ts";
import { ConfigSchema } from "../src/plan/schema.ts";
import { planConfig } from "../src/plan/plan_config.ts";
import { place } from "../src/plan/placement.ts";
import { RedisCoordination } from "../src/coordination/redis_coordination.ts";
import type { RedisServer } from "../src/engine/redis_provider.ts";
import { startRedisServer } from "../tests/support/redis_server.ts";
import { SimulatedPeers } from "./support/simulated_peers.ts";
import { type TestbedScale, testbedScale } from "./support/testbed_scale.ts";
import { distribution, met, ms, ratio } from "./support/distribution.ts";

const { values: flags } = parseArgs({
  args: Deno.args,
  options: {
    peers: { type: "string", default: "10000" },
    lines: { type: "string", default: "20" },
    real: { type: "string", default: "0" },
    "real-lines": { type: "string", default: "20" },
    drain: { type: "string", default: "1" },
    "real-log": { type: "string" },
  },
});
const PEERS = Number(flags.peers);
const LINES = Number(flags.lines);
const DRAIN_LINES = 50;
const MEMORY_TARGET = 512 * 2 ** 20;
const DRAIN_TARGET = 0.5;

const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MiB`;
const seconds = (value: number) => `${(value / 1000).toFixed(2)} s`;
const names = Array.from({ length: PEERS }, (_, i) => `n${i}`);

/** Samples this process's RSS until stopped; `peak` is the highest seen. */
function memorySampler() {
  let peak = Deno.memoryUsage().rss;
  const timer = setInterval(() => peak = Math.max(peak, Deno.memoryUsage().rss), 50);
  return {
    stop() {
      clearInterval(timer);
      return Math.max(peak, Deno.memoryUsage().rss);
    },
  };
}

interface EngineFigures {
  verdict: string;
  peakRss: number;
  startedMs: number;
  runMs: number;
  statusLatency: ReturnType<typeof distribution>;
  lines: number;
  outOfOrder: number;
  bootstrapped: number;
  logKeysLeft: number;
}

async function engineRun(): Promise<EngineFigures> {
  const config = planConfig(ConfigSchema.parse({
    name: "scale-sim",
    timeout: { startup: 600, shutdown: 600 },
    redis: { port: 6399, image: "unused" },
    hosts: [{
      address: "127.0.0.1",
      name: "sim",
      ssh_user: "me",
      ssh_auth: "agent",
      base_port: 20_000,
    }],
    peers: names.map((name, i) => ({
      name,
      image: "sim",
      bootstrap: [1, 2, 3].map((d) => names[(i + d) % PEERS]),
    })),
    commands: names.map((peer) => ({ time: 1, peer, command: "work" })),
  }));
  const runtime = new SimulatedPeers({ linesPerPeer: LINES });
  let server: RedisServer | undefined;
  const latencies: number[] = [];
  const next = new Map<string, number>();
  let lines = 0;
  let outOfOrder = 0;
  let firstStarting = 0;
  let lastStarted = 0;
  const memory = memorySampler();
  const t0 = performance.now();
  const result = await run({
    config,
    plan: place(config),
    runtime,
    redis: {
      start: async () => {
        const started = await startRedisServer();
        server = {
          url: started.url,
          stop: () => Promise.resolve(), // kept to look for keys left; stopped below
        };
        stopServer = async () => await started[Symbol.asyncDispose]();
        return server;
      },
    },
    openCoordination: (url, signal) => RedisCoordination.open(url, { signal }),
    emit: (event: EngineEvent) => {
      if (event.type === "peer-log") {
        lines++;
        const seq = Number(event.message.slice(event.message.indexOf(" ") + 1));
        if (seq !== (next.get(event.peer) ?? 0)) outOfOrder++;
        next.set(event.peer, seq + 1);
      } else if (event.type === "peer-status" && event.status === "started") {
        const at = Number(event.address?.replace(/^sim-/, ""));
        if (Number.isFinite(at)) latencies.push(Date.now() - at);
        lastStarted = performance.now();
      } else if (event.type === "peer-starting" && firstStarting === 0) {
        firstStarting = performance.now();
      }
    },
  });
  const runMs = performance.now() - t0;
  const peakRss = memory.stop();
  let logKeysLeft = -1;
  if (server) {
    const admin = new Redis(server.url);
    logKeysLeft = (await admin.keys("*_log")).length;
    admin.disconnect();
  }
  await stopServer();
  const bootstraps = runtime.bootstraps();
  return {
    verdict: result.verdict,
    peakRss,
    startedMs: lastStarted - firstStarting,
    runMs,
    statusLatency: distribution(latencies),
    lines,
    outOfOrder,
    bootstrapped: [...bootstraps.values()].filter((n) => n >= 3).length,
    logKeysLeft,
  };
}
let stopServer: () => Promise<void> = () => Promise.resolve();

/** Fills DRAIN_LINES lines into every peer's list (not timed). */
async function fillBacklog(url: string): Promise<void> {
  const redis = new Redis(url);
  for (let at = 0; at < PEERS; at += 500) {
    const pipeline = redis.pipeline();
    for (const name of names.slice(at, at + 500)) {
      pipeline.lpush(
        `${name}_log`,
        ...Array.from({ length: DRAIN_LINES }, (_, i) => `info|${name} ${i} ${"x".repeat(50)}`),
      );
    }
    await pipeline.exec();
  }
  redis.disconnect();
}

/**
 * Lines per second tm's RedisCoordination drains a backlog at, read as the engine reads it
 * (`logBatches()`, PeerMonitor's source). The clock stops at the last line, as the bare popper's
 * does: the drain's teardown (unsubscribing, disconnecting) is not the drain.
 */
async function tmDrain(options: { forceBlockingPop?: boolean }): Promise<number> {
  await using server = await startRedisServer();
  await fillBacklog(server.url);
  const coordination = await RedisCoordination.open(server.url, options);
  const stop = new AbortController();
  try {
    const t0 = performance.now();
    let count = 0;
    let seconds = NaN;
    for await (const batch of coordination.logBatches(names, stop.signal)) {
      count += batch.length;
      if (count < PEERS * DRAIN_LINES) continue;
      seconds = (performance.now() - t0) / 1000;
      break;
    }
    return count / seconds;
  } finally {
    stop.abort();
    await coordination.close();
  }
}

/**
 * Lines per second the bare batch popper drains the same backlog at. It takes each line as text
 * (ioredis decodes it), as any log drain must and as tm does: popping bytes it never decoded left
 * out work tm cannot skip.
 */
async function bareDrain(): Promise<number> {
  await using server = await startRedisServer();
  await fillBacklog(server.url);
  const redis = new Redis(server.url);
  try {
    const t0 = performance.now();
    let count = 0;
    let pending = names;
    while (pending.length > 0) {
      const still: string[] = [];
      for (let at = 0; at < pending.length; at += 256) {
        const round = pending.slice(at, at + 256);
        const pipeline = redis.pipeline();
        for (const name of round) pipeline.rpop(`${name}_log`, 1_000);
        const replies = (await pipeline.exec()) ?? [];
        round.forEach((name, i) => {
          const items = (replies[i]?.[1] ?? []) as string[];
          count += items.length;
          if (items.length === 1_000) still.push(name);
        });
      }
      pending = still;
    }
    if (count !== PEERS * DRAIN_LINES) throw new Error(`bare popper got ${count} lines`);
    return count / ((performance.now() - t0) / 1000);
  } finally {
    redis.disconnect();
  }
}

const engine = PEERS > 0 ? await simulatedRun() : undefined;
const measureDrain = PEERS > 0 && flags.drain !== "0";
if (measureDrain) console.error("scale: drain rates (bare, tm, tm blocking)");
/** Rounds of bare and tm, their order alternating; each figure is the median round's. */
const DRAIN_ROUNDS = 3;
const drainRates = { bare: [] as number[], tm: [] as number[] };
for (let round = 0; measureDrain && round < DRAIN_ROUNDS; round++) {
  for (const side of round % 2 === 0 ? ["bare", "tm"] as const : ["tm", "bare"] as const) {
    drainRates[side].push(side === "bare" ? await bareDrain() : await tmDrain({}));
  }
  console.error(`scale: drain round ${round + 1}: ${JSON.stringify(drainRates)}`);
}
const median = (values: number[]) =>
  values.length === 0 ? NaN : [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const bare = median(drainRates.bare);
const tm = median(drainRates.tm);
const blocking = measureDrain ? await tmDrain({ forceBlockingPop: true }) : NaN;
const REAL = Number(flags.real);
const REAL_LINES = Number(flags["real-lines"]);
let real: TestbedScale | string = "skipped (`--real 0`)";
if (REAL > 0) {
  real = await testbedScale(REAL, REAL_LINES, { keepLog: flags["real-log"] });
  console.error(`scale: test bed ${JSON.stringify(real)}`);
}

async function simulatedRun(): Promise<EngineFigures> {
  console.error(`scale: ${PEERS} simulated peers through the engine, ${LINES} lines each`);
  const figures = await engineRun();
  console.error(`scale: engine ${JSON.stringify({ ...figures, statusLatency: undefined })}`);
  return figures;
}

console.log(
  engine ? simulatedSection(engine) : "## Scale\n\nSimulated peers: skipped (`--peers 0`).\n",
);
console.log(realSection(real));

function simulatedSection(engine: EngineFigures): string {
  const complete = engine.lines === PEERS * LINES && engine.outOfOrder === 0 &&
    engine.logKeysLeft === 0;
  return `## Scale: ${PEERS.toLocaleString("en")} simulated peers through the engine

\`bench/scale_bench.ts\` (issue 17): \`run()\` with ${PEERS.toLocaleString("en")} simulated peers
(\`bench/support/simulated_peers.ts\`: two ioredis connections drive every peer through the
protocol) against a local redis-server. Every peer starts, is bootstrapped with 3 others, gets one
\`work\` command (all due at 1 s), pushes ${LINES} log lines (the last just before \`stopped\`) and
exits. The memory is this process's peak RSS, the simulator included (an upper bound for tm's); so
is the status latency (a peer's \`SET started|sim-<epoch ms>\` to the engine's \`peer-status\`
event), as the simulator shares the process's one thread with the engine.

| Figure | Measured | Target | |
| --- | --- | --- | --- |
| verdict | ${engine.verdict} | passed | ${met(engine.verdict === "passed")} |
| log lines emitted, of ${(PEERS * LINES).toLocaleString("en")} | ${
    engine.lines.toLocaleString("en")
  } (out of order: ${engine.outOfOrder}) | all, in order | ${
    met(engine.lines === PEERS * LINES && engine.outOfOrder === 0)
  } |
| \`<peer>_log\` keys left in Redis after the run | ${engine.logKeysLeft} | 0 | ${
    met(engine.logKeysLeft === 0)
  } |
| peers given their 3 bootstrap addresses | ${engine.bootstrapped.toLocaleString("en")} | ${
    PEERS.toLocaleString("en")
  } | ${met(engine.bootstrapped === PEERS)} |
| peak memory (RSS) | ${mib(engine.peakRss)} | ≤ 512 MiB | ${met(engine.peakRss <= MEMORY_TARGET)} |
| first launch to all started | ${seconds(engine.startedMs)} | — | — |
| whole run | ${seconds(engine.runMs)} | — | — |
| status latency p50 / p99 / max | ${ms(engine.statusLatency.p50, 0)} / ${
    ms(engine.statusLatency.p99, 0)
  } / ${ms(engine.statusLatency.max, 0)} | — | — |

Log drain of a backlog of ${DRAIN_LINES} lines per peer (${
    (PEERS * DRAIN_LINES).toLocaleString("en")
  } lines, ~80 bytes each), each consumer on a fresh redis-server, each line taken as text; the
clock runs from the consumer's start to its last line. Bare and tm: the median of ${DRAIN_ROUNDS} rounds,
their order alternating; the blocking fallback: one run.

| Consumer | Lines/s | vs bare | Target | |
| --- | --- | --- | --- | --- |
| bare batch popper (pipelined \`RPOP key 1000\` over every key, 256 a round trip, as text) | ${
    Math.round(bare).toLocaleString("en")
  } | 1.00× | — | — |
| tm (\`RedisCoordination.logBatches()\`, notified \`RPOP\` rounds) | ${
    Math.round(tm).toLocaleString("en")
  } | ${ratio(tm, bare)} | ≥ 0.5× | ${met(tm / bare >= DRAIN_TARGET)} |
| tm's blocking fallback (\`BLMPOP\` naming every key: tm before issue 17) | ${
    Math.round(blocking).toLocaleString("en")
  } | ${ratio(blocking, bare)} | — | — |
${complete ? "" : "\n**Lines were lost or reordered: see the table.**\n"}`;
}

function realSection(r: TestbedScale | string): string {
  if (typeof r === "string") {
    return `### Real peers on the two-host test bed\n\nNot measured: ${r}.\n`;
  }
  const overhead = r.tmMs / r.bareMs;
  return `### ${r.peers.toLocaleString("en")} real peers on the two-host test bed

\`examples/dht-1000.yaml\` through the CLI (\`tm <config>\`), the test bed's two hosts, its Redis
and a fresh build of the Go reference peer (FROM scratch) swapped in${
    r.peers === 1000 ? "" : `, the \`node\` group resized to ${r.peers - 10} peers`
  }: ${
    r.peers.toLocaleString("en")
  } peers, half on each host, the example's timeline and checks, plus
one command at 20 s, \`log-burst|${r.lines}\` to every peer (${r.lines} lines, then it stops and exits).
Beside it the bare sequence at the same size on both hosts at once (\`docker run -d\` of the same
command lines, 32 at a time per host, until every peer reported \`started\`, 20 s for the timeline,
then \`docker rm -f\`).

| Figure | Measured | Target | |
| --- | --- | --- | --- |
| verdict | ${r.verdict} | passed | ${met(r.verdict === "passed")} |
| peers with every line in the log file, in order | ${r.completeInLog} | ${r.peers} | ${
    met(r.completeInLog === r.peers)
  } |
| peers with every line in the run record, in order | ${r.completeInRecord} | ${r.peers} | ${
    met(r.completeInRecord === r.peers)
  } |
| peers whose container output is in the run record, every line timed | ${r.timedContainerLogs} | ${r.peers} | ${
    met(r.timedContainerLogs === r.peers)
  } |
| containers / \`peer-config\` dirs left on the hosts | ${r.containersLeft} / ${r.configDirsLeft} | 0 / 0 | ${
    met(r.containersLeft + r.configDirsLeft === 0)
  } |
| tm's peak memory (VmHWM) | ${mib(r.peakBytes)} | ≤ 160 MiB | ${
    met(r.peakBytes <= 160 * 2 ** 20)
  } |
| phase \`starting\` to \`bootstrap\` (all started) | ${seconds(r.allStartedMs)} | — | — |
| whole run: tm / bare | ${
    r.bareFailure
      ? `${seconds(r.tmMs)} / the bare sequence failed: ${r.bareFailure}`
      : `${seconds(r.tmMs)} / ${seconds(r.bareMs)} = ${overhead.toFixed(2)}×`
  } | ≤ 1.2× | ${met(overhead <= 1.2)} |

The bare sequence starts and removes the containers only; tm's run also bootstraps, sends every
command, waits for the ${r.lines} lines of every peer and collects each peer's output and \`/config\`.
`;
}
