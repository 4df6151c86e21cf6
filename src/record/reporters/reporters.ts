/**
 * The report formats, in the order they are written: at the end of a run, and again by
 * `tm report` from `events.jsonl` alone. Adding a format: a file implementing `Reporter`
 * (reporter.ts) and one entry in `REPORTERS`.
 */
import { RecordWriteError } from "../record_files.ts";
import { htmlReporter } from "./report_html.ts";
import { junitReporter } from "./junit.ts";
import type { Reporter, ReportInput } from "./reporter.ts";
import { summaryReporter } from "./summary_json.ts";

/** Every report format tm writes. */
export const REPORTERS: readonly Reporter[] = [summaryReporter, junitReporter, htmlReporter];

/**
 * Writes every reporter's file that the run has into `dir`; returns the paths written.
 * @throws RecordWriteError naming the file that could not be written
 */
export function writeReports(
  dir: string,
  input: ReportInput,
  reporters: readonly Reporter[] = REPORTERS,
): string[] {
  const written: string[] = [];
  for (const reporter of reporters) {
    const text = reporter.render(input);
    if (text === null) continue;
    const path = `${dir}/${reporter.file}`;
    try {
      writeParts(path, typeof text === "string" ? [text] : text);
    } catch (error) {
      throw new RecordWriteError(path, error);
    }
    written.push(path);
  }
  return written;
}

/** Writes `parts` to `path` (created or truncated) one after another, as they are made. */
function writeParts(path: string, parts: Iterable<string>): void {
  using file = Deno.openSync(path, { write: true, create: true, truncate: true });
  const encoder = new TextEncoder();
  for (const part of parts) {
    const bytes = encoder.encode(part);
    for (let at = 0; at < bytes.length;) at += file.writeSync(bytes.subarray(at));
  }
}
