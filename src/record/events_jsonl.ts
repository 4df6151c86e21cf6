/**
 * The run record's `events.jsonl` format (docs/run-record.md, "events.jsonl"): one JSON object a
 * line. The first line is a header naming the format and its version; every other line is one
 * engine event as it happened, with the wall time it was recorded and the timeline clock.
 *
 * ```text
 * {"format":"tm-events","version":1,"tm":"0.1.0","wall":"2026-11-28T10:51:34.112Z"}
 * {"wall":"2026-11-28T10:51:34.113Z","event":{"t":0,"type":"run-started",…}}
 * {"wall":"2026-11-28T10:51:39.520Z","timelineMs":12.5,"event":{"t":5412.5,"type":"command-sent",…}}
 * ```
 */
import type { EngineEvent } from "../engine/events.ts";
import { fileLines } from "../base/file_lines.ts";
import { EventsHeaderSchema, recordedEventProblem, schemaProblem } from "./record_schema.ts";

/** The header's `format`. */
export const EVENTS_FORMAT = "tm-events";
/**
 * The version of the line format. Bumped when a field changes meaning or is removed; fields and
 * event types added later do not bump it (readers ignore what they do not know).
 */
export const EVENTS_VERSION = 1;

/** The first line of `events.jsonl`. */
export interface EventsHeader {
  format: typeof EVENTS_FORMAT;
  version: number;
  /** The tm version that wrote it (src/base/version.ts). */
  tm: string;
  /** When the record was opened, ISO 8601 UTC. */
  wall: string;
}

/** One event line of `events.jsonl`. */
export interface RecordedEvent {
  /** When the recorder received it, ISO 8601 UTC. */
  wall: string;
  /**
   * ms on the timeline clock (the clock of `commands[].time`: 0 when the `timeline` phase
   * began); absent before the timeline began.
   */
  timelineMs?: number;
  /** The engine event; its `t` is ms since the run started (monotonic). */
  event: EngineEvent;
}

/** A line of `events.jsonl` that is not what the format says, with where it is. */
export class EventsFormatError extends Error {
  /**
   * @param path the file
   * @param line 1-based line number
   * @param problem what is wrong with it
   */
  constructor(readonly path: string, readonly line: number, readonly problem: string) {
    super(`${path}:${line}: ${problem}`);
    this.name = "EventsFormatError";
  }
}

/** The header line, without its newline. */
export function headerLine(tm: string, wall: Date): string {
  const header: EventsHeader = {
    format: EVENTS_FORMAT,
    version: EVENTS_VERSION,
    tm,
    wall: wall.toISOString(),
  };
  return JSON.stringify(header);
}

/** One event line, without its newline. */
export function eventLine(recorded: RecordedEvent): string {
  return JSON.stringify(recorded);
}

/** What `parseEvents` read. */
export interface EventsFile {
  header: EventsHeader;
  events: RecordedEvent[];
  /**
   * The last line was cut short (tm killed in the middle of a write): it is left out. Any other
   * bad line is an `EventsFormatError`.
   */
  truncated: boolean;
}

/**
 * Parses the text of an `events.jsonl`.
 * @param path only for messages
 * @throws EventsFormatError for a missing or foreign header, a newer version, or a bad line
 *   (other than a last line cut short): a line that is not JSON, or whose fields are not what
 *   its event type has (src/record/record_schema.ts)
 */
export function parseEvents(text: string, path: string): EventsFile {
  const lines = text.split("\n");
  // A complete file ends with a newline: the last element is "" then.
  const unterminated = lines.pop() ?? "";
  const header = parseLine(lines[0] ?? unterminated, path, 1) as Partial<EventsHeader> | null;
  if (
    typeof header !== "object" || header === null || header.format !== EVENTS_FORMAT ||
    typeof header.version !== "number"
  ) {
    throw new EventsFormatError(path, 1, `not a tm events file (no "format":"${EVENTS_FORMAT}")`);
  }
  if (header.version > EVENTS_VERSION) {
    throw new EventsFormatError(
      path,
      1,
      `events format version ${header.version} is newer than this tm reads (${EVENTS_VERSION}); ` +
        "use a newer tm",
    );
  }
  const headerProblem = schemaProblem(EventsHeaderSchema, header);
  if (headerProblem) throw new EventsFormatError(path, 1, `bad header: ${headerProblem}`);
  const events: RecordedEvent[] = [];
  for (let i = 1; i < lines.length; i++) {
    const value = parseLine(lines[i], path, i + 1);
    const problem = recordedEventProblem(value);
    if (problem) throw new EventsFormatError(path, i + 1, problem);
    events.push(value as RecordedEvent);
  }
  return { header: header as EventsHeader, events, truncated: unterminated !== "" };
}

/**
 * The events of an `events.jsonl` this tm wrote, read back one line at a time (the header
 * skipped, a last line cut short left out): the run record streams its own file into the
 * end-of-run reports with it, so no event is kept in memory for them. Lines are not checked
 * against the schema (`parseEvents` does that for a record read back by `tm report`).
 * @param path the file; each iteration reads it again from the start
 * @throws EventsFormatError for a line that is not JSON
 */
export function* recordedEvents(path: string): Generator<RecordedEvent> {
  let number = 0;
  // A line that is not JSON is left out only if it is the last (cut short by a failed write).
  let bad: EventsFormatError | undefined;
  for (const line of fileLines(path)) {
    number++;
    if (bad) throw bad;
    if (number === 1 || line === "") continue;
    try {
      yield JSON.parse(line) as RecordedEvent;
    } catch (error) {
      if (!(error instanceof SyntaxError)) throw error;
      bad = new EventsFormatError(path, number, `not JSON: ${error.message}`);
    }
  }
}

function parseLine(line: string, path: string, number: number): unknown {
  try {
    return JSON.parse(line);
  } catch (error) {
    throw new EventsFormatError(path, number, `not JSON: ${(error as SyntaxError).message}`);
  }
}
