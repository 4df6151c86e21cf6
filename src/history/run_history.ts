/**
 * A run told from its recorded events alone: what the summary, the JUnit file and the HTML
 * report are built from, at the end of a run and by `tm report` from `events.jsonl`. A run that
 * was killed has no `run-finished`: what is known is told, and `finished` is undefined.
 */
import type {
  CheckOutcome,
  EngineEvent,
  EventOf,
  Phase,
  TimelineCommand,
} from "../engine/events.ts";
import type { PlacedPeer } from "../plan/placement.ts";
import type { RecordedEvent } from "../record/events_jsonl.ts";
import { type PeerFacts, RunFacts } from "./peer_facts.ts";

/** How many of a peer's last log lines a history keeps for messages (JUnit, summary). */
export const LAST_LINES = 20;

/** One peer's life in the run. */
export interface PeerHistory {
  peer: string;
  host: string;
  port: number;
  image: string;
  /** The image's ID on its host (`sha256:…`), if the runtime reported it. */
  imageId?: string;
  /** Container ID (or `pid …`), if launched. */
  id?: string;
  /** Reported `started` (or a status only a started peer reports) at least once. */
  started: boolean;
  /** Last status reported, null if none. */
  lastStatus: string | null;
  restarts: number;
  /** The reason of a `failed|<reason>` status (`""` for a bare `failed`); absent if none. */
  failure?: string;
  /** Its process/container exited on its own, unexpectedly. */
  crashed: boolean;
  /** A `kill` fault ended it and no `start` ran it again: the test's doing, not a failure. */
  killedByFault: boolean;
  /** Exit code if it exited (null: killed by a signal or unknown). */
  exitCode?: number | null;
  /** Last lines of its output at an unexpected exit (docker logs). */
  exitOutput: string[];
  /** Its last log lines (`[level] message`), oldest first, up to `LAST_LINES`. */
  lastLogs: string[];
  warnings: number;
  errors: number;
}

/** One phase: from the event entering it to the next phase (or the run's end). */
export interface PhaseSpan {
  phase: Phase;
  startMs: number;
  /** Undefined when the run's record ends inside it. */
  endMs?: number;
}

/** What a run's events say. */
export interface RunHistory {
  test: string;
  runId: string;
  /** The test's seed; absent in records of runs before seeds. */
  seed?: number;
  plan: PlacedPeer[];
  timeline: TimelineCommand[];
  /** Wall time of the first event, ISO 8601. */
  startedAt: string;
  /** Run time (`t`) at which the timeline began; undefined if it never did. */
  timelineStartMs?: number;
  /** Run time of the last event recorded. */
  lastMs: number;
  /** The run's end; undefined when the record stops before it (`unfinishedCause`). */
  finished?: EventOf<"run-finished">;
  peers: PeerHistory[];
  /** Decided checks in `expect:` order (from `run-finished`, else the `check-decided` events). */
  checks: CheckOutcome[];
  phases: PhaseSpan[];
  /** Each host connected, with its Docker engine version if the runtime reported it. */
  hosts: { host: string; address: string; docker?: string }[];
  /** Run with `--strict-known`: a known check that passed failed the run. */
  strictKnown: boolean;
}

/**
 * Why a record ends before `run-finished`, as far as it can tell: a last line cut short is a
 * write that failed (a full disk); whole lines are tm killed, or a write that failed between two.
 */
export function unfinishedCause(cutShort: boolean): string {
  return cutShort
    ? "a write to the record failed mid-line (a full disk?)"
    : "tm was killed, or a write to the record failed (a full disk?)";
}

/** The record holds no `run-started`: nothing to tell. */
export class NotARunError extends Error {
  constructor() {
    super("the record holds no run-started event");
    this.name = "NotARunError";
  }
}

/**
 * Tells the run from its events, in order, reading each once: an `events.jsonl` can be streamed
 * through it (src/record/events_jsonl.ts, `recordedEvents`) without holding the run's events.
 * @throws NotARunError when there is no `run-started`
 */
export function runHistory(recorded: Iterable<RecordedEvent>): RunHistory {
  let history: RunHistory | undefined;
  let peers = new Map<string, PeerHistory>();
  // Events before `run-started` (none in a record tm writes) wait for it, then count as before.
  const early: RecordedEvent[] = [];
  const decided = new Map<number, CheckOutcome>();
  const facts = new RunFacts();
  const tell = (event: EngineEvent, history: RunHistory) => {
    history.lastMs = Math.max(history.lastMs, event.t);
    facts.observe(event);
    const peer = "peer" in event && event.peer !== undefined ? peers.get(event.peer) : undefined;
    apply(history, event, peer, decided);
  };
  for (const entry of recorded) {
    if (history) {
      tell(entry.event, history);
    } else if (entry.event.type === "run-started") {
      ({ history, peers } = begin(entry.wall, entry.event));
      for (const { event } of [...early, entry]) tell(event, history);
      early.length = 0;
    } else {
      early.push(entry);
    }
  }
  if (!history) throw new NotARunError();
  history.timelineStartMs = facts.timelineStartMs;
  for (const peer of peers.values()) told(peer, facts.of(peer.peer));
  const last = history.phases.at(-1);
  if (last && history.finished) last.endMs = history.finished.t;
  if (history.finished) {
    for (const summary of history.finished.peers) {
      const peer = peers.get(summary.peer);
      if (!peer) continue;
      peer.restarts = summary.restarts;
      peer.warnings = summary.warnings;
      peer.errors = summary.errors;
      if (summary.failure !== undefined) peer.failure = summary.failure;
      if (summary.exitCode !== undefined) peer.exitCode = summary.exitCode;
    }
    history.checks = [...history.finished.checks];
  } else {
    history.checks = [...decided.values()].sort((a, b) => a.index - b.index);
  }
  return history;
}

/** The history as `run-started` (recorded at `wall`) begins it: every planned peer, unheard. */
function begin(
  wall: string,
  start: EventOf<"run-started">,
): { history: RunHistory; peers: Map<string, PeerHistory> } {
  const { test, runId, seed, plan, timeline } = start;
  const peers = new Map<string, PeerHistory>(plan.map((p) => [p.peer, {
    peer: p.peer,
    host: p.host,
    port: p.port,
    image: p.image,
    started: false,
    lastStatus: null,
    restarts: 0,
    crashed: false,
    killedByFault: false,
    exitOutput: [],
    lastLogs: [],
    warnings: 0,
    errors: 0,
  }]));
  const history: RunHistory = {
    test,
    runId,
    ...(seed !== undefined ? { seed } : {}),
    plan,
    timeline,
    startedAt: wall,
    lastMs: 0,
    peers: [...peers.values()],
    checks: [],
    phases: [],
    hosts: [],
    strictKnown: start.strictKnown === true,
  };
  return { history, peers };
}

function apply(
  history: RunHistory,
  event: EngineEvent,
  peer: PeerHistory | undefined,
  decided: Map<number, CheckOutcome>,
): void {
  switch (event.type) {
    case "phase": {
      const previous = history.phases.at(-1);
      if (previous) previous.endMs = event.t;
      history.phases.push({ phase: event.phase, startMs: event.t });
      break;
    }
    case "host-connected":
      history.hosts.push({ host: event.host, address: event.address });
      break;
    case "host-ready": {
      const host = history.hosts.find((h) => h.host === event.host);
      if (host) host.docker = event.docker;
      break;
    }
    case "peer-launched":
      if (!peer) break;
      if (event.id !== undefined) peer.id = event.id;
      if (event.imageId !== undefined) peer.imageId = event.imageId;
      break;
    case "peer-log":
      if (!peer) break;
      peer.lastLogs.push(`[${event.level}] ${event.message}`);
      if (peer.lastLogs.length > LAST_LINES) peer.lastLogs.shift();
      if (event.level === "warn") peer.warnings++;
      if (event.level === "error") peer.errors++;
      break;
    case "peer-exited":
      if (!peer) break;
      if (!event.expected) {
        peer.crashed = true;
        peer.exitOutput = event.output ?? [];
      }
      break;
    case "check-decided":
      decided.set(event.check.index, event.check);
      break;
    case "run-finished":
      history.finished = event;
      break;
  }
}

/** A peer's facts (peer_facts.ts) as its history tells them; `run-finished` may refine them. */
function told(peer: PeerHistory, facts: PeerFacts): void {
  peer.started = facts.started;
  peer.lastStatus = facts.status;
  peer.restarts = facts.restarts;
  peer.killedByFault = facts.killedByFault && facts.exit !== undefined;
  if (facts.failure !== undefined) peer.failure = facts.failure;
  if (facts.exit !== undefined) peer.exitCode = facts.exit.code;
}

/** ms on the timeline clock of run time `t` (negative before the timeline); undefined if none. */
export function timelineClock(history: RunHistory, t: number): number | undefined {
  return history.timelineStartMs === undefined ? undefined : t - history.timelineStartMs;
}
