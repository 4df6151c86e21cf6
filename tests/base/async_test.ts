import { assert, assertEquals, assertRejects } from "../support/assert.ts";
import {
  abortable,
  deadline,
  forEachConcurrently,
  Limiter,
  settledWithin,
  valueWithin,
} from "../../src/base/async.ts";

/** A promise with its resolvers, for driving a test step by step. */
function deferred<T = void>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

Deno.test("Limiter.run keeps at most limit tasks in flight and starts the rest in arrival order", async () => {
  const limiter = new Limiter(2);
  const gates = [deferred(), deferred(), deferred(), deferred()];
  const started: number[] = [];
  const runs = gates.map((gate, i) =>
    limiter.run(async () => {
      started.push(i);
      await gate.promise;
    })
  );
  await Promise.resolve();
  assertEquals(started, [0, 1]);
  assertEquals(limiter.active, 2);
  gates[1].resolve();
  await runs[1];
  assertEquals(started, [0, 1, 2]);
  gates[0].resolve();
  await runs[0];
  assertEquals(started, [0, 1, 2, 3]);
  gates[2].resolve();
  gates[3].resolve();
  await Promise.all(runs);
  assertEquals(limiter.active, 0);
});

Deno.test("Limiter.acquire leaves the queue when its signal aborts, and the slot goes to the next waiter", async () => {
  const limiter = new Limiter(1);
  await limiter.acquire();
  const abort = new AbortController();
  const leaving = limiter.acquire(abort.signal);
  const staying = limiter.acquire();
  abort.abort(new Error("gave up"));
  assertEquals((await assertRejects(() => leaving, Error)).message, "gave up");
  limiter.release();
  await staying;
  assertEquals(limiter.active, 1);
});

Deno.test("Limiter.fail rejects every waiter and every later acquire with its error", async () => {
  const limiter = new Limiter(1);
  await limiter.acquire();
  const waiting = limiter.acquire();
  limiter.fail(new Error("connection lost"));
  assertEquals((await assertRejects(() => waiting, Error)).message, "connection lost");
  assertEquals((await assertRejects(() => limiter.acquire(), Error)).message, "connection lost");
});

Deno.test("Limiter refuses a limit that is not a positive integer", () => {
  let error: unknown;
  try {
    new Limiter(0);
  } catch (e) {
    error = e;
  }
  assert(error instanceof RangeError);
});

Deno.test("forEachConcurrently runs every item with at most limit in flight", async () => {
  let inFlight = 0;
  let most = 0;
  const done: number[] = [];
  await forEachConcurrently([1, 2, 3, 4, 5], 2, new AbortController().signal, async (item) => {
    inFlight++;
    most = Math.max(most, inFlight);
    await Promise.resolve();
    done.push(item);
    inFlight--;
  });
  assertEquals(done.sort(), [1, 2, 3, 4, 5]);
  assertEquals(most, 2);
});

Deno.test("forEachConcurrently rejects with the first failure and starts no item after it", async () => {
  const started: number[] = [];
  assertEquals(
    (await assertRejects(
      () =>
        forEachConcurrently([1, 2, 3, 4], 1, new AbortController().signal, (item) => {
          started.push(item);
          return item === 2 ? Promise.reject(new Error("item 2 failed")) : Promise.resolve();
        }),
      Error,
    )).message,
    "item 2 failed",
  );
  assertEquals(started, [1, 2]);
});

Deno.test("forEachConcurrently rejects with the signal's reason once it aborts", async () => {
  const abort = new AbortController();
  const started: number[] = [];
  assertEquals(
    (await assertRejects(() =>
      forEachConcurrently([1, 2, 3], 1, abort.signal, (item) => {
        started.push(item);
        abort.abort(new Error("stopped"));
        return Promise.resolve();
      }), Error)).message,
    "stopped",
  );
  assertEquals(started, [1]);
});

Deno.test("abortable resolves with the promise's value, or rejects with the reason once the signal aborts", async () => {
  assertEquals(await abortable(Promise.resolve(7), new AbortController().signal), 7);
  const abort = new AbortController();
  const never = deferred<number>();
  const waiting = abortable(never.promise, abort.signal);
  abort.abort(new Error("halted"));
  assertEquals((await assertRejects(() => waiting, Error)).message, "halted");
  never.reject(new Error("late failure, not unhandled"));
  assertEquals(
    (await assertRejects(() => abortable(Promise.resolve(1), abort.signal), Error)).message,
    "halted",
  );
});

Deno.test("settledWithin is true for a promise that settles (even rejected), false after the timeout or an abort", async () => {
  assertEquals(await settledWithin(Promise.reject(new Error("no")), 10_000), true);
  assertEquals(await settledWithin(deferred().promise, 1), false);
  const abort = new AbortController();
  const waiting = settledWithin(deferred().promise, 60_000, abort.signal);
  abort.abort();
  assertEquals(await waiting, false);
});

Deno.test("valueWithin returns the value in time, else the fallback", async () => {
  assertEquals(await valueWithin(Promise.resolve([1]), 10_000, []), [1]);
  assertEquals(await valueWithin(deferred<number[]>().promise, 1, []), []);
});

Deno.test("deadline resolves with the promise's value in time, else rejects with the timeout's error", async () => {
  assertEquals(await deadline(Promise.resolve(5), 10_000, () => new Error("late")), 5);
  const slow = deferred<number>();
  const waiting = deadline(slow.promise, 1, () => new Error("no data for 1 ms"));
  assertEquals((await assertRejects(() => waiting, Error)).message, "no data for 1 ms");
  slow.reject(new Error("late failure, not unhandled"));
});

Deno.test("abortable without a signal is the promise itself", async () => {
  const promise = Promise.resolve("same");
  assertEquals(abortable(promise, undefined), promise);
  assertEquals(await abortable(promise, undefined), "same");
});
