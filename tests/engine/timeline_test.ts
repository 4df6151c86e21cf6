import { assert, assertEquals, assertRejects } from "../support/assert.ts";
import {
  batchTimeline,
  buildTimeline,
  type Clock,
  monotonicClock,
  runTimeline,
} from "../../src/engine/timeline.ts";

/** A clock that jumps to each wake-up time, plus a fixed lateness, and records the waits. */
class FakeClock implements Clock {
  current = 1_000;
  readonly waits: number[] = [];
  constructor(readonly lateness = 0) {}
  now() {
    return this.current;
  }
  sleepUntil(at: number, signal: AbortSignal) {
    signal.throwIfAborted();
    this.waits.push(at);
    this.current = Math.max(this.current, at + this.lateness);
    return Promise.resolve();
  }
}

const commands = [
  { time: 2, peer: "bob", command: "pull" },
  { time: 0, peer: "alice", command: "connect" },
  { time: 2, peer: "alice", command: "push|bob|hi" },
  { time: 0.5, peer: "carol", command: "connect" },
  { time: 2, peer: "carol", command: "track|alice" },
];

Deno.test("buildTimeline() sorts by time and keeps file order for equal times", () => {
  const timeline = buildTimeline(commands);
  assertEquals(timeline.map((c) => `${c.time} ${c.peer} ${c.command}`), [
    "0 alice connect",
    "0.5 carol connect",
    "2 bob pull",
    "2 alice push|bob|hi",
    "2 carol track|alice",
  ]);
  assertEquals(timeline.map((c) => c.index), [0, 1, 2, 3, 4]);
});

Deno.test("batchTimeline() groups commands due at the same millisecond, in order", () => {
  const batches = batchTimeline(buildTimeline([
    ...commands,
    { time: 0.1 + 0.2, peer: "bob", command: "a" },
    { time: 0.3, peer: "bob", command: "b" },
  ]));
  assertEquals(
    batches.map((b) => [b.dueMs, b.commands.map((c) => c.command)]),
    [
      [0, ["connect"]],
      [300, ["a", "b"]],
      [500, ["connect"]],
      [2000, ["pull", "push|bob|hi", "track|alice"]],
    ],
  );
});

Deno.test("runTimeline() dispatches each batch at start + due and reports its lateness", async () => {
  const clock = new FakeClock(0.25);
  const dispatched: [number, string[], number][] = [];
  await runTimeline({
    batches: batchTimeline(buildTimeline(commands)),
    clock,
    start: 5_000,
    signal: new AbortController().signal,
    dispatch: (batch, lateMs) =>
      dispatched.push([batch.dueMs, batch.commands.map((c) => c.peer), lateMs]),
  });
  assertEquals(clock.waits, [5_000, 5_500, 7_000]);
  assertEquals(dispatched, [
    [0, ["alice"], 0.25],
    [500, ["carol"], 0.25],
    [2000, ["bob", "alice", "carol"], 0.25],
  ]);
});

Deno.test("runTimeline() sends overdue batches at once, in order, when a dispatch is slow", async () => {
  const clock = new FakeClock();
  const order: number[] = [];
  await runTimeline({
    batches: batchTimeline(buildTimeline(commands)),
    clock,
    start: 1_000,
    signal: new AbortController().signal,
    dispatch: (batch) => {
      order.push(batch.dueMs);
      clock.current += 3_000; // this dispatch took 3 s
    },
  });
  assertEquals(order, [0, 500, 2000]);
});

Deno.test("runTimeline() stops with the signal's reason when aborted", async () => {
  const controller = new AbortController();
  const dispatched: number[] = [];
  class Stop extends Error {}
  await assertRejects(
    () =>
      runTimeline({
        batches: batchTimeline(buildTimeline(commands)),
        clock: new FakeClock(),
        signal: controller.signal,
        dispatch: (batch) => {
          dispatched.push(batch.dueMs);
          if (batch.dueMs === 500) controller.abort(new Stop("stop"));
        },
      }),
    Stop,
  );
  assertEquals(dispatched, [0, 500]);
});

Deno.test("monotonicClock.sleepUntil() never wakes before the due time and ends on abort", async () => {
  const due = monotonicClock.now() + 15;
  await monotonicClock.sleepUntil(due, new AbortController().signal);
  assert(monotonicClock.now() >= due);

  const controller = new AbortController();
  const sleeping = monotonicClock.sleepUntil(monotonicClock.now() + 60_000, controller.signal);
  controller.abort(new RangeError("aborted"));
  await assertRejects(() => sleeping, RangeError);
});
