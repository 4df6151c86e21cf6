/**
 * What the engine knows about each peer during a run (status, bootstrap address, restarts,
 * warning and error counts, last log line, exit), and event-driven waits on it: `untilEach()`
 * re-checks a peer only when that peer changes, so waiting on every one of N peers costs O(N)
 * in all, not O(N) per change (at 1,000 peers, re-running every waiter on each change was the
 * engine's quadratic path).
 */
import type { PeerSummary } from "./events.ts";
import type { PeerExit } from "./runtime.ts";
import type { PlacedPeer } from "../plan/placement.ts";
import { severityOf } from "../text/severity.ts";
import { AFTER_START, applyFaultKill, applyStatus, type PeerFacts } from "../history/peer_facts.ts";

export { AFTER_START };

/**
 * A peer's live state: the facts every view of the run shares (`src/history/peer_facts.ts`,
 * applied by the same rules), plus what only the engine needs while the run goes on.
 */
export interface PeerState extends PeerFacts {
  readonly peer: string;
  readonly host: string;
  /** Log lines at warn / error level. */
  warnings: number;
  errors: number;
  lastLog?: { level: string; message: string };
  /** The runtime launched it. */
  launched: boolean;
  /** `shutdown` was sent to it. */
  shutdownSent: boolean;
  /** Set once its process/container ended for good (until a `start` fault runs it again). */
  exit?: ExitRecord;
  /** A `start` fault is running it again and it has not reported a status since. */
  relaunched: boolean;
  /** Its exit before a `start` fault, restored if the start fails. */
  exitBeforeRelaunch?: ExitRecord;
}

/**
 * An exit as the state keeps it: its code and how it was judged. Not its output lines: they went
 * out in `peer-exited` and `peer-output`, and keeping them held every peer's last lines (25,000
 * strings at 1,000 peers) until the run ended.
 */
export type ExitRecord = Pick<PeerExit, "code"> & ExitJudgement;

/** How the engine judged an exit. */
export interface ExitJudgement {
  /** After `stopped`, or during cleanup: not a failure. */
  expected: boolean;
  /** Ended by the runtime's teardown rather than on its own. */
  killed: boolean;
}

/** What a status update changed. */
export interface StatusChange {
  previous: string | null;
  /**
   * It reported `started` after some other status (or none), or any status but `stopped` after
   * `restarting`: a first start or a restart.
   */
  newStart: boolean;
  /** It reported `failed` for the first time: the reason it gave (`""` for none). */
  failure?: string;
}

/**
 * How a run's verdict names a peer that reported `failed`: `peer bob reported failed: <reason>`;
 * `when` goes before the reason (` before it started`).
 */
export function reportedFailure(peer: string, reason: string, when = ""): string {
  return `peer ${peer} reported failed${when}${reason ? `: ${reason}` : ""}`;
}

/**
 * The reason `eachWithin` aborts its wait with when time is up (never surfaced): `abort()` with
 * no reason builds a DOMException and its stack each time, 1.7 % of the engine's CPU profile
 * when 10,000 peers' exit waits timed out at once (bench/scale_bench.ts, a loaded machine).
 */
const WAIT_TIMED_OUT = new Error("the wait timed out");

/**
 * How a wait on peers ended: each held (`held`), one of them met the early stop (`early`, that
 * peer's state), or time ran out (`timeout`).
 */
export type WaitOutcome = { held: true } | { held: false; early?: PeerState };

export class PeerStates {
  readonly #states = new Map<string, PeerState>();
  /** Per peer, the waits re-checked when it changes. */
  readonly #waiters = new Map<string, Set<(state: PeerState) => void>>();

  constructor(plan: readonly PlacedPeer[]) {
    for (const placement of plan) {
      this.#states.set(placement.peer, {
        peer: placement.peer,
        host: placement.host,
        status: null,
        started: false,
        restarts: 0,
        warnings: 0,
        errors: 0,
        launched: false,
        shutdownSent: false,
        killedByFault: false,
        relaunched: false,
      });
    }
  }

  /** Peer names in plan order. */
  get names(): string[] {
    return [...this.#states.keys()];
  }

  /** Every peer, in plan order. */
  all(): PeerState[] {
    return [...this.#states.values()];
  }

  get(peer: string): PeerState | undefined {
    return this.#states.get(peer);
  }

  /** The state of a peer of the plan; throws for an unknown name (a programming error). */
  of(peer: string): PeerState {
    const state = this.#states.get(peer);
    if (!state) throw new Error(`unknown peer ${JSON.stringify(peer)}`);
    return state;
  }

  /** Whether the peer can still receive commands: not stopped, not exited. */
  reachable(peer: string): boolean {
    const state = this.of(peer);
    return state.exit === undefined && state.status !== "stopped";
  }

  /** Why a command to the peer cannot be delivered, or undefined if it can. */
  undeliverableReason(peer: string): string | undefined {
    const state = this.#states.get(peer);
    if (!state) return `${peer} is not a peer of this test`;
    if (state.exit) {
      return `${peer} exited${state.exit.code === null ? "" : ` with code ${state.exit.code}`}`;
    }
    if (state.status === "stopped") return `${peer} already stopped`;
    return undefined;
  }

  applyStatus(peer: string, status: string, address: string | undefined): StatusChange {
    const state = this.of(peer);
    const { previous, failure } = applyStatus(state, status, address);
    // A restarted peer that sets another status at once (a queued `connect`) can overwrite its
    // `started` before tm reads it: any status after `restarting` but `stopped` or a reported
    // failure is the restart done, so it still gets its bootstrap commands again.
    // So does a peer that a `start` fault ran again, whose previous status is from before it
    // was killed.
    const cameBack = (previous === "restarting" || state.relaunched) &&
      status !== "restarting" && status !== "stopped" && status !== "failed" &&
      !status.startsWith("failed|");
    state.relaunched = false;
    // Waiters see the state whole: relaunched cleared too.
    this.#changed(peer);
    return {
      previous,
      newStart: (status === "started" && previous !== "started") || cameBack,
      ...(failure !== undefined ? { failure } : {}),
    };
  }

  applyLog(peer: string, level: string, message: string): void {
    const state = this.of(peer);
    const severity = severityOf(level);
    if (severity === "warn") state.warnings++;
    else if (severity === "error") state.errors++;
    state.lastLog = { level, message };
  }

  markLaunched(peer: string): void {
    this.of(peer).launched = true;
    this.#changed(peer);
  }

  markShutdownSent(peer: string): void {
    this.of(peer).shutdownSent = true;
  }

  /** A `kill` fault is about to end the peer (`on`): its exit is expected; or failed to (`!on`). */
  markFaultKill(peer: string, on: boolean): void {
    this.of(peer).killedByFault = on;
  }

  /**
   * A `start` fault is about to run the peer again: from now on it is alive and its next status
   * is a new start, even one read before the runtime's `start` returns.
   */
  markRelaunching(peer: string): void {
    const state = this.of(peer);
    state.exitBeforeRelaunch = state.exit;
    applyFaultKill(state, false);
    state.relaunched = true;
    this.#changed(peer);
  }

  /** The `start` failed: the peer is the exited one again, unless it reported a status since. */
  markRelaunchFailed(peer: string): void {
    const state = this.of(peer);
    if (state.relaunched && state.exit === undefined) {
      state.exit = state.exitBeforeRelaunch;
      state.killedByFault = true;
    }
    state.relaunched = false;
    state.exitBeforeRelaunch = undefined;
    this.#changed(peer);
  }

  markExited(peer: string, exit: PeerExit, judgement: ExitJudgement): void {
    this.of(peer).exit = { code: exit.code, ...judgement };
    this.#changed(peer);
  }

  /**
   * Like `untilEach`, for at most `timeoutMs`.
   * @returns `{ held: true }`, `{ held: false, early }` when a peer met `stopsEarly`, or
   *   `{ held: false }` after the timeout
   * @throws the signal's reason if it aborts first
   */
  async eachWithin(
    peers: Iterable<string>,
    holds: (state: PeerState) => boolean,
    timeoutMs: number,
    signal: AbortSignal,
    stopsEarly?: (state: PeerState) => boolean,
  ): Promise<WaitOutcome> {
    const timer = new AbortController();
    const id = setTimeout(() => timer.abort(WAIT_TIMED_OUT), timeoutMs);
    try {
      const early = await this.untilEach(
        peers,
        holds,
        AbortSignal.any([signal, timer.signal]),
        stopsEarly,
      );
      return early ? { held: false, early } : { held: true };
    } catch (error) {
      if (signal.aborted) throw signal.reason;
      if (timer.signal.aborted) return { held: false };
      throw error;
    } finally {
      clearTimeout(id);
    }
  }

  /**
   * Resolves once `holds(state)` is true of every peer of `peers` (each checked now, then only
   * when that peer changes; one that held is not checked again), or as soon as one of them
   * meets `stopsEarly` (resolving with its state). Rejects with the signal's reason when it
   * aborts first.
   */
  untilEach(
    peers: Iterable<string>,
    holds: (state: PeerState) => boolean,
    signal: AbortSignal,
    stopsEarly?: (state: PeerState) => boolean,
  ): Promise<PeerState | undefined> {
    if (signal.aborted) return Promise.reject(signal.reason);
    const pending = new Set<string>();
    for (const peer of peers) {
      const state = this.of(peer);
      if (stopsEarly?.(state)) return Promise.resolve(state);
      if (!holds(state)) pending.add(peer);
    }
    if (pending.size === 0) return Promise.resolve(undefined);
    return new Promise((resolve, reject) => {
      const check = (state: PeerState) => {
        if (stopsEarly?.(state)) {
          done();
          resolve(state);
        } else if (holds(state)) {
          pending.delete(state.peer);
          this.#waiters.get(state.peer)?.delete(check);
          if (pending.size > 0) return;
          done();
          resolve(undefined);
        }
      };
      const onAbort = () => {
        done();
        reject(signal.reason);
      };
      const done = () => {
        for (const peer of pending) this.#waiters.get(peer)?.delete(check);
        signal.removeEventListener("abort", onAbort);
      };
      for (const peer of pending) {
        let waiters = this.#waiters.get(peer);
        if (!waiters) this.#waiters.set(peer, waiters = new Set());
        waiters.add(check);
      }
      signal.addEventListener("abort", onAbort, { once: true });
    });
  }

  /** Final per-peer summaries, in plan order. */
  summaries(): PeerSummary[] {
    return this.all().map((state) => ({
      peer: state.peer,
      host: state.host,
      status: state.status,
      restarts: state.restarts,
      warnings: state.warnings,
      errors: state.errors,
      ...(state.exit && !state.exit.killed ? { exitCode: state.exit.code } : {}),
      ...(state.failure !== undefined ? { failure: state.failure } : {}),
      ...(state.killedByFault && state.exit ? { killedByFault: true as const } : {}),
    }));
  }

  /** One line describing a peer for failure messages: `bob (last status: connecting)`. */
  describe(peer: string): string {
    const state = this.of(peer);
    const parts = [`last status: ${state.status ?? "none"}`];
    if (!state.launched) parts.push("not launched");
    if (state.lastLog) {
      const line = `${state.lastLog.level} ${state.lastLog.message}`;
      parts.push(`last log: ${line.length > 120 ? `${line.slice(0, 119)}…` : line}`);
    }
    return `${peer} (${parts.join("; ")})`;
  }

  /** Re-checks the waits on `peer` (and only those). */
  #changed(peer: string): void {
    const waiters = this.#waiters.get(peer);
    if (!waiters || waiters.size === 0) return;
    const state = this.of(peer);
    for (const check of [...waiters]) check(state);
  }
}
