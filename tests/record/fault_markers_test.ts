import { assertEquals } from "../support/assert.ts";
import type { EngineEvent } from "../../src/engine/events.ts";
import type { RecordedEvent } from "../../src/record/events_jsonl.ts";
import { reportData } from "../../src/record/reporters/report_data.ts";
import { runHistory } from "../../src/history/run_history.ts";
import { placed } from "../support/scripted_events.ts";

const events: EngineEvent[] = [
  {
    t: 0,
    type: "run-started",
    test: "t",
    runId: "r",
    plan: [placed("alice", 0, 1), placed("bob", 0, 2)],
    timeline: [],
    faults: [{
      index: 0,
      time: 1,
      fault: "partition",
      peers: ["alice", "bob"],
      groups: [["alice"], [
        "bob",
      ]],
    }],
  },
  {
    t: 1_000,
    type: "fault-applied",
    action: { fault: "partition", peers: ["alice", "bob"], groups: [["alice"], ["bob"]] },
    index: 0,
    dueMs: 1_000,
    lateMs: 3,
  },
  {
    t: 2_000,
    type: "fault-failed",
    action: { fault: "pause", peers: ["bob"] },
    reason: "container of bob is gone",
    targetGone: true,
    detail: "on interrupt",
  },
];

Deno.test("reportData() marks each fault on the lane of every peer it acted on", () => {
  const recorded: RecordedEvent[] = events.map((event) => ({
    wall: "2026-11-28T00:00:00Z",
    event,
  }));
  const lanes = reportData(runHistory(recorded), recorded).lanes;
  assertEquals(lanes.map((lane) => [lane.peer, lane.markers.map((m) => [m.t, m.kind, m.label])]), [
    ["alice", [[1_000, "fault", "fault partition alice | bob"]]],
    ["bob", [
      [1_000, "fault", "fault partition alice | bob"],
      [
        2_000,
        "fault",
        "fault pause bob (on interrupt) failed: container of bob is gone; the run goes on",
      ],
    ]],
  ]);
});
