/**
 * Reading a run's directory back: its `events.jsonl` (and `summary.json`, if the run finished),
 * for `tm report` and `tm runs`. Problems with the directory the user named are `UsageError`s:
 * one line naming the path, exit 2.
 */
import { UsageError } from "../base/errors.ts";
import { type EventsFile, EventsFormatError, parseEvents } from "./events_jsonl.ts";
import { RECORD_FILES } from "./record_files.ts";
import type { RunSummary } from "./run_summary.ts";

/**
 * Reads `<dir>/events.jsonl`.
 * @throws UsageError if `dir` is not a run directory or its events file is malformed
 */
export async function readRecordedEvents(dir: string): Promise<EventsFile> {
  const path = `${dir.replace(/\/+$/, "")}/${RECORD_FILES.events}`;
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw new UsageError(
        `${dir}: not a run directory (no ${RECORD_FILES.events}); tm runs lists the runs`,
      );
    }
    throw new UsageError(`${path}: ${(error as Error).message}`);
  }
  try {
    return parseEvents(text, path);
  } catch (error) {
    if (error instanceof EventsFormatError) throw new UsageError(error.message, { cause: error });
    throw error;
  }
}

/** `<dir>/summary.json`, or null if the run wrote none (it was killed) or it is unreadable. */
export async function readSummary(dir: string): Promise<RunSummary | null> {
  try {
    return JSON.parse(await Deno.readTextFile(`${dir}/${RECORD_FILES.summary}`)) as RunSummary;
  } catch {
    return null;
  }
}
