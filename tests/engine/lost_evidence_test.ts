import { assertEquals } from "../support/assert.ts";
import { failedForLostEvidence } from "../../src/engine/lost_evidence.ts";

const LOST = "the log file t.log could not be written: No space left on device; evidence lost";

Deno.test("failedForLostEvidence() turns a passed run into a failed one, exit 1, with the reason", () => {
  assertEquals(failedForLostEvidence({ verdict: "passed", exitCode: 0 }, LOST), {
    verdict: "failed",
    exitCode: 1,
    reason: LOST,
  });
});

Deno.test("failedForLostEvidence() keeps a failed or interrupted run's own reason first", () => {
  assertEquals(
    failedForLostEvidence({ verdict: "failed", exitCode: 1, reason: "peer a crashed" }, LOST),
    { verdict: "failed", exitCode: 1, reason: `peer a crashed; ${LOST}` },
  );
  assertEquals(
    failedForLostEvidence(
      { verdict: "interrupted", exitCode: 130, reason: "interrupted by the user" },
      LOST,
    ),
    { verdict: "failed", exitCode: 1, reason: `interrupted by the user; ${LOST}` },
  );
});
