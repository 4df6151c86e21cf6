/**
 * The end-of-run summary: verdict, duration, each peer's final status, restarts, warnings and
 * errors, each check with its outcome, when it was decided and a failure's evidence, the
 * containers cleanup could not remove, and the log file path. Shared by the console and the TUI.
 */
import type { CheckOutcome, PeerSummary } from "../engine/events.ts";
import {
  type CheckStanding,
  checkStanding,
  FIXED_HINT,
  knownFailureText,
} from "../engine/known_failures.ts";
import { chaosSentence, formatTimelineTime, removalCommand } from "../text/event_text.ts";
import { peerColor, statusColor } from "./peer_colors.ts";
import { formatDuration } from "../text/quantities.ts";
import type { RunState } from "./run_state.ts";
import type { Styled } from "./styled_text.ts";

/** Options of `summarize`. */
export interface SummaryOptions {
  /**
   * With more peers than this, only peers that did not end cleanly are listed, plus a count of
   * the others; with more of those than this, the worst this many (failed or crashed first, then
   * by errors, restarts and warnings), plus a count of the rest (default 20).
   */
  maxPeerRows?: number;
  /** With more checks than this, only the failed ones are listed, plus a count (default 20). */
  maxCheckRows?: number;
}

/** Verdict line text: `PASSED`, `FAILED: <reason>`, `INTERRUPTED` (with a reason if any). */
export function verdictText(state: RunState): string {
  const finished = state.finished;
  if (!finished) return "RUNNING";
  const word = finished.verdict.toUpperCase();
  return finished.reason ? `${word}: ${finished.reason}` : word;
}

/** Colour of the verdict. */
export function verdictColor(state: RunState): string {
  switch (state.finished?.verdict) {
    case "passed":
      return "green";
    case "failed":
      return "red";
    case "interrupted":
      return "yellow";
    default:
      return "white";
  }
}

/**
 * A peer ended cleanly: stopped, never restarted nor reported failed, no warnings or errors, no
 * bad exit code.
 */
export function endedCleanly(peer: PeerSummary): boolean {
  return peer.status === "stopped" && peer.failure === undefined && peer.restarts === 0 &&
    peer.warnings === 0 &&
    peer.errors === 0 && (peer.exitCode === undefined || peer.exitCode === null ||
      peer.exitCode === 0);
}

/** The peers' final states: from `run-finished`, else what the run state saw. */
export function finalPeers(state: RunState): PeerSummary[] {
  if (state.finished && state.finished.peers.length > 0) return state.finished.peers;
  return state.peers.map((p) => ({
    peer: p.name,
    host: p.host,
    status: p.status,
    restarts: p.restarts,
    warnings: p.warnings,
    errors: p.errors,
    exitCode: p.exit && !p.exit.expected ? p.exit.code : undefined,
    ...(p.facts.killedByFault && p.facts.exit ? { killedByFault: true as const } : {}),
  }));
}

/** Warning and error totals: the orchestrator's own plus the peers' final counts. */
export function totals(state: RunState): { warnings: number; errors: number } {
  const peers = finalPeers(state);
  const seenPeerWarnings = state.peers.reduce((n, p) => n + p.warnings, 0);
  const seenPeerErrors = state.peers.reduce((n, p) => n + p.errors, 0);
  return {
    warnings: Math.max(0, state.warnings - seenPeerWarnings) +
      peers.reduce((n, p) => n + p.warnings, 0),
    errors: Math.max(0, state.errors - seenPeerErrors) + peers.reduce((n, p) => n + p.errors, 0),
  };
}

/** Whether a peer failed: reported `failed`, or exited on its own with a bad code. */
function failedPeer(peer: PeerSummary): boolean {
  return peer.failure !== undefined ||
    (peer.exitCode !== undefined && peer.exitCode !== null && peer.exitCode !== 0 &&
      peer.status !== "stopped");
}

/** The `count` worst of `peers` (failed first, then by errors, restarts, warnings), worst first. */
function worst(peers: readonly PeerSummary[], count: number): PeerSummary[] {
  const rank = (p: PeerSummary) => [failedPeer(p) ? 1 : 0, p.errors, p.restarts, p.warnings];
  return [...peers].sort((a, b) => {
    const [x, y] = [rank(a), rank(b)];
    const i = x.findIndex((value, k) => value !== y[k]);
    return i < 0 ? 0 : y[i] - x[i];
  }).slice(0, count);
}

function finalStatus(peer: PeerSummary): string {
  const status = peer.status ?? "never started";
  const failure = peer.failure === undefined
    ? ""
    : `, reported failed${peer.failure ? `: ${peer.failure}` : ""}`;
  if (peer.killedByFault) return `killed by a fault${failure}`;
  if (peer.exitCode !== undefined && peer.exitCode !== null && peer.status !== "stopped") {
    return `${status}, exited ${peer.exitCode}${failure}`;
  }
  return `${status}${failure}`;
}

/** The checks decided: from `run-finished` (file order), else as they were decided. */
export function finalChecks(state: RunState): CheckOutcome[] {
  return state.finished?.checks ?? state.checks;
}

/**
 * `checks 4 passed, 1 failed, 1 known failure, 1 fixed`, then a line per check (a failure with
 * its evidence; a known failure with its `known:` text; a known check that passed with the hint
 * to remove `known`).
 */
function checkLines(checks: CheckOutcome[], maxRows: number): Styled[] {
  if (checks.length === 0) return [];
  const count = (standing: CheckStanding) =>
    checks.filter((check) => checkStanding(check) === standing).length;
  const failed = count("failed");
  const known = count("known-failure");
  const fixed = count("fixed");
  const lines: Styled[] = [[
    { text: "  checks " },
    { text: `${count("passed")} passed`, color: "green" },
    { text: ", " },
    { text: `${failed} failed`, color: failed > 0 ? "red" : undefined },
    ...(known > 0
      ? [{ text: ", " }, {
        text: `${known} known failure${known === 1 ? "" : "s"}`,
        color: "magenta",
      }]
      : []),
    ...(fixed > 0 ? [{ text: ", " }, { text: `${fixed} fixed`, color: "cyan" }] : []),
  ]];
  const listed = checks.length > maxRows
    ? checks.filter((check) => checkStanding(check) !== "passed")
    : checks;
  for (const check of listed) {
    const standing = checkStanding(check);
    lines.push([
      standing === "passed"
        ? { text: `  ✓ #${check.index} `, color: "green" }
        : standing === "failed"
        ? { text: `  ✗ #${check.index} `, color: "red", bold: true }
        : standing === "known-failure"
        ? { text: `  ~ #${check.index} `, color: "magenta", bold: true }
        : { text: `  ✓ #${check.index} `, color: "cyan", bold: true },
      { text: check.description },
      { text: ` · ${formatTimelineTime(check.atMs)}`, dim: true },
    ]);
    if (standing === "known-failure") {
      lines.push([{ text: `      ${knownFailureText(check)}`, color: "magenta" }]);
    }
    if (standing === "fixed") {
      lines.push([{ text: `      ${FIXED_HINT} (${check.known})`, color: "cyan" }]);
    }
    for (const evidence of check.evidence ?? []) {
      lines.push([{ text: `      ${evidence}`, color: "gray" }]);
    }
  }
  if (listed.length < checks.length) {
    lines.push([{ text: `  ${checks.length - listed.length} more checks passed`, dim: true }]);
  }
  return lines;
}

/** The summary as styled lines. */
export function summarize(state: RunState, options: SummaryOptions = {}): Styled[] {
  const finished = state.finished;
  const lines: Styled[] = [];
  const duration = formatDuration(finished?.durationMs ?? state.lastT);
  lines.push([{ text: verdictText(state), color: verdictColor(state), bold: true }]);
  const seed = state.seed !== undefined ? ` · seed ${state.seed}` : "";
  lines.push([{ text: `  test ${state.test || "?"} · ${duration}${seed}`, dim: false }]);

  const peers = finalPeers(state);
  const maxRows = options.maxPeerRows ?? 20;
  const unclean = peers.length > maxRows ? peers.filter((p) => !endedCleanly(p)) : peers;
  const listed = unclean.length > maxRows ? worst(unclean, maxRows) : unclean;
  if (listed.length > 0) {
    const rows = listed.map((p) => ({
      peer: p,
      cells: [
        p.peer,
        p.host,
        finalStatus(p),
        String(p.restarts),
        String(p.warnings),
        String(
          p.errors,
        ),
      ],
    }));
    const header = ["peer", "host", "status", "restarts", "warnings", "errors"];
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r.cells[i].length)));
    const pad = (text: string, i: number) =>
      i >= 3 ? text.padStart(widths[i]) : text.padEnd(widths[i]);
    lines.push([{ text: "  " + header.map(pad).join("  "), dim: true }]);
    for (const { peer, cells } of rows) {
      const numbers = (n: number, i: number, color: string): Styled[number] => ({
        text: "  " + pad(cells[i], i),
        color: n > 0 ? color : undefined,
      });
      lines.push([
        { text: "  " },
        { text: pad(cells[0], 0), color: peerColor(peer.peer) },
        { text: "  " + pad(cells[1], 1) },
        {
          text: "  " + pad(cells[2], 2),
          color: failedPeer(peer) ? "red" : statusColor(peer.status),
        },
        numbers(peer.restarts, 3, "blue"),
        numbers(peer.warnings, 4, "yellow"),
        numbers(peer.errors, 5, "red"),
      ]);
    }
  }
  if (listed.length < unclean.length) {
    lines.push([{
      text: `  … and ${unclean.length - listed.length} more peers with warnings, errors or ` +
        `restarts (each in the run record's summary.json)`,
      color: "yellow",
    }]);
  }
  if (unclean.length < peers.length) {
    lines.push([{
      text: `  ${unclean.length === 0 ? "all " : ""}${peers.length - unclean.length} ${
        unclean.length === 0 ? "peers" : "more peers"
      } stopped cleanly`,
      dim: true,
    }]);
  }
  const { warnings, errors } = totals(state);
  lines.push([
    { text: "  warnings " },
    { text: String(warnings), color: warnings > 0 ? "yellow" : undefined },
    { text: ", errors " },
    { text: String(errors), color: errors > 0 ? "red" : undefined },
  ]);
  lines.push(...checkLines(finalChecks(state), options.maxCheckRows ?? 20));
  if (state.manualEntries > 0) {
    // So nobody mistakes a steered run for a scripted one.
    lines.push([{
      text: `  steered by hand: ${state.manualEntries} ${
        state.manualEntries === 1 ? "entry" : "entries"
      } (the timeline's ✋ entries)`,
      color: "cyan",
      bold: true,
    }]);
  }
  for (const left of state.leftBehind) {
    lines.push([
      { text: `  left on ${left.host}: `, color: "red", bold: true },
      { text: `${left.containers.join(", ")} (remove: ${removalCommand(left)})` },
    ]);
  }
  if (state.chaos) lines.push([{ text: `  ${chaosSentence(state.chaos)}` }]);
  if (state.logFile) lines.push([{ text: `  log file: ${state.logFile}` }]);
  if (state.recordDir) lines.push([{ text: `  run record: ${state.recordDir}` }]);
  return lines;
}
