/**
 * Log drain: 100 simulated peers push log lines at once (LPUSH `level|message`, in batches as
 * the client libraries do) to a local redis-server while RedisCoordination.logs() drains them
 * on its one blocking connection. Figures: lines/s drained, lines lost, per-peer order
 * violations. Target (issue 3): ≥ 50,000 lines/s, nothing lost, each peer's order kept.
 *
 * Three runs: live (peers pushing while tm drains, BLMPOP), backlog (every line already queued
 * when tm starts: the drain rate alone, BLMPOP), and the same backlog drained with the BRPOP
 * fallback used on Redis < 7. Peers run in a child process (this file with `--peers`).
 */
import { Redis } from "ioredis";
import { RedisCoordination } from "../src/coordination/redis_coordination.ts";
import { startRedisServer } from "../tests/support/redis_server.ts";

const PEERS = 100;
const LINES = 5_000;
const BATCH = 50;

/** Child: every peer pushes LINES lines `info|<seq> <padding>` in LPUSH batches of BATCH. */
async function simulatePeers(url: string, waitForGo: boolean): Promise<void> {
  const peers = Array.from(
    { length: PEERS },
    (_, i) => ({ name: `peer${i}`, redis: new Redis(url) }),
  );
  await Promise.all(peers.map((p) => p.redis.ping()));
  console.log("ready");
  if (waitForGo) await Deno.stdin.readable.getReader().read();
  const padding = "x".repeat(60); // a typical short log line is ~80 bytes
  await Promise.all(peers.map(async (peer) => {
    for (let seq = 0; seq < LINES;) {
      const batch: string[] = [];
      for (let i = 0; i < BATCH && seq < LINES; i++) batch.push(`info|${seq++} ${padding}`);
      await peer.redis.lpush(`${peer.name}_log`, ...batch);
    }
  }));
  for (const p of peers) p.redis.disconnect();
  console.log("done");
}

interface DrainResult {
  linesPerSecond: number;
  received: number;
  lost: number;
  outOfOrder: number;
}

async function measure(mode: "live" | "backlog", forceBrpop: boolean): Promise<DrainResult> {
  await using redis = await startRedisServer();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", new URL(import.meta.url).pathname, "--peers", redis.url, mode],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let out = "";
  const until = async (word: string) => {
    while (!out.includes(word)) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`peer process ended before saying ${word}`);
      out += value;
    }
  };
  const coordination = await RedisCoordination.open(redis.url, { forceBrpop });
  const controller = new AbortController();
  try {
    await until("ready");
    if (mode === "backlog") await until("done");
    const names = Array.from({ length: PEERS }, (_, i) => `peer${i}`);
    const index = new Map(names.map((n, i) => [n, i]));
    const next = new Int32Array(PEERS); // next expected sequence number per peer
    let outOfOrder = 0;
    let received = 0;
    const total = PEERS * LINES;
    const logs = coordination.logs(names, controller.signal);
    const t0 = performance.now();
    if (mode === "live") {
      const writer = child.stdin.getWriter();
      await writer.write(new TextEncoder().encode("go\n"));
      await writer.close();
      // Once the peers are done, give the drain 5 s to finish before declaring lines lost.
      until("done").then(() => setTimeout(() => controller.abort(), 5_000), () => {});
    } else {
      setTimeout(() => controller.abort(), 60_000).unref?.();
    }
    while (received < total) {
      const entry = await logs.next();
      if (entry.done) break;
      const p = index.get(entry.value.peer)!;
      const seq = Number.parseInt(entry.value.message, 10);
      if (seq !== next[p]) outOfOrder++;
      next[p] = seq + 1;
      received++;
    }
    const seconds = (performance.now() - t0) / 1000;
    await logs.return(undefined);
    return { linesPerSecond: received / seconds, received, lost: total - received, outOfOrder };
  } finally {
    controller.abort();
    await coordination.close();
    try {
      child.kill("SIGTERM");
    } catch { /* exited */ }
    await child.status;
    await reader.cancel().catch(() => {});
  }
}

async function bench(): Promise<void> {
  const live = await measure("live", false);
  const backlog = await measure("backlog", false);
  const brpop = await measure("backlog", true);
  const rate = (r: DrainResult) =>
    `${Math.round(r.linesPerSecond).toLocaleString("en-US")} lines/s`;
  const row = (name: string, r: DrainResult, target: boolean) =>
    `| ${name} | ${rate(r)} | ${
      r.received.toLocaleString("en-US")
    } | ${r.lost} | ${r.outOfOrder} | ${
      target
        ? (r.linesPerSecond >= 50_000 && r.lost === 0 && r.outOfOrder === 0 ? "yes" : "no")
        : "(information)"
    } |`;
  console.log(`## Log drain (peers' LPUSH → RedisCoordination.logs())

${PEERS} simulated peers push ${LINES.toLocaleString("en-US")} lines each (~80 bytes, LPUSH
batches of ${BATCH}) to a local redis-server; tm drains every list on one blocking connection.
Target: ≥ 50,000 lines/s with nothing lost and each peer's order kept.

| Run | Drained | Lines received | Lost | Out of order | Target met |
|---|---|---|---|---|---|
${row("live: peers pushing at once, BLMPOP", live, true)}
${row("backlog: all queued first, BLMPOP", backlog, true)}
${row("backlog, BRPOP fallback (Redis < 7)", brpop, false)}`);
}

if (Deno.args[0] === "--peers") await simulatePeers(Deno.args[1], Deno.args[2] === "live");
else await bench();
