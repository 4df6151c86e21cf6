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
 * tag for tm's own events, or the peer's log level exactly as the peer sent it.
 */
import type { EngineEvent, EventSink } from "./engine/events.ts";
import { escapeControls } from "./terminal_text.ts";
import { errorMessage } from "./errors.ts";

/** `<name>-YYYY-MM-DD-HH-MM-SS.log` in local time; characters unsafe in file names become `_`. */
export function logFileName(testName: string, date: Date): string {
  // deno-lint-ignore no-control-regex
  const safe = testName.replace(/[\/\\:*?"<>|\x00-\x1f\x7f]/g, "_").replace(/^\.+/, "_").trim();
  const p = (n: number) => String(n).padStart(2, "0");
  const stamp = `${date.getFullYear()}-${p(date.getMonth() + 1)}-${p(date.getDate())}-${
    p(date.getHours())
  }-${p(date.getMinutes())}-${p(date.getSeconds())}`;
  return `${safe || "tm"}-${stamp}.log`;
}

export interface LogFile {
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

/** Width of the tag / level column. */
const TAG_WIDTH = 7;

/**
 * Creates (or appends to) the log file at `path`. Throws if it cannot be opened; a write that
 * fails later sets `lost`, and logging stops (a log with a gap in it would pass for a complete
 * one); the run goes on.
 */
export function openLogFile(path: string): LogFile {
  let file: Deno.FsFile | undefined = Deno.openSync(path, {
    write: true,
    create: true,
    append: true,
  });
  const encoder = new TextEncoder();
  const formatter = new LineFormatter();
  let lost: LogFileWriteError | undefined;
  const write = (text: string) => {
    if (!file) return;
    try {
      const bytes = encoder.encode(text);
      let written = 0;
      while (written < bytes.length) written += file.writeSync(bytes.subarray(written));
    } catch (error) {
      lost = new LogFileWriteError(path, error);
      file.close();
      file = undefined;
    }
  };
  return {
    sink: (event) => write(formatter.format(event, new Date())),
    get lost() {
      return lost;
    },
    close() {
      file?.close();
      file = undefined;
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
    const entries = describe(event);
    return entries.map(({ source, tag, text }) =>
      `${prefix} ${source.padEnd(this.#width)} ${escapeControls(tag).padEnd(TAG_WIDTH)} ${
        escapeControls(text)
      }\n`
    ).join("");
  }
}

interface Entry {
  source: string;
  tag: string;
  text: string;
}

/** The lines an event becomes: usually one; run summaries and exit output take several. */
function describe(event: EngineEvent): Entry[] {
  const tm = (tag: string, text: string): Entry[] => [{ source: "tm", tag, text }];
  switch (event.type) {
    case "run-started":
      return [
        ...tm(
          "RUN",
          `run ${event.runId} of ${JSON.stringify(event.test)} started: ${
            count(event.plan.length, "peer")
          }, ${count(event.timeline.length, "command")}${
            event.logFile ? `, log file ${event.logFile}` : ""
          }`,
        ),
        ...event.plan.map((p) => ({
          source: p.peer,
          tag: "PLACED",
          text: `on ${p.host} (${p.address}) port ${p.port}, image ${p.image}`,
        })),
        ...event.timeline.map((c) => ({
          source: c.peer,
          tag: "PLANNED",
          text: `#${c.index} at ${c.time}s: ${c.command}`,
        })),
      ];
    case "phase":
      return tm("PHASE", event.phase);
    case "redis-ready":
      return tm("REDIS", `ready at ${event.url}`);
    case "host-connecting":
      return tm("HOST", `connecting to ${event.host} (${event.address})`);
    case "host-connected":
      return tm("HOST", `connected to ${event.host} (${event.address}) in ${event.ms} ms`);
    case "host-lost":
      return tm(
        "LOST",
        `${event.host}: ${event.reason}; reconnecting for up to ${event.giveUpMs / 1_000}s`,
      );
    case "host-reconnected":
      return tm(
        "HOST",
        `reconnected to ${event.host} after ${(event.outageMs / 1_000).toFixed(3)}s (${
          count(event.attempts, "attempt")
        })`,
      );
    case "left-behind":
      return tm(
        "LEFT",
        `${event.host}: ${event.containers.join(", ")} not removed (${event.reason}); ` +
          `remove with: docker rm -f ${event.containers.join(" ")}`,
      );
    case "image-pull":
      return tm("IMAGE", `pull ${event.image}: ${event.state}${detail(event.detail)}`);
    case "image-transfer":
      return tm(
        "IMAGE",
        `ship ${event.image} to ${event.host}: ${event.state}, ${bytes(event.bytes)}${
          event.total ? ` of ${bytes(event.total)}` : ""
        }${detail(event.detail)}`,
      );
    case "image-skipped":
      return tm("IMAGE", `skip ${event.image} on ${event.host}: ${event.reason}`);
    case "peer-starting":
      return [{ source: event.peer, tag: "START", text: `starting on ${event.host}` }];
    case "peer-launched":
      return [{
        source: event.peer,
        tag: "START",
        text: `launched on ${event.host}${event.id ? ` (${event.id})` : ""}`,
      }];
    case "peer-status":
      return [{
        source: event.peer,
        tag: "STATUS",
        text: `${event.status} (was ${event.previous ?? "none"})${
          event.address !== undefined ? `, address ${event.address}` : ""
        }`,
      }];
    case "peer-log":
      return [{ source: event.peer, tag: event.level, text: event.message }];
    case "peer-exited":
      return [
        {
          source: event.peer,
          tag: event.expected ? "EXIT" : "CRASH",
          text: `exited with ${event.code === null ? "no code (signal)" : `code ${event.code}`}${
            event.expected ? "" : " unexpectedly"
          }`,
        },
        ...(event.output ?? []).map((line) => ({ source: event.peer, tag: "OUTPUT", text: line })),
      ];
    case "command-sent":
      return [{
        source: event.peer,
        tag: "SENT",
        text: `${event.command}${event.index !== undefined ? ` (#${event.index}` : ""}${
          event.dueMs !== undefined ? ` due ${(event.dueMs / 1_000).toFixed(3)}s` : ""
        }${event.lateMs !== undefined ? ` late ${event.lateMs.toFixed(2)} ms` : ""}${
          event.index !== undefined ? ")" : ""
        }`,
      }];
    case "commands-acknowledged":
      return tm(
        "ACKED",
        `${event.indexes.map((index) => `#${index}`).join(", ")} (due ${
          (event.dueMs / 1_000).toFixed(3)
        }s) acknowledged by Redis ${event.ackLateMs.toFixed(2)} ms late`,
      );
    case "command-undeliverable":
      return [{
        source: event.peer,
        tag: "UNSENT",
        text: `${event.command}: undeliverable, ${event.reason}`,
      }];
    case "warning":
    case "error":
      return [{
        source: event.peer ?? "tm",
        tag: event.type === "warning" ? "WARN" : "ERROR",
        text: event.host && !event.peer ? `${event.host}: ${event.message}` : event.message,
      }];
    case "trace":
      return tm("TRACE", event.message);
    case "run-finished":
      return [
        ...tm(
          "RESULT",
          `${event.verdict} (exit ${event.exitCode}) after ${
            (event.durationMs / 1_000).toFixed(3)
          }s${event.reason ? `: ${event.reason}` : ""}`,
        ),
        ...event.peers.map((p) => ({
          source: p.peer,
          tag: "SUMMARY",
          text: `on ${p.host}: status ${p.status ?? "none"}, ${count(p.restarts, "restart")}, ${
            count(p.warnings, "warning")
          }, ${count(p.errors, "error")}${
            p.exitCode !== undefined ? `, exit code ${p.exitCode ?? "none (signal)"}` : ""
          }`,
        })),
      ];
    default: {
      // An event type added later: keep it rather than drop it.
      const unknown = event as { type: string };
      return tm("EVENT", JSON.stringify(unknown));
    }
  }
}

function wallClock(date: Date): string {
  const p = (n: number, width = 2) => String(n).padStart(width, "0");
  return `${date.getFullYear()}-${p(date.getMonth() + 1)}-${p(date.getDate())} ${
    p(date.getHours())
  }:${p(date.getMinutes())}:${p(date.getSeconds())}.${p(date.getMilliseconds(), 3)}`;
}

function detail(text: string | undefined): string {
  return text ? ` (${text})` : "";
}

function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? "" : "s"}`;
}

function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(2)} GiB`;
}
