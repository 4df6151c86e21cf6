/**
 * Whether one peer passed, and why not: the judgement the JUnit file, the summary and the HTML
 * report share (docs/run-record.md, "junit.xml"). A peer fails when it crashed, never started,
 * reported `failed`, or did not stop; a peer a `kill` fault left ended did what the test asked
 * (the engine does not ask it to stop either).
 */
import type { PeerHistory } from "./run_history.ts";

/** One reason a peer failed the run. */
export interface PeerProblem {
  kind: "crashed" | "reported-failed" | "never-started" | "did-not-stop";
  /** One line, e.g. `crashed (exit code 137)`, `reported failed: no route`. */
  text: string;
}

/** Why a peer failed, most telling first; empty when it passed. */
export function peerProblems(peer: PeerHistory): PeerProblem[] {
  const problems: PeerProblem[] = [];
  if (peer.crashed) {
    const code = peer.exitCode == null ? "exit code unknown" : `exit code ${peer.exitCode}`;
    problems.push({ kind: "crashed", text: `crashed (${code})` });
  }
  if (peer.failure !== undefined) {
    problems.push({
      kind: "reported-failed",
      text: `reported failed${peer.failure ? `: ${peer.failure}` : ""}`,
    });
  }
  if (!peer.started) problems.push({ kind: "never-started", text: "never started" });
  else if (!peer.crashed && !peer.killedByFault && peer.lastStatus !== "stopped") {
    problems.push({
      kind: "did-not-stop",
      text: `did not stop (last status ${peer.lastStatus ?? "none"})`,
    });
  }
  return problems;
}
