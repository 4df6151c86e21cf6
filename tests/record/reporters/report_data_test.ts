import { deepStrictEqual as assertEquals } from "node:assert";
import type { RecordedEvent } from "../../../src/record/events_jsonl.ts";
import fc from "fast-check";
import {
  outputLineTime,
  reportData,
  type ReportLog,
  reportLogs,
} from "../../../src/record/reporters/report_data.ts";
import { escapeControlsIn } from "../../../src/text/terminal_text.ts";
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

/** The log list as one stable sort of every line by time makes it (reportData before reportLogs). */
function sortedLogs(recorded: RecordedEvent[]): ReportLog[] {
  const logs: ReportLog[] = [];
  for (const { event, wall } of recorded) {
    if (event.type === "peer-log") {
      logs.push({ t: event.t, peer: event.peer, level: event.level, message: event.message });
    } else if (event.type === "warning") {
      logs.push({ t: event.t, peer: event.peer ?? "tm", level: "warn", message: event.message });
    } else if (event.type === "peer-output") {
      event.output.forEach((line, i) => {
        const t = outputLineTime(event.t, wall, event.outputAt?.[i]);
        logs.push({ t, peer: event.peer, level: "output", message: line });
      });
    }
  }
  return escapeControlsIn(logs.sort((a, b) => a.t - b.t));
}

Deno.test("reportLogs yields every line as one stable sort by time would, holding only the output lines", () => {
  // Events in the record's order, their times never decreasing (the engine stamps them as it
  // emits them); an output line's own time is up to 5 s before its event's, often a tie.
  const step = fc.oneof(
    fc.record({ kind: fc.constant("log"), gap: fc.nat(3), text: fc.string() }),
    fc.record({ kind: fc.constant("warning"), gap: fc.nat(3), text: fc.string() }),
    fc.record({
      kind: fc.constant("output"),
      gap: fc.nat(3),
      before: fc.array(fc.nat(5), { maxLength: 4 }),
    }),
  );
  fc.assert(fc.property(fc.array(step, { maxLength: 40 }), (steps) => {
    let t = 0;
    const recorded: RecordedEvent[] = steps.map((s, i) => {
      t += s.gap;
      const wall = new Date(START + t * 1_000).toISOString();
      const peer = `p${i % 3}`;
      const event: RecordedEvent["event"] = s.kind === "log"
        ? { type: "peer-log", t: t * 1_000, peer, level: "info", message: s.text }
        : s.kind === "warning"
        ? { type: "warning", t: t * 1_000, message: s.text }
        : {
          type: "peer-output",
          t: t * 1_000,
          peer,
          output: s.before.map((_, j) => `line ${i}.${j}`),
          outputAt: s.before.map((b) => new Date(START + (t - b) * 1_000).toISOString()),
        };
      return { wall, event };
    });
    assertEquals([...reportLogs(recorded)], sortedLogs(recorded));
  }));
});
