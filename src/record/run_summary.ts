/**
 * The run record's `summary.json` (docs/run-record.md, "summary.json"): the run's outcome in one
 * object, for scripts and `tm runs`. Built from the run's history when `run-finished` arrives.
 */
import type { CheckOutcome, Phase, Verdict } from "../engine/events.ts";
import { peerProblems } from "../history/peer_verdict.ts";
import type { RunHistory } from "../history/run_history.ts";

/** The version of the summary's fields; bumped when a field changes meaning or goes away. */
export const SUMMARY_VERSION = 1;

/** One peer's outcome. */
export interface PeerOutcome {
  peer: string;
  host: string;
  port: number;
  image: string;
  /** `sha256:…` on its host; null if the runtime did not report it. */
  imageId: string | null;
  restarts: number;
  /** null: killed by a signal, unknown, or never exited on its own before cleanup. */
  exitCode: number | null;
  lastStatus: string | null;
  /** The reason of its `failed|<reason>` report (`""` for a bare `failed`); null if none. */
  failure: string | null;
  crashed: boolean;
  /** A `kill` fault ended it and no `start` ran it again (not a failure: the test did it). */
  killedByFault: boolean;
  /** Why it failed the run (crashed, never started, reported failed, did not stop); [] if not. */
  problems: string[];
  warnings: number;
  errors: number;
}

export interface RunSummary {
  summaryVersion: number;
  test: string;
  runId: string;
  /** The test's seed, to repeat the run (`seed:` in the file); null in older records. */
  seed: number | null;
  /** The tm that ran it. */
  tm: string;
  /** Wall time of the run's start, ISO 8601 UTC. */
  startedAt: string;
  durationMs: number;
  verdict: Verdict;
  exitCode: number;
  reason: string | null;
  peers: PeerOutcome[];
  checks: CheckOutcome[];
  /** Each phase entered, with its length (run time ms). */
  phases: { phase: Phase; startMs: number; durationMs: number }[];
  /** Each host connected, with its Docker engine version (null: not reported). */
  hosts: { host: string; address: string; docker: string | null }[];
}

/**
 * The summary of a finished run.
 * @throws Error if the history has no `run-finished`
 */
export function runSummary(history: RunHistory, tm: string): RunSummary {
  const finished = history.finished;
  if (!finished) throw new Error("runSummary: the run has not finished");
  return {
    summaryVersion: SUMMARY_VERSION,
    test: history.test,
    runId: history.runId,
    seed: history.seed ?? null,
    tm,
    startedAt: history.startedAt,
    durationMs: finished.durationMs,
    verdict: finished.verdict,
    exitCode: finished.exitCode,
    reason: finished.reason ?? null,
    peers: history.peers.map((peer) => ({
      peer: peer.peer,
      host: peer.host,
      port: peer.port,
      image: peer.image,
      imageId: peer.imageId ?? null,
      restarts: peer.restarts,
      exitCode: peer.exitCode ?? null,
      lastStatus: peer.lastStatus,
      failure: peer.failure ?? null,
      crashed: peer.crashed,
      killedByFault: peer.killedByFault,
      problems: peerProblems(peer).map((problem) => problem.text),
      warnings: peer.warnings,
      errors: peer.errors,
    })),
    checks: history.checks,
    phases: history.phases.map((span) => ({
      phase: span.phase,
      startMs: span.startMs,
      durationMs: (span.endMs ?? finished.t) - span.startMs,
    })),
    hosts: history.hosts.map((host) => ({
      host: host.host,
      address: host.address,
      docker: host.docker ?? null,
    })),
  };
}
