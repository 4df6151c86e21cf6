import { deepStrictEqual as assertEquals } from "node:assert";
import type { RecordedEvent } from "../../../src/record/events_jsonl.ts";
import { outputLineTime, reportData } from "../../../src/record/reporters/report_data.ts";
import { runHistory } from "../../../src/history/run_history.ts";
import { scriptedRun } from "../../support/scripted_events.ts";

const START = Date.parse("2026-12-06T10:00:00.000Z");

/** The scripted events as recorded: each at START + its `t` on the wall clock. */
function recordedOf(events: ReturnType<typeof scriptedRun>): RecordedEvent[] {
  return events.map((event) => ({ wall: new Date(START + event.t).toISOString(), event }));
}

Deno.test("reportData places a crashed peer's output lines at the engine's time of each, not at its exit", () => {
  const events = scriptedRun({ outcome: "crash" });
  const exit = events.find((e) => e.type === "peer-exited" && e.peer === "dave")!;
  if (exit.type !== "peer-exited") throw new Error("the crash script has dave's exit");
  // The panic was written 2.5 s before docker saw the exit, "out of memory" just at it.
  exit.outputAt = [
    new Date(START + exit.t - 2_500).toISOString().replace("Z", "123456Z"),
    new Date(START + exit.t).toISOString(),
  ];
  const recorded = recordedOf(events);
  const data = reportData(runHistory(recorded), recorded);
  const output = data.logs.filter((log) => log.level === "output" && log.peer === "dave");
  assertEquals(output.map((log) => log.t), [exit.t - 2_500, exit.t]);
  // The log table stays in time order: the panic comes before lines logged after it.
  const times = data.logs.map((log) => log.t);
  assertEquals(times, [...times].sort((a, b) => a - b));
});

Deno.test("outputLineTime keeps a line at the exit when its time is unknown, unreadable or after the exit", () => {
  const wall = "2026-12-06T10:00:05.000Z";
  assertEquals(outputLineTime(5_000, wall, undefined), 5_000);
  assertEquals(outputLineTime(5_000, wall, ""), 5_000);
  assertEquals(outputLineTime(5_000, wall, "not a time"), 5_000);
  assertEquals(outputLineTime(5_000, wall, "2026-12-06T10:00:06.000Z"), 5_000);
  assertEquals(outputLineTime(5_000, wall, "2026-12-06T10:00:04.250000001Z"), 4_250);
});

Deno.test("reportData places an expected exit's peer-output lines at the engine's time of each", () => {
  const events = scriptedRun({ outcome: "passed" });
  const exit = events.find((e) => e.type === "peer-exited")!;
  if (exit.type !== "peer-exited") throw new Error("the passing script has exits");
  // Read 3 s after the exit (a busy engine): the lines were written before it.
  const written = [
    new Date(START + exit.t - 1_000).toISOString(),
    new Date(START + exit.t).toISOString(),
  ];
  events.splice(events.indexOf(exit) + 1, 0, {
    type: "peer-output",
    peer: exit.peer,
    output: ["closing", "bye"],
    outputAt: written,
    t: exit.t + 3_000,
  });
  const recorded = recordedOf(events);
  const data = reportData(runHistory(recorded), recorded);
  const output = data.logs.filter((log) => log.level === "output" && log.peer === exit.peer);
  assertEquals(output.map((log) => [log.t, log.message]), [
    [exit.t - 1_000, "closing"],
    [exit.t, "bye"],
  ]);
});
