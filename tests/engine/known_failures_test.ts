import { assertEquals } from "../support/assert.ts";
import { checkStanding, failsRun, strictKnownFailure } from "../../src/engine/known_failures.ts";
import { runResult } from "../../src/engine/run_verdict.ts";

const check = (index: number, passed: boolean, known?: string) => ({
  index,
  description: `check ${index}`,
  passed,
  ...(known === undefined ? {} : { known }),
});

Deno.test("checkStanding tells passed, failed, known failure and fixed apart", () => {
  assertEquals(
    [check(0, true), check(1, false), check(2, false, "BUG-1"), check(3, true, "BUG-2")].map(
      checkStanding,
    ),
    ["passed", "failed", "known-failure", "fixed"],
  );
});

Deno.test("failsRun counts a known failure never, and a fixed known check only when strict", () => {
  assertEquals(failsRun(check(0, false, "BUG"), false), false);
  assertEquals(failsRun(check(0, false, "BUG"), true), false);
  assertEquals(failsRun(check(0, true, "BUG"), false), false);
  assertEquals(failsRun(check(0, true, "BUG"), true), true);
  assertEquals(failsRun(check(0, false), false), true);
});

Deno.test("runResult passes a run whose only failed check is known; --strict-known fails a fixed one", () => {
  const facts = {
    halt: undefined,
    peers: [{ peer: "alice" }],
    checks: [check(0, true), check(1, false, "BUG-12"), check(2, true, "BUG-7")],
    leftBehind: new Map<string, number>(),
  };
  assertEquals(runResult(facts), { verdict: "passed", exitCode: 0 });
  assertEquals(runResult({ ...facts, strictKnown: true }), {
    verdict: "failed",
    exitCode: 1,
    reason: strictKnownFailure(check(2, true, "BUG-7")),
  });
  assertEquals(
    strictKnownFailure(check(2, true, "BUG-7")),
    "check #2 passed but is marked known (BUG-7): fixed? remove `known` (--strict-known)",
  );
});
