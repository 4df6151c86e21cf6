/**
 * Whether one peer passed, and why not: the judgement the JUnit file, the summary and the HTML
 * report share (docs/run-record.md, "junit.xml"). A peer fails when it crashed, never started,
 * reported `failed`, or did not stop.
 */
import type { PeerHistory } from "./run_history.ts";

/** Why a peer failed, most telling first; empty when it passed. */
export function peerProblems(peer: PeerHistory): string[] {
  const problems: string[] = [];
  if (peer.crashed) {
    problems.push(
      `crashed (${peer.exitCode == null ? "exit code unknown" : `exit code ${peer.exitCode}`})`,
    );
  }
  if (peer.failure !== undefined) {
    problems.push(`reported failed${peer.failure ? `: ${peer.failure}` : ""}`);
  }
  if (!peer.started) problems.push("never started");
  else if (!peer.crashed && peer.lastStatus !== "stopped") {
    problems.push(`did not stop (last status ${peer.lastStatus ?? "none"})`);
  }
  return problems;
}
