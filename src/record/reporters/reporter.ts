/**
 * A report format: one file of a run's directory written from the run's history and recorded
 * events, at the end of a run and again by `tm report`. A new format is one file implementing
 * `Reporter` and one entry in `REPORTERS` (reporters.ts).
 */
import type { RecordedEvent } from "../events_jsonl.ts";
import type { RunHistory } from "../../history/run_history.ts";
import type { RunDiff } from "../run_diff.ts";

/** What every reporter writes from. */
export interface ReportInput {
  /** The run told from its events (src/history/). */
  history: RunHistory;
  /**
   * The events as recorded, with their wall and timeline times, in order. Each iteration may
   * read them again from `events.jsonl` (the run record holds none in memory): iterate, don't
   * keep them.
   */
  recorded: Iterable<RecordedEvent>;
  /** The tm version that ran it (the `events.jsonl` header's). */
  tm: string;
  /**
   * Extra sections a reporter may show, by name (`tm report --against` hands report.html the
   * diff against another run); reporters ignore what they do not know.
   */
  extras?: ReportExtras;
}

/** Sections added to a report on request; each optional. */
export interface ReportExtras {
  /** `tm report <b> --against <a>`: this run (B) compared with an earlier one (A). */
  diff?: RunDiff;
}

/** One report format. */
export interface Reporter {
  /** The file it writes, in the run's directory (a name of RECORD_FILES). */
  readonly file: string;
  /**
   * The file's text, or its parts in order (written one at a time, never joined: report.html),
   * or null when the run has none (a killed run has no summary.json).
   */
  render(input: ReportInput): string | Iterable<string> | null;
}
