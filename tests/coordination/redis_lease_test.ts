import { assert, assertEquals, assertRejects } from "../support/assert.ts";
import { Redis } from "ioredis";
import {
  databaseOf,
  KEYSPACE_BEFORE_KEY,
  LEASE_KEY,
  RedisLease,
  RedisLeaseError,
  withDatabase,
} from "../../src/coordination/redis_lease.ts";
import { currentOwner, type RunOwner } from "../../src/coordination/run_owner.ts";
import { type LocalRedis, startRedisServer } from "../support/redis_server.ts";
import { deadOwner } from "../support/run_owners.ts";
import { eventually } from "../support/until.ts";

/** An owner on another machine: only its lease can tell whether it lives. */
function remoteOwner(runId: string): RunOwner {
  return { ...currentOwner(runId, "remote"), machine: "another-machine", hostname: "far-away" };
}

/** A plain client on one database of `redis`; `await using` closes it. */
function client(redis: LocalRedis, db = 0): Redis & AsyncDisposable {
  const connection = new Redis(`${redis.url}/${db}`, { lazyConnect: false }) as
    & Redis
    & AsyncDisposable;
  connection[Symbol.asyncDispose] = async () => void await connection.quit().catch(() => {});
  return connection;
}

async function keyspaceEvents(redis: LocalRedis): Promise<string> {
  await using c = client(redis);
  return (await c.config("GET", "notify-keyspace-events") as string[])[1];
}

Deno.test("databaseOf() and withDatabase() read and set the /<db> of a Redis URL", () => {
  assertEquals(databaseOf("redis://h:1"), undefined);
  assertEquals(databaseOf("redis://h:1/"), undefined);
  assertEquals(databaseOf("redis://:pw@h:1/7"), 7);
  const error = (() => {
    try {
      databaseOf("redis://:secret@h:1/x");
    } catch (e) {
      return e as Error;
    }
  })();
  assert(error instanceof RedisLeaseError && !error.message.includes("secret"), error?.message);
  assertEquals(withDatabase("redis://:pw@h:1", 3), "redis://:pw@h:1/3");
  assertEquals(withDatabase("rediss://h:1/0?x=1", 2), "rediss://h:1/2?x=1");
});

Deno.test("RedisLease.acquire() gives two runs two databases, names them, and release() frees them [integration: redis-server]", async () => {
  await using redis = await startRedisServer();
  const one = await RedisLease.acquire(redis.url, currentOwner("run-one", "t"));
  const two = await RedisLease.acquire(redis.url, currentOwner("run-two", "t"));
  try {
    assertEquals([one.db, two.db], [0, 1]);
    assertEquals(one.url, `${redis.url}/0`);
    assertEquals(two.database, `127.0.0.1:${redis.port}/1`);
    assertEquals((await one.holder(two.database) as RunOwner).runId, "run-two");
    assertEquals(await one.holder(`127.0.0.1:${redis.port}/5`), null);
    assertEquals(await one.holder(`10.0.0.1:${redis.port}/1`), "elsewhere");
    await using c = client(redis, 1);
    assert(await c.pttl(LEASE_KEY) > 0);
  } finally {
    await one.release();
    await two.release();
    await two.release(); // idempotent
  }
  await using c = client(redis, 1);
  assertEquals(await c.exists(LEASE_KEY), 0);
});

Deno.test("RedisLease.acquire() refuses when every database is held by a live run, naming each [integration: redis-server]", async () => {
  await using redis = await startRedisServer({ extraArgs: ["--databases", "2"] });
  const one = await RedisLease.acquire(redis.url, currentOwner("run-one", "t1"));
  {
    await using c = client(redis, 1);
    await c.set(LEASE_KEY, JSON.stringify(remoteOwner("run-far")), "PX", 60_000);
  }
  try {
    const error = await assertRejects(
      () => RedisLease.acquire(redis.url, currentOwner("run-three", "t3")),
      RedisLeaseError,
    );
    assert(error.message.startsWith(`every database of ${redis.url} is in use`), error.message);
    assert(error.message.includes('db 0: run run-one of test "t1"'), error.message);
    assert(error.message.includes('db 1: run run-far of test "remote" (pid'), error.message);
    assert(error.message.includes("far-away"), error.message);
    assertEquals(error.holders.map((h) => h.db), [0, 1]);
  } finally {
    await one.release();
  }
});

Deno.test("RedisLease.acquire() with /<db> in the URL leases that database or says why not [integration: redis-server]", async () => {
  await using redis = await startRedisServer({ extraArgs: ["--databases", "4"] });
  const pinned = await RedisLease.acquire(`${redis.url}/2`, currentOwner("run-one", "t"));
  try {
    assertEquals(pinned.db, 2);
    const held = await assertRejects(
      () => RedisLease.acquire(`${redis.url}/2`, currentOwner("run-two", "t")),
      RedisLeaseError,
    );
    assert(held.message.includes("database 2 of"), held.message);
    assert(held.message.includes("in use by run run-one"), held.message);
    const range = await assertRejects(
      () => RedisLease.acquire(`${redis.url}/99`, currentOwner("run-two", "t")),
      RedisLeaseError,
    );
    assertEquals(
      range.message,
      `database 99 of ${redis.url}/99 does not exist: that Redis has databases 0-3; pick one ` +
        "of them in --redis-url, or leave it out to get a free one",
    );
  } finally {
    await pinned.release();
  }
});

Deno.test("RedisLease.acquire() takes over the lease of a dead run on this machine at once, and waits out another machine's [integration: redis-server]", async () => {
  await using redis = await startRedisServer({ extraArgs: ["--databases", "1"] });
  {
    await using c = client(redis);
    await c.set(LEASE_KEY, JSON.stringify(deadOwner("run-dead", "t")), "PX", 60_000);
  }
  const taken = await RedisLease.acquire(redis.url, currentOwner("run-new", "t"));
  assertEquals(taken.db, 0);
  await taken.release();

  // Another machine's lease: only its expiry tells it is over.
  {
    await using c = client(redis);
    await c.set(LEASE_KEY, JSON.stringify(remoteOwner("run-far")), "PX", 300);
  }
  await assertRejects(
    () => RedisLease.acquire(redis.url, currentOwner("run-new", "t")),
    RedisLeaseError,
  );
  await eventually("the remote lease to expire", async () => {
    await using c = client(redis);
    return await c.exists(LEASE_KEY) === 0;
  });
  const after = await RedisLease.acquire(redis.url, currentOwner("run-new", "t"));
  await after.release();
});

Deno.test("RedisLease refreshes its lease, and reports it lost when another run took the database [integration: redis-server]", async () => {
  await using redis = await startRedisServer();
  const lost = Promise.withResolvers<string>();
  const lease = await RedisLease.acquire(redis.url, currentOwner("run-one", "t"), {
    ttlMs: 2_000,
    refreshMs: 100,
    onLost: lost.resolve,
  });
  try {
    await using c = client(redis);
    // Refreshed well past its lifetime (a TTL far above the refresh period: a loaded machine's
    // stall of a second must not look like a lapse).
    for (let i = 0; i < 15; i++) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      assert(await c.pttl(LEASE_KEY) > 0, "the lease lapsed while its run was alive");
    }
    await c.set(LEASE_KEY, JSON.stringify(remoteOwner("run-thief")), "PX", 60_000);
    const message = await lost.promise;
    assert(message.includes("run run-thief"), message);
    assert(message.includes("the two runs share keys"), message);
  } finally {
    await lease.release();
  }
  await using c = client(redis);
  assert((await c.get(LEASE_KEY))?.includes("run-thief"), "release() deleted another run's lease");
});

Deno.test("RedisLease gives notify-keyspace-events back when the last run leaves, not before, and never over a change by someone else [integration: redis-server]", async () => {
  await using redis = await startRedisServer({ extraArgs: ["--notify-keyspace-events", "Ex"] });
  const original = await keyspaceEvents(redis);
  const enable = async () => {
    await using c = client(redis);
    await c.config("SET", "notify-keyspace-events", "ExK$l");
  };
  const one = await RedisLease.acquire(redis.url, currentOwner("run-one", "t"));
  await one.rememberKeyspaceEvents();
  await enable();
  const two = await RedisLease.acquire(redis.url, currentOwner("run-two", "t"));
  await two.rememberKeyspaceEvents();
  await enable();

  assertEquals(await one.release(), {}); // run two still needs the events
  assert((await keyspaceEvents(redis)).includes("K"), await keyspaceEvents(redis));
  assertEquals(await two.release(), { restoredKeyspaceEvents: original });
  assertEquals(await keyspaceEvents(redis), original);
  {
    await using c = client(redis);
    assertEquals(await c.exists(KEYSPACE_BEFORE_KEY), 0);
  }

  // Changed by someone else meanwhile: theirs stays.
  const three = await RedisLease.acquire(redis.url, currentOwner("run-three", "t"));
  await three.rememberKeyspaceEvents();
  {
    await using c = client(redis);
    await c.config("SET", "notify-keyspace-events", "KA");
  }
  const theirs = await keyspaceEvents(redis);
  assertEquals(await three.release(), {});
  assertEquals(await keyspaceEvents(redis), theirs);
});
