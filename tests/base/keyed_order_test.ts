import { assertEquals, assertRejects } from "../support/assert.ts";
import { KeyedOrder } from "../../src/base/keyed_order.ts";

/** A task that records its start and end, and ends when released. */
function heldTask(log: string[], name: string) {
  const gate = Promise.withResolvers<void>();
  const task = async () => {
    log.push(`${name} starts`);
    await gate.promise;
    log.push(`${name} ends`);
    return name;
  };
  return { task, release: () => gate.resolve() };
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 0));

Deno.test("KeyedOrder.run starts tasks on disjoint keys at once and one key's in call order", async () => {
  const order = new KeyedOrder();
  const log: string[] = [];
  const a1 = heldTask(log, "a1");
  const b1 = heldTask(log, "b1");
  const a2 = heldTask(log, "a2");
  const results = [
    order.run(["a"], a1.task),
    order.run(["b"], b1.task),
    order.run(["a", "c"], a2.task),
  ];
  await tick();
  assertEquals(log, ["a1 starts", "b1 starts"]);
  a1.release();
  await tick();
  assertEquals(log, ["a1 starts", "b1 starts", "a1 ends", "a2 starts"]);
  a2.release();
  b1.release();
  assertEquals(await Promise.all(results), ["a1", "b1", "a2"]);
});

Deno.test("KeyedOrder.run on all keys waits for every earlier task and holds every later one", async () => {
  const order = new KeyedOrder();
  const log: string[] = [];
  const a = heldTask(log, "a");
  const all = heldTask(log, "all");
  const b = heldTask(log, "b");
  const results = [order.run(["a"], a.task), order.run("all", all.task), order.run(["b"], b.task)];
  await tick();
  assertEquals(log, ["a starts"]);
  a.release();
  await tick();
  assertEquals(log.at(-1), "all starts");
  all.release();
  await tick();
  assertEquals(log.at(-1), "b starts");
  b.release();
  assertEquals(await Promise.all(results), ["a", "all", "b"]);
});

Deno.test("KeyedOrder.run skips a task aborted while it waits; the next on its key still waits for the first", async () => {
  const order = new KeyedOrder();
  const log: string[] = [];
  const first = heldTask(log, "first");
  const skipped = heldTask(log, "skipped");
  const last = heldTask(log, "last");
  const stop = new AbortController();
  const firstDone = order.run(["a"], first.task);
  const skippedDone = order.run(["a"], skipped.task, stop.signal);
  const lastDone = order.run(["a"], last.task);
  stop.abort(new Error("stopped"));
  assertEquals((await assertRejects(() => skippedDone, Error)).message, "stopped");
  await tick();
  assertEquals(log, ["first starts"]);
  first.release();
  last.release();
  await Promise.all([firstDone, lastDone]);
  assertEquals(log, ["first starts", "first ends", "last starts", "last ends"]);
});
