/**
 * Writes a run's `junit.xml` and `report.html`: at the end of a run, and again by `tm report`
 * from `events.jsonl` alone.
 */
import type { RecordedEvent } from "../events_jsonl.ts";
import { junitXml } from "./junit.ts";
import { reportHtml } from "./report_html.ts";
import type { RunHistory } from "../../history/run_history.ts";
import { RECORD_FILES, RecordWriteError } from "../record_files.ts";

/**
 * Writes both files into `dir`.
 * @throws RecordWriteError naming the file that could not be written
 */
export function writeReports(
  dir: string,
  history: RunHistory,
  recorded: readonly RecordedEvent[],
): void {
  const files: [string, () => string][] = [
    [RECORD_FILES.junit, () => junitXml(history)],
    [RECORD_FILES.report, () => reportHtml(history, recorded)],
  ];
  for (const [name, render] of files) {
    const path = `${dir}/${name}`;
    try {
      Deno.writeTextFileSync(path, render());
    } catch (error) {
      throw new RecordWriteError(path, error);
    }
  }
}
