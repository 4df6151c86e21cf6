/**
 * Status latency: 500 simulated peers change status (10 changes each, spread over ~5 s per
 * round) on a local redis-server; latency = the moment the watcher has the new value − the
 * moment the peer issued its SET. Target (issue 3): p99 ≤ 5 ms, judged on tm's figure.
 *
 * Two watchers run side by side, each in a process of its own, so that neither waits on the
 * other's event loop, while a stall of the machine or of Redis hits both alike: tm's
 * (RedisCoordination.statuses(): keyspace channels on one connection, one MGET per burst of
 * notifications) in this process, and the baseline, a bare ioredis watcher (SUBSCRIBE to the
 * same channels, one GET per notification) in a child process (this file run with
 * `--bare-watcher`). `tm / bare` thus tells tm's own cost from the machine's. Which one
 * subscribed first (and so hears of a change first) alternates between rounds.
 *
 * The peers are spread over PROCESSES child processes (this file run with `--peers`), one
 * Redis connection each, so no one event loop simulates them all. Each status value carries
 * its send time (`connected|t=<ms since epoch, sub-ms>`); all processes read the same clock.
 */
import { Redis } from "ioredis";
import { RedisCoordination } from "../src/coordination/redis_coordination.ts";
import { startRedisServer } from "../tests/support/redis_server.ts";
import { ChildProcesses, parentWords } from "./support/child_processes.ts";
import { distribution, met, ms, ratio } from "./support/distribution.ts";

const PEERS = 500;
const PROCESSES = 5;
const CHANGES = 10;
const SPAN_MS = 5_000;
/** Measured rounds; one unmeasured round runs first (connections, JIT, Redis's buffers warm up). */
const ROUNDS = 2;
/** How long a round waits for missing changes after every peer made its last. */
const GRACE_MS = 3_000;
const TARGET_P99_MS = 5;
const CYCLE = ["connecting", "connected", "disconnecting", "disconnected"];

const now = () => performance.timeOrigin + performance.now();
const names = Array.from({ length: PEERS }, (_, i) => `peer${i}`);

/** Child: peers `first`..`first + count − 1`; `started` for all, then a round per `go`. */
async function simulatePeers(url: string, first: number, count: number): Promise<void> {
  const peers = Array.from({ length: count }, (_, i) => ({
    index: first + i,
    key: `${names[first + i]}_status`,
    redis: new Redis(url),
  }));
  await Promise.all(peers.map((p) => p.redis.set(p.key, "started")));
  console.log("ready");
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  for await (const word of parentWords()) {
    if (word !== "go") break;
    await Promise.all(peers.map(async (peer) => {
      // Spread changes evenly: each peer changes every SPAN_MS / CHANGES, staggered by index.
      await sleep((peer.index / PEERS) * (SPAN_MS / CHANGES));
      for (let c = 0; c < CHANGES; c++) {
        await peer.redis.set(peer.key, `${CYCLE[c % CYCLE.length]}|t=${now()}`);
        await sleep(SPAN_MS / CHANGES);
      }
    }));
    console.log("done");
  }
  for (const p of peers) p.redis.disconnect();
}

/** Called with every status value a watcher read. */
type OnValue = (raw: string) => void;

/** Starts tm's watcher; resolves once it has read every current value (the round may start). */
async function watchWithTm(
  coordination: RedisCoordination,
  onValue: OnValue,
  signal: AbortSignal,
): Promise<void> {
  const statuses = coordination.statuses(names, signal);
  // statuses() yields every peer's current value first: one per peer, all set before the round.
  for (let i = 0; i < PEERS; i++) {
    if ((await statuses.next()).done) throw new Error("tm's statuses() ended before the round");
  }
  (async () => {
    for await (const update of statuses) onValue(update.raw);
  })();
}

/**
 * Child: the baseline watcher. `watch` subscribes (answers `watching`); `report` waits until it
 * saw a round's every change or GRACE_MS passed, answers `latencies <JSON>` and unsubscribes.
 */
async function bareWatcherProcess(url: string): Promise<void> {
  let controller: AbortController | undefined;
  let latencies: number[] = [];
  for await (const word of parentWords()) {
    if (word === "watch") {
      controller = new AbortController();
      latencies = [];
      const mine = latencies;
      await watchBare(url, (raw) => {
        const sent = raw.split("|t=")[1];
        if (sent !== undefined) mine.push(now() - Number(sent));
      }, controller.signal);
      console.log("watching");
    } else if (word === "report") {
      const until = performance.now() + GRACE_MS;
      while (latencies.length < PEERS * CHANGES && performance.now() < until) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      console.log(`latencies ${JSON.stringify(latencies)}`);
      controller?.abort();
    } else break;
  }
  controller?.abort();
}

/** Starts the baseline: SUBSCRIBE on one connection, GET of the key per notification on another. */
async function watchBare(url: string, onValue: OnValue, signal: AbortSignal): Promise<void> {
  const subscriber = new Redis(url);
  const reader = new Redis(url);
  const prefix = "__keyspace@0__:";
  const last = new Map<string, string | null>();
  subscriber.on("message", (channel: string) => {
    const key = channel.slice(prefix.length);
    reader.get(key).then((value) => {
      // Two notifications read before the next SET both return the latest value: count it once.
      if (value === null || last.get(key) === value) return;
      last.set(key, value);
      onValue(value);
    }, () => {});
  });
  signal.addEventListener("abort", () => {
    subscriber.disconnect();
    reader.disconnect();
  }, { once: true });
  await subscriber.subscribe(...names.map((name) => `${prefix}${name}_status`));
}

type Watcher = "tm" | "bare";

interface Round {
  /** Latencies per watcher, ms. */
  latencies: Record<Watcher, number[]>;
  seconds: number;
}

/**
 * Starts the watchers in `order` (tm here, the baseline in its process), runs one round of
 * changes, waits until each saw all (or GRACE_MS passed).
 */
async function round(
  peers: ChildProcesses,
  bare: ChildProcesses,
  order: readonly Watcher[],
  coordination: RedisCoordination,
): Promise<Round> {
  const controller = new AbortController();
  const expected = PEERS * CHANGES;
  const tm: number[] = [];
  const complete = Promise.withResolvers<void>();
  try {
    for (const watcher of order) {
      if (watcher === "bare") {
        await bare.tell("watch");
        await bare.each("watching");
        continue;
      }
      await watchWithTm(coordination, (raw) => {
        const sent = raw.split("|t=")[1];
        if (sent === undefined) return; // `started`, from before the rounds
        tm.push(now() - Number(sent));
        if (tm.length === expected) complete.resolve();
      }, controller.signal);
    }
    const t0 = performance.now();
    await peers.tell("go");
    await peers.each("done");
    const seconds = (performance.now() - t0) / 1000;
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      complete.promise,
      new Promise((resolve) => (timer = setTimeout(resolve, GRACE_MS))),
    ]);
    clearTimeout(timer);
    await bare.tell("report");
    const [line] = await bare.each("latencies ");
    const bareLatencies = JSON.parse(line.slice("latencies ".length)) as number[];
    return { latencies: { tm: [...tm], bare: bareLatencies }, seconds };
  } finally {
    controller.abort();
  }
}

async function bench(): Promise<void> {
  await using redis = await startRedisServer();
  const coordination = await RedisCoordination.open(redis.url);
  const perProcess = Math.ceil(PEERS / PROCESSES);
  await using peers = ChildProcesses.spawn(
    new URL(import.meta.url).pathname,
    PROCESSES,
    (i) => ["--peers", redis.url, String(i * perProcess), String(perProcess)],
  );
  await using bareWatcher = ChildProcesses.spawn(
    new URL(import.meta.url).pathname,
    1,
    () => ["--bare-watcher", redis.url],
  );
  try {
    const notify = await coordination.enableKeyspaceNotifications();
    if (!notify.ok) throw new Error(`keyspace notifications refused: ${notify.reason}`);
    await peers.each("ready");
    const rounds: Round[] = [];
    for (let i = 0; i <= ROUNDS; i++) {
      const order: Watcher[] = i % 2 === 0 ? ["tm", "bare"] : ["bare", "tm"];
      const measured = await round(peers, bareWatcher, order, coordination);
      const summary = (w: Watcher) => {
        const { p50, p99 } = distribution(measured.latencies[w]);
        return `${w} p50 ${ms(p50)} p99 ${ms(p99)}`;
      };
      console.error(`${i === 0 ? "warm-up" : `round ${i}`}: ${summary("tm")}; ${summary("bare")}`);
      if (i > 0) rounds.push(measured);
    }
    const expected = ROUNDS * PEERS * CHANGES;
    const seen = (w: Watcher) => rounds.reduce((sum, r) => sum + r.latencies[w].length, 0);
    const tm = distribution(rounds.flatMap((r) => r.latencies.tm));
    const bare = distribution(rounds.flatMap((r) => r.latencies.bare));
    const rate = Math.round(expected / rounds.reduce((sum, r) => sum + r.seconds, 0));
    const row = (name: string, key: "p50" | "p99" | "max", target = "—", result = "—") =>
      `| ${name} | ${ms(tm[key])} | ${ms(bare[key])} | ${
        ratio(tm[key], bare[key])
      } | ${target} | ${result} |`;
    console.log(`## Status latency (peer SET → watcher has the value)

${PEERS} simulated peers (one Redis connection each, spread over ${PROCESSES} child processes) each change status ${CHANGES} times per round over ~${
      SPAN_MS / 1000
    } s (${
      rate.toLocaleString("en-US")
    } changes/s) on a local redis-server ${coordination.serverVersion}. Both watchers run side by side, each in its own process: tm (\`RedisCoordination.statuses()\`: the ${PEERS} keyspace channels on one connection, one MGET per burst of notifications) and the baseline, a bare ioredis watcher in a child process (SUBSCRIBE to the same channels, one GET per notification); which subscribed first alternates between rounds. Latency = the watcher has the value − the peer issued its SET, pooled over ${ROUNDS} rounds after one warm-up round.

| Measure | tm | bare ioredis (baseline) | tm / bare | Target | Result |
| --- | --- | --- | --- | --- | --- |
| changes seen | ${seen("tm")} of ${expected} | ${seen("bare")} of ${expected} | — | all (tm) | ${
      met(seen("tm") === expected)
    } |
${row("latency p50", "p50")}
${row("latency p99", "p99", `≤ ${TARGET_P99_MS} ms (tm)`, met(tm.p99 <= TARGET_P99_MS))}
${row("latency max", "max")}`);
  } finally {
    await peers.tell("exit").catch(() => {});
    await coordination.close();
  }
}

if (Deno.args[0] === "--peers") {
  await simulatePeers(Deno.args[1], Number(Deno.args[2]), Number(Deno.args[3]));
} else if (Deno.args[0] === "--bare-watcher") await bareWatcherProcess(Deno.args[1]);
else await bench();
