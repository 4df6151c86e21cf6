/** RedisCoordination against a real redis-server, with simulated peers on plain connections. */
import { assert, assertEquals, assertRejects } from "../support/assert.ts";
import { Redis } from "ioredis";
import { RedisCoordination } from "../../src/coordination/redis_coordination.ts";
import { CoordinationError, type StatusUpdate } from "../../src/coordination/coordination.ts";
import { freePort, startRedisServer } from "../support/redis_server.ts";

/** Takes the next `n` items of a generator (leaving it open). */
async function take<T>(iterator: AsyncIterator<T>, n: number): Promise<T[]> {
  const items: T[] = [];
  while (items.length < n) {
    const next = await iterator.next();
    if (next.done) throw new Error(`generator ended after ${items.length} of ${n} items`);
    items.push(next.value);
  }
  return items;
}

/** Waits until `trace` received a line matching `pattern`. */
function traced(pattern: RegExp): { trace: (m: string) => void; seen: Promise<string> } {
  let resolve!: (m: string) => void;
  const seen = new Promise<string>((r) => (resolve = r));
  return { trace: (m) => pattern.test(m) && resolve(m), seen };
}

Deno.test("RedisCoordination.open() rejects naming the URL when Redis is unreachable", async () => {
  const url = `redis://127.0.0.1:${freePort()}`;
  const error = await assertRejects(
    () => RedisCoordination.open(url, { connectTimeoutMs: 300 }),
    CoordinationError,
  );
  assert(error.message.includes(url), error.message);
  assertEquals(error.url, url);
});

Deno.test("RedisCoordination.open() rejects a database the server does not have, naming it [integration: redis-server]", async () => {
  // redis-server has 16 databases by default: 0-15. ioredis's own SELECT fails silently and
  // leaves the connection on db 0, while peers given the URL fail: a startup timeout, later.
  await using redis = await startRedisServer();
  const error = await assertRejects(
    () => RedisCoordination.open(`${redis.url}/99`),
    CoordinationError,
  );
  assertEquals(
    error.message,
    `Redis at ${redis.url}/99 has no database 99 (ERR DB index is out of range); ` +
      "use one below the server's `databases` setting (16 by default)",
  );
  assertEquals(error.url, `${redis.url}/99`);
  const coordination = await RedisCoordination.open(`${redis.url}/15`);
  await coordination.close();
});

Deno.test("RedisCoordination.statuses() sees values set before it subscribed [integration: redis-server]", async () => {
  await using redis = await startRedisServer();
  const peer = new Redis(redis.url);
  const coordination = await RedisCoordination.open(redis.url);
  const controller = new AbortController();
  try {
    assertEquals(await coordination.enableKeyspaceNotifications(), { ok: true });
    await peer.set("alice_status", "started|vlad-a|/ip4/10.0.0.1/udp/1/quic-v1");
    const statuses = coordination.statuses(["alice", "bob"], controller.signal);
    const [first] = await take(statuses, 1);
    assertEquals(first, {
      peer: "alice",
      status: "started",
      address: "vlad-a|/ip4/10.0.0.1/udp/1/quic-v1",
      raw: "started|vlad-a|/ip4/10.0.0.1/udp/1/quic-v1",
    });
    await peer.set("bob_status", "started");
    assertEquals((await take(statuses, 1))[0].peer, "bob");
    controller.abort();
    assertEquals((await statuses.next()).done, true);
  } finally {
    controller.abort();
    await coordination.close();
    peer.disconnect();
  }
});

Deno.test("RedisCoordination.statuses() yields each change in order, latest value last [integration: redis-server]", async () => {
  await using redis = await startRedisServer();
  const peer = new Redis(redis.url);
  const coordination = await RedisCoordination.open(redis.url);
  const controller = new AbortController();
  try {
    await coordination.enableKeyspaceNotifications();
    const statuses = coordination.statuses(["alice"], controller.signal);
    await peer.set("alice_status", "started");
    const lifecycle = ["connecting", "connected", "disconnecting", "disconnected", "stopped"];
    const seen: StatusUpdate[] = await take(statuses, 1);
    for (const status of lifecycle) {
      await peer.set("alice_status", status);
      seen.push(...await take(statuses, 1)); // a peer that waits between changes
    }
    assertEquals(seen.map((s) => s.status), ["started", ...lifecycle]);

    // A burst: values overwritten before tm's GET may be skipped, never reordered or repeated.
    const burst = Array.from({ length: 50 }, (_, i) => `s${i}`);
    await Promise.all(burst.map((value) => peer.set("alice_status", value)));
    const observed: string[] = [];
    while (observed.at(-1) !== "s49") observed.push((await take(statuses, 1))[0].status);
    const positions = observed.map((value) => burst.indexOf(value));
    assert(positions.every((p, i) => i === 0 || p > positions[i - 1]), observed.join(","));
  } finally {
    controller.abort();
    await coordination.close();
    peer.disconnect();
  }
});

Deno.test("RedisCoordination.send() delivers a 20-command burst FIFO to a BLPOP peer [integration: redis-server]", async () => {
  await using redis = await startRedisServer();
  const peer = new Redis(redis.url);
  const coordination = await RedisCoordination.open(redis.url);
  try {
    const burst = Array.from({ length: 20 }, (_, i) => ({
      peer: i % 3 === 0 ? "bob" : "alice",
      command: `push|x|${i}`,
    }));
    await coordination.send(burst);
    for (const name of ["alice", "bob"]) {
      const received: string[] = [];
      for (;;) {
        const reply = await peer.blpop(`${name}_command`, 0.05);
        if (!reply) break;
        received.push(reply[1]);
      }
      assertEquals(received, burst.filter((c) => c.peer === name).map((c) => c.command));
    }
  } finally {
    await coordination.close();
    peer.disconnect();
  }
});

Deno.test("RedisCoordination.clearPeerKeys() deletes command, log and status keys [integration: redis-server]", async () => {
  await using redis = await startRedisServer();
  const r = new Redis(redis.url);
  const coordination = await RedisCoordination.open(redis.url);
  try {
    await r.rpush("alice_command", "stale");
    await r.lpush("alice_log", "info|stale");
    await r.set("alice_status", "stopped");
    await r.set("other", "kept");
    await coordination.clearPeerKeys(["alice", "bob"]);
    assertEquals(await r.keys("*"), ["other"]);
  } finally {
    await coordination.close();
    r.disconnect();
  }
});

async function checkLogDrain(
  options: { forceBrpop?: boolean; forceBlockingPop?: boolean },
  mode: string,
): Promise<void> {
  await using redis = await startRedisServer();
  const peers = Array.from({ length: 20 }, (_, i) => `peer${i}`);
  const perPeer = 300;
  const writers = peers.map(() => new Redis(redis.url));
  const coordination = await RedisCoordination.open(redis.url, options);
  const controller = new AbortController();
  try {
    const logs = coordination.logs(peers, controller.signal);
    const reading = take(logs, peers.length * perPeer);
    // Every peer pushes at once, in chunks of varying size (LPUSH of several values).
    await Promise.all(peers.map(async (peer, p) => {
      for (let i = 0; i < perPeer;) {
        const chunk = Array.from({ length: Math.min(1 + ((i + p) % 7), perPeer - i) }, () => i++);
        await writers[p].lpush(`${peer}_log`, ...chunk.map((n) => `info|${peer} line ${n}`));
      }
    }));
    const entries = await reading;
    assertEquals(coordination.logMode, mode);
    for (const peer of peers) {
      const mine = entries.filter((e) => e.peer === peer).map((e) => e.message);
      assertEquals(mine, Array.from({ length: perPeer }, (_, n) => `${peer} line ${n}`));
    }
    const admin = writers[0];
    const list = await admin.client("LIST") as string;
    const cmd = /name=tm:logs .*cmd=(\w+)/.exec(list)?.[1];
    assertEquals(cmd, mode === "notified" ? "rpop" : mode);
  } finally {
    controller.abort();
    await coordination.close();
    for (const w of writers) w.disconnect();
  }
}

Deno.test("RedisCoordination.logs() keeps each peer's order and loses nothing, notified RPOP [integration: redis-server]", () =>
  checkLogDrain({}, "notified"));

Deno.test("RedisCoordination.logs() keeps each peer's order and loses nothing, BLMPOP fallback [integration: redis-server]", () =>
  checkLogDrain({ forceBlockingPop: true }, "blmpop"));

Deno.test("RedisCoordination.logs() keeps each peer's order and loses nothing, BRPOP fallback [integration: redis-server]", () =>
  checkLogDrain({ forceBrpop: true }, "brpop"));

Deno.test("RedisCoordination.logs() pops only the lists a push notification named, not every key [integration: redis-server]", async () => {
  await using redis = await startRedisServer();
  const peers = Array.from({ length: 2_000 }, (_, i) => `peer${i}`);
  const writer = new Redis(redis.url);
  const coordination = await RedisCoordination.open(redis.url);
  const controller = new AbortController();
  try {
    const logs = coordination.logs(peers, controller.signal);
    await writer.lpush("peer7_log", "info|warm-up");
    assertEquals((await take(logs, 1))[0].message, "warm-up");
    const next = logs.next(); // the consumer waits for more
    assertEquals(await coordination.flushLogs(AbortSignal.timeout(30_000)), true);
    // The passes over every list are behind us: from now on a line costs one RPOP.
    const before = await rpopCalls(writer);
    for (let i = 0; i < 10; i++) await writer.lpush(`peer${i * 100}_log`, `info|line ${i}`);
    const entries = [(await next).value!, ...await take(logs, 9)];
    assertEquals(entries.map((e) => e.message), Array.from({ length: 10 }, (_, i) => `line ${i}`));
    const calls = (await rpopCalls(writer)) - before;
    assert(calls >= 10 && calls <= 20, `${calls} RPOPs for 10 lines of 10 peers out of 2,000`);
  } finally {
    controller.abort();
    await coordination.close();
    writer.disconnect();
  }
});

Deno.test("RedisCoordination.logs() pops a list once per push, not again for the notification of its own RPOP [integration: redis-server]", async () => {
  await using redis = await startRedisServer();
  const peers = Array.from({ length: 200 }, (_, i) => `peer${i}`);
  const writer = new Redis(redis.url);
  const coordination = await RedisCoordination.open(redis.url);
  const controller = new AbortController();
  try {
    const logs = coordination.logs(peers, controller.signal);
    const next = logs.next();
    assertEquals(await coordination.flushLogs(AbortSignal.timeout(30_000)), true);
    const before = await rpopCalls(writer);
    for (let i = 0; i < 10; i++) await writer.lpush(`peer${i * 10}_log`, `info|line ${i}`);
    const entries = [(await next).value!, ...await take(logs, 9)];
    assertEquals(entries.map((e) => e.message), Array.from({ length: 10 }, (_, i) => `line ${i}`));
    // The notifications of those ten RPOPs reached tm before this push's: once its line is
    // taken, any second pop they caused has run.
    await writer.lpush("peer199_log", "info|last");
    assertEquals((await take(logs, 1))[0].message, "last");
    assertEquals((await rpopCalls(writer)) - before, 11);
  } finally {
    controller.abort();
    await coordination.close();
    writer.disconnect();
  }
});

Deno.test("RedisCoordination.logBatches() yields a round's entries as one batch, each peer's order kept, nothing left [integration: redis-server]", async () => {
  await using redis = await startRedisServer();
  const peers = Array.from({ length: 500 }, (_, i) => `peer${i}`);
  const perPeer = 250; // over NOTIFIED_POP_COUNT: a list takes several pops, in order
  const writer = new Redis(redis.url);
  const pipeline = writer.pipeline();
  for (const peer of peers) {
    for (let i = 0; i < perPeer; i += 50) {
      pipeline.lpush(`${peer}_log`, ...Array.from({ length: 50 }, (_, j) => `info|${i + j}`));
    }
  }
  await pipeline.exec(); // a backlog: every list is popped in full rounds
  const coordination = await RedisCoordination.open(redis.url);
  const controller = new AbortController();
  const seen = new Map<string, number[]>(peers.map((peer) => [peer, []]));
  let batches = 0;
  let largest = 0;
  try {
    const consuming = (async () => {
      for await (const batch of coordination.logBatches(peers, controller.signal)) {
        batches++;
        largest = Math.max(largest, batch.length);
        for (const entry of batch) seen.get(entry.peer)!.push(Number(entry.message));
      }
    })();
    assertEquals(await coordination.flushLogs(AbortSignal.timeout(60_000)), true);
    assertEquals(coordination.logMode, "notified");
    for (const peer of peers) {
      assertEquals(seen.get(peer), Array.from({ length: perPeer }, (_, i) => i), peer);
    }
    assert(largest > 1_000, `the largest batch held ${largest} entries`);
    assert(batches < peers.length, `${batches} batches for ${peers.length} peers`);
    assertEquals(await writer.keys("*_log"), []);
    controller.abort();
    await consuming;
  } finally {
    controller.abort();
    await coordination.close();
    writer.disconnect();
  }
});

Deno.test("RedisCoordination.logs() hears of log pushes on two channels whatever the number of peers [integration: redis-server]", async () => {
  await using redis = await startRedisServer();
  const peers = Array.from({ length: 2_000 }, (_, i) => `peer${i}`);
  const admin = new Redis(redis.url);
  const coordination = await RedisCoordination.open(redis.url);
  const controller = new AbortController();
  try {
    const logs = coordination.logs(peers, controller.signal);
    const next = logs.next();
    assertEquals(await coordination.flushLogs(AbortSignal.timeout(30_000)), true);
    const channels = (await admin.pubsub("CHANNELS")) as string[];
    assertEquals(channels.sort(), ["__keyevent@0__:lpush", "__keyevent@0__:rpush"]);
    await admin.lpush("peer1999_log", "info|heard");
    assertEquals((await next).value?.message, "heard");
  } finally {
    controller.abort();
    await coordination.close();
    admin.disconnect();
  }
});

/** How many RPOPs the server ran so far (INFO commandstats). */
async function rpopCalls(redis: Redis): Promise<number> {
  const stats = await redis.info("commandstats");
  return Number(/cmdstat_rpop:calls=(\d+)/.exec(stats)?.[1] ?? 0);
}

Deno.test("RedisCoordination.flushLogs() resolves once every list is empty and each entry was taken [integration: redis-server]", async () => {
  await using redis = await startRedisServer();
  const peers = Array.from({ length: 300 }, (_, i) => `peer${i}`);
  const writer = new Redis(redis.url);
  const coordination = await RedisCoordination.open(redis.url, { logBatch: 10 });
  const controller = new AbortController();
  try {
    const logs = coordination.logs(peers, controller.signal);
    const taken: string[] = [];
    const consuming = (async () => {
      for await (const entry of logs) taken.push(`${entry.peer} ${entry.message}`);
    })();
    const pipeline = writer.pipeline();
    for (const peer of peers) {
      for (let i = 0; i < 35; i++) pipeline.lpush(`${peer}_log`, `info|${i}`);
    }
    await pipeline.exec();
    assertEquals(await coordination.flushLogs(AbortSignal.timeout(30_000)), true);
    assertEquals(taken.length, peers.length * 35);
    assertEquals(await writer.keys("*_log"), []);
    controller.abort();
    await consuming;
  } finally {
    controller.abort();
    await coordination.close();
    writer.disconnect();
  }
});

Deno.test("RedisCoordination.logs() flags malformed entries and never stops [integration: redis-server]", async () => {
  await using redis = await startRedisServer();
  const peer = new Redis(redis.url);
  const coordination = await RedisCoordination.open(redis.url);
  const controller = new AbortController();
  try {
    const logs = coordination.logs(["alice"], controller.signal);
    await peer.lpush(
      "alice_log",
      "no bar",
      "",
      Buffer.from([0x77, 0x61, 0x72, 0x6e, 0x7c, 0xc3, 0x28]),
      "debug|" + "x".repeat(100_000),
      "weird-level|kept",
      "info|fine",
    );
    const entries = await take(logs, 6);
    assertEquals(entries.map((e) => [e.level, e.malformed]), [
      ["info", true],
      ["info", true],
      ["warn", true],
      ["debug", true],
      ["weird-level", false],
      ["info", false],
    ]);
    assertEquals(entries[0].message, "no bar");
    assertEquals(entries[2].message, "\uFFFD(");
    assert(entries[3].message.endsWith("…[truncated 34470 bytes]"));
  } finally {
    controller.abort();
    await coordination.close();
    peer.disconnect();
  }
});

Deno.test("RedisCoordination holds at most four named connections for 500 peers [integration: redis-server]", async () => {
  await using redis = await startRedisServer();
  const admin = new Redis(redis.url);
  const coordination = await RedisCoordination.open(redis.url);
  const controller = new AbortController();
  try {
    const peers = Array.from({ length: 500 }, (_, i) => `p${i}`);
    await coordination.enableKeyspaceNotifications();
    const statuses = coordination.statuses(peers, controller.signal);
    const logs = coordination.logs(peers, controller.signal);
    await admin.set("p499_status", "started");
    await admin.lpush("p250_log", "info|hello");
    assertEquals((await take(statuses, 1))[0].peer, "p499");
    assertEquals((await take(logs, 1))[0].message, "hello");
    const list = (await admin.client("LIST") as string).trim().split("\n");
    const names = list.map((line) => /name=(\S*)/.exec(line)?.[1] ?? "").filter((n) =>
      n.startsWith("tm:")
    ).sort();
    assertEquals(names, ["tm:logs", "tm:main", "tm:status"]);
    assertEquals(list.length, 4); // ours and the admin connection
  } finally {
    controller.abort();
    await coordination.close();
    admin.disconnect();
  }
});

Deno.test("RedisCoordination.statuses() polls when CONFIG is refused [integration: redis-server]", async () => {
  await using redis = await startRedisServer({ extraArgs: ["--rename-command", "CONFIG", ""] });
  const peer = new Redis(redis.url);
  const { trace, seen } = traced(/polling 2 statuses every 20 ms/);
  const coordination = await RedisCoordination.open(redis.url, { trace, pollIntervalMs: 20 });
  const controller = new AbortController();
  try {
    const result = await coordination.enableKeyspaceNotifications();
    assertEquals(result.ok, false);
    const statuses = coordination.statuses(["alice", "bob"], controller.signal);
    const first = statuses.next();
    await seen;
    await peer.set("bob_status", "started");
    assertEquals((await first).value?.status, "started");
    await peer.set("bob_status", "connected");
    assertEquals((await take(statuses, 1))[0].status, "connected");
  } finally {
    controller.abort();
    await coordination.close();
    peer.disconnect();
  }
});

Deno.test("RedisCoordination.close() ends pending generators at once [integration: redis-server]", async () => {
  await using redis = await startRedisServer();
  const coordination = await RedisCoordination.open(redis.url);
  const never = new AbortController();
  const statuses = coordination.statuses(["alice"], never.signal).next();
  const logs = coordination.logs(["alice"], never.signal).next();
  // Let both reach their wait (subscribed, first pass over the lists done) before closing.
  const admin = new Redis(redis.url);
  try {
    while (!/name=tm:logs .*cmd=rpop/.test(await admin.client("LIST") as string)) {
      await new Promise((r) => setTimeout(r, 10));
    }
    await coordination.close();
    assertEquals((await statuses).done, true);
    assertEquals((await logs).done, true);
    await coordination.close(); // idempotent
    await assertRejects(() => coordination.send([{ peer: "a", command: "x" }]), CoordinationError);
  } finally {
    admin.disconnect();
  }
});

/** redis-server on a fixed port (to restart it in place). */
async function redisOnPort(port: number) {
  const child = new Deno.Command("redis-server", {
    args: ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
    stdout: "null",
    stderr: "null",
  }).spawn();
  const probe = new Redis({ port, lazyConnect: true, retryStrategy: () => 20 });
  probe.on("error", () => {});
  await probe.connect().catch(() => {});
  await probe.ping();
  probe.disconnect();
  return {
    url: `redis://127.0.0.1:${port}`,
    async stop() {
      try {
        child.kill("SIGKILL");
      } catch { /* gone */ }
      await child.status;
    },
  };
}

Deno.test("RedisCoordination reconnects after a Redis restart and sees new statuses and logs [integration: redis-server]", async () => {
  const port = freePort();
  let server = await redisOnPort(port);
  const peer = new Redis(server.url, { retryStrategy: () => 20 });
  peer.on("error", () => {});
  const back = traced(/re-read 1 statuses/);
  const coordination = await RedisCoordination.open(server.url, { trace: back.trace });
  const controller = new AbortController();
  try {
    await coordination.enableKeyspaceNotifications();
    const statuses = coordination.statuses(["alice"], controller.signal);
    const logs = coordination.logs(["alice"], controller.signal);
    await peer.set("alice_status", "started");
    await peer.lpush("alice_log", "info|before");
    assertEquals((await take(statuses, 1))[0].status, "started");
    assertEquals((await take(logs, 1))[0].message, "before");

    await server.stop();
    server = await redisOnPort(port);
    await back.seen; // notifications re-enabled, channels re-subscribed, statuses re-read
    await peer.set("alice_status", "connected");
    await peer.lpush("alice_log", "info|after");
    assertEquals((await take(statuses, 1))[0].status, "connected");
    assertEquals((await take(logs, 1))[0].message, "after");
  } finally {
    controller.abort();
    await coordination.close();
    peer.disconnect();
    await server.stop();
  }
});

Deno.test("RedisCoordination generators throw CoordinationError when Redis is gone for good [integration: redis-server]", async () => {
  const redis = await startRedisServer();
  const coordination = await RedisCoordination.open(redis.url, { outageLimitMs: 300 });
  const controller = new AbortController();
  try {
    const statuses = coordination.statuses(["alice"], controller.signal);
    const pending = statuses.next();
    await redis.stop();
    const error = await assertRejects(() => pending, CoordinationError);
    assert(error.message.includes("unreachable for 0.3 s"), error.message);
    await assertRejects(() => coordination.send([{ peer: "a", command: "x" }]), CoordinationError);
  } finally {
    controller.abort();
    await coordination.close();
    await redis.stop();
  }
});

Deno.test("RedisCoordination.close() while statuses() is still starting ends it instead of failing it [integration: redis-server]", async () => {
  await using redis = await startRedisServer();
  const coordination = await RedisCoordination.open(redis.url);
  // The first next() subscribes, then reads every status: close() lands in the middle of that.
  const statuses = coordination.statuses(["alice"], new AbortController().signal).next();
  await coordination.close();
  assertEquals((await statuses).done, true);
});
