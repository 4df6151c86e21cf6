/**
 * What the HTML report shows, as plain data: built from a run's recorded events and embedded in
 * `report.html` as JSON, which the page's script draws (docs/run-record.md, "report.html").
 * Times are run time (`t`, ms since the run started); the page labels them on the timeline clock.
 * Every string is escaped as the console and the log file escape it (src/text/terminal_text.ts):
 * a peer's `\u202eevil` reads the same in the page as in the terminal, not as "live".
 */
import type { RecordedEvent } from "../events_jsonl.ts";
import { type CheckStanding, checkStanding } from "../../engine/known_failures.ts";
import { peerProblems } from "../../history/peer_verdict.ts";
import type { RunHistory } from "../../history/run_history.ts";
import type { RunDiff } from "../run_diff.ts";
import { runDiffLines } from "../run_diff_text.ts";
import { eventSentence } from "../../text/event_text.ts";
import { escapeControlsIn } from "../../text/terminal_text.ts";

/** A stretch of time a peer spent in one status. */
export interface StatusSpan {
  from: number;
  to: number;
  status: string;
}

/** Something that happened to a peer at one moment. */
export interface LaneMarker {
  t: number;
  kind: "command" | "restart" | "crash" | "exit" | "unsent" | "fault" | "manual";
  label: string;
}

export interface ReportLane {
  peer: string;
  host: string;
  problems: string[];
  spans: StatusSpan[];
  markers: LaneMarker[];
}

/** One line of the log list: a peer's log line, or tm's own warning or error (`peer: "tm"`). */
export interface ReportLog {
  t: number;
  peer: string;
  level: string;
  message: string;
}

export interface ReportData {
  test: string;
  runId: string;
  startedAt: string;
  /** `passed`, `failed`, `interrupted`, or `unfinished` (no `run-finished`: tm was killed). */
  verdict: string;
  exitCode: number | null;
  reason: string | null;
  /** Run time the timeline began, null if it never did (times are then shown as run time). */
  timelineStartMs: number | null;
  /** Run time of the record's end. */
  endMs: number;
  phases: { phase: string; from: number; to: number }[];
  lanes: ReportLane[];
  checks: {
    index: number;
    description: string;
    passed: boolean;
    /** passed, failed, a known failure, or fixed (a known check that passed). */
    standing: CheckStanding;
    /** The check's `known:` text, null if it has none. */
    known: string | null;
    /** Run time it was decided. */
    t: number;
    evidence: string[];
  }[];
  logs: ReportLog[];
  /** Timeline entries typed by hand during the run (`manual-entry`): 0 for a scripted run. */
  manualEntries: number;
  /** `tm report --against`: this run compared with run A (its text lines); null without it. */
  diff: ReportDiff | null;
}

/** The diff section of the report: which run it compares with, the regressions, the lines. */
export interface ReportDiff {
  againstRunId: string;
  againstDir: string;
  regressions: string[];
  lines: string[];
}

/** The report's data for a run, its text escaped as every view escapes it. */
export function reportData(
  history: RunHistory,
  recorded: Iterable<RecordedEvent>,
  diff?: RunDiff,
): ReportData {
  return { ...reportFrame(history, recorded, diff), logs: [...reportLogs(recorded)] };
}

/** All of the report's data but its logs (`reportLogs`), escaped as `reportData` escapes it. */
export type ReportFrame = Omit<ReportData, "logs">;

/** The report's data but its logs, from one pass over the events. */
export function reportFrame(
  history: RunHistory,
  recorded: Iterable<RecordedEvent>,
  diff?: RunDiff,
): ReportFrame {
  return escapeControlsIn(rawReportFrame(history, recorded, diff));
}

/** A log line and where its event is in the record, the tie-break between equal times. */
interface PlacedLog {
  log: ReportLog;
  index: number;
}

/**
 * The report's log lines in time order (ties in the record's order), escaped, from two passes
 * over the events, holding only the peers' output lines: a 1,000-peer run's 55,000 lines were
 * ~6 MiB held at the end of the run, as the page was written. Every other line comes in the
 * record's order, which is time order (the engine stamps events as it emits them); an output
 * line is placed at its own time, earlier than the event that carries it, so those are gathered
 * and sorted first, then merged in.
 */
export function* reportLogs(recorded: Iterable<RecordedEvent>): Generator<ReportLog> {
  const outputs: PlacedLog[] = [];
  let index = 0;
  for (const { event, wall } of recorded) {
    index++;
    if (event.type !== "peer-output" && event.type !== "peer-exited") continue;
    (event.output ?? []).forEach((line, i) => {
      const t = outputLineTime(event.t, wall, event.outputAt?.[i]);
      outputs.push({ log: { t, peer: event.peer, level: "output", message: line }, index });
    });
  }
  outputs.sort((a, b) => a.log.t - b.log.t || a.index - b.index);
  let next = 0;
  index = 0;
  for (const { event } of recorded) {
    index++;
    const log = eventLog(event);
    if (!log) continue;
    for (; next < outputs.length && placedBefore(outputs[next], log.t, index); next++) {
      yield escapeControlsIn(outputs[next].log);
    }
    yield escapeControlsIn(log);
  }
  for (; next < outputs.length; next++) yield escapeControlsIn(outputs[next].log);
}

/** Whether an output line goes before the event log at time `t`, record position `index`. */
function placedBefore(output: PlacedLog, t: number, index: number): boolean {
  return output.log.t < t || (output.log.t === t && output.index < index);
}

/** The log line an event itself is (a peer's log line, tm's warning or error), if any. */
function eventLog(event: RecordedEvent["event"]): ReportLog | undefined {
  switch (event.type) {
    case "peer-log":
      return { t: event.t, peer: event.peer, level: event.level, message: event.message };
    case "warning":
    case "error":
      return {
        t: event.t,
        peer: event.peer ?? "tm",
        level: event.type === "warning" ? "warn" : "error",
        message: event.host ? `${event.host}: ${event.message}` : event.message,
      };
    default:
      return undefined;
  }
}

/**
 * The run time (ms, the events' clock) of an output line written at `at` (the engine's clock,
 * RFC 3339) by a peer whose exit was recorded at `exitT`, `exitWall`: the line's offset before
 * the exit, at most at the exit. A line without a time (or an unreadable one) stays at the exit.
 */
export function outputLineTime(exitT: number, exitWall: string, at: string | undefined): number {
  const before = Date.parse(exitWall) - Date.parse(at ?? "");
  return Number.isFinite(before) ? exitT - Math.max(0, before) : exitT;
}

function rawReportFrame(
  history: RunHistory,
  recorded: Iterable<RecordedEvent>,
  diff?: RunDiff,
): ReportFrame {
  const endMs = history.finished?.t ?? history.lastMs;
  const lanes = new Map<string, ReportLane>(history.peers.map((peer) => [peer.peer, {
    peer: peer.peer,
    host: peer.host,
    problems: peerProblems(peer).map((problem) => problem.text),
    spans: [],
    markers: [],
  }]));
  const open = new Map<string, StatusSpan>();
  const close = (peer: string, t: number) => {
    const span = open.get(peer);
    if (span) span.to = t;
    open.delete(peer);
  };
  const begin = (peer: string, t: number, status: string) => {
    const lane = lanes.get(peer);
    if (!lane) return;
    close(peer, t);
    const span = { from: t, to: endMs, status };
    lane.spans.push(span);
    open.set(peer, span);
  };
  let manualEntries = 0;
  for (const { event } of recorded) {
    switch (event.type) {
      case "peer-launched":
        begin(event.peer, event.t, "launched");
        break;
      case "peer-status":
        begin(event.peer, event.t, event.status);
        if (event.status === "restarting") {
          lanes.get(event.peer)?.markers.push({ t: event.t, kind: "restart", label: "restart" });
        }
        break;
      case "peer-exited": {
        close(event.peer, event.t);
        const code = event.code === null ? "unknown code" : `code ${event.code}`;
        lanes.get(event.peer)?.markers.push({
          t: event.t,
          kind: event.expected ? "exit" : "crash",
          label: `${event.expected ? "exited" : "crashed"} with ${code}`,
        });
        break;
      }
      case "command-sent":
        lanes.get(event.peer)?.markers.push({ t: event.t, kind: "command", label: event.command });
        break;
      case "command-undeliverable":
        lanes.get(event.peer)?.markers.push({
          t: event.t,
          kind: "unsent",
          label: `${event.command} not delivered: ${event.reason}`,
        });
        break;
      case "manual-entry": {
        // Typed by hand while the run went: a marker of its own on each lane it is about.
        manualEntries++;
        const entry = event.entry;
        const peers = "fault" in entry ? entry.peers : [entry.peer];
        for (const peer of peers) {
          lanes.get(peer)?.markers.push({
            t: event.t,
            kind: "manual",
            label: eventSentence(event),
          });
        }
        break;
      }
      case "fault-applied":
      case "fault-failed":
        // On the lane of every peer it acted on, worded as the views word it.
        for (const peer of event.action.peers) {
          lanes.get(peer)?.markers.push({ t: event.t, kind: "fault", label: eventSentence(event) });
        }
        break;
    }
  }
  const timelineStart = history.timelineStartMs ?? null;
  return {
    test: history.test,
    runId: history.runId,
    startedAt: history.startedAt,
    verdict: history.finished?.verdict ?? "unfinished",
    exitCode: history.finished?.exitCode ?? null,
    reason: history.finished?.reason ??
      (history.finished ? null : "the run did not finish: its record ends before run-finished"),
    timelineStartMs: timelineStart,
    endMs,
    phases: history.phases.map((span) => ({
      phase: span.phase,
      from: span.startMs,
      to: span.endMs ?? endMs,
    })),
    lanes: [...lanes.values()],
    checks: history.checks.map((check) => ({
      index: check.index,
      description: check.description,
      passed: check.passed,
      standing: checkStanding(check),
      known: check.known ?? null,
      t: check.atMs + (timelineStart ?? 0),
      evidence: check.evidence ?? [],
    })),
    manualEntries,
    diff: diff
      ? {
        againstRunId: diff.a.runId,
        againstDir: diff.a.dir,
        regressions: diff.regressions,
        lines: runDiffLines(diff),
      }
      : null,
  };
}
