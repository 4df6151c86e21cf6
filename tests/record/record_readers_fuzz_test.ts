/**
 * The run record's readers fuzzed with fast-check, in-process: thousands of damaged records
 * (valid runs with a field replaced by any JSON value or removed, lines dropped, duplicated, cut
 * or replaced by garbage, foreign headers) go through what `tm report` and `tm runs` do. Each
 * ends as `tm` would exit 0 (reports built, or the run listed) or as one line and exit 2 (a
 * `UsageError`), never another error (a stack trace, exit 1). A failure prints fast-check's seed
 * and the smallest record it found.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert";
import fc from "fast-check";
import { describeError, ExitCode, UsageError } from "../../src/base/errors.ts";
import type { EngineEvent } from "../../src/engine/events.ts";
import { EventsFormatError, parseEvents } from "../../src/record/events_jsonl.ts";
import { RECORD_FILES } from "../../src/record/record_files.ts";
import { rebuildReports } from "../../src/record/report_command.ts";
import { junitXml } from "../../src/record/reporters/junit.ts";
import { reportHtml } from "../../src/record/reporters/report_html.ts";
import { runSummary } from "../../src/record/run_summary.ts";
import { formatRuns, listRuns } from "../../src/record/runs_list.ts";
import { NotARunError, runHistory } from "../../src/history/run_history.ts";
import { hostileRun } from "../support/hostile_events.ts";
import { readEventsOf, recordRun, tempDir } from "../support/run_records.ts";
import { scriptedRun } from "../support/scripted_events.ts";
import { changed, jsonChange } from "../support/json_mutation.ts";

/** Records of real runs, as the recorder writes them: finished, crashed, killed, hostile. */
async function baseRecords(): Promise<{ events: string; summary: string | null }[]> {
  await using dir = await tempDir();
  const runs: EngineEvent[][] = [
    scriptedRun(),
    scriptedRun({ outcome: "crash" }),
    scriptedRun().filter((e) => e.t < 9000),
    hostileRun(),
  ];
  const records = [];
  for (const [i, events] of runs.entries()) {
    const record = await recordRun(dir.path, events, { name: `base-${i}` });
    records.push({
      events: await Deno.readTextFile(`${record.dir}/${RECORD_FILES.events}`),
      summary: await Deno.readTextFile(`${record.dir}/${RECORD_FILES.summary}`).catch(() => null),
    });
  }
  return records;
}

const BASES = await baseRecords();
/** A change to one JSON value of a record. */
const valueChange = jsonChange([
  null,
  "",
  0,
  -1,
  1e308,
  [],
  {},
  "x".repeat(300),
  "\u202e\u2028\x1b[2J",
]);

/** A change to the lines of `events.jsonl`. */
const lineChange = fc.oneof(
  fc.record({ kind: fc.constant("value" as const), line: fc.nat(), change: valueChange }),
  fc.record({ kind: fc.constant("drop" as const), line: fc.nat() }),
  fc.record({ kind: fc.constant("repeat" as const), line: fc.nat() }),
  fc.record({ kind: fc.constant("garbage" as const), line: fc.nat(), text: fc.string() }),
  fc.record({ kind: fc.constant("cut" as const), at: fc.nat() }),
);
type LineChange = typeof lineChange extends fc.Arbitrary<infer T> ? T : never;

function applyLineChange(text: string, change: LineChange): string {
  if (change.kind === "cut") return text.slice(0, change.at % (text.length + 1));
  const lines = text.split("\n");
  const at = change.line % lines.length;
  switch (change.kind) {
    case "value": {
      let value: unknown;
      try {
        value = JSON.parse(lines[at]);
      } catch {
        return text;
      }
      lines[at] = JSON.stringify(changed(value, change.change));
      break;
    }
    case "drop":
      lines.splice(at, 1);
      break;
    case "repeat":
      lines.splice(at, 0, lines[at]);
      break;
    case "garbage":
      lines[at] = change.text;
      break;
  }
  return lines.join("\n");
}

/** A damaged record: a real one with a few changes to its events and its summary. */
const damagedRecord = fc.record({
  base: fc.nat({ max: BASES.length - 1 }),
  lines: fc.array(lineChange, { minLength: 1, maxLength: 4 }),
  summary: fc.oneof(
    fc.constant(null),
    valueChange,
    fc.string(),
  ),
}).map(({ base, lines, summary }) => {
  const { events, summary: original } = BASES[base];
  let summaryText = original;
  if (typeof summary === "string") summaryText = summary;
  else if (summary && original) {
    summaryText = JSON.stringify(changed(JSON.parse(original), summary));
  }
  return { events: lines.reduce(applyLineChange, events), summary: summaryText };
});

/** What `tm` prints and exits with for `error`: exit 2 and one line, or the test fails. */
function assertUsageLine(error: unknown, input: string): void {
  const { text, exitCode } = describeError(error);
  assert(
    exitCode === ExitCode.usage,
    `exit ${exitCode}, not 2: ${(error as Error)?.stack ?? error}\ninput:\n${input.slice(0, 2000)}`,
  );
  assertEquals(text.split("\n").length, 1, text);
}

Deno.test("parseEvents, runHistory and the reports on thousands of damaged records: reports built or one line and exit 2", () => {
  fc.assert(
    fc.property(damagedRecord, ({ events }) => {
      let parsed;
      try {
        parsed = parseEvents(events, "fuzz/events.jsonl");
      } catch (error) {
        assert(error instanceof EventsFormatError, String((error as Error)?.stack ?? error));
        assertUsageLine(new UsageError(error.message), events);
        return;
      }
      let history;
      try {
        history = runHistory(parsed.events);
      } catch (error) {
        assert(error instanceof NotARunError, String((error as Error)?.stack ?? error));
        return;
      }
      // What `tm report` writes, and the summary a finished run gets.
      const xml = junitXml(history);
      assert(xml.startsWith("<?xml"));
      // The head's counts, made before any case is built, agree with the cases written.
      const head = /<testsuite (?:[^>]*?) tests="(\d+)" failures="(\d+)" errors="0" skipped="(\d+)"/
        .exec(xml);
      assertEquals(head?.slice(1).map(Number), [
        xml.split("<testcase ").length - 1,
        xml.split("<failure ").length - 1,
        xml.split("<skipped ").length - 1,
      ]);
      assert(reportHtml(history, parsed.events).includes("tm-data"));
      if (history.finished) runSummary(history, "9.9.9");
    }),
    { numRuns: 1_500 },
  );
});

Deno.test("tm report's and tm runs' functions on hundreds of damaged run directories: exit 0, or one line and exit 2", async () => {
  await using dir = await tempDir();
  let n = 0;
  await fc.assert(
    fc.asyncProperty(damagedRecord, async ({ events, summary }) => {
      const run = `${dir.path}/runs-${n}/run`;
      n++;
      await Deno.mkdir(run, { recursive: true });
      await Deno.writeTextFile(`${run}/${RECORD_FILES.events}`, events);
      if (summary !== null) await Deno.writeTextFile(`${run}/${RECORD_FILES.summary}`, summary);
      try {
        const { lines } = await rebuildReports(run);
        assert(lines.length > 0);
      } catch (error) {
        assertUsageLine(error, events);
      }
      // `tm runs` lists the run or says in one line why not; it fails only for its directory.
      const found = await listRuns(`${dir.path}/runs-${n - 1}`);
      assertEquals(found.runs.length + found.skipped.length, 1);
      for (const line of [...found.skipped.map((s) => s.reason), ...found.notes]) {
        assert(!line.includes("\n"), line);
      }
      formatRuns(dir.path, found.runs);
      await Deno.remove(`${dir.path}/runs-${n - 1}`, { recursive: true });
    }),
    { numRuns: 200 },
  );
});

Deno.test("the fuzz's base records are read back whole: the generator starts from valid runs", async () => {
  await using dir = await tempDir();
  const record = await recordRun(dir.path, scriptedRun());
  const { events } = await readEventsOf(record.dir);
  assert(events.length > 10);
  for (const base of BASES) parseEvents(base.events, "base/events.jsonl");
});
