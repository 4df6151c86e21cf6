/**
 * Status latency: 500 simulated peers change status (10 changes each, spread over ~5 s) on a
 * local redis-server; latency = the moment RedisCoordination.statuses() yields the change − the
 * moment the peer issued its SET. Target (issue 3): p99 ≤ 5 ms.
 *
 * The peers run in a child process (this file run with `--peers`), one Redis connection each,
 * so they do not share the measured event loop. Each status value carries its send time
 * (`connected|t=<ms since epoch, sub-ms>`); both processes read the same system clock.
 */
import { Redis } from "ioredis";
import { RedisCoordination } from "../src/coordination/redis_coordination.ts";
import { startRedisServer } from "../tests/support/redis_server.ts";

const PEERS = 500;
const CHANGES = 10;
const SPAN_MS = 5_000;
const CYCLE = ["connecting", "connected", "disconnecting", "disconnected"];

const now = () => performance.timeOrigin + performance.now();

/** Child: the simulated peers. Reports `started` for all, waits for a line on stdin, runs. */
async function simulatePeers(url: string): Promise<void> {
  const peers = Array.from({ length: PEERS }, (_, i) => ({
    name: `peer${i}`,
    redis: new Redis(url),
  }));
  await Promise.all(peers.map((p) => p.redis.set(`${p.name}_status`, "started")));
  console.log("ready");
  await Deno.stdin.readable.getReader().read();
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  await Promise.all(peers.map(async (peer, i) => {
    // Spread changes evenly: each peer changes every SPAN_MS / CHANGES, staggered by index.
    await sleep((i / PEERS) * (SPAN_MS / CHANGES));
    for (let c = 0; c < CHANGES; c++) {
      await peer.redis.set(`${peer.name}_status`, `${CYCLE[c % CYCLE.length]}|t=${now()}`);
      await sleep(SPAN_MS / CHANGES);
    }
  }));
  for (const p of peers) p.redis.disconnect();
  console.log("done");
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

async function bench(): Promise<void> {
  await using redis = await startRedisServer();
  const coordination = await RedisCoordination.open(redis.url);
  const controller = new AbortController();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", new URL(import.meta.url).pathname, "--peers", redis.url],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  try {
    const notify = await coordination.enableKeyspaceNotifications();
    if (!notify.ok) throw new Error(`keyspace notifications refused: ${notify.reason}`);
    const names = Array.from({ length: PEERS }, (_, i) => `peer${i}`);
    const statuses = coordination.statuses(names, controller.signal);
    let started = 0;
    const latencies: number[] = [];
    let childOut = "";
    while (!childOut.includes("ready")) childOut += (await lines.read()).value ?? "";
    // Every peer said `started` (before or after the subscription: either way it is seen).
    while (started < PEERS) {
      const next = await statuses.next();
      if (next.done) throw new Error(`only ${started} of ${PEERS} peers reported started`);
      if (next.value.status === "started") started++;
    }
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode("go\n"));
    await writer.close();
    const expected = PEERS * CHANGES;
    const t0 = performance.now();
    let seen = 0;
    // Stop when every change was seen, or 5 s after the peers finished (a lost change).
    const childDone = (async () => {
      while (!childOut.includes("done")) {
        const { value, done } = await lines.read();
        if (done) break;
        childOut += value;
      }
      setTimeout(() => controller.abort(), 5_000);
    })();
    while (seen < expected) {
      const next = await statuses.next();
      if (next.done) break;
      latencies.push(now() - Number(next.value.address?.slice(2)));
      seen++;
    }
    const elapsed = (performance.now() - t0) / 1000;
    controller.abort();
    await childDone;
    latencies.sort((a, b) => a - b);
    const p50 = percentile(latencies, 50);
    const p99 = percentile(latencies, 99);
    const max = latencies.at(-1) ?? NaN;
    const ms = (x: number) => `${x.toFixed(2)} ms`;
    console.log(`## Status latency (peer SET → RedisCoordination.statuses() event)

${PEERS} simulated peers (one Redis connection each, in a child process) each change status
${CHANGES} times over ~${SPAN_MS / 1000} s (${
      Math.round(expected / elapsed)
    } changes/s overall) on a local redis-server ${coordination.serverVersion}; tm subscribes
to the ${PEERS} keyspace channels on one connection and reads changed values with one MGET per
burst of notifications.

| Measure | Value | Target | Met |
|---|---|---|---|
| changes seen | ${seen} of ${expected} | all | ${seen === expected ? "yes" : "no"} |
| latency p50 | ${ms(p50)} | | |
| latency p99 | ${ms(p99)} | ≤ 5 ms | ${p99 <= 5 ? "yes" : "no"} |
| latency max | ${ms(max)} | | |`);
  } finally {
    controller.abort();
    await coordination.close();
    try {
      child.kill("SIGTERM");
    } catch { /* exited */ }
    await child.status;
    await lines.cancel().catch(() => {});
  }
}

if (Deno.args[0] === "--peers") await simulatePeers(Deno.args[1]);
else await bench();
