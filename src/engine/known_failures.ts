/**
 * Known failures (docs/config.md, "Known failures"): a check carrying `known: "<link or text>"`
 * is a bug the team already knows. While it fails, the run still passes and every view lists it
 * as a known failure; when it passes, it is reported as fixed ("fixed? remove `known`") and the
 * run still passes, unless `--strict-known` asks for a fix to be noticed: then it fails the run.
 * One owner of that judgement and its wording for the verdict, the summary, JUnit and the report.
 */
import type { CheckOutcome } from "./events.ts";

/** Where a decided check stands. */
export type CheckStanding = "passed" | "failed" | "known-failure" | "fixed";

/** How the views name a passed known check: the fix the user should make. */
export const FIXED_HINT = "fixed? remove `known`";

/** The standing of a decided check. */
export function checkStanding(check: Pick<CheckOutcome, "passed" | "known">): CheckStanding {
  if (check.known === undefined) return check.passed ? "passed" : "failed";
  return check.passed ? "fixed" : "known-failure";
}

/**
 * Whether a decided check fails the run: a failed check that is not known, and, with
 * `strictKnown`, a known one that passed.
 */
export function failsRun(
  check: Pick<CheckOutcome, "passed" | "known">,
  strictKnown: boolean,
): boolean {
  const standing = checkStanding(check);
  return standing === "failed" || (standing === "fixed" && strictKnown);
}

/**
 * How the verdict names a check that fails the run only under `--strict-known`:
 * ``check #3 passed but is marked known (BUG-12): fixed? remove `known` (--strict-known)``.
 */
export function strictKnownFailure(
  check: Pick<CheckOutcome, "index" | "known">,
): string {
  return `check #${check.index} passed but is marked known (${check.known}): ${FIXED_HINT} ` +
    "(--strict-known)";
}

/** `known failure: <known>`: the one line JUnit's `skipped` and the views give a known failure. */
export function knownFailureText(check: Pick<CheckOutcome, "known">): string {
  return `known failure: ${check.known}`;
}
