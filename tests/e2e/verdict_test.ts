/**
 * End to end: the verdict on the two-host testbed — a run whose checks all pass exits 0; each
 * predicate failing, and a peer reporting `failed|<reason>`, fail the run (exit 1) after it ran to
 * its end, naming every failure with its evidence; `fail_fast` stops the run at the first failure.
 * (A crashing peer's exit 1 is tests/e2e/failures_test.ts's.)
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert";
import { type LogLine, workspace } from "../support/e2e.ts";

/** The log file's `CHECK` lines, by check number: `passed` or `FAILED`. */
function checkLines(log: LogLine[]): Map<number, string> {
  return new Map(
    log.filter((l) => l.tag === "CHECK").map((l) => {
      const match = /^check #(\d+) (passed|FAILED) at t=-?[\d.]+s: /.exec(l.text);
      assert(match, l.text);
      return [Number(match[1]), match[2]];
    }),
  );
}

Deno.test("tm passes a run whose checks all pass, listing each in the summary and the log file [integration: testbed]", async () => {
  await using ws = await workspace("checks-pass");
  const config = await ws.writeNearFarConfig([
    { time: 0, peer: "near", command: "connect" },
    { time: 0, peer: "far", command: "connect" },
    { time: 0.5, peer: "near", command: "push|far|hello" },
  ], {
    expect: [
      { peer: "*", status: "started", by: 0 },
      { peer: "far", status: "connected", by: 10 },
      { peer: "near", log: "push to far: hel+o", after: 0.5 },
      { peer: "*", no_log: "warn" },
      { peer: "*", restarts: 0 },
      { peer: ["near", "far"], exit_code: 0 },
    ],
  });
  const result = await ws.run([config]);
  const output = `${result.stdout}\n${result.stderr}`;
  assertEquals(result.code, 0, output);
  assert(/^PASSED/m.test(result.stdout), output);
  assert(result.stdout.includes("checks 6 passed, 0 failed"), output);
  assert(result.stdout.includes("✓ #1 far reports status connected by 10 s"), output);
  const checks = checkLines(await ws.logLines());
  assertEquals([...checks].sort(), [0, 1, 2, 3, 4, 5].map((i) => [i, "passed"]));
  assertEquals(await ws.containers(), { hosta: [], hostb: [] });
});

Deno.test("tm runs to its end and fails naming each failed predicate and the peer that reported failed|<reason> [integration: testbed]", async () => {
  await using ws = await workspace("checks-fail");
  const config = await ws.writeNearFarConfig([
    { time: 0, peer: "near", command: "pull" },
    { time: 0.2, peer: "far", command: "fail|disk full" },
    { time: 2, peer: "near", command: "connect" },
    // Time for near's connected to be read before shutdown overwrites it.
    { time: 3, peer: "near", command: "rotate-key" },
  ], {
    expect: [
      { peer: "far", status: "connected", by: 1 },
      { peer: "near", log: "never logged" },
      { peer: "near", no_log: "warn" },
      { peer: "near", restarts: 1 },
      { peer: "far", exit_code: 3 },
      { peer: "near", status: "connected" },
    ],
  });
  const result = await ws.run([config]);
  const output = `${result.stdout}\n${result.stderr}`;
  assertEquals(result.code, 1, output);
  const verdict = result.stdout.split("\n").find((l) => l.startsWith("FAILED"));
  assertEquals(
    verdict,
    "FAILED: peer far reported failed: disk full; " +
      "check #0 failed: far reports status connected by 1 s; " +
      "check #1 failed: near logs a line matching /never logged/; " +
      "check #2 failed: near logs nothing at warn or worse; " +
      "check #3 failed: near restarts exactly 1 time; " +
      "check #4 failed: far exits with code 3",
    output,
  );
  // Each failure is shown with its evidence, in the summary.
  for (
    const line of [
      "✗ #0 far reports status connected by 1 s",
      "far: last status failed|disk full",
      "near logged at warn: pull while not connected",
      "near restarted 0 times",
      "far exited with code 0",
      "✓ #5 near reports status connected",
    ]
  ) {
    assert(result.stdout.includes(line), `${line}:\n${output}`);
  }
  assert(/^\s+far\s+hostb\s+stopped, reported failed: disk full/m.test(result.stdout), output);

  // The run went on after the failures: near connected at t = 2 s, every peer stopped.
  const log = await ws.logLines();
  assert(
    log.some((l) => l.source === "near" && l.tag === "STATUS" && l.text.startsWith("connected")),
  );
  assertEquals(checkLines(log).get(5), "passed");
  assert(
    log.some((l) =>
      l.source === "far" && l.tag === "SUMMARY" && l.text.includes("reported failed: disk full")
    ),
  );
  assertEquals(await ws.containers(), { hosta: [], hostb: [] });
});

Deno.test("tm with fail_fast stops at the first failed check and shuts the peers down gracefully [integration: testbed]", async () => {
  await using ws = await workspace("checks-fast");
  const config = await ws.writeNearFarConfig([
    { time: 0, peer: "near", command: "connect" },
    { time: 60, peer: "near", command: "rotate-key" },
  ], {
    expect: [{ peer: "far", status: "connected", by: 0.5 }, { peer: "*", exit_code: 0 }],
    fail_fast: true,
  });
  const result = await ws.run([config]);
  const output = `${result.stdout}\n${result.stderr}`;
  assertEquals(result.code, 1, output);
  assert(
    result.stdout.split("\n").includes(
      "FAILED: check #0 failed: far reports status connected by 0.5 s",
    ),
    output,
  );
  const log = await ws.logLines();
  assert(!log.some((l) => l.tag === "SENT" && l.text.startsWith("rotate-key")), "stopped early");
  assertEquals([...checkLines(log)], [[0, "FAILED"]], "the rest left undecided");
  // Gracefully: both peers got shutdown and reported stopped.
  const stopped = log.filter((l) => l.tag === "STATUS" && l.text.startsWith("stopped"));
  assertEquals(stopped.map((l) => l.source).sort(), ["far", "near"]);
  assertEquals(await ws.containers(), { hosta: [], hostb: [] });
});
