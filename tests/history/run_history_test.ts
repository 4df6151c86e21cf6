/** runHistory(): the run told from its recorded events, by the rules of history/peer_facts.ts. */
import { deepStrictEqual as assertEquals } from "node:assert";
import type { EngineEvent, EventOf } from "../../src/engine/events.ts";
import { runHistory } from "../../src/history/run_history.ts";
import { peerProblems } from "../../src/history/peer_verdict.ts";
import { junitXml } from "../../src/record/reporters/junit.ts";
import { runSummary } from "../../src/record/run_summary.ts";
import type { RecordedEvent } from "../../src/record/events_jsonl.ts";
import { scriptedRun, TIMELINE_START } from "../support/scripted_events.ts";

const recorded = (events: EngineEvent[]): RecordedEvent[] =>
  events.map((event) => ({ wall: "2025-06-01T12:00:00.000Z", event }));

/** dave: `kill` fault at 14 s (its exit expected), left killed; the run passes. */
function daveLeftKilled(): EngineEvent[] {
  const killAt = 14_000;
  const events = scriptedRun().filter((e) =>
    !("peer" in e && e.peer === "dave" && e.t > killAt) && e.type !== "run-finished"
  );
  const finished = scriptedRun().at(-1) as EventOf<"run-finished">;
  events.push(
    {
      t: killAt + 1,
      type: "fault-applied",
      action: { fault: "kill", peers: ["dave"] },
      index: 9,
      dueMs: killAt - TIMELINE_START,
      lateMs: 1,
    },
    { t: killAt + 2, type: "peer-exited", peer: "dave", code: 137, expected: true },
    {
      ...finished,
      peers: finished.peers.map((p) =>
        p.peer === "dave" ? { ...p, status: "disconnected", killedByFault: true as const } : p
      ),
    },
  );
  return events.sort((a, b) => a.t - b.t);
}

Deno.test("runHistory() keeps a failed peer's reason in a record that ends before run-finished", () => {
  const events = scriptedRun().filter((e) => e.t < 9000);
  // As the engine emits it: protocol.ts split `failed|no route` into status and address.
  events.push({
    t: 9001,
    type: "peer-status",
    peer: "alice",
    status: "failed",
    address: "no route",
    previous: "connected",
  });
  const alice = runHistory(recorded(events)).peers.find((p) => p.peer === "alice")!;
  assertEquals([alice.failure, alice.lastStatus], ["no route", "failed"]);
  assertEquals(peerProblems(alice)[0].text, "reported failed: no route");
});

Deno.test("runHistory() counts a repeated restarting as one restart, as the engine does", () => {
  const events = scriptedRun().filter((e) => e.t < 9000);
  for (const t of [9001, 9002]) {
    events.push({ t, type: "peer-status", peer: "carol", status: "restarting", previous: null });
  }
  const carol = runHistory(recorded(events)).peers.find((p) => p.peer === "carol")!;
  assertEquals(carol.restarts, 1);
});

Deno.test("runHistory() passes a peer a kill fault left ended: summary.json and junit.xml agree with the verdict", () => {
  const history = runHistory(recorded(daveLeftKilled()));
  assertEquals(history.finished?.verdict, "passed");
  const dave = history.peers.find((p) => p.peer === "dave")!;
  assertEquals([dave.killedByFault, dave.crashed, peerProblems(dave)], [true, false, []]);
  const summary = runSummary(history, "9.9.9");
  assertEquals(summary.peers.flatMap((p) => p.problems), []);
  const xml = junitXml(history);
  assertEquals(/<failure/.test(xml), false, xml);
});

Deno.test("runHistory() takes the timeline's start from its phase, or from a timeline send when the phase is missing", () => {
  assertEquals(runHistory(recorded(scriptedRun())).timelineStartMs, TIMELINE_START);
  const noPhase = scriptedRun().filter((e) => !(e.type === "phase" && e.phase === "timeline"));
  const sent = noPhase.find((e) => e.type === "command-sent" && e.dueMs !== undefined) as
    | EventOf<"command-sent">
    | undefined;
  assertEquals(
    runHistory(recorded(noPhase)).timelineStartMs,
    sent!.t - sent!.dueMs! - (sent!.lateMs ?? 0),
  );
});
