import { assert, assertEquals } from "../../support/assert.ts";
import { runHistory } from "../../../src/history/run_history.ts";
import { RECORD_FILES } from "../../../src/record/record_files.ts";
import type { Reporter } from "../../../src/record/reporters/reporter.ts";
import { REPORTERS, writeReports } from "../../../src/record/reporters/reporters.ts";
import { readEventsOf, recordRun, tempDir } from "../../support/run_records.ts";
import { scriptedRun } from "../../support/scripted_events.ts";

Deno.test("REPORTERS lists summary.json, junit.xml and report.html, one file each", () => {
  assertEquals(REPORTERS.map((r) => r.file), [
    RECORD_FILES.summary,
    RECORD_FILES.junit,
    RECORD_FILES.report,
  ]);
});

Deno.test("writeReports writes each reporter's file, skips one with nothing for the run, and returns the paths", async () => {
  await using tmp = await tempDir();
  const record = await recordRun(tmp.path, scriptedRun());
  const { header, events } = await readEventsOf(record.dir);
  const killed = events.filter((r) => r.event.type !== "run-finished");
  const extra: Reporter = {
    file: "peers.txt",
    render: ({ history }) => history.peers.map((p) => p.peer).join("\n"),
  };
  const written = writeReports(
    tmp.path,
    { history: runHistory(killed), recorded: killed, tm: header.tm },
    [...REPORTERS, extra],
  );
  // A run that did not finish has no summary.json; the added format is written as listed.
  assertEquals(written, [
    `${tmp.path}/${RECORD_FILES.junit}`,
    `${tmp.path}/${RECORD_FILES.report}`,
    `${tmp.path}/peers.txt`,
  ]);
  assertEquals(
    await Deno.readTextFile(`${tmp.path}/peers.txt`),
    runHistory(killed).peers.map((p) => p.peer).join("\n"),
  );
});

Deno.test("writeReports rebuilds summary.json byte for byte from events.jsonl, with the recorded tm version", async () => {
  await using tmp = await tempDir();
  const record = await recordRun(tmp.path, scriptedRun());
  const original = await Deno.readTextFile(`${record.dir}/${RECORD_FILES.summary}`);
  const { header, events } = await readEventsOf(record.dir);
  await Deno.remove(`${record.dir}/${RECORD_FILES.summary}`);
  writeReports(record.dir, { history: runHistory(events), recorded: events, tm: header.tm });
  assertEquals(await Deno.readTextFile(`${record.dir}/${RECORD_FILES.summary}`), original);
  assert(original.includes('"tm": "9.9.9"'));
});
