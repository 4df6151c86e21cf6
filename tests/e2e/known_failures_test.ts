/**
 * End to end: known failures on the two-host testbed. A check marked `known:` that fails leaves
 * the run passing (even with `fail_fast`) and is listed as a known failure in the console
 * summary, the log file, junit.xml (skipped, with the reason) and report.html; a known check that
 * passes is reported as "fixed? remove `known`" and the run passes, unless `--strict-known`.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert";
import { XMLParser, XMLValidator } from "fast-xml-parser";
import { RECORD_FILES } from "../../src/record/record_files.ts";
import type { RunSummary } from "../../src/record/run_summary.ts";
import { type Workspace, workspace } from "../support/e2e.ts";

/** near and far connect; far never logs `never logged`: that check is a known bug. */
function knownConfig(ws: Workspace) {
  return ws.writeNearFarConfig([
    { time: 0, peer: "near", command: "connect" },
    { time: 0, peer: "far", command: "connect" },
    { time: 0.5, peer: "near", command: "push|far|hello" },
  ], {
    expect: [
      { peer: "far", status: "connected", by: 10 },
      { peer: "far", log: "never logged", by: 1, known: "https://bugs.example/BUG-12" },
      { peer: "near", log: "push to far: hello", known: "BUG-7: push is lost" },
    ],
    // A known failure is expected: it must not stop the run either.
    fail_fast: true,
  });
}

function onlyRun(parent: string): string {
  const runs = [...Deno.readDirSync(parent)].map((e) => e.name);
  assertEquals(runs.length, 1, runs.join());
  return `${parent}/${runs[0]}`;
}

Deno.test("tm passes a run whose only failed check is known, listing it as a known failure in the summary, log, junit.xml and report.html [integration: testbed]", async () => {
  await using ws = await workspace("known");
  const config = await knownConfig(ws);
  const out = `${ws.dir}/records`;
  const result = await ws.run([config, "--out", out]);
  const output = `${result.stdout}\n${result.stderr}`;
  assertEquals(result.code, 0, output);
  assert(/^PASSED/m.test(result.stdout), output);
  for (
    const line of [
      "checks 1 passed, 0 failed, 1 known failure, 1 fixed",
      "~ #1 far logs a line matching /never logged/ by 1 s",
      "known failure: https://bugs.example/BUG-12",
      "✓ #2 near logs a line matching /push to far: hello/",
      "fixed? remove `known` (BUG-7: push is lost)",
    ]
  ) {
    assert(result.stdout.includes(line), `${line}:\n${output}`);
  }
  const checks = (await ws.logLines()).filter((l) => l.tag === "CHECK").map((l) => l.text);
  assert(
    checks.some((text) =>
      /^check #1 failed \(known failure: https:\/\/bugs\.example\/BUG-12\) at /.test(text)
    ),
    checks.join("\n"),
  );
  assert(
    checks.some((text) => text.startsWith("check #2 passed (fixed? remove `known`: BUG-7")),
    checks.join("\n"),
  );

  const dir = onlyRun(out);
  const summary: RunSummary = JSON.parse(await Deno.readTextFile(`${dir}/${RECORD_FILES.summary}`));
  assertEquals(summary.verdict, "passed");
  assertEquals(
    summary.checks.map((c) => [c.index, c.passed, c.known ?? null]),
    [[0, true, null], [1, false, "https://bugs.example/BUG-12"], [2, true, "BUG-7: push is lost"]],
  );

  const xml = await Deno.readTextFile(`${dir}/${RECORD_FILES.junit}`);
  assertEquals(XMLValidator.validate(xml), true);
  const parsed = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: "" }).parse(xml);
  const suite = parsed.testsuites.testsuite;
  assertEquals([suite.failures, suite.skipped], ["0", "1"]);
  const known = suite.testcase.find((c: { name: string }) => c.name.startsWith("#1 "));
  assertEquals(known.skipped.message, "known failure: https://bugs.example/BUG-12");
  assertEquals(known.failure, undefined);

  const html = await Deno.readTextFile(`${dir}/${RECORD_FILES.report}`);
  assert(html.includes('"standing":"known-failure","known":"https://bugs.example/BUG-12"'));
  assert(html.includes('"standing":"fixed","known":"BUG-7: push is lost"'));
  assertEquals(await ws.containers(), { hosta: [], hostb: [] });
});

Deno.test("tm --strict-known fails a run whose known check passed, naming it, and junit.xml says so [integration: testbed]", async () => {
  await using ws = await workspace("known-strict");
  const config = await knownConfig(ws);
  const out = `${ws.dir}/records`;
  const result = await ws.run([config, "--strict-known", "--out", out]);
  const output = `${result.stdout}\n${result.stderr}`;
  assertEquals(result.code, 1, output);
  const verdict = result.stdout.split("\n").find((l) => l.startsWith("FAILED"));
  assertEquals(
    verdict,
    "FAILED: check #2 passed but is marked known (BUG-7: push is lost): fixed? remove `known` " +
      "(--strict-known)",
    output,
  );
  const dir = onlyRun(out);
  const xml = await Deno.readTextFile(`${dir}/${RECORD_FILES.junit}`);
  const parsed = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: "" }).parse(xml);
  const suite = parsed.testsuites.testsuite;
  assertEquals([suite.failures, suite.skipped], ["1", "1"]);
  const fixed = suite.testcase.find((c: { name: string }) => c.name.startsWith("#2 "));
  assertEquals(fixed.failure.type, "fixed-known");
  // tm report rebuilds the same junit.xml from events.jsonl: --strict-known is in the record.
  await Deno.remove(`${dir}/${RECORD_FILES.junit}`);
  const report = await ws.run(["report", dir]);
  assertEquals(report.code, 0, report.stderr);
  assertEquals(await Deno.readTextFile(`${dir}/${RECORD_FILES.junit}`), xml);
  assertEquals(await ws.containers(), { hosta: [], hostb: [] });
});
