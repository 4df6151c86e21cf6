/**
 * The one fold from engine events to what is known of each peer (status, address, started,
 * restarts, failure reason, exit, killed by a fault) and of the run (when its timeline
 * started). The engine's live states (`peer_states.ts`), the checks' clock, the UI's view model,
 * the run record and `tm report` all apply these rules, so the console, summary.json, junit.xml
 * and report.html cannot disagree about a peer.
 */
import type { EngineEvent } from "../engine/events.ts";

/**
 * Statuses a peer only reports after `started`: seeing one proves it started even if the
 * `started` itself was overwritten before tm could read it.
 */
export const AFTER_START: ReadonlySet<string> = new Set([
  "connecting",
  "connected",
  "disconnecting",
  "disconnected",
  "restarting",
  "stopped",
]);

/** How a peer's process or container ended. */
export interface ExitFact {
  /** null: killed by a signal, or unknown. */
  code: number | null;
  /** After `stopped`, during cleanup, or ended by a `kill` fault: not a failure. */
  expected: boolean;
}

/** What the events say of one peer. */
export interface PeerFacts {
  /** Last status word reported (`failed|<reason>` gives `failed`), null before the first. */
  status: string | null;
  /** The last address reported with `started|<address>`. */
  address?: string;
  /** Reported `started` (or a status only a started peer reports) at least once. */
  started: boolean;
  /** How many times it reported `restarting` (a repeated `restarting` is one restart). */
  restarts: number;
  /** The reason of its first `failed|<reason>` (`""` for a bare `failed`); absent if none. */
  failure?: string;
  /** Its last exit, until a `start` fault runs it again. */
  exit?: ExitFact;
  /** A `kill` fault ended it and no `start` fault ran it again: its end is the test's doing. */
  killedByFault: boolean;
}

/** What one status report changed. */
export interface StatusChange {
  previous: string | null;
  /** This report is the peer's first `failed`: the reason it gave (`""` for none). */
  failure?: string;
}

/** Facts of a peer nothing was heard of yet. */
export function newPeerFacts(): PeerFacts {
  return { status: null, started: false, restarts: 0, killedByFault: false };
}

/**
 * Applies a status report: `status` is the word before the first `|`, `detail` what follows
 * (the address of `started`, the reason of `failed`).
 */
export function applyStatus(
  facts: PeerFacts,
  status: string,
  detail: string | undefined,
): StatusChange {
  const previous = facts.status;
  facts.status = status;
  if (status === "started" && detail !== undefined) facts.address = detail;
  if (status === "started" || AFTER_START.has(status)) facts.started = true;
  if (status === "restarting" && previous !== "restarting") facts.restarts++;
  const firstFailure = status === "failed" && facts.failure === undefined;
  if (firstFailure) facts.failure = detail ?? "";
  return { previous, ...(firstFailure ? { failure: facts.failure } : {}) };
}

/** Applies a `kill` fault (`on`), or a `start` fault that ran the peer again (`!on`). */
export function applyFaultKill(facts: PeerFacts, on: boolean): void {
  facts.killedByFault = on;
  if (!on) facts.exit = undefined;
}

/**
 * The run time at which the timeline started, once `event` is seen: the first `timeline`
 * phase; failing that (a record that starts later), a timeline send's time minus its due time.
 */
export function timelineStartAfter(
  current: number | undefined,
  event: EngineEvent,
): number | undefined {
  if (current !== undefined) return current;
  if (event.type === "phase" && event.phase === "timeline") return event.t;
  if (
    (event.type === "command-sent" || event.type === "fault-applied") &&
    event.dueMs !== undefined
  ) {
    return event.t - event.dueMs - (event.lateMs ?? 0);
  }
  return undefined;
}

/** The fold: every peer's facts and the timeline's start, from the events in order. */
export class RunFacts {
  readonly peers = new Map<string, PeerFacts>();
  /** Run time (`t`) at which the timeline started; undefined until it did. */
  timelineStartMs: number | undefined;

  /** The facts of `peer`, created empty on first use. */
  of(peer: string): PeerFacts {
    let facts = this.peers.get(peer);
    if (!facts) this.peers.set(peer, facts = newPeerFacts());
    return facts;
  }

  observe(event: EngineEvent): void {
    this.timelineStartMs = timelineStartAfter(this.timelineStartMs, event);
    if (event.type === "run-started") { for (const placed of event.plan) this.of(placed.peer); }
    applyPeerEvent(event, (peer) => this.of(peer));
  }
}

/**
 * Applies `event` to the facts of the peers it is about (a status, an exit, a `kill` or `start`
 * fault); `factsOf` finds them. Other events change no peer fact.
 */
export function applyPeerEvent(event: EngineEvent, factsOf: (peer: string) => PeerFacts): void {
  switch (event.type) {
    case "peer-status":
      applyStatus(factsOf(event.peer), event.status, event.address);
      return;
    case "peer-exited":
      factsOf(event.peer).exit = { code: event.code, expected: event.expected };
      return;
    case "fault-applied":
      if (event.action.fault !== "kill" && event.action.fault !== "start") return;
      for (const peer of event.action.peers) {
        applyFaultKill(factsOf(peer), event.action.fault === "kill");
      }
      return;
  }
}
