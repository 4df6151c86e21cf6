import { deepStrictEqual as assertEquals, ok as assert, throws } from "node:assert";
import {
  eventLine,
  EVENTS_FORMAT,
  EVENTS_VERSION,
  EventsFormatError,
  headerLine,
  parseEvents,
  recordedEvents,
} from "../../src/record/events_jsonl.ts";
import { RECORD_FILES } from "../../src/record/record_files.ts";
import { readEventsOf, recordRun, tempDir } from "../support/run_records.ts";
import { scriptedRun, TIMELINE_START } from "../support/scripted_events.ts";

Deno.test("events.jsonl holds a versioned header, then every event in order with wall time and the timeline clock", async () => {
  await using dir = await tempDir();
  const events = scriptedRun();
  const record = await recordRun(dir.path, events);
  const text = await Deno.readTextFile(`${record.dir}/${RECORD_FILES.events}`);
  assert(text.endsWith("\n"));
  const file = await readEventsOf(record.dir);
  assertEquals(file.header.format, EVENTS_FORMAT);
  assertEquals(file.header.version, EVENTS_VERSION);
  assertEquals(file.header.tm, "9.9.9");
  assertEquals(file.truncated, false);
  // As JSON has them: the scripted run-finished's `reason: undefined` has no key.
  assertEquals(file.events.map((r) => r.event), JSON.parse(JSON.stringify(events)));
  assertEquals(file.events.at(-1)?.event.type, "run-finished");
  for (const recorded of file.events) {
    assert(!Number.isNaN(Date.parse(recorded.wall)), recorded.wall);
    const expected = recorded.event.t >= TIMELINE_START
      ? recorded.event.t - TIMELINE_START
      : undefined;
    assertEquals(recorded.timelineMs, expected, `${recorded.event.type} at ${recorded.event.t}`);
  }
});

Deno.test("parseEvents leaves out a last line cut short and says so", () => {
  const header = JSON.stringify({ format: EVENTS_FORMAT, version: 1, tm: "x", wall: "w" });
  const line = JSON.stringify({ wall: "w", event: { t: 1, type: "phase", phase: "redis" } });
  const file = parseEvents(`${header}\n${line}\n{"wall":"w","ev`, "e.jsonl");
  assertEquals(file.events.length, 1);
  assertEquals(file.truncated, true);
});

Deno.test("parseEvents names the file and line of a bad line, a foreign header and a newer version", () => {
  const header = JSON.stringify({ format: EVENTS_FORMAT, version: 1, tm: "x", wall: "w" });
  throws(() => parseEvents(`${header}\nnot json\n`, "e.jsonl"), (error) => {
    assert(error instanceof EventsFormatError);
    assertEquals([error.line, error.message.startsWith("e.jsonl:2: not JSON")], [2, true]);
    return true;
  });
  throws(() => parseEvents(`${header}\n{"wall":"w"}\n`, "e.jsonl"), /e\.jsonl:2: not an event/);
  throws(() => parseEvents(`{"a":1}\n`, "e.jsonl"), /e\.jsonl:1: not a tm events file/);
  throws(
    () => parseEvents(`${JSON.stringify({ format: EVENTS_FORMAT, version: 99 })}\n`, "e.jsonl"),
    /version 99 is newer than this tm reads/,
  );
});

Deno.test("recordedEvents reads an events.jsonl back one line at a time: header skipped, a last line cut short left out, a bad line before the last an EventsFormatError", () => {
  const path = Deno.makeTempFileSync({ prefix: "tm-events-test-" });
  try {
    const lines = [
      headerLine("9.9.9", new Date(0)),
      eventLine({ wall: "w1", event: { t: 1, type: "phase", phase: "redis" } }),
      eventLine({ wall: "w2", timelineMs: 0, event: { t: 2, type: "phase", phase: "timeline" } }),
    ];
    Deno.writeTextFileSync(path, lines.join("\n") + "\n" + '{"wall":"w3","ev');
    const read = [...recordedEvents(path)];
    assertEquals(read.map((r) => r.wall), ["w1", "w2"]);
    assertEquals(read[1].timelineMs, 0);
    // Read again from the start on each iteration.
    assertEquals([...recordedEvents(path)].length, 2);
    Deno.writeTextFileSync(path, [lines[0], "not json", lines[1]].join("\n") + "\n");
    throws(() => [...recordedEvents(path)], (error) => {
      assert(error instanceof EventsFormatError);
      assertEquals(error.line, 2);
      return true;
    });
  } finally {
    Deno.removeSync(path);
  }
});
