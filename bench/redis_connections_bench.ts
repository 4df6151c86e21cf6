/**
 * Redis connections held by the orchestrator with 1,000 peers: RedisCoordination opened,
 * keyspace notifications on, statuses() and logs() both running for every peer, every peer
 * having set a status and pushed a log line (all of which must arrive). Counted from the
 * server's `CLIENT LIST` (connections named `tm:*`, and all connections other than the
 * benchmark's own). Target (issue 3): ≤ 4 at N = 1,000.
 */
import { Redis } from "ioredis";
import { RedisCoordination } from "../src/coordination/redis_coordination.ts";
import { startRedisServer } from "../tests/support/redis_server.ts";
import { met } from "./support/distribution.ts";

const PEERS = 1_000;

async function bench(): Promise<void> {
  await using redis = await startRedisServer();
  const admin = new Redis(redis.url, { connectionName: "bench:admin" });
  const coordination = await RedisCoordination.open(redis.url);
  const controller = new AbortController();
  try {
    const names = Array.from({ length: PEERS }, (_, i) => `peer${i}`);
    await coordination.enableKeyspaceNotifications();
    const statuses = coordination.statuses(names, controller.signal);
    const logs = coordination.logs(names, controller.signal);
    const first = statuses.next(); // subscribes, then reads
    const firstLog = logs.next(); // issues the blocking pop
    // Simulated peers: one pipeline from the admin connection (peers' own connections are
    // theirs, not the orchestrator's, and would only blur the count).
    const writes = admin.pipeline();
    for (const name of names) {
      writes.set(`${name}_status`, "started");
      writes.lpush(`${name}_log`, `info|hello from ${name}`);
    }
    await writes.exec();
    let statusCount = (await first).done ? 0 : 1;
    let logCount = (await firstLog).done ? 0 : 1;
    while (statusCount < PEERS) {
      if ((await statuses.next()).done) break;
      statusCount++;
    }
    while (logCount < PEERS) {
      if ((await logs.next()).done) break;
      logCount++;
    }
    const list = (await admin.client("LIST") as string).trim().split("\n");
    const named = list.map((line) => /name=(\S*)/.exec(line)?.[1] ?? "");
    const tm = named.filter((name) => name.startsWith("tm:")).sort();
    const others = named.filter((name) => name !== "bench:admin").length;
    // `met` / `**missed**`: the cells bench/all.ts reads (a `no` here passed `deno task bench`).
    const ok = met;
    console.log(`## Redis connections held by the orchestrator

RedisCoordination with N = ${
      PEERS.toLocaleString("en-US")
    } peers on a local redis-server ${coordination.serverVersion}:
notifications on, statuses() subscribed to all ${
      PEERS.toLocaleString("en-US")
    } keyspace channels, logs()
blocking on all ${
      PEERS.toLocaleString("en-US")
    } log lists; every peer set a status and pushed a line.
Connections counted from the server's CLIENT LIST.

| Measure | Value | Target | Met |
|---|---|---|---|
| connections named tm:* | ${tm.length} (${tm.join(", ")}) | ≤ 4 | ${ok(tm.length <= 4)} |
| all connections but the benchmark's own | ${others} | ≤ 4 | ${ok(others <= 4)} |
| statuses received | ${statusCount} of ${PEERS} | all | ${ok(statusCount === PEERS)} |
| log lines received | ${logCount} of ${PEERS} | all | ${ok(logCount === PEERS)} |`);
  } finally {
    controller.abort();
    await coordination.close();
    admin.disconnect();
  }
}

await bench();
