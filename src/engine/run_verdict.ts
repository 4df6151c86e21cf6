/**
 * A run's verdict: how the first halt, the peers that reported `failed`, the failed checks and
 * the containers cleanup left behind become the `RunResult` that `run()` returns and
 * `run-finished` reports. Pure: the run hands in what it recorded.
 */
import { failedCheck } from "./checks.ts";
import type { CheckOutcome, Verdict } from "./events.ts";
import { failsRun, strictKnownFailure } from "./known_failures.ts";
import { reportedFailure } from "./peer_states.ts";

/** What `run()` returns: the verdict, the process's exit code, and why it did not pass. */
export interface RunResult {
  verdict: Verdict;
  exitCode: 0 | 1 | 130;
  reason?: string;
}

/** Why the run stops early (the halt signal's reason), or why a finished run failed. */
export class RunHalt extends Error {
  constructor(readonly verdict: "failed" | "interrupted", message: string) {
    super(message);
    this.name = "RunHalt";
  }
}

/** What a run recorded that decides its verdict. */
export interface VerdictFacts {
  /** The first halt, if the run stopped early: it decides the verdict alone. */
  halt: RunHalt | undefined;
  /** Each peer, with the reason it reported `failed` (undefined when it did not). */
  peers: readonly { peer: string; failure?: string | undefined }[];
  /** The checks' outcomes, in file order. */
  checks: readonly Pick<CheckOutcome, "index" | "description" | "passed" | "known">[];
  /** `--strict-known`: a known check that passed fails the run. Default: false. */
  strictKnown?: boolean;
  /** Containers cleanup could not remove, per host. */
  leftBehind: ReadonlyMap<string, number>;
}

/**
 * The run's result. The first halt decides; a run that went to its end fails if peers reported
 * `failed` or checks failed (one line naming the peers first, then the checks, in file order; a
 * known failure does not count, a known check that passed does under `--strict-known`),
 * and, since nothing tm started may outlive it, if it passed but left containers behind.
 */
export function runResult(facts: VerdictFacts): RunResult {
  const halt = facts.halt ?? failures(facts) ?? leftBehind(facts.leftBehind);
  const verdict: Verdict = halt?.verdict ?? "passed";
  return { verdict, exitCode: exitCodeOf(verdict), ...(halt ? { reason: halt.message } : {}) };
}

/** The exit code of `tm run` for a verdict: 0 passed, 1 failed, 130 interrupted. */
export function exitCodeOf(verdict: Verdict): RunResult["exitCode"] {
  return verdict === "passed" ? 0 : verdict === "failed" ? 1 : 130;
}

/** The failure of a run that went to its end, if peers reported `failed` or checks failed. */
function failures(facts: VerdictFacts): RunHalt | undefined {
  const reasons = [
    ...facts.peers.flatMap(({ peer, failure }) =>
      failure === undefined ? [] : [reportedFailure(peer, failure)]
    ),
    ...facts.checks.flatMap((check) =>
      !failsRun(check, facts.strictKnown ?? false)
        ? []
        : check.passed
        ? [strictKnownFailure(check)]
        : [failedCheck(check)]
    ),
  ];
  return reasons.length === 0 ? undefined : new RunHalt("failed", reasons.join("; "));
}

/** The failure of a run that left containers behind, if it did. */
function leftBehind(counts: ReadonlyMap<string, number>): RunHalt | undefined {
  if (counts.size === 0) return undefined;
  const where = [...counts].map(([host, n]) => `${n} on ${host}`).join(", ");
  return new RunHalt("failed", `cleanup could not remove every container (${where})`);
}
