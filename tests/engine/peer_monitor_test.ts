/** PeerMonitor against a real redis-server, with thousands of simulated peers on pipelines. */
import { assert, assertEquals } from "../support/assert.ts";
import { Redis } from "ioredis";
import { RedisCoordination } from "../../src/coordination/redis_coordination.ts";
import { PeerMonitor } from "../../src/engine/peer_monitor.ts";
import { PeerStates } from "../../src/engine/peer_states.ts";
import { startRedisServer } from "../support/redis_server.ts";

const PEERS = 5_000;
/** Lines per peer; the last is pushed in the same pipeline as its `stopped`, just before it. */
const LINES = 10;
/** Simulated peers per pipeline (one pipeline per connection at a time). */
const CHUNK = 500;

Deno.test("PeerMonitor.drainLogs() leaves no line in Redis at 5,000 peers that each push their last line just before stopped [integration: redis-server]", async () => {
  await using redis = await startRedisServer();
  const names = Array.from({ length: PEERS }, (_, i) => `peer${i}`);
  const states = new PeerStates(names.map((peer, i) => ({
    peer,
    hostIndex: 0,
    host: "sim",
    address: "127.0.0.1",
    port: 20_000 + i,
    image: "sim",
    listenAddr: `/ip4/0.0.0.0/udp/${20_000 + i}/quic-v1`,
  })));
  const coordination = await RedisCoordination.open(redis.url);
  const writers = Array.from({ length: 4 }, () => new Redis(redis.url));
  const lines = new Map<string, string[]>(names.map((peer) => [peer, []]));
  let stopped = 0;
  let allStopped!: () => void;
  const everyoneStopped = new Promise<void>((resolve) => allStopped = resolve);
  const lost: string[] = [];
  const monitor = new PeerMonitor({
    states,
    emit: (event) => {
      if (event.type === "peer-log") lines.get(event.peer)!.push(event.message);
    },
    onStatus: (update) => {
      states.applyStatus(update.peer, update.status, update.address);
      if (update.status === "stopped" && ++stopped === PEERS) allStopped();
    },
    onLost: (message) => lost.push(message),
    drainTimeoutMs: 120_000,
  });
  try {
    monitor.start(coordination, names);
    // Each peer: started, its first lines one LPUSH each, then its last line and `stopped`.
    const simulate = async (first: number, w: Redis) => {
      for (let at = first; at < PEERS; at += CHUNK * writers.length) {
        const pipeline = w.pipeline();
        for (const peer of names.slice(at, at + CHUNK)) {
          pipeline.set(`${peer}_status`, "started|127.0.0.1:1");
          for (let i = 0; i < LINES - 1; i++) pipeline.lpush(`${peer}_log`, `info|${peer} ${i}`);
        }
        await pipeline.exec();
      }
      for (let at = first; at < PEERS; at += CHUNK * writers.length) {
        const pipeline = w.pipeline();
        for (const peer of names.slice(at, at + CHUNK)) {
          pipeline.lpush(`${peer}_log`, `info|${peer} ${LINES - 1}`);
          pipeline.set(`${peer}_status`, "stopped");
        }
        await pipeline.exec();
      }
    };
    await Promise.all(writers.map((w, i) => simulate(i * CHUNK, w)));
    await everyoneStopped;
    await monitor.drainLogs(new AbortController().signal);
    monitor.stop();
    await coordination.close();
    await monitor.ended();

    assertEquals(lost, []);
    assertEquals(await writers[0].keys("*_log"), [], "log lines left in Redis");
    const expected = (peer: string) => Array.from({ length: LINES }, (_, i) => `${peer} ${i}`);
    const wrong = names.filter((peer) =>
      JSON.stringify(lines.get(peer)) !== JSON.stringify(expected(peer))
    );
    assert(
      wrong.length === 0,
      `${wrong.length} peers' lines missing or out of order, e.g. ${wrong[0]}: ${
        lines.get(wrong[0] ?? "")?.length
      } lines`,
    );
  } finally {
    monitor.stop();
    await coordination.close();
    for (const w of writers) w.disconnect();
  }
});
