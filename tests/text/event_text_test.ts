import { deepStrictEqual as assertEquals, ok as assert } from "node:assert";
import type { EngineEvent } from "../../src/engine/events.ts";
import { eventLines, eventSentence, eventSeverity } from "../../src/text/event_text.ts";
import { applyEvent, createRunState } from "../../src/ui/run_state.ts";
import { scriptedRun } from "../support/scripted_events.ts";

Deno.test("eventSentence() is the text of the views' line and begins the log file's line", () => {
  const state = createRunState();
  for (const event of [...scriptedRun(), ...scriptedRun({ outcome: "crash" })]) {
    const before = state.lines.toArray().at(-1);
    applyEvent(state, event);
    const sentence = eventSentence(event);
    if (event.type !== "run-finished") {
      assert(eventLines(event)[0].text.startsWith(sentence), `${event.type}: ${sentence}`);
    }
    const added = state.lines.toArray().filter((line) => line.seq > (before?.seq ?? -1));
    const first = added.find((line) => line.kind !== "output");
    if (!first || (event.type === "image-transfer" && event.state === "progress")) continue;
    // A finished pull or transfer adds how long it took, which only the views keep.
    assert(first.text.startsWith(sentence), `${event.type}: ${first.text} vs ${sentence}`);
  }
});

Deno.test("eventSentence() counts bytes in decimal units, as docker does, in the views and the log", () => {
  const event: EngineEvent = {
    t: 0,
    type: "image-transfer",
    image: "peer:1",
    host: "b",
    bytes: 1_500_000,
    total: 24_000_000,
    state: "progress",
  };
  assertEquals(eventSentence(event), "ship peer:1 → b: 1.5 MB of 24.0 MB");
  assertEquals(eventLines(event), [
    { source: "tm", tag: "IMAGE", text: "ship peer:1 → b: 1.5 MB of 24.0 MB" },
  ]);
});

Deno.test("eventSeverity() ranks tm's events on the log_level scale", () => {
  const cases: [EngineEvent, string][] = [
    [{ t: 0, type: "error", message: "x" }, "error"],
    [{ t: 0, type: "left-behind", host: "a", containers: ["c"], reason: "r" }, "error"],
    [{ t: 0, type: "peer-exited", peer: "p", code: 3, expected: false }, "error"],
    [{ t: 0, type: "warning", message: "x" }, "warn"],
    [{ t: 0, type: "host-lost", host: "a", reason: "r", giveUpMs: 1 }, "warn"],
    [{ t: 0, type: "phase", phase: "timeline" }, "info"],
    [{ t: 0, type: "peer-exited", peer: "p", code: 0, expected: true }, "info"],
    [{ t: 0, type: "trace", message: "x" }, "info"],
    [{ t: 0, type: "host-connecting", host: "a", address: "h" }, "debug"],
    [{ t: 0, type: "peer-starting", peer: "p", host: "a" }, "debug"],
    [{ t: 0, type: "trace", message: "x", level: "debug" }, "debug"],
    [{ t: 0, type: "image-transfer", image: "i", host: "a", bytes: 1, state: "progress" }, "trace"],
    [{ t: 0, type: "peer-log", peer: "p", level: "FATAL", message: "x" }, "error"],
  ];
  assertEquals(
    cases.map(([event]) => [event.type, eventSeverity(event)]),
    cases.map(([e, s]) => [e.type, s]),
  );
});

Deno.test("eventSentence() of run-started ends with the test's seed when it has one", () => {
  const started = {
    type: "run-started" as const,
    t: 0,
    test: "dht",
    runId: "r1",
    seed: 42,
    plan: [],
    timeline: [],
  };
  assertEquals(
    eventSentence(started),
    "test dht: 0 peers on 0 hosts, 0 timeline commands, seed 42",
  );
});

Deno.test("eventSentence() says what a shipment sent: archive bytes of the whole archive and layers held, or why the whole image", () => {
  const partial: EngineEvent = {
    t: 0,
    type: "image-shipped",
    image: "peer:latest",
    host: "B",
    sent: 1_100_000,
    total: 106_000_000,
    layers: 4,
    held: 3,
    ms: 400,
  };
  assertEquals(
    eventSentence(partial),
    "shipped peer:latest to B: 1.1 MB of a 106.0 MB archive (3 of 4 layers held), 400 ms",
  );
  const whole: EngineEvent = {
    ...partial,
    sent: 106_000_000,
    held: 0,
    ms: 2100,
    whole: "B's containerd store takes no partial archive",
  };
  assertEquals(
    eventSentence(whole),
    "shipped peer:latest to B: 106.0 MB archive, whole image: B's containerd store takes " +
      "no partial archive, 2.1s",
  );
  // Gzip on the wire: fewer bytes sent than the archive holds, said as such.
  assertEquals(
    eventSentence({
      ...whole,
      sent: 40_000_000,
      whole: "gzip on the wire hides the layers it holds",
    }),
    "shipped peer:latest to B: 40.0 MB of a 106.0 MB archive, whole image: gzip on the wire " +
      "hides the layers it holds, 2.1s",
  );
  const skipped: EngineEvent = {
    t: 0,
    type: "image-skipped",
    image: "peer:latest",
    host: "B",
    reason: "same image ID",
  };
  assertEquals(eventSentence(skipped), "peer:latest on B: already held (same image ID)");
  assertEquals(eventSeverity(whole), "info");
  assertEquals(eventLines(whole)[0].tag, "IMAGE");
});
