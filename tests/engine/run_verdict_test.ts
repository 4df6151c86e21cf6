import { assertEquals } from "../support/assert.ts";
import { exitCodeOf, RunHalt, runResult } from "../../src/engine/run_verdict.ts";

const none = new Map<string, number>();
const passedCheck = { index: 0, description: "bob reports status connected", passed: true };
const failedCheckOutcome = { index: 1, description: "alice logs hello", passed: false };

Deno.test("runResult passes a run with no halt, no failure, no failed check, nothing left behind", () => {
  assertEquals(
    runResult({
      halt: undefined,
      peers: [{ peer: "bob" }],
      checks: [passedCheck],
      leftBehind: none,
    }),
    { verdict: "passed", exitCode: 0 },
  );
});

Deno.test("runResult lets the first halt decide alone, over failures and containers left behind", () => {
  assertEquals(
    runResult({
      halt: new RunHalt("interrupted", "interrupted by the user"),
      peers: [{ peer: "bob", failure: "no route" }],
      checks: [failedCheckOutcome],
      leftBehind: new Map([["b", 2]]),
    }),
    { verdict: "interrupted", exitCode: 130, reason: "interrupted by the user" },
  );
});

Deno.test("runResult fails a finished run naming the failed peers first, then the failed checks", () => {
  assertEquals(
    runResult({
      halt: undefined,
      peers: [{ peer: "alice" }, { peer: "bob", failure: "no route" }, {
        peer: "carol",
        failure: "",
      }],
      checks: [passedCheck, failedCheckOutcome],
      leftBehind: new Map([["b", 1]]),
    }).reason,
    "peer bob reported failed: no route; peer carol reported failed; check #1 failed: alice logs hello",
  );
});

Deno.test("runResult fails a run that otherwise passed but left containers behind, per host", () => {
  assertEquals(
    runResult({
      halt: undefined,
      peers: [{ peer: "bob" }],
      checks: [],
      leftBehind: new Map([["a", 1], ["b", 3]]),
    }),
    {
      verdict: "failed",
      exitCode: 1,
      reason: "cleanup could not remove every container (1 on a, 3 on b)",
    },
  );
});

Deno.test("exitCodeOf maps passed to 0, failed to 1, interrupted to 130", () => {
  assertEquals([exitCodeOf("passed"), exitCodeOf("failed"), exitCodeOf("interrupted")], [
    0,
    1,
    130,
  ]);
});
