/**
 * Log drain: 100 simulated peers push log lines (`info|<seq> <padding>`, ~80 bytes) to a local
 * redis-server while a consumer drains every `<peer>_log` list on one blocking connection.
 * Figures: lines/s drained, lines lost (never arrived), per-peer order violations. Target
 * (issue 3): tm drains ≥ 50,000 lines/s with nothing lost and each peer's order kept.
 *
 * Consumers, one after the other on a fresh redis-server each, each measurement in a process of
 * its own (this file run with `--measure`: neither side inherits the other's heap, JIT or
 * sockets): tm (RedisCoordination.logBatches(), what the engine reads) and the baseline, a bare ioredis client popping the
 * same keys in batches (BLMPOP … COUNT 1000, the machine's own limit for this drain), so
 * `tm / bare` tells tm's cost from the machine's. ROUNDS rounds, the baseline first in odd
 * rounds and tm first in even ones; each figure is the median round's (by lines/s), lost and
 * out-of-order lines are summed over every round. Runs:
 * - live: the peers push one line per LPUSH (a real client's steady case: one line per round
 *   trip) while the consumer drains; the clock starts at the first push;
 * - backlog: every line queued before the consumer starts (the drain rate alone); the clock
 *   starts when the consumer does; tm also with the BRPOP fallback used on Redis < 7.
 * A line is lost only if it never arrived: the consumer waits for every line until
 * DEADLINE_MS after the last push.
 *
 * The peers are spread over PROCESSES child processes (this file run with `--peers`).
 */
import { Redis } from "ioredis";
import { RedisCoordination } from "../src/coordination/redis_coordination.ts";
import { startRedisServer } from "../tests/support/redis_server.ts";
import { ChildProcesses, parentWords } from "./support/child_processes.ts";
import { met, ratio } from "./support/distribution.ts";

const PEERS = 100;
const PROCESSES = 4;
/** Lines per peer: live runs are bound by the peers' round trips, backlog runs are not. */
const LINES = { live: 1_000, backlog: 5_000 };
/** Lines per LPUSH when filling the backlog (not timed). */
const FILL_BATCH = 500;
/** Lines per pop for the bare consumer: tm's default `logBatch`. */
const POP_BATCH = 1_000;
const DEADLINE_MS = 30_000;
/** Rounds of every measurement, order alternating. */
const ROUNDS = 3;
const TARGET_RATE = 50_000;

const names = Array.from({ length: PEERS }, (_, i) => `peer${i}`);
const epochNow = () => performance.timeOrigin + performance.now();

/**
 * Child: peers `first`..`first + count − 1`. Says `ready`; on `go` every peer pushes its
 * `lines` lines (`live`: one LPUSH per line, awaited; `fill`: FILL_BATCH per LPUSH) and the
 * child says `done <first push> <last push>` (ms since the epoch).
 */
async function simulatePeers(
  url: string,
  first: number,
  count: number,
  mode: string,
  lines: number,
): Promise<void> {
  const peers = Array.from({ length: count }, (_, i) => ({
    key: `${names[first + i]}_log`,
    redis: new Redis(url),
  }));
  await Promise.all(peers.map((p) => p.redis.ping()));
  console.log("ready");
  const words = parentWords();
  if ((await words.next()).value !== "go") return;
  const padding = "x".repeat(60); // a typical short log line is ~80 bytes
  const line = (seq: number) => `info|${seq} ${padding}`;
  const firstPush = epochNow();
  await Promise.all(peers.map(async (peer) => {
    if (mode === "live") {
      for (let seq = 0; seq < lines; seq++) await peer.redis.lpush(peer.key, line(seq));
      return;
    }
    for (let seq = 0; seq < lines;) {
      const batch: string[] = [];
      while (batch.length < FILL_BATCH && seq < lines) batch.push(line(seq++));
      await peer.redis.lpush(peer.key, ...batch);
    }
  }));
  console.log(`done ${firstPush} ${epochNow()}`);
  for (const p of peers) p.redis.disconnect();
}

/** Receives each line a consumer popped: the peer's index and the line's sequence number. */
type OnLine = (peer: number, seq: number) => void;

/** A consumer: drains every peer's list until `signal` aborts. */
type Consumer = (url: string, onLine: OnLine, signal: AbortSignal) => Promise<void>;

function tmConsumer(forceBrpop: boolean): Consumer {
  return async (url, onLine, signal) => {
    const coordination = await RedisCoordination.open(url, { forceBrpop });
    try {
      const index = new Map(names.map((name, i) => [name, i]));
      // As the engine reads them (PeerMonitor): a round trip's entries at once.
      for await (const batch of coordination.logBatches(names, signal)) {
        for (const entry of batch) {
          onLine(index.get(entry.peer)!, Number.parseInt(entry.message, 10));
        }
      }
    } finally {
      await coordination.close();
    }
  };
}

/** The baseline: BLMPOP over every key, POP_BATCH at a time, keys rotated as tm does. */
const bareConsumer: Consumer = async (url, onLine, signal) => {
  const redis = new Redis(url);
  const keys = names.map((name) => `${name}_log`);
  const index = new Map(keys.map((key, i) => [key, i]));
  signal.addEventListener("abort", () => redis.disconnect(), { once: true });
  let start = 0;
  while (!signal.aborted) {
    const order = start === 0 ? keys : keys.slice(start).concat(keys.slice(0, start));
    const reply = await redis.blmpop(0, order.length, order, "RIGHT", "COUNT", POP_BATCH)
      .catch(() => null);
    if (!reply) continue;
    const i = index.get(reply[0])!;
    for (const item of reply[1]) onLine(i, Number.parseInt(item.slice(item.indexOf("|") + 1), 10));
    start = (i + 1) % keys.length;
  }
};

interface Drain {
  linesPerSecond: number;
  received: number;
  lost: number;
  outOfOrder: number;
  /** Live runs: lines/s the peers pushed (first push to last push, over every peer). */
  pushedPerSecond?: number;
  /** Live runs: ms from the last push to the last line received. */
  lagMs?: number;
}

async function measure(mode: "live" | "backlog", consume: Consumer): Promise<Drain> {
  await using redis = await startRedisServer();
  const perProcess = Math.ceil(PEERS / PROCESSES);
  await using peers = ChildProcesses.spawn(
    new URL(import.meta.url).pathname,
    PROCESSES,
    (i) => [
      "--peers",
      redis.url,
      String(i * perProcess),
      String(perProcess),
      mode === "live" ? "live" : "fill",
      String(LINES[mode]),
    ],
  );
  await peers.each("ready");
  const pushes = (done: string[]) => {
    const times = done.map((line) => line.split(" ").slice(1).map(Number));
    return {
      first: Math.min(...times.map(([first]) => first)),
      last: Math.max(...times.map(([, last]) => last)),
    };
  };
  let pushed: { first: number; last: number } | undefined;
  if (mode === "backlog") {
    await peers.tell("go");
    pushed = pushes(await peers.each("done"));
  }

  const total = PEERS * LINES[mode];
  const next = new Int32Array(PEERS); // next expected sequence number per peer
  let received = 0;
  let outOfOrder = 0;
  let lastAt = 0;
  const all = Promise.withResolvers<void>();
  const controller = new AbortController();
  const onLine: OnLine = (peer, seq) => {
    if (seq !== next[peer]) outOfOrder++;
    next[peer] = seq + 1;
    lastAt = epochNow();
    if (++received === total) all.resolve();
  };
  const consumerStart = epochNow();
  const consuming = consume(redis.url, onLine, controller.signal);
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    if (mode === "live") {
      await peers.tell("go");
      pushed = pushes(await peers.each("done"));
    }
    await Promise.race([
      all.promise,
      consuming.then(() => {
        throw new Error("the consumer stopped before the end");
      }),
      new Promise((resolve) => (timer = setTimeout(resolve, DEADLINE_MS))),
    ]);
  } finally {
    clearTimeout(timer);
    controller.abort();
    await consuming;
  }
  const clockStart = mode === "live" ? pushed!.first : consumerStart;
  return {
    linesPerSecond: received / ((lastAt - clockStart) / 1000),
    received,
    lost: total - received,
    outOfOrder,
    ...(mode === "live"
      ? {
        pushedPerSecond: total / ((pushed!.last - pushed!.first) / 1000),
        lagMs: lastAt - pushed!.last,
      }
      : {}),
  };
}

/** The consumers a `--measure` process can run. */
const CONSUMERS = { tm: tmConsumer(false), bare: bareConsumer, brpop: tmConsumer(true) };
type ConsumerName = keyof typeof CONSUMERS;

/** One measurement in a child process (`--measure <mode> <consumer>`), which prints its Drain. */
async function measureApart(mode: "live" | "backlog", consumer: ConsumerName): Promise<Drain> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", new URL(import.meta.url).pathname, "--measure", mode, consumer],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  const last = new TextDecoder().decode(out.stdout).trim().split("\n").at(-1) ?? "";
  if (!out.success) throw new Error(`the ${mode} ${consumer} measurement failed: ${last}`);
  return JSON.parse(last) as Drain;
}

/** The round with the median rate, its losses and disorder replaced by every round's sum. */
function medianDrain(drains: Drain[]): Drain {
  const sorted = [...drains].sort((a, b) => a.linesPerSecond - b.linesPerSecond);
  return {
    ...sorted[Math.floor(sorted.length / 2)],
    lost: drains.reduce((n, d) => n + d.lost, 0),
    outOfOrder: drains.reduce((n, d) => n + d.outOfOrder, 0),
  };
}

async function bench(): Promise<void> {
  const runs: Record<string, Drain[]> = {
    liveTm: [],
    liveBare: [],
    backlogTm: [],
    backlogBare: [],
    brpop: [],
  };
  for (let round = 1; round <= ROUNDS; round++) {
    const pairs: [string, "live" | "backlog", ConsumerName][][] = [
      [["liveBare", "live", "bare"], ["liveTm", "live", "tm"]],
      [["backlogBare", "backlog", "bare"], ["backlogTm", "backlog", "tm"]],
    ];
    for (const pair of pairs) {
      for (const [key, mode, consumer] of round % 2 === 1 ? pair : [...pair].reverse()) {
        runs[key].push(await measureApart(mode, consumer));
      }
    }
    runs.brpop.push(await measureApart("backlog", "brpop"));
    console.error(
      `round ${round}: ` +
        Object.entries(runs).map(([key, d]) => `${key} ${Math.round(d.at(-1)!.linesPerSecond)}`)
          .join(", ") +
        " lines/s",
    );
  }
  const live = { tm: medianDrain(runs.liveTm) };
  const liveBare = medianDrain(runs.liveBare);
  const backlogBare = medianDrain(runs.backlogBare);
  const backlog = medianDrain(runs.backlogTm);
  const brpop = medianDrain(runs.brpop);
  const count = (n: number) => Math.round(n).toLocaleString("en-US");
  const rate = (n: number) => `${count(n)} lines/s`;
  const intact = (r: Drain) => r.lost === 0 && r.outOfOrder === 0;
  const liveRow = (name: string, r: Drain, target: string, result: string) =>
    `| ${name} | ${rate(r.pushedPerSecond!)} | ${rate(r.linesPerSecond)} | ${
      ratio(r.linesPerSecond, r.pushedPerSecond!)
    } | ${r.lagMs!.toFixed(0)} ms | ${r.lost} | ${r.outOfOrder} | ${target} | ${result} |`;
  const backlogRow = (name: string, tm: Drain, target: string, result: string) =>
    `| ${name} | ${rate(tm.linesPerSecond)} | ${rate(backlogBare.linesPerSecond)} | ${
      ratio(tm.linesPerSecond, backlogBare.linesPerSecond)
    } | ${tm.lost} / ${backlogBare.lost} | ${tm.outOfOrder} / ${backlogBare.outOfOrder} | ${target} | ${result} |`;
  console.log(`## Log drain (peers' LPUSH → RedisCoordination.logBatches())

${PEERS} simulated peers (spread over ${PROCESSES} child processes) push log lines (~80 bytes) to a local redis-server; the consumer drains every list on one blocking connection: tm (\`RedisCoordination.logBatches()\`, what the engine reads) or the baseline, a bare ioredis client popping the same keys ${POP_BATCH} at a time (BLMPOP, the machine's own limit), one after the other, each on a fresh redis-server and in a process of its own. ${ROUNDS} rounds, the baseline first in odd rounds and tm first in even ones; each row is its median round (by lines/s drained), lost and out-of-order lines are summed over every round. Lost = never arrived within ${
    DEADLINE_MS / 1000
  } s of the last push.

Live: each peer pushes ${
    count(LINES.live)
  } lines, one LPUSH per line (one line per round trip), while the consumer drains; drained = lines received from the first push to the last line received. The peers, not the consumer, set this pace: a drain that keeps up shows drained / pushed near 1 and a short lag after the last push.

| Live run | Peers pushed | Drained | Drained / pushed | Last line after the last push | Lost | Out of order | Target | Result |
| --- | --- | --- | --- | --- | --- | --- | --- | --- |
${liveRow("tm", live.tm, "nothing lost, order kept", met(intact(live.tm)))}
${liveRow("bare ioredis (baseline)", liveBare, "—", "—")}

Backlog: ${count(PEERS * LINES.backlog)} lines (${
    count(LINES.backlog)
  } per peer) queued before the consumer starts; drained = lines received from the consumer's start to the last line: the drain rate alone.

| Backlog run | tm | bare ioredis (baseline) | tm / bare | Lost (tm / bare) | Out of order (tm / bare) | Target | Result |
| --- | --- | --- | --- | --- | --- | --- | --- |
${
    backlogRow(
      "BLMPOP",
      backlog,
      `≥ ${count(TARGET_RATE)} lines/s, nothing lost, order kept`,
      met(backlog.linesPerSecond >= TARGET_RATE && intact(backlog)),
    )
  }
${backlogRow("tm with the BRPOP fallback (Redis < 7)", brpop, "—", "—")}`);
}

if (Deno.args[0] === "--peers") {
  const [url, first, count, mode, lines] = Deno.args.slice(1);
  await simulatePeers(url, Number(first), Number(count), mode, Number(lines));
} else if (Deno.args[0] === "--measure") {
  const [mode, consumer] = Deno.args.slice(1) as ["live" | "backlog", ConsumerName];
  console.log(JSON.stringify(await measure(mode, CONSUMERS[consumer])));
} else await bench();
