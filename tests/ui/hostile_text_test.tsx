/**
 * Every view shows text from outside (peer statuses and log lines, host messages, crashed peers'
 * output) escaped: no control or bidi character of it reaches the terminal, and no line of it
 * can pass for a line of tm's own. One test per view, over the same hostile run.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert";
import { render } from "ink-testing-library";
import { createConsole } from "../../src/ui/console.tsx";
import { foldEvents } from "../../src/ui/run_state.ts";
import { summarize } from "../../src/ui/final_summary.ts";
import { plainText } from "../../src/ui/styled_text.ts";
import { RunStore } from "../../src/ui/run_store.ts";
import { TuiApp } from "../../src/ui/tui/app.tsx";
import { traceLine } from "../../src/ui/trace_line.ts";
import { LineFormatter } from "../../src/record/log_file.ts";
import { describeError } from "../../src/base/errors.ts";
import type { EngineEvent } from "../../src/engine/events.ts";
import {
  HOSTILE_HOST_TEXT,
  HOSTILE_LOG,
  hostileRun,
  RAW_CONTROL,
  RAW_SEQUENCES,
  SHOWN,
} from "../support/hostile_events.ts";
import { eventually } from "../support/until.ts";

/** The plain console's output for the hostile run. */
async function plainConsole(verbose: boolean): Promise<string> {
  let out = "";
  const view = createConsole({
    interactive: false,
    color: false,
    verbose,
    traces: verbose,
    write: (text) => out += text,
  });
  for (const event of hostileRun()) view.sink(event);
  await view.close();
  return out;
}

function assertNoRaw(text: string, view: string) {
  const found = RAW_CONTROL.exec(text);
  assert(!found, `${view} printed U+${found?.[0].codePointAt(0)?.toString(16)} raw:\n${text}`);
}

Deno.test("createConsole() plain mode escapes a peer's status and log line, forging no line", async () => {
  for (const verbose of [false, true]) {
    const out = await plainConsole(verbose);
    assertNoRaw(out, `the plain console (verbose ${verbose})`);
    const lines = out.split("\n");
    assert(lines.includes(`[   0.0s] alice < started ${SHOWN.address}`), out);
    assert(lines.includes(`[   0.0s] alice warn  ${SHOWN.log}`), out);
    assert(lines.includes(`[   0.1s] bob   < ${SHOWN.status}`), out);
    assert(!lines.some((line) => line.startsWith("line2")), "a log line forged a line");
    assert(lines.includes(`[   0.0s] test ${SHOWN.test}: 4 peers on 2 hosts, 0 timeline commands`));
  }
});

Deno.test("createConsole() plain mode escapes warnings and errors that quote hosts and peers", async () => {
  const lines = (await plainConsole(false)).split("\n");
  assert(lines.includes(`[   0.0s] warning: host-1: ${SHOWN.hostText}`), lines.join("\n"));
  assert(lines.includes(`[   0.0s] dave  error: dave: ${SHOWN.log}`), lines.join("\n"));
});

Deno.test("createConsole() plain mode escapes a crashed peer's last output", async () => {
  const lines = (await plainConsole(false)).split("\n");
  assert(lines.includes(`[   0.1s] carol │ ${SHOWN.log}`), lines.join("\n"));
  assert(lines.includes(`[   0.1s] carol │ ${SHOWN.hostText}`), lines.join("\n"));
});

Deno.test("summarize() escapes the verdict's reason and the peers' final statuses", () => {
  const summary = summarize(foldEvents(hostileRun())).map(plainText);
  assertNoRaw(summary.join("\n"), "the summary");
  assertEquals(summary[0], `FAILED: peer carol crashed: ${SHOWN.log}`);
  assertEquals(summary[1], `  test ${SHOWN.test} · 80 ms`);
  assert(
    summary.some((line) => /^ {2}bob +host-1 +\\x1b\]0;owned\\x07 /.test(line)),
    summary.join("\n"),
  );
});

Deno.test("createConsole() interactive mode (ink) escapes peer text in its lines and its live area", async () => {
  let out = "";
  const view = createConsole({
    interactive: true,
    color: false,
    verbose: true,
    write: (text) => out += text,
    columns: 120,
  });
  const events = hostileRun();
  try {
    // Up to the shutdown phase: the live area lists bob as "stopping (<its status>)".
    for (const event of events.filter((e) => e.t <= 60)) view.sink(event);
    await eventually(
      "bob in the live area",
      () => Promise.resolve(out.includes(`stopping (${SHOWN.status})`)),
    );
    for (const event of events.filter((e) => e.t > 60)) view.sink(event);
  } finally {
    await view.close();
  }
  // ink moves the cursor with its own escape codes; none of the peers' sequences may appear.
  for (const raw of RAW_SEQUENCES) {
    assert(!out.includes(raw), `ink printed ${JSON.stringify(raw)} raw`);
  }
  assert(out.includes(`alice warn  ${SHOWN.log}`), out);
  assert(out.includes(`carol │ ${SHOWN.hostText}`), out);
  assert(out.includes(`FAILED: peer carol crashed: ${SHOWN.log}`), out);
});

/** The TUI at 120×40 after the hostile run up to `until` ms. */
function tuiFrame(until: number): string {
  const store = new RunStore({ clock: () => 0 });
  for (const event of hostileRun().filter((e) => e.t <= until)) store.sink(event);
  store.flush();
  const instance = render(
    <TuiApp
      store={store}
      onStop={() => {}}
      onQuit={() => {}}
      columns={120}
      rows={40}
      color={false}
      tickMs={0}
    />,
  );
  Object.defineProperty(instance.stdout, "columns", { get: () => 120 });
  try {
    return instance.lastFrame() ?? "";
  } finally {
    instance.unmount();
    instance.cleanup();
    store.dispose();
  }
}

Deno.test("TuiApp logs panel escapes peer log lines, statuses, warnings and crash output", () => {
  const frame = tuiFrame(70);
  assertNoRaw(frame, "the TUI");
  const lines = frame.split("\n");
  assert(lines.some((l) => l.includes(`alice warn  ${SHOWN.log}`)), frame);
  assert(lines.some((l) => l.includes(`alice < started ${SHOWN.address}`)), frame);
  assert(lines.some((l) => l.includes(`warning: host-1: ${SHOWN.hostText}`)), frame);
  assert(lines.some((l) => l.includes(`carol │ ${SHOWN.log}`)), frame);
});

Deno.test("TuiApp peers panel escapes each peer's status and last log line", () => {
  const frame = tuiFrame(55);
  assertNoRaw(frame, "the TUI");
  const rows = frame.split("\n");
  const alice = rows.find((l) => /^[> ] alice /.test(l));
  assert(alice?.includes(SHOWN.log.slice(0, 20)), frame);
  const bob = rows.find((l) => /^[> ] bob /.test(l));
  assert(bob?.includes(SHOWN.status), frame);
});

Deno.test("TuiApp header escapes the test name", () => {
  const frame = tuiFrame(80);
  assertNoRaw(frame, "the TUI");
  assert(frame.split("\n")[0].startsWith(` tm · ${SHOWN.test}  FAILED`), frame);
});

Deno.test("traceLine() escapes a trace's control characters and indents its further lines", () => {
  assertEquals(
    traceLine(1234, `read ${HOSTILE_HOST_TEXT}\n    at frame (x.ts:1:1)`),
    `[    1.2s] read ${SHOWN.hostText}\n${" ".repeat(11)}    at frame (x.ts:1:1)\n`,
  );
  assertNoRaw(traceLine(0, HOSTILE_LOG).replace(/\n/g, ""), "the stderr trace");
});

Deno.test("LineFormatter escapes C0, C1 and bidi characters so each event stays one line", () => {
  const formatter = new LineFormatter();
  const text = hostileRun().map((event: EngineEvent) => formatter.format(event, new Date(0)))
    .join("");
  assertNoRaw(text, "the log file");
  assert(text.includes(` alice warn    ${SHOWN.log}\n`), text);
  assert(text.includes(`WARN    host-1: ${SHOWN.hostText}\n`), text);
});

Deno.test("describeError() prints a failure's message with its control characters escaped", () => {
  const { text } = describeError(new Error(`b: ${HOSTILE_HOST_TEXT}`));
  assertEquals(text, `tm: b: ${SHOWN.hostText}`);
});
