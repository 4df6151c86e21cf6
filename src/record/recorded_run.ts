/**
 * Reading a run's directory back: its `events.jsonl` (and `summary.json`, if the run finished),
 * for `tm report` and `tm runs`. Problems with the directory the user named are `UsageError`s:
 * one line naming the path, exit 2. Both files are checked against their schemas
 * (src/record/record_schema.ts) and read only if they are regular files: a FIFO named
 * `events.jsonl` would block a read forever.
 */
import { errorMessage, UsageError } from "../base/errors.ts";
import { type EventsFile, EventsFormatError, parseEvents } from "./events_jsonl.ts";
import { RECORD_FILES } from "./record_files.ts";
import { RunSummarySchema, schemaProblem } from "./record_schema.ts";
import type { RunSummary } from "./run_summary.ts";

/** A directory without `events.jsonl`: not a run's. */
export class NotARunDirectoryError extends UsageError {
  /** @param dir the directory, as named */
  constructor(readonly dir: string) {
    super(`${dir}: not a run directory (no ${RECORD_FILES.events}); tm runs lists the runs`);
    this.name = "NotARunDirectoryError";
  }
}

/**
 * Reads `<dir>/events.jsonl`.
 * @throws UsageError if `dir` is not a run directory or its events file is not a readable,
 *   well-formed regular file
 */
export async function readRecordedEvents(dir: string): Promise<EventsFile> {
  const path = `${dir.replace(/\/+$/, "")}/${RECORD_FILES.events}`;
  const text = await readRecordFile(path);
  if (text === null) throw new NotARunDirectoryError(dir);
  try {
    return parseEvents(text, path);
  } catch (error) {
    if (error instanceof EventsFormatError) throw new UsageError(error.message, { cause: error });
    throw error;
  }
}

/** What `readSummary` found. */
export type SummaryRead =
  | { summary: RunSummary }
  /** There is one, but it cannot be used: why, one line naming the file. */
  | { problem: string }
  /** The run wrote none (it was killed, or is still running). */
  | null;

/** `<dir>/summary.json`, checked against its schema. */
export async function readSummary(dir: string): Promise<SummaryRead> {
  const path = `${dir.replace(/\/+$/, "")}/${RECORD_FILES.summary}`;
  let text;
  try {
    text = await readRecordFile(path);
  } catch (error) {
    return { problem: errorMessage(error) };
  }
  if (text === null) return null;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return { problem: `${path}: not JSON: ${errorMessage(error)}` };
  }
  const problem = schemaProblem(RunSummarySchema, value);
  return problem ? { problem: `${path}: ${problem}` } : { summary: value as RunSummary };
}

/**
 * The text of a record's file; null if there is none.
 * @throws UsageError naming the path if it is not a regular file or cannot be read
 */
async function readRecordFile(path: string): Promise<string | null> {
  try {
    const info = await Deno.stat(path);
    if (!info.isFile) {
      const kind = info.isDirectory
        ? "a directory"
        : info.isFifo
        ? "a FIFO"
        : info.isSocket
        ? "a socket"
        : "a device";
      throw new UsageError(`${path}: not a regular file (${kind})`);
    }
    return await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return null;
    if (error instanceof UsageError) throw error;
    throw new UsageError(`${path}: ${errorMessage(error)}`, { cause: error });
  }
}
