/**
 * The run's log file: an EventSink that appends every engine event as one human-readable,
 * timestamped line, peer names aligned, as the event happens (one synchronous append per
 * event, so a crash of tm loses nothing already logged).
 *
 * ```text
 * 2025-05-01 14:03:07.112 [    1.204s] alice   STATUS  connected (was connecting)
 * 2025-05-01 14:03:07.113 [    1.205s] alice   info    connected as vlad-3f… on /ip4/…
 * 2025-05-01 14:03:07.140 [    1.232s] tm      PHASE   timeline
 * ```
 *
 * The third column is the peer (or `tm` for the run as a whole); the fourth is an upper-case
 * tag for tm's own events, or the peer's log level exactly as the peer sent it. The wording is
 * `event_text.ts`'s; which of tm's events are written is the config's `log_level` (`isLogged`).
 */
import type { EngineEvent, EventSink } from "../engine/events.ts";
import { eventLines, eventSeverity } from "../text/event_text.ts";
import { isReported, type Severity } from "../text/severity.ts";
import { escapeControls } from "../text/terminal_text.ts";
import { errorMessage } from "../base/errors.ts";
import { SyncAppender } from "./sync_appender.ts";
import { runFileStem } from "./run_directory.ts";

/** `<name>-YYYY-MM-DD-HH-MM-SS.log` (`runFileStem`). */
export function logFileName(testName: string, date: Date): string {
  return `${runFileStem(testName, date)}.log`;
}

export interface LogFile {
  /** Where it is written. */
  readonly path: string;
  /** Writes each event as it arrives; ignores events after `close()` or a failed write. */
  sink: EventSink;
  /**
   * Why the log file is incomplete: the write that failed (disk full, I/O error), set during the
   * `sink` call that failed; undefined while every event went in.
   */
  readonly lost: LogFileWriteError | undefined;
  /** Closes the file; idempotent. */
  close(): Promise<void>;
}

/** A write to the log file failed: the run's evidence is lost. */
export class LogFileWriteError extends Error {
  /**
   * @param path the log file
   * @param cause the operating system's error
   */
  constructor(readonly path: string, cause: unknown) {
    super(
      `the log file ${path} could not be written: ${errorMessage(cause)}; evidence lost`,
      { cause },
    );
    this.name = "LogFileWriteError";
  }
}

/** Options of `openLogFile`. */
export interface LogFileOptions {
  /** The config's `log_level`: tm's events less severe are not written (default `info`). */
  level?: Severity;
  /**
   * Never write into an existing file: if `path` exists, `<name>-2.log`, `-3`, … is used, so
   * two runs started in the same second keep a log each. Default: false (append).
   */
  fresh?: boolean;
}

/** Opens `path` for appending, or with `fresh` the first of `path`, `<stem>-2.log`, … not taken. */
function openFile(path: string, fresh: boolean): { file: Deno.FsFile; path: string } {
  if (!fresh) {
    return { file: Deno.openSync(path, { write: true, create: true, append: true }), path };
  }
  const stem = path.replace(/\.log$/, "");
  for (let n = 1;; n++) {
    const candidate = n === 1 ? path : `${stem}-${n}.log`;
    try {
      return { file: Deno.openSync(candidate, { write: true, createNew: true }), path: candidate };
    } catch (error) {
      if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
    }
  }
}

/**
 * Whether the log file writes `event` at `level`: every peer log line (a peer filters its own,
 * with its `LOG_LEVEL`), the run's first and last lines (what ran, how it ended) and each manual
 * timeline entry (what was done by hand) at every level, and tm's other events when
 * `eventSeverity` is reported at `level`.
 */
export function isLogged(event: EngineEvent, level: Severity): boolean {
  switch (event.type) {
    case "peer-log":
    case "run-started":
    case "run-finished":
    case "manual-entry":
      return true;
    default:
      return isReported(eventSeverity(event), level);
  }
}

/** Width of the tag / level column. */
const TAG_WIDTH = 7;

/**
 * Creates (or appends to) the log file at `path`. Throws if it cannot be opened; a write that
 * fails later sets `lost`, and logging stops (a log with a gap in it would pass for a complete
 * one); the run goes on.
 */
export function openLogFile(path: string, options: LogFileOptions = {}): LogFile {
  const level = options.level ?? "info";
  const opened = openFile(path, options.fresh ?? false);
  path = opened.path;
  const formatter = new LineFormatter();
  let lost: LogFileWriteError | undefined;
  const file = new SyncAppender(opened.file, (error) => lost = new LogFileWriteError(path, error));
  return {
    path,
    sink: (event) => {
      if (isLogged(event, level)) file.write(formatter.format(event, new Date()));
    },
    get lost() {
      return lost;
    },
    close() {
      file.close();
      return Promise.resolve();
    },
  };
}

/** Formats events as log lines; remembers the peer-name width from `run-started`. */
export class LineFormatter {
  #width = 2;

  /** One or more `\n`-terminated lines for `event`, received at wall-clock time `now`. */
  format(event: EngineEvent, now: Date): string {
    if (event.type === "run-started") {
      this.#width = Math.max(2, ...event.plan.map((placement) => placement.peer.length));
    }
    const prefix = `${wallClock(now)} [${(event.t / 1_000).toFixed(3).padStart(9)}s]`;
    return eventLines(event).map(({ source, tag, text }) =>
      `${prefix} ${source.padEnd(this.#width)} ${escapeControls(tag).padEnd(TAG_WIDTH)} ${
        escapeControls(text)
      }\n`
    ).join("");
  }
}

function wallClock(date: Date): string {
  const p = (n: number, width = 2) => String(n).padStart(width, "0");
  return `${date.getFullYear()}-${p(date.getMonth() + 1)}-${p(date.getDate())} ${
    p(date.getHours())
  }:${p(date.getMinutes())}:${p(date.getSeconds())}.${p(date.getMilliseconds(), 3)}`;
}
