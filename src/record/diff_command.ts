/**
 * `tm diff <run-a> <run-b>` (docs/run-record.md, "tm diff"): two run records of one test
 * compared, as text or `--json`; and the diff `tm report <run-b> --against <run-a>` embeds in
 * report.html. Records are read as `tm report` reads them; a directory that is not a run, or two
 * runs of different tests, is a `UsageError` (exit 2).
 */
import { UsageError } from "../base/errors.ts";
import { NotARunError, runHistory } from "../history/run_history.ts";
import { RECORD_FILES } from "./record_files.ts";
import { readRecordedEvents } from "./recorded_run.ts";
import {
  DifferentTestsError,
  type DiffInput,
  diffRuns,
  regressed,
  type RunDiff,
} from "./run_diff.ts";
import { runDiffLines } from "./run_diff_text.ts";

/** What `tm diff` prints and its exit code: 1 when B regressed against A, else 0. */
export interface DiffOutcome {
  text: string;
  exitCode: 0 | 1;
  diff: RunDiff;
}

/**
 * Reads one run's record for a diff.
 * @throws UsageError if `dir` holds no readable record of a run
 */
export async function readDiffInput(dir: string): Promise<DiffInput> {
  const { events } = await readRecordedEvents(dir);
  try {
    return { dir, history: runHistory(events), recorded: events };
  } catch (error) {
    if (error instanceof NotARunError) {
      throw new UsageError(`${dir}/${RECORD_FILES.events}: ${error.message}`);
    }
    throw error;
  }
}

/**
 * Run B compared with run A.
 * @throws UsageError if either is not a run, or they are runs of different tests
 */
export async function diffRecords(dirA: string, dirB: string): Promise<RunDiff> {
  const [a, b] = await Promise.all([readDiffInput(dirA), readDiffInput(dirB)]);
  try {
    return diffRuns(a, b);
  } catch (error) {
    if (error instanceof DifferentTestsError) {
      throw new UsageError(`${dirA} and ${dirB} are ${error.message}`, { cause: error });
    }
    throw error;
  }
}

/** `tm diff`: the text (or JSON) and the exit code. */
export async function diffCommand(
  dirA: string,
  dirB: string,
  options: { json?: boolean } = {},
): Promise<DiffOutcome> {
  const diff = await diffRecords(dirA, dirB);
  const text = options.json
    ? JSON.stringify(diff, null, 2) + "\n"
    : runDiffLines(diff).map((line) => `${line}\n`).join("");
  return { text, exitCode: regressed(diff) ? 1 : 0, diff };
}
