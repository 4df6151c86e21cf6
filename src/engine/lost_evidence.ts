/**
 * A run whose evidence is lost has failed. The log file is part of a run's result: when it
 * cannot be written (its disk fills up mid-run) the run goes on and cleans up, but it cannot
 * pass, and an interrupted run becomes a failed one (exit 1) too, since what it did is no longer
 * on record. The engine cannot see the log file (an event sink outside it), so whoever writes
 * it applies this rule to the run's outcome: the `run-finished` event before the views show
 * it, and the result.
 */
import type { Verdict } from "./events.ts";

/** The parts of a run's outcome (`RunResult`, the `run-finished` event) the rule changes. */
export interface Outcome {
  verdict: Verdict;
  exitCode: number;
  reason?: string;
}

/**
 * The outcome of a run whose evidence was lost for the reason `lost` (one line): failed, exit 1,
 * the run's own reason (if any) first.
 */
export function failedForLostEvidence(
  outcome: Outcome,
  lost: string,
): { verdict: "failed"; exitCode: 1; reason: string } {
  return {
    verdict: "failed",
    exitCode: 1,
    reason: outcome.reason ? `${outcome.reason}; ${lost}` : lost,
  };
}
