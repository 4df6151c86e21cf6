import { assertEquals } from "../support/assert.ts";
import type { EngineEvent } from "../../src/engine/events.ts";
import { runHistory } from "../../src/history/run_history.ts";
import type { RecordedEvent } from "../../src/record/events_jsonl.ts";
import {
  DifferentTestsError,
  diffRuns,
  divergence,
  maskNumbers,
  percentile,
  ratio,
  regressed,
} from "../../src/record/run_diff.ts";
import { assertThrows } from "../support/assert.ts";
import { scriptedRun } from "../support/scripted_events.ts";

function input(dir: string, events: EngineEvent[]) {
  const recorded: RecordedEvent[] = events.map((event) => ({
    wall: "2025-06-01T12:00:00Z",
    event,
  }));
  return { dir, history: runHistory(recorded), recorded };
}

Deno.test("maskNumbers makes lines that differ only by numbers one line", () => {
  assertEquals(maskNumbers("took 31 ms (try 2.5)"), maskNumbers("took 35 ms (try 3.0)"));
  assertEquals(maskNumbers("no route to 10.0.0.12"), maskNumbers("no route to 10.0.0.7"));
  assertEquals(maskNumbers("restart 3 of 5"), "restart # of #");
});

Deno.test("divergence finds the first position where two status sequences differ, or null", () => {
  assertEquals(
    divergence(["started", "connected", "stopped"], ["started", "connected", "stopped"]),
    null,
  );
  assertEquals(divergence(["started", "stopped"], ["started", "failed", "stopped"]), {
    position: 1,
    a: "stopped",
    b: "failed",
    common: ["started"],
  });
  assertEquals(divergence(["started", "stopped"], ["started"]), {
    position: 1,
    a: "stopped",
    b: null,
    common: ["started"],
  });
});

Deno.test("percentile is nearest-rank; ratio is B/A, null when A is 0 or a side is missing", () => {
  assertEquals(percentile([], 50), null);
  assertEquals(percentile([5, 1, 3], 50), 3);
  assertEquals(percentile([...Array(100).keys()], 99), 98);
  assertEquals(ratio(2, 3), 1.5);
  assertEquals(ratio(0, 3), null);
  assertEquals(ratio(null, 3), null);
});

Deno.test("diffRuns of a passed run and a crashed one: dave regressed, the verdict too, exit 1", () => {
  const diff = diffRuns(input("a", scriptedRun()), input("b", scriptedRun({ outcome: "crash" })));
  assertEquals(regressed(diff), true);
  const dave = diff.peers.find((p) => p.peer === "dave")!;
  assertEquals([dave.outcome, dave.regressed], [{ a: "passed", b: "failed" }, true]);
  assertEquals(diff.regressions[0].startsWith("verdict: passed → failed"), true);
  // The other way round nothing regressed.
  const back = diffRuns(input("b", scriptedRun({ outcome: "crash" })), input("a", scriptedRun()));
  assertEquals(regressed(back), false);
});

Deno.test("diffRuns lists only B's new warn/error lines, deduplicated with numbers masked", () => {
  const withLines = (messages: string[]) => {
    const events = scriptedRun();
    const finished = events.pop()!;
    messages.forEach((message, i) =>
      events.push({
        t: finished.t - 10 + i,
        type: "peer-log",
        peer: "alice",
        level: "error",
        message,
      })
    );
    return [...events, finished];
  };
  const diff = diffRuns(
    input("a", withLines(["timeout after 31 ms"])),
    input("b", withLines(["timeout after 45 ms", "disk 7 full", "disk 9 full"])),
  );
  const alice = diff.peers.find((p) => p.peer === "alice")!;
  assertEquals(alice.newLines, [{ level: "error", message: "disk 7 full" }]);
});

Deno.test("diffRuns refuses runs of tests of different names, saying how they differ", () => {
  const other = scriptedRun().map((event) =>
    event.type === "run-started" ? { ...event, test: "other" } : event
  );
  const error = assertThrows(
    () => diffRuns(input("a", scriptedRun()), input("b", other)),
    DifferentTestsError,
  );
  assertEquals(error.differences, ["test gossip-demo → other"]);
});
