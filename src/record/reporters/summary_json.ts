/** The `summary.json` reporter: the run's outcome in one object (src/record/run_summary.ts). */
import { RECORD_FILES } from "../record_files.ts";
import { runSummary } from "../run_summary.ts";
import type { Reporter } from "./reporter.ts";

/** `summary.json`, for a run that finished (a killed run has none: docs/run-record.md). */
export const summaryReporter: Reporter = {
  file: RECORD_FILES.summary,
  render: ({ history, tm }) =>
    history.finished ? JSON.stringify(runSummary(history, tm), null, 2) + "\n" : null,
};
