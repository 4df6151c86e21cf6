import { assertEquals } from "../support/assert.ts";
import { applyEvent, createRunState } from "../../src/ui/run_state.ts";
import { formatLine } from "../../src/ui/plain_lines.ts";
import type { EngineEvent } from "../../src/engine/events.ts";

const started: EngineEvent = {
  t: 0,
  type: "run-started",
  test: "t",
  runId: "r",
  plan: [],
  timeline: [
    { index: 0, time: 0, peer: "alice", command: "connect" },
    { index: 2, time: 2, peer: "bob", command: "pull" },
  ],
  faults: [
    { index: 1, time: 0, fault: "pause", peers: ["bob"] },
    {
      index: 3,
      time: 5,
      fault: "partition",
      peers: ["alice", "bob"],
      groups: [["alice"], ["bob"]],
    },
  ],
};

Deno.test("applyEvent() run-started puts faults in the timeline's batches, marked, in index order", () => {
  const state = applyEvent(createRunState(), started);
  assertEquals(
    state.batches.map((
      b,
    ) => [b.dueMs, b.entries.map((e) => [e.index, e.fault ?? false, e.command])]),
    [
      [0, [[0, false, "connect"], [1, true, "pause bob"]]],
      [2000, [[2, false, "pull"]]],
      [5000, [[3, true, "partition alice | bob"]]],
    ],
  );
});

Deno.test("applyEvent() marks a timeline fault done or failed, and counts a failure by its severity", () => {
  const state = applyEvent(createRunState(), started);
  applyEvent(state, {
    t: 10,
    type: "fault-applied",
    action: { fault: "pause", peers: ["bob"] },
    index: 1,
    dueMs: 0,
    lateMs: 4.5,
  });
  applyEvent(state, {
    t: 20,
    type: "fault-failed",
    action: { fault: "partition", peers: ["alice", "bob"], groups: [["alice"], ["bob"]] },
    index: 3,
    dueMs: 5000,
    reason: "hostb: tc: not found",
    targetGone: false,
  });
  const entries = state.batches.flatMap((b) => b.entries);
  assertEquals(entries.find((e) => e.index === 1)?.lateMs, 4.5);
  assertEquals(entries.find((e) => e.index === 3)?.undeliverable, "hostb: tc: not found");
  assertEquals([state.warnings, state.errors], [0, 1]);
  const lines = state.lines.toArray().filter((line) => line.kind === "fault");
  assertEquals(lines.map((line) => [line.level, line.text]), [
    ["info", "fault pause bob"],
    ["error", "fault partition alice | bob failed: hostb: tc: not found"],
  ]);
  assertEquals(
    formatLine(lines[0], { stamp: false }).map((part) => part.text).join(""),
    "⚡ fault pause bob",
  );
});

Deno.test("applyEvent() counts a fault on a gone peer as a warning", () => {
  const state = applyEvent(createRunState(), started);
  applyEvent(state, {
    t: 10,
    type: "fault-failed",
    action: { fault: "pause", peers: ["bob"] },
    index: 1,
    reason: "container of bob is gone",
    targetGone: true,
  });
  assertEquals([state.warnings, state.errors], [1, 0]);
});
