/**
 * `tm diff`'s text: a `RunDiff` as lines for a terminal (regressions first, then what changed,
 * then the timings as ratios), the same for every caller. Outside text (peer lines, reasons) is
 * escaped by the command that prints it.
 */
import { formatDuration } from "../text/quantities.ts";
import type { LatenessDiff, PeerDiff, RunDiff, RunSide, Timed } from "./run_diff.ts";

/** The diff as lines, without trailing newlines. */
export function runDiffLines(diff: RunDiff): string[] {
  const lines = [
    `A: ${sideLine(diff.a)}`,
    `B: ${sideLine(diff.b)}`,
    "",
  ];
  if (diff.testChanges.length > 0) {
    lines.push("the test changed between the runs:");
    lines.push(...diff.testChanges.map((change) => `  ${change}`), "");
  }
  lines.push(
    diff.a.verdict === diff.b.verdict
      ? `verdict: ${diff.b.verdict} in both`
      : `verdict: ${diff.a.verdict} → ${diff.b.verdict}${
        diff.b.reason ? ` (${diff.b.reason})` : ""
      }`,
  );
  lines.push(
    ...(diff.regressions.length > 0
      ? [`B regressed (${diff.regressions.length}):`, ...diff.regressions.map((r) => `  ${r}`)]
      : ["B did not regress against A"]),
  );
  lines.push("");
  if (diff.checks.length === 0) lines.push("checks: no outcome changed");
  else {
    lines.push(`checks that changed outcome (${diff.checks.length}):`);
    for (const check of diff.checks) {
      lines.push(
        `  ${check.regressed ? "✗" : "·"} #${check.index} ${check.description}: ` +
          `${check.state.a} → ${check.state.b}`,
      );
      for (const [which, evidence] of [["A", check.evidence.a], ["B", check.evidence.b]] as const) {
        lines.push(`      ${which}: ${evidence[0] ?? ""}`);
        lines.push(...evidence.slice(1).map((line) => `         ${line}`));
      }
    }
  }
  lines.push("", "peers:");
  for (const peer of diff.peers) lines.push(...peerLines(peer));
  lines.push("", "phases (B/A):");
  for (const phase of diff.phases) lines.push(`  ${phase.phase.padEnd(10)} ${timedText(phase)}`);
  lines.push("", "lateness (B/A):");
  lines.push(`  commands   ${latenessText(diff.lateness.commands)}`);
  lines.push(`  faults     ${latenessText(diff.lateness.faults)}`);
  return lines;
}

function sideLine(side: RunSide): string {
  return `${side.dir} (run ${side.runId} of ${side.test}, ${side.startedAt}, ${side.verdict}, ` +
    `${formatDuration(side.durationMs)})`;
}

function peerLines(peer: PeerDiff): string[] {
  const pair = <T>(a: T, b: T, show: (x: T) => string = String) =>
    a === b ? show(a) : `${show(a)} → ${show(b)}`;
  const head = `  ${peer.peer}: ${pair(peer.outcome.a, peer.outcome.b)}` +
    (peer.outcome.b === "failed" ? ` (${peer.problems.b.join("; ")})` : "") +
    (peer.regressed ? "  REGRESSED" : peer.changed ? "" : ", unchanged");
  const lines = [head];
  const facts = [
    `restarts ${pair(peer.restarts.a, peer.restarts.b)}`,
    ...(peer.failure.a !== null || peer.failure.b !== null
      ? [`failure ${pair(peer.failure.a, peer.failure.b, (f) => f === null ? "none" : `"${f}"`)}`]
      : []),
    `started after ${timedText(peer.started)}`,
    `warnings ${pair(peer.warnings.a, peer.warnings.b)}`,
    `errors ${pair(peer.errors.a, peer.errors.b)}`,
  ];
  lines.push(`      ${facts.join(", ")}`);
  if (peer.divergence) {
    const { position, a, b, common } = peer.divergence;
    const after = common.length > 0 ? ` after ${common.slice(-3).join(" → ")}` : "";
    lines.push(
      `      statuses diverge at #${position}${after}: A ${a ?? "(no more)"}, B ${
        b ?? "(no more)"
      }`,
    );
  }
  if (peer.newLines.length > 0) {
    lines.push(`      new warn/error lines in B (${peer.newLines.length}, numbers masked):`);
    lines.push(...peer.newLines.map((line) => `        [${line.level}] ${line.message}`));
  }
  return lines;
}

/** `1.2s → 1.5s (1.25×)`; a missing side is `-`. */
export function timedText(timed: Timed): string {
  const show = (ms: number | null) => ms === null ? "-" : formatDuration(ms);
  return `${show(timed.a)} → ${show(timed.b)}${ratioText(timed.ratio)}`;
}

function ratioText(ratio: number | null): string {
  return ratio === null ? "" : ` (${ratio.toFixed(2)}×)`;
}

function latenessText(diff: LatenessDiff): string {
  if (diff.a.count === 0 && diff.b.count === 0) return "none in either run";
  const ms = (value: number | null) => value === null ? "-" : `${value.toFixed(1)} ms`;
  return `p50 ${ms(diff.a.p50)} → ${ms(diff.b.p50)}${ratioText(diff.p50Ratio)}, ` +
    `p99 ${ms(diff.a.p99)} → ${ms(diff.b.p99)}${ratioText(diff.p99Ratio)} ` +
    `(${diff.a.count} → ${diff.b.count} entries)`;
}
