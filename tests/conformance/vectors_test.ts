/** Pure logic of the conformance runner: vectors expansion, the difference lines, arguments. */
import { assertEquals, assertThrows } from "../support/assert.ts";
import {
  exitDifference,
  listDifference,
  stderrDifference,
} from "../../lib/conformance/differences.ts";
import { parseRunnerArgs, UsageError } from "../../lib/conformance/run.ts";
import { concreteCase, expandLines, fill, loadVectors } from "../../lib/conformance/vectors.ts";

const CASES = new URL("../../lib/conformance/cases.json", import.meta.url).pathname;

Deno.test("expandLines() unrolls repeat items with {i} from 1 and fills placeholders", () => {
  assertEquals(
    expandLines(["start {peer}", { repeat: 3, each: "track|p{i}" }, "end"], { peer: "a" }),
    ["start a", "track|p1", "track|p2", "track|p3", "end"],
  );
});

Deno.test("fill() rejects a placeholder it has no value for", () => {
  assertThrows(() => fill("{vlda}", { vlad: "v" }), Error, "unknown placeholder {vlda}");
});

Deno.test("loadVectors() accepts cases.json and every case expands with the runner's placeholders", async () => {
  const cases = await loadVectors(CASES);
  const values = { peer: "p", vlad: "v", multiaddr: "m", delay_file: "/d", secret: "s" };
  for (const vector of cases) concreteCase(vector, values);
  assertEquals(cases.length >= 14, true);
  assertEquals(new Set(cases.map((c) => c.peer)).size >= cases.length - 2, true);
});

Deno.test("listDifference() names the first differing, missing or extra item", () => {
  assertEquals(listDifference("statuses", ["a", "b"], ["a", "b"]), undefined);
  assertEquals(
    listDifference("statuses", ["a", "b"], ["a", "c"]),
    'statuses #2 of 2: expected "b", got "c" (2 in all)',
  );
  assertEquals(
    listDifference("log lines", ["a", "b"], ["a"]),
    'log lines: 1 of 2, first missing #2 "b"',
  );
  assertEquals(
    listDifference("log lines", ["a"], ["a", "x"]),
    'log lines: 1 more than the 1 expected, first extra #2 "x"',
  );
});

Deno.test("exitDifference() understands nonzero", () => {
  assertEquals(exitDifference("nonzero", 1), undefined);
  assertEquals(exitDifference("nonzero", 0), "exit code 0, expected non-zero");
  assertEquals(exitDifference(0, 143), "exit code 143, expected 0");
});

Deno.test("stderrDifference() wants exactly one line with every include and no exclude", () => {
  const want = { includes: ["PEER_NAME is not set"], excludes: ["secret"] };
  assertEquals(stderrDifference("x: PEER_NAME is not set\n", want), undefined);
  assertEquals(
    stderrDifference("Traceback\nx: PEER_NAME is not set\n", want)?.startsWith(
      "stderr has 2 lines",
    ),
    true,
  );
  assertEquals(
    stderrDifference("x: PEER_NAME is not set secret", want)?.includes("must not"),
    true,
  );
  assertEquals(stderrDifference("x: something", want)?.includes("lacks"), true);
});

Deno.test("parseRunnerArgs() requires --peer-cmd and a positive --case-timeout", () => {
  assertThrows(() => parseRunnerArgs([]), UsageError, "--peer-cmd is required");
  assertThrows(() => parseRunnerArgs(["--peer-cmd", "x", "--case-timeout", "0"]), UsageError);
  assertThrows(() => parseRunnerArgs(["--peer"]), UsageError);
  assertEquals(parseRunnerArgs(["--peer-cmd", "python3 p.py"]).peerCommand, "python3 p.py");
});
