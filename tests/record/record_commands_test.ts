/**
 * `tm report` and `tm runs` as the user runs them (tm as a subprocess), on records written by the
 * real recorder from scripted runs.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert";
import { RECORD_FILES } from "../../src/record/record_files.ts";
import { recordRun, tempDir } from "../support/run_records.ts";
import { scriptedRun } from "../support/scripted_events.ts";
import { ROOT, runTm, runTmUntil } from "../support/tm_command.ts";

const tm = runTm;

Deno.test("tm report rebuilds junit.xml and report.html from events.jsonl alone, and says a killed run did not finish", async () => {
  await using dir = await tempDir();
  const finished = await recordRun(dir.path, scriptedRun({ outcome: "crash" }), { name: "a" });
  const killed = await recordRun(dir.path, scriptedRun().filter((e) => e.t < 9000), {
    name: "b",
  });
  for (const record of [finished, killed]) {
    await Deno.remove(`${record.dir}/${RECORD_FILES.junit}`).catch(() => {});
    await Deno.remove(`${record.dir}/${RECORD_FILES.report}`).catch(() => {});
  }
  const done = await tm(dir.path, "report", finished.dir);
  assertEquals(done.code, 0, done.stderr);
  assert(
    done.stdout.includes("r-7f3a of gossip-demo: failed (exit 1): peer dave crashed"),
    done.stdout,
  );
  const cut = await tm(dir.path, "report", killed.dir);
  assertEquals(cut.code, 0, cut.stderr);
  assert(
    /did not finish: its record ends 7\.6 s in, before run-finished/.test(cut.stdout),
    cut.stdout,
  );
  for (const record of [finished, killed]) {
    assert((await Deno.stat(`${record.dir}/${RECORD_FILES.junit}`)).size > 0);
    assert((await Deno.readTextFile(`${record.dir}/${RECORD_FILES.report}`)).includes("tm-data"));
  }
});

Deno.test("tm runs lists the runs of a directory with name, date, verdict and duration", async () => {
  await using dir = await tempDir();
  const date = new Date(2025, 5, 1, 12, 0, 0);
  await recordRun(dir.path, scriptedRun(), { name: "passing", date });
  await recordRun(dir.path, scriptedRun().filter((e) => e.t < 9000), { name: "killed", date });
  await Deno.mkdir(`${dir.path}/not-a-run`);
  const listed = await tm(dir.path, "runs", dir.path);
  assertEquals(listed.code, 0, listed.stderr);
  const rows = listed.stdout.trimEnd().split("\n").map((line) => line.split(/\s{2,}/));
  assertEquals(rows[0], ["RUN", "DATE", "VERDICT", "DURATION"]);
  const byName = Object.fromEntries(rows.slice(1).map((row) => [row[0], [row[2], row[3]]]));
  assertEquals(byName, {
    "passing-2025-06-01-12-00-00": ["passed", "17.0 s"],
    "killed-2025-06-01-12-00-00": ["unfinished", "7.6 s"],
  });
  // Without an argument: ./tm-runs.
  await Deno.mkdir(`${dir.path}/tm-runs`);
  const empty = await tm(dir.path, "runs");
  assertEquals([empty.code, empty.stdout], [0, "no runs in tm-runs\n"]);
});

Deno.test("tm runs and tm report on a bad directory print one line and exit 2", async () => {
  await using dir = await tempDir();
  await Deno.writeTextFile(`${dir.path}/file`, "x");
  await Deno.mkdir(`${dir.path}/empty`);
  await Deno.writeTextFile(`${dir.path}/empty-events/events.jsonl`, "{}\n").catch(async () => {
    await Deno.mkdir(`${dir.path}/empty-events`);
    await Deno.writeTextFile(`${dir.path}/empty-events/events.jsonl`, "{}\n");
  });
  const cases: [string[], string][] = [
    [["runs", "missing"], "tm: missing: no such directory"],
    [["runs", "file"], "tm: file: not a directory"],
    [["report", "missing"], "tm: missing: not a run directory (no events.jsonl)"],
    [["report", "empty"], "tm: empty: not a run directory (no events.jsonl)"],
    [["report", "empty-events"], "empty-events/events.jsonl:1: not a tm events file"],
  ];
  for (const [args, message] of cases) {
    const result = await tm(dir.path, ...args);
    assertEquals(result.code, 2, `tm ${args.join(" ")}: ${result.stderr}`);
    assertEquals(result.stderr.trimEnd().split("\n").length, 1, result.stderr);
    assert(result.stderr.includes(message), `tm ${args.join(" ")}: ${result.stderr}`);
  }
});

Deno.test("tm report on a record a failed write cut short says so, not that tm was killed", async () => {
  await using dir = await tempDir();
  const record = await recordRun(dir.path, scriptedRun().filter((e) => e.t < 9000));
  // A full disk: the write of the next event stopped mid-line, and none came after it.
  await Deno.writeTextFile(`${record.dir}/${RECORD_FILES.events}`, '{"wall":"2025-06-01', {
    append: true,
  });
  const result = await tm(dir.path, "report", record.dir);
  assertEquals(result.code, 0, result.stderr);
  assert(result.stdout.includes("a write to the record failed mid-line"), result.stdout);
  assert(!result.stdout.includes("tm was killed"), result.stdout);
});

Deno.test("tm <config> --out where no directory can be made prints one line naming --out and exits 2", async () => {
  await using dir = await tempDir();
  await Deno.writeTextFile(`${dir.path}/file`, "x");
  const result = await tm(dir.path, `${ROOT}examples/one-peer.yaml`, "--out", "file");
  assertEquals(result.code, 2, result.stdout + result.stderr);
  assertEquals(result.stderr.trimEnd().split("\n").length, 1, result.stderr);
  assert(
    result.stderr.startsWith("tm: --out file: the run record cannot be written there"),
    result.stderr,
  );
  // Refused before the run: no log file of a run that never was.
  const left = [...Deno.readDirSync(dir.path)].map((entry) => entry.name);
  assertEquals(left, ["file"]);
});

/** tm's result, or a failure naming the hang if it has not ended within a minute. */
async function tmWithin(cwd: string, ...args: string[]) {
  const result = await runTmUntil(AbortSignal.timeout(60_000), cwd, ...args);
  assert(result.signal === null, `tm ${args.join(" ")} hung (killed by ${result.signal})`);
  return result;
}

/** Replaces the first event of `type` in `dir`'s events.jsonl with `change` applied to it. */
async function damageEvent(
  dir: string,
  type: string,
  change: (event: Record<string, unknown>) => void,
): Promise<void> {
  const path = `${dir}/${RECORD_FILES.events}`;
  const lines = (await Deno.readTextFile(path)).split("\n");
  const at = lines.findIndex((line) => line.includes(`"type":"${type}"`));
  const recorded = JSON.parse(lines[at]);
  change(recorded.event);
  lines[at] = JSON.stringify(recorded);
  await Deno.writeTextFile(path, lines.join("\n"));
}

Deno.test("tm runs lists every readable run of a damaged directory and says, one line each, what it skipped and why", async () => {
  await using dir = await tempDir();
  await using elsewhere = await tempDir();
  const date = new Date(2025, 5, 1, 12, 0, 0);
  await recordRun(dir.path, scriptedRun(), { name: "passing", date });
  const empty = await recordRun(dir.path, scriptedRun(), { name: "empty-summary", date });
  await Deno.writeTextFile(`${empty.dir}/${RECORD_FILES.summary}`, "{}");
  const typed = await recordRun(dir.path, scriptedRun(), { name: "wrong-type", date });
  await Deno.remove(`${typed.dir}/${RECORD_FILES.summary}`);
  await damageEvent(typed.dir, "run-started", (event) => event.plan = { alice: 1 });
  await Deno.mkdir(`${dir.path}/fifo`);
  const mkfifo = await new Deno.Command("mkfifo", {
    args: [`${dir.path}/fifo/${RECORD_FILES.events}`],
  }).output();
  assert(mkfifo.success);
  const linked = await recordRun(elsewhere.path, scriptedRun(), { name: "linked", date });
  await Deno.symlink(linked.dir, `${dir.path}/linked`);
  await Deno.symlink(`${elsewhere.path}/gone`, `${dir.path}/dangling`);
  await Deno.mkdir(`${dir.path}/not-a-run`);
  await Deno.writeTextFile(`${dir.path}/some.log`, "a log file is not a run\n");

  const listed = await tmWithin(dir.path, "runs", dir.path);
  assertEquals(listed.code, 0, listed.stderr);
  const rows = listed.stdout.trimEnd().split("\n").map((line) => line.split(/\s{2,}/));
  assertEquals(rows.slice(1).map((row) => [row[0], row[2]]).sort(), [
    ["empty-summary-2025-06-01-12-00-00", "passed"],
    ["linked", "passed"],
    ["passing-2025-06-01-12-00-00", "passed"],
  ]);
  const said = listed.stderr.trimEnd().split("\n");
  const events = RECORD_FILES.events;
  assertEquals(said.length, 5, listed.stderr);
  const expected = [
    `tm runs: skipped ${dir.path}/dangling: a symbolic link to ${elsewhere.path}/gone, which does not exist`,
    `tm runs: skipped ${dir.path}/fifo/${events}: not a regular file (a FIFO)`,
    `tm runs: skipped ${dir.path}/not-a-run: not a run (no ${events})`,
    `tm runs: skipped ${typed.dir}/${events}:2: run-started event: plan: Invalid input: expected array`,
    `tm runs: ${empty.dir}/${RECORD_FILES.summary}: summaryVersion:`,
  ];
  for (const [i, start] of expected.entries()) {
    assert(said[i].startsWith(start), `line ${i}: ${said[i]}\nexpected: ${start}`);
  }
  assert(said[4].endsWith(`; ${empty.dir.split("/").pop()} listed from its ${events}`), said[4]);
});

Deno.test("tm report on a record with a wrong field type, or a FIFO for events.jsonl, prints one line naming file, line and field and exits 2", async () => {
  await using dir = await tempDir();
  const plan = await recordRun(dir.path, scriptedRun(), { name: "plan" });
  await damageEvent(plan.dir, "run-started", (event) => event.plan = { alice: 1 });
  const peers = await recordRun(dir.path, scriptedRun(), { name: "peers" });
  await damageEvent(peers.dir, "run-finished", (event) => event.peers = 7);
  await Deno.mkdir(`${dir.path}/fifo`);
  await new Deno.Command("mkfifo", { args: [`${dir.path}/fifo/${RECORD_FILES.events}`] })
    .output();
  const events = RECORD_FILES.events;
  const cases: [string, string][] = [
    [plan.dir, `tm: ${plan.dir}/${events}:2: run-started event: plan: `],
    [peers.dir, `tm: ${peers.dir}/${events}:`],
    [`${dir.path}/fifo`, `tm: ${dir.path}/fifo/${events}: not a regular file (a FIFO)`],
  ];
  for (const [run, start] of cases) {
    const result = await tmWithin(dir.path, "report", run);
    assertEquals(result.code, 2, `tm report ${run}: ${result.stderr}`);
    assertEquals(result.stderr.trimEnd().split("\n").length, 1, result.stderr);
    assert(result.stderr.startsWith(start), `${result.stderr}\nexpected: ${start}`);
  }
  const finished = await tmWithin(dir.path, "report", peers.dir);
  assert(/run-finished event: peers: /.test(finished.stderr), finished.stderr);
});
