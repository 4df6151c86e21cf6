import { assertEquals } from "../support/assert.ts";
import type { EngineEvent } from "../../src/engine/events.ts";
import { eventLines, eventSeverity, faultSentence } from "../../src/text/event_text.ts";

Deno.test("faultSentence() says what each fault does, with its parameters", () => {
  assertEquals(
    [
      faultSentence({ fault: "delay", peers: ["alice"], shaping: { delayMs: 200, jitterMs: 20 } }),
      faultSentence({ fault: "delay", peers: ["alice"], shaping: { delayMs: 50, jitterMs: 0 } }),
      faultSentence({ fault: "loss", peers: ["bob"], shaping: { lossPercent: 5 } }),
      faultSentence({ fault: "rate", peers: ["bob"], shaping: { rateKbit: 512 } }),
      faultSentence({
        fault: "partition",
        peers: ["alice", "carol", "bob", "dave"],
        groups: [["alice", "carol"], ["bob", "dave"]],
      }),
      faultSentence({ fault: "kill", peers: ["dave"] }),
      faultSentence({ fault: "heal", peers: ["a", "b", "c", "d", "e", "f"] }),
    ],
    [
      "delay 200 ms ± 20 ms on alice",
      "delay 50 ms on alice",
      "loss 5% on bob",
      "rate 512 kbit/s on bob",
      "partition alice, carol | bob, dave",
      "kill dave",
      "heal a, b, c, d and 2 more",
    ],
  );
});

Deno.test("eventLines() logs a timeline fault with its due time and lateness, a guaranteed heal with why", () => {
  const applied: EngineEvent = {
    t: 1,
    type: "fault-applied",
    action: { fault: "pause", peers: ["carol"] },
    index: 6,
    dueMs: 22_000,
    lateMs: 12.345,
  };
  const healed: EngineEvent = {
    t: 2,
    type: "fault-applied",
    action: { fault: "resume", peers: ["carol"] },
    detail: "on interrupt",
  };
  assertEquals(eventLines(applied), [
    { source: "tm", tag: "FAULT", text: "fault pause carol (#6 due 22.000s late 12.35 ms)" },
  ]);
  assertEquals(eventLines(healed), [
    { source: "tm", tag: "FAULT", text: "fault resume carol (on interrupt)" },
  ]);
  assertEquals(eventSeverity(applied), "info");
});

Deno.test("eventSeverity() makes a failed fault a warning when its peer is gone, else an error", () => {
  const failed = (targetGone: boolean): EngineEvent => ({
    t: 1,
    type: "fault-failed",
    action: { fault: "kill", peers: ["dave"] },
    index: 7,
    dueMs: 30_000,
    reason: "container gone",
    targetGone,
  });
  assertEquals([eventSeverity(failed(true)), eventSeverity(failed(false))], ["warn", "error"]);
  assertEquals(eventLines(failed(true)), [
    {
      source: "tm",
      tag: "UNDONE",
      text: "fault kill dave failed: container gone; the run goes on (#7 due 30.000s)",
    },
  ]);
});

Deno.test("eventLines() run-started plans the faults beside the commands", () => {
  const lines = eventLines({
    t: 0,
    type: "run-started",
    test: "t",
    runId: "r",
    plan: [],
    timeline: [{ index: 0, time: 1, peer: "alice", command: "connect" }],
    faults: [{ index: 1, time: 5, fault: "loss", peers: ["bob"], shaping: { lossPercent: 5 } }],
  });
  assertEquals(lines.map((line) => `${line.source} ${line.tag} ${line.text}`), [
    "tm RUN test t: 0 peers on 0 hosts, 1 timeline command, 1 fault; run r",
    "alice PLANNED #0 at 1s: connect",
    "tm PLANNED #1 at 5s: fault loss 5% on bob",
  ]);
});
