/**
 * Does the timeline's faults through the runtime's `FaultControl`, and keeps the heal
 * guarantee (docs/config.md, "Faults"): whatever it shaped, partitioned or paused is undone
 * before peers are asked to stop.
 *
 * Faults run off the timeline's own clock, so a slow fault never delays a command. Each fault waits
 * only for the faults before it in timeline order that touch one of its peers (`resume` after
 * `pause`, `start` after `kill`), and network faults keep their order among themselves (a
 * `partition` replaces the one before it, a `heal` undoes what came before): faults due together
 * on other peers — on other hosts — run at once instead of queueing behind a round trip each.
 * Every fault done or failed is an event; a fault whose target is gone is a warning, any other
 * failure fails the run.
 */
import { abortable } from "../base/async.ts";
import { errorMessage } from "../base/errors.ts";
import type { FaultAction, TimelineFault, UnstampedEvent } from "./events.ts";
import {
  type FaultControl,
  type FaultName,
  FaultTargetGoneError,
  NETWORK_FAULTS,
  type RunningPeer,
} from "./runtime.ts";

/** How long the heal at cleanup may take when a second interrupt cut the first one short. */
export const CLEANUP_HEAL_MS = 10_000;

export interface FaultInjectorOptions {
  control: FaultControl;
  /** Every peer of the plan: a `heal` of all of them is `heal("all")`. */
  peers: readonly string[];
  emit(event: UnstampedEvent): void;
  /** Called before a peer is killed: the exit that follows is expected. */
  onKilling(peer: string): void;
  /** The kill failed: an exit of the peer is no longer expected. */
  onKillFailed(peer: string): void;
  /** A killed peer runs again: its exit is watched from now on. */
  onStarted(peer: string, running: RunningPeer): void;
  /** A fault failed (its target is there): the run fails with `message`. */
  fail(message: string): void;
  /** Aborted when the run halts: the fault in progress is abandoned, the queued ones skipped. */
  halted: AbortSignal;
}

/** The queue of timeline faults and the heal guarantee of one run. */
/** The ordering key network faults share: they run in timeline order among themselves. */
const NETWORK_KEY = "\0network";

export class FaultInjector {
  readonly #options: FaultInjectorOptions;
  /** Settles once every fault queued so far has been done (or skipped). */
  #queue: Promise<void> = Promise.resolve();
  /** The last fault queued on each peer (and on NETWORK_KEY): what the next one waits for. */
  readonly #tails = new Map<string, Promise<void>>();
  /** Peers paused by a fault and not resumed since. */
  readonly #paused = new Set<string>();
  /** A network fault was tried since the last complete heal: a heal is owed. */
  #networkDirty = false;

  constructor(options: FaultInjectorOptions) {
    this.#options = options;
  }

  /**
   * Queues a batch's faults, due at `dueAt` (a `performance.now()` value); returns at once.
   * Each fault's `lateMs` is measured when its operation returned.
   */
  enqueue(faults: readonly TimelineFault[], dueMs: number, dueAt: number): void {
    for (const fault of faults) {
      const keys = this.#orderKeys(fault);
      const before = keys.flatMap((key) => this.#tails.get(key) ?? []);
      const apply = async () => {
        if (this.#options.halted.aborted) return;
        await this.#apply(fault, { index: fault.index, dueMs, dueAt });
      };
      // Nothing to wait for: it starts now, not a turn of the event loop later.
      const task = before.length === 0 ? apply() : Promise.all(before).then(apply);
      for (const key of keys) this.#tails.set(key, task);
      this.#queue = Promise.all([this.#queue, task]).then(() => {});
    }
  }

  /** What a fault must wait for: its peers (a partition: its groups'), network faults all. */
  #orderKeys(fault: FaultAction): string[] {
    const peers = new Set([...fault.peers, ...(fault.groups ?? []).flat()]);
    if (!NETWORK_FAULTS.has(fault.fault)) return [...peers];
    // A heal or partition may change every peer's faults: it also waits for each peer's last.
    const all = fault.fault === "heal" || fault.fault === "partition";
    return [NETWORK_KEY, ...(all ? this.#options.peers : peers)];
  }

  /** Resolves once every queued fault was done (or skipped after a halt). Never rejects. */
  landed(): Promise<void> {
    return this.#queue;
  }

  /**
   * The heal guarantee: once the queue is idle, removes every network fault (`heal("all")`)
   * if one was tried since the last heal, then (with `resume`) thaws every paused peer.
   * Idempotent: a second call with nothing owed does nothing. `signal` cuts it short (the
   * fault in progress may not honour its abort at once): what is still owed stays owed.
   * @param detail when and why, for the events (`before shutdown`)
   */
  async healAll(
    detail: string,
    options: { resume: boolean; signal: AbortSignal },
  ): Promise<void> {
    const { signal } = options;
    try {
      await abortable(this.#queue, signal);
    } catch {
      return;
    }
    if (this.#networkDirty) {
      await this.#apply({ fault: "heal", peers: [...this.#options.peers] }, { detail, signal });
    }
    if (options.resume && this.#paused.size > 0) {
      await this.#apply({ fault: "resume", peers: [...this.#paused] }, { detail, signal });
    }
  }

  /** Whether a heal is still owed (a network fault tried since the last complete heal). */
  get healOwed(): boolean {
    return this.#networkDirty;
  }

  /** Does one fault on each of its peers; reports it; never throws. */
  async #apply(
    action: FaultAction,
    at: { index?: number; dueMs?: number; dueAt?: number; detail?: string; signal?: AbortSignal },
  ): Promise<void> {
    const { control } = this.#options;
    const signal = at.signal ?? this.#options.halted;
    const where = {
      ...(at.index !== undefined ? { index: at.index } : {}),
      ...(at.dueMs !== undefined ? { dueMs: at.dueMs } : {}),
      ...(at.detail !== undefined ? { detail: at.detail } : {}),
    };
    const failures: { peers: string[]; error: unknown }[] = [];
    let done: string[] = action.peers;
    if (NETWORK_FAULTS.has(action.fault) && action.fault !== "heal") this.#networkDirty = true;
    try {
      switch (action.fault) {
        case "partition":
          await control.partition(action.groups ?? [], signal);
          break;
        case "heal": {
          const all = this.#options.peers.every((peer) => action.peers.includes(peer));
          await control.heal(all ? "all" : action.peers, signal);
          if (all) this.#networkDirty = false;
          break;
        }
        default:
          done = await this.#eachPeer(action, signal, failures);
      }
    } catch (error) {
      failures.push({ peers: action.peers, error });
      done = [];
    }
    const lateMs = at.dueAt === undefined ? undefined : performance.now() - at.dueAt;
    if (done.length > 0) {
      this.#options.emit({
        type: "fault-applied",
        action: { ...action, peers: done },
        ...where,
        ...(lateMs !== undefined ? { lateMs } : {}),
      });
    }
    for (const { peers, error } of failures) {
      const targetGone = error instanceof FaultTargetGoneError;
      const reason = errorMessage(error);
      this.#options.emit({
        type: "fault-failed",
        action: { ...action, peers },
        ...where,
        reason,
        targetGone,
      });
      if (!targetGone && !signal.aborted) {
        this.#options.fail(
          `fault ${at.index !== undefined ? `#${at.index} ` : ""}${action.fault} on ${
            peers.join(", ")
          } failed: ${reason}`,
        );
      }
    }
  }

  /**
   * A per-peer fault on every peer of `action`, all at once.
   * @returns the peers it was done on; the others are added to `failures`
   */
  async #eachPeer(
    action: FaultAction,
    signal: AbortSignal,
    failures: { peers: string[]; error: unknown }[],
  ): Promise<string[]> {
    const results = await Promise.allSettled(
      action.peers.map((peer) => this.#onePeer(action, peer, signal)),
    );
    const done: string[] = [];
    results.forEach((result, i) => {
      if (result.status === "fulfilled") done.push(action.peers[i]);
      else failures.push({ peers: [action.peers[i]], error: result.reason });
    });
    return done;
  }

  async #onePeer(action: FaultAction, peer: string, signal: AbortSignal): Promise<void> {
    const { control } = this.#options;
    switch (action.fault) {
      case "pause":
        await control.pause(peer, signal);
        this.#paused.add(peer);
        return;
      case "resume":
        await control.resume(peer, signal);
        this.#paused.delete(peer);
        return;
      case "kill":
        this.#options.onKilling(peer);
        try {
          await control.kill(peer, signal);
        } catch (error) {
          // Gone already: its exit was (or will be) seen as it happened.
          if (!(error instanceof FaultTargetGoneError)) this.#options.onKillFailed(peer);
          throw error;
        }
        return;
      case "start":
        this.#options.onStarted(peer, await control.start(peer, signal));
        return;
      default:
        await control.shape(peer, action.shaping ?? {}, signal);
    }
  }
}

/**
 * What `FaultControl.preflight` is asked: per host, the faults planned on its peers (for a
 * partition, every peer of its groups).
 * @param hostOf the host each peer is placed on
 */
export function faultNeeds(
  faults: readonly FaultAction[],
  hostOf: ReadonlyMap<string, string>,
): Map<string, Set<FaultName>> {
  const needs = new Map<string, Set<FaultName>>();
  for (const fault of faults) {
    for (const peer of fault.peers) {
      const host = hostOf.get(peer);
      if (host === undefined) continue;
      const set = needs.get(host) ?? new Set<FaultName>();
      set.add(fault.fault);
      needs.set(host, set);
    }
  }
  return needs;
}
