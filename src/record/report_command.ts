/**
 * `tm report <run-dir> [--against <run-a>]`: rebuilds a run's `junit.xml` and `report.html` from
 * its `events.jsonl` alone (docs/run-record.md, "tm report"), and says when the run did not
 * finish; with `--against`, report.html also shows the diff of this run against run A.
 */
import { UsageError } from "../base/errors.ts";
import { RECORD_FILES } from "./record_files.ts";
import { readRecordedEvents } from "./recorded_run.ts";
import { diffRecords } from "./diff_command.ts";
import { writeReports } from "./reporters/reporters.ts";
import { NotARunError, runHistory, unfinishedCause } from "../history/run_history.ts";

/** What `tm report` did, as printed. */
export interface ReportOutcome {
  /** Lines for stdout. */
  lines: string[];
  /** Whether the record holds the run's end. */
  finished: boolean;
}

/**
 * Rebuilds the reports of the run recorded in `dir`.
 * @throws UsageError if `dir` holds no readable record of a run
 * @throws RecordWriteError if a report cannot be written
 */
export async function rebuildReports(
  dir: string,
  options: { against?: string } = {},
): Promise<ReportOutcome> {
  const { header, events, truncated } = await readRecordedEvents(dir);
  let history;
  try {
    history = runHistory(events);
  } catch (error) {
    if (error instanceof NotARunError) {
      throw new UsageError(`${dir}/${RECORD_FILES.events}: ${error.message}`);
    }
    throw error;
  }
  const diff = options.against === undefined ? undefined : await diffRecords(options.against, dir);
  const written = writeReports(dir, {
    history,
    recorded: events,
    tm: header.tm,
    ...(diff ? { extras: { diff } } : {}),
  });
  const lines = [`wrote ${listed(written)}`];
  const finished = history.finished;
  if (finished) {
    lines.push(
      `run ${history.runId} of ${history.test}: ${finished.verdict} (exit ${finished.exitCode})` +
        (finished.reason ? `: ${finished.reason}` : ""),
    );
  } else {
    lines.push(
      `run ${history.runId} of ${history.test} did not finish: its record ends ` +
        `${(history.lastMs / 1_000).toFixed(1)} s in, before run-finished: ` +
        unfinishedCause(truncated),
    );
  }
  if (diff) {
    lines.push(
      `report.html compares it with run ${diff.a.runId} (${options.against}): ` +
        (diff.regressions.length > 0
          ? `${diff.regressions.length} regression${diff.regressions.length === 1 ? "" : "s"}`
          : "no regression"),
    );
  }
  return { lines, finished: finished !== undefined };
}

/** `a`, `a and b`, `a, b and c`. */
function listed(items: readonly string[]): string {
  return items.length <= 1
    ? items.join("")
    : `${items.slice(0, -1).join(", ")} and ${items.at(-1)}`;
}
