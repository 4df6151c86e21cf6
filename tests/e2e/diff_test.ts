/**
 * End to end: `tm diff` on pairs of real run records made by tm on the two-host testbed. Run A
 * passes; run B of the same test differs in every way a diff reports: far reports
 * `failed|disk full` (peer outcome, failure reason, status sequence), near restarts (restarts, a
 * `restarts: 0` check that passed in A fails in B), near logs new warnings (two that differ only
 * by a number: one new line) and one A logged too (not new); both pause and resume far (fault
 * lateness). A rerun of A does not regress; a run of another test is refused, saying how the
 * tests differ. `tm report B --against A` embeds the diff in B's report.html.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert";
import { RECORD_FILES } from "../../src/record/record_files.ts";
import type { RunDiff } from "../../src/record/run_diff.ts";
import { type Workspace, workspace } from "../support/e2e.ts";

// No connect: a status held for 20 ms (connecting) may be overwritten before tm reads it, which
// would make the runs' status sequences differ by chance.
const COMMON = [
  { time: 0, peer: "near", command: "rotate-key" },
  { time: 0.3, fault: "pause", peer: "far" },
  { time: 0.6, fault: "resume", peer: "far" },
  { time: 0.8, peer: "near", command: "zap 1" },
];
const EXPECT = [
  { peer: "*", status: "started", by: 0 },
  { peer: "*", restarts: 0 },
];

/** Runs `commands` in `ws` with its record under `<ws>/<label>`; returns the run's directory. */
async function recordedRun(
  ws: Workspace,
  label: string,
  commands: Record<string, unknown>[],
  code: number,
): Promise<string> {
  const config = await ws.writeNearFarConfig(commands, { expect: EXPECT });
  const out = `${ws.dir}/${label}`;
  const result = await ws.run([config, "--out", out]);
  assertEquals(result.code, code, `${label}: ${result.stdout}\n${result.stderr}`);
  const runs = [...Deno.readDirSync(out)].map((e) => e.name);
  assertEquals(runs.length, 1);
  return `${out}/${runs[0]}`;
}

Deno.test("tm diff reports what changed between two real runs of one test and exits 1 when B regressed, 0 when not [integration: testbed]", async () => {
  await using ws = await workspace("diff");
  const a = await recordedRun(ws, "a", COMMON, 0);
  const b = await recordedRun(ws, "b", [
    ...COMMON,
    { time: 0.2, peer: "far", command: "fail|disk full" },
    { time: 1, peer: "near", command: "restart|0.5" },
    // After near is back (its bootstrap is sent again): two lines that differ only by a number.
    { time: 4, peer: "near", command: "boom 42" },
    { time: 4.2, peer: "near", command: "boom 7" },
    { time: 4.4, peer: "near", command: "zap 2" },
  ], 1);
  const again = await recordedRun(ws, "again", COMMON, 0);

  const text = await ws.run(["diff", a, b]);
  const shown = `${text.stdout}\n${text.stderr}`;
  assertEquals(text.code, 1, shown);
  for (
    const line of [
      "verdict: passed → failed",
      "B regressed (3):",
      "✗ #1 every peer restarts exactly 0 times: passed → failed",
      "near restarted 1 time",
      "far: passed → failed (reported failed: disk full)  REGRESSED",
      'failure none → "disk full"',
      "  near: passed\n      restarts 0 → 1, started after ",
      "new warn/error lines in B (1, numbers masked):",
      "[warn] unknown command: boom 42",
      "[warn] reporting failed: disk full",
      "the test changed between the runs:",
    ]
  ) {
    assert(text.stdout.includes(line), `${line}:\n${shown}`);
  }
  assert(!text.stdout.includes("boom 7"), shown);
  assert(!text.stdout.includes("zap 2"), shown);
  assert(text.stdout.includes("statuses diverge at #1 after started: A stopped, B failed"), shown);
  assert(text.stdout.includes("statuses diverge at #1 after started: A stopped, B restarting"));
  assert(/^ {2}timeline .*→ .*\(\d+\.\d\d×\)$/m.test(text.stdout), shown);
  assert(/^ {2}faults {5}p50 [\d.]+ ms → [\d.]+ ms/m.test(text.stdout), shown);

  const json = await ws.run(["diff", a, b, "--json"]);
  assertEquals(json.code, 1, json.stderr);
  const diff = JSON.parse(json.stdout) as RunDiff;
  assertEquals([diff.a.verdict, diff.b.verdict], ["passed", "failed"]);
  assertEquals(diff.checks.map((c) => [c.index, c.state, c.regressed]), [
    [1, { a: "passed", b: "failed" }, true],
  ]);
  const far = diff.peers.find((p) => p.peer === "far")!;
  assertEquals([far.outcome, far.failure, far.regressed], [
    { a: "passed", b: "failed" },
    { a: null, b: "disk full" },
    true,
  ]);
  const near = diff.peers.find((p) => p.peer === "near")!;
  assertEquals([near.restarts, near.regressed], [{ a: 0, b: 1 }, false]);
  assert(near.started.a !== null && near.started.b !== null && near.started.ratio !== null);
  assertEquals(diff.lateness.faults.a.count, 2);
  assertEquals(diff.lateness.faults.b.count, 2);
  assert(diff.phases.some((p) => p.phase === "timeline" && p.ratio !== null));

  // B → A improves: no regression, exit 0. A rerun of A: nothing changed, exit 0.
  const back = await ws.run(["diff", b, a]);
  assertEquals(back.code, 0, back.stdout);
  assert(back.stdout.includes("B did not regress against A"), back.stdout);
  assert(back.stdout.includes("· #1 every peer restarts exactly 0 times: failed → passed"));
  const same = await ws.run(["diff", a, again]);
  assertEquals(same.code, 0, same.stdout);
  assert(same.stdout.includes("checks: no outcome changed"), same.stdout);
  assert(!same.stdout.includes("the test changed"), same.stdout);

  // tm report B --against A: the diff in B's report.html.
  const report = await ws.run(["report", b, "--against", a]);
  assertEquals(report.code, 0, report.stderr);
  assert(report.stdout.includes("report.html compares it with run "), report.stdout);
  assert(report.stdout.includes(": 3 regressions"), report.stdout);
  const html = await Deno.readTextFile(`${b}/${RECORD_FILES.report}`);
  const data = JSON.parse(
    /<script type="application\/json" id="tm-data">(.*?)<\/script>/s.exec(html)![1],
  );
  assertEquals(data.diff.againstRunId, diff.a.runId);
  assertEquals(data.diff.regressions, diff.regressions);
  assert(data.diff.lines.includes("B regressed (3):"));
  assertEquals(await ws.containers(), { hosta: [], hostb: [] });
});

Deno.test("tm diff of runs of two different tests says how they differ, exit 2 [integration: testbed]", async () => {
  await using one = await workspace("diff-one");
  await using other = await workspace("diff-other");
  const a = await recordedRun(one, "a", COMMON, 0);
  const b = await recordedRun(other, "b", COMMON.slice(0, 2), 0);
  const result = await one.run(["diff", a, b]);
  assertEquals(result.code, 2, result.stdout);
  assertEquals(result.stdout, "");
  const message = result.stderr.trim();
  assert(message.startsWith(`tm: ${a} and ${b} are runs of different tests`), message);
  assert(message.includes(`test ${one.name} → ${other.name}`), message);
  assert(message.includes("timeline commands: 1 only in A (0.8 s near zap 1)"), message);
  assertEquals(message.split("\n").length, 1);
});
