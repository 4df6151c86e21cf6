import { deepStrictEqual as assertEquals } from "node:assert";
import { applyEvent, foldEvents } from "../../src/ui/run_state.ts";
import { summarize } from "../../src/ui/final_summary.ts";
import { plainText } from "../../src/ui/styled_text.ts";
import { eventSentence } from "../../src/text/event_text.ts";
import { scriptedRun } from "../support/scripted_events.ts";
import { manyPeersRun } from "../support/many_peers_run.ts";

Deno.test("summarize() names the containers left on each host with the command to remove them", () => {
  const state = foldEvents(scriptedRun());
  applyEvent(state, {
    type: "left-behind",
    host: "host-1",
    containers: ["tm-gossip-demo-bob", "tm-gossip-demo-dave"],
    reason: "connection lost",
    t: 9_000,
  });
  const lines = summarize(state).map(plainText);
  assertEquals(
    lines.filter((line) => line.includes("left on")),
    [
      "  left on host-1: tm-gossip-demo-bob, tm-gossip-demo-dave " +
      "(remove: docker rm -f tm-gossip-demo-bob tm-gossip-demo-dave)",
    ],
  );
});

Deno.test("summarize() and the log line give the runtime's removal command when it has one (a swarm's services)", () => {
  const state = foldEvents(scriptedRun());
  const event = {
    type: "left-behind" as const,
    host: "lab",
    containers: ["service tm-demo--bob"],
    reason: "lab: connection closed by the host",
    remove: "docker service rm tm-demo--bob",
    t: 9_000,
  };
  applyEvent(state, event);
  const lines = summarize(state).map(plainText);
  assertEquals(
    lines.filter((line) => line.includes("left on")),
    ["  left on lab: service tm-demo--bob (remove: docker service rm tm-demo--bob)"],
  );
  assertEquals(
    eventSentence(event),
    "left on lab: service tm-demo--bob (lab: connection closed by the host); " +
      "remove with: docker service rm tm-demo--bob",
  );
});

Deno.test("summarize() has no left-behind line when cleanup removed everything", () => {
  const lines = summarize(foldEvents(scriptedRun())).map(plainText);
  assertEquals(lines.filter((line) => line.includes("left on")), []);
});

/** The scripted run, with two checks decided and their outcomes in `run-finished`. */
function runWithChecks() {
  const passed = {
    index: 0,
    description: "bob reports status connected by 5 s",
    peers: ["bob"],
    passed: true,
    atMs: 1_234,
  };
  const failed = {
    index: 1,
    description: "carol logs nothing at error or worse",
    peers: ["carol"],
    passed: false,
    atMs: -400,
    evidence: ["carol logged at error: disk full", "  info starting", "  error disk full"],
  };
  const events = scriptedRun().map((event) =>
    event.type === "run-finished"
      ? {
        ...event,
        verdict: "failed" as const,
        exitCode: 1 as const,
        reason: "check #1 failed: carol logs nothing at error or worse",
        checks: [passed, failed],
        peers: event.peers.map((p) => p.peer === "carol" ? { ...p, failure: "disk full" } : p),
      }
      : event
  );
  return { events, passed, failed };
}

Deno.test("summarize() lists each check passed or failed, when it was decided, and a failure's evidence", () => {
  const lines = summarize(foldEvents(runWithChecks().events)).map(plainText);
  const from = lines.findIndex((line) => line.startsWith("  checks"));
  assertEquals(lines.slice(from, from + 6), [
    "  checks 1 passed, 1 failed",
    "  ✓ #0 bob reports status connected by 5 s · t=1.2s",
    "  ✗ #1 carol logs nothing at error or worse · t=-0.4s",
    "      carol logged at error: disk full",
    "        info starting",
    "        error disk full",
  ]);
});

Deno.test("summarize() shows a peer's reported failure with its reason in the status column", () => {
  const lines = summarize(foldEvents(runWithChecks().events)).map(plainText);
  const carol = lines.find((line) => line.trimStart().startsWith("carol"));
  assertEquals(carol?.includes("stopped, reported failed: disk full"), true, carol);
});

Deno.test("summarize() lists only the failed checks past maxCheckRows, and counts the rest", () => {
  const lines = summarize(foldEvents(runWithChecks().events), { maxCheckRows: 1 }).map(plainText);
  const from = lines.findIndex((line) => line.startsWith("  checks"));
  assertEquals(lines[from + 1], "  ✗ #1 carol logs nothing at error or worse · t=-0.4s");
  assertEquals(lines[from + 5], "  1 more checks passed");
});

Deno.test("summarize() has no checks line for a test without expect:", () => {
  const lines = summarize(foldEvents(scriptedRun())).map(plainText);
  assertEquals(lines.filter((line) => line.includes("checks")), []);
});

Deno.test("summarize() prints the test's seed beside its name, so the run can be repeated", () => {
  const events = scriptedRun().map((event) =>
    event.type === "run-started" ? { ...event, seed: 4_197_634_683 } : event
  );
  const lines = summarize(foldEvents(events)).map(plainText);
  assertEquals(lines.filter((line) => line.includes("seed")).length, 1);
  assertEquals(
    lines.find((line) => line.startsWith("  test "))?.endsWith(" · seed 4197634683"),
    true,
  );
});

Deno.test("summarize() shows a peer a kill fault left ended as killed by a fault, not its last status", () => {
  const events = scriptedRun();
  const finished = events.pop()!;
  if (finished.type !== "run-finished") throw new Error("the script ends with run-finished");
  events.push({
    ...finished,
    peers: finished.peers.map((p) =>
      p.peer === "dave" ? { ...p, status: "connected", killedByFault: true as const } : p
    ),
  });
  const lines = summarize(foldEvents(events)).map(plainText);
  const dave = lines.find((line) => line.trimStart().startsWith("dave"));
  assertEquals(dave?.includes("killed by a fault"), true, dave);
});

Deno.test("summarize() with more unclean peers than maxPeerRows lists the worst first and counts the rest", () => {
  const lines = summarize(foldEvents(manyPeersRun({ peers: 1_000, logLines: 10, crashes: 2 })))
    .map(plainText);
  const rows = lines.filter((line) => /^ {2}node-\d+ /.test(line));
  assertEquals(rows.length, 20);
  assertEquals(rows.slice(0, 2).map((row) => row.split(/\s+/)[1]), ["node-999", "node-1000"]);
  assertEquals(
    lines.filter((line) => line.includes("more peers with warnings")),
    ["  … and 980 more peers with warnings, errors or restarts (each in the run record's summary.json)"],
  );
});
