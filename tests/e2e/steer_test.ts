/**
 * End to end: steering a live run from the TUI, on a real terminal (tmux send-keys) and the
 * two-host testbed. `:fault pause far` typed mid-run (with Tab completing the kind and the peer)
 * freezes far on host B: its log lines stop while the timeline keeps sending it commands, until
 * `:fault resume far`. An entry the test file could not hold either is refused with the loader's
 * own message. The record shows both manual entries (events.jsonl marked manual with their
 * time, the log file's MANUAL lines, report.html's markers, rebuilt by `tm report`) and the
 * summary says the run was steered by hand.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert";
import type { EngineEvent } from "../../src/engine/events.ts";
import { parseEvents, type RecordedEvent } from "../../src/record/events_jsonl.ts";
import { RECORD_FILES } from "../../src/record/record_files.ts";
import { workspace } from "../support/e2e.ts";
import { exitCode, terminal, tmCommand, waitFor } from "../support/tmux_tm.ts";

/**
 * far on host B is sent `rotate-key` every 0.25 s for 40 s: each makes it log a line. Long enough
 * that a pause typed late on a loaded machine still has commands sent after it.
 */
const TICKS = Array.from({ length: 160 }, (_, i) => ({
  time: i / 4,
  peer: "far",
  command: "rotate-key",
}));

/** The run's events.jsonl so far (it is written as the run goes). */
async function recorded(dir: string): Promise<RecordedEvent[]> {
  const runs = [...Deno.readDirSync(`${dir}/records`)].map((e) => e.name);
  if (runs.length !== 1) return [];
  const path = `${dir}/records/${runs[0]}/${RECORD_FILES.events}`;
  return parseEvents(await Deno.readTextFile(path), path).events;
}

/** Waits until the screen satisfies `test`; a timeout quotes the last screen. */
function shows(term: { screen(): Promise<string> }, what: string, test: (text: string) => boolean) {
  return waitFor(what, async () => {
    const text = await term.screen();
    if (test(text)) return text;
    throw new Error(`the screen:\n${text}`);
  });
}

const ofType = <K extends EngineEvent["type"]>(events: RecordedEvent[], type: K) =>
  events.map((r) => r.event).filter((e): e is Extract<EngineEvent, { type: K }> => e.type === type);

Deno.test("tm --tui: a fault pause typed at the : prompt freezes the peer until fault resume, and the record shows both [integration: testbed, tmux]", async () => {
  await using ws = await workspace("steer");
  await ws.writeNearFarConfig(TICKS);
  await using term = await terminal(
    ws,
    tmCommand(ws, ["--tui", "test.yaml", "--out", `${ws.dir}/records`]),
  );
  await shows(
    term,
    "far rotating keys in the timeline",
    (text) =>
      text.split("\n")[0].includes("  timeline  ") && /rotated key: now at generation [3-9]/
        .test(text),
  );

  // Tab completes the fault kind (two candidates, then one) and the peer.
  await term.keys(":", "fault pa", "Tab");
  await shows(term, "the kinds offered", (text) => text.includes(":fault pa█  partition  pause"));
  await term.keys("u", "Tab", "f", "Tab");
  await shows(term, "the completed entry", (text) => text.includes(":fault pause far █"));
  await term.keys("Enter");
  await shows(
    term,
    "the pause accepted",
    (text) => /✋ manual fault at t=[\d.]+s: fault pause far/.test(text),
  );
  // Refused as the test file would be, with the loader's message; the prompt keeps the text.
  await term.keys(":", "fault resume near", "Enter");
  await shows(term, "the refusal", (text) =>
    text.includes(
      ":fault resume near█  ✗ peer: resume only follows a pause: near is not paused",
    ));
  await term.keys("Escape");

  // The timeline keeps sending far its commands while it is frozen.
  const pausedAt = await waitFor("far paused and sent commands meanwhile", async () => {
    const events = await recorded(ws.dir);
    const pause = ofType(events, "fault-applied").find((e) => e.action.fault === "pause");
    if (!pause) return undefined;
    const sent = ofType(events, "command-sent").filter((e) => e.peer === "far" && e.t > pause.t);
    return sent.length >= 4 ? pause.t : undefined;
  });
  await term.keys(":", "fault resume far", "Enter");
  await shows(
    term,
    "the resume accepted",
    (text) => /✋ manual fault at t=[\d.]+s: fault resume far/.test(text),
  );
  const summary = await shows(
    term,
    "the verdict",
    (text) => text.includes("PASSED") && text.includes("press q to quit"),
  );
  assert(summary.includes("steered by hand: 2 entries"), summary);
  await term.keys("q");
  assertEquals(await waitFor("tm's exit", () => exitCode(ws)), 0);

  // The record: both entries, marked manual, with their time on the timeline clock.
  const events = await recorded(ws.dir);
  const manual = ofType(events, "manual-entry");
  assertEquals(manual.map((e) => [e.manual, e.input, e.entry.index]), [
    [true, "fault pause far", TICKS.length],
    [true, "fault resume far", TICKS.length + 1],
  ]);
  assert(manual[0].entry.time > 0 && manual[1].entry.time > manual[0].entry.time);
  const applied = ofType(events, "fault-applied").filter((e) => e.index !== undefined);
  assertEquals(applied.map((e) => [e.action.fault, e.action.peers, e.index]), [
    ["pause", ["far"], TICKS.length],
    ["resume", ["far"], TICKS.length + 1],
  ]);
  const [pause, resume] = applied;
  assertEquals(pause.t, pausedAt);
  // Frozen: far ran none of the commands sent after the pause took effect until the resume was
  // typed, though it was sent them all along (the thaw itself comes between the typed resume and
  // its fault-applied); then it goes on. Judged by far's own count, not by when tm read a line:
  // each rotate-key logs its generation, so a generation beyond the commands sent before the
  // pause can only come from a command far ran after it, which must be after the thaw.
  const thawAsked = ofType(events, "manual-entry")[1].t;
  const farLogs = ofType(events, "peer-log").filter((e) => e.peer === "far");
  const sentBeforePause = ofType(events, "command-sent")
    .filter((e) => e.peer === "far" && e.t <= pause.t).length;
  const generation = (message: string) => Number(/generation (\d+)/.exec(message)?.[1] ?? 0);
  const ranWhileFrozen = farLogs.filter((e) =>
    generation(e.message) > sentBeforePause && e.t < thawAsked
  );
  assertEquals(ranWhileFrozen.map((e) => e.message), []);
  const sentWhileFrozen = ofType(events, "command-sent")
    .filter((e) => e.peer === "far" && e.t > pause.t && e.t < thawAsked);
  assert(sentWhileFrozen.length >= 4, `${sentWhileFrozen.length} commands sent while frozen`);
  assert(farLogs.some((e) => e.t > resume.t && e.message.startsWith("rotated key")));

  // The log file's MANUAL lines, and report.html's markers, rebuilt by tm report.
  const log = await ws.logLines();
  assertEquals(
    log.filter((l) => l.tag === "MANUAL").map((l) => l.text.replace(/ at t=[\d.]+s /, " ")),
    [
      `manual entry #${TICKS.length} (typed by hand): fault pause far`,
      `manual entry #${TICKS.length + 1} (typed by hand): fault resume far`,
    ],
  );
  const runs = [...Deno.readDirSync(`${ws.dir}/records`)].map((e) => e.name);
  const dir = `${ws.dir}/records/${runs[0]}`;
  await Deno.remove(`${dir}/${RECORD_FILES.report}`);
  const report = await ws.run(["report", dir]);
  assertEquals(report.code, 0, report.stderr);
  const html = await Deno.readTextFile(`${dir}/${RECORD_FILES.report}`);
  const data = JSON.parse(
    /<script type="application\/json" id="tm-data">(.*?)<\/script>/s.exec(html)![1],
  );
  assertEquals(data.manualEntries, 2);
  const far = data.lanes.find((lane: { peer: string }) => lane.peer === "far");
  assertEquals(
    far.markers.filter((m: { kind: string }) => m.kind === "manual").length,
    2,
  );
  assertEquals(await ws.containers(), { hosta: [], hostb: [] });
});
