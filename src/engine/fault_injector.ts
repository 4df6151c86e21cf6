/**
 * Does the timeline's faults through the runtime's `FaultControl`, and keeps the heal
 * guarantee (docs/config.md, "Faults"): whatever it shaped, partitioned or paused is undone
 * before peers are asked to stop.
 *
 * Faults run off the timeline's own clock, so a slow fault never delays a command. Each fault waits
 * only for the faults before it in timeline order that touch one of its peers (`resume` after
 * `pause`, `start` after `kill`, `loss` after `delay` on the same peer); a `partition` or `heal`
 * may change every peer's network, so it waits for every fault before it and every later fault
 * waits for it: faults due together on other peers — on other hosts, network faults included —
 * run at once instead of queueing behind a round trip each.
 * Every fault done or failed is an event; a fault whose target is gone is a warning, any other
 * failure fails the run.
 */
import { abortable } from "../base/async.ts";
import { errorMessage } from "../base/errors.ts";
import type { FaultAction, TimelineFault, UnstampedEvent } from "./events.ts";
import type { FaultApplication } from "../faults/fault_kind.ts";
import { faultKind } from "../faults/kinds.ts";
import {
  type FaultControl,
  type FaultName,
  FaultTargetGoneError,
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
  /**
   * Awaited before a killed peer is run again: it may report `started` before the runtime's
   * `start` returns (a `docker start` waits for the container), and that status is a new start.
   */
  onStarting(peer: string, signal: AbortSignal): Promise<void>;
  /** The start failed: the peer is still the exited one. */
  onStartFailed(peer: string): void;
  /** A killed peer runs again: its exit is watched from now on. */
  onStarted(peer: string, running: RunningPeer): void;
  /** A fault failed (its target is there): the run fails with `message`. */
  fail(message: string): void;
  /** Aborted when the run halts: the fault in progress is abandoned, the queued ones skipped. */
  halted: AbortSignal;
}

/** The queue of timeline faults and the heal guarantee of one run. */
export class FaultInjector {
  readonly #options: FaultInjectorOptions;
  /** Settles once every fault queued so far has been done (or skipped). */
  #queue: Promise<void> = Promise.resolve();
  /** The last fault queued on each peer: what the next one on that peer waits for. */
  readonly #tails = new Map<string, Promise<void>>();
  /** Faults queued that have not landed yet: a fault waits only for these. */
  readonly #pending = new Set<Promise<void>>();
  /** Peers paused by a fault and not resumed since. */
  readonly #paused = new Set<string>();
  /** A network fault was tried since the last complete heal: a heal is owed. */
  #networkDirty = false;

  constructor(options: FaultInjectorOptions) {
    this.#options = options;
  }

  /**
   * Queues a batch's faults, due at `dueAt` (a `performance.now()` value); returns at once.
   * A fault whose peers' earlier faults have all landed is asked of the runtime before this
   * returns (its request is on its way before the batch's events are reported); the others
   * start when those land. Each fault's `lateMs` is measured when its operation returned.
   */
  enqueue(faults: readonly TimelineFault[], dueMs: number, dueAt: number): void {
    for (const fault of faults) {
      const keys = this.#orderKeys(fault);
      const before = keys.flatMap((key) => {
        const tail = this.#tails.get(key);
        return tail !== undefined && this.#pending.has(tail) ? [tail] : [];
      });
      const apply = async () => {
        if (this.#options.halted.aborted) return;
        await this.#apply(fault, { index: fault.index, dueMs, dueAt });
      };
      // Nothing left to wait for: it starts now, not a turn of the event loop later (a settled
      // promise's `then` is one turn; measured on the bench, the turns before the request left
      // were ~0.7 ms of a fault's lateness at p50).
      const task = before.length === 0 ? apply() : Promise.all(before).then(apply);
      this.#pending.add(task);
      const landed = () => void this.#pending.delete(task);
      void task.then(landed, landed);
      for (const key of keys) this.#tails.set(key, task);
      this.#queue = Promise.all([this.#queue, task]).then(() => {});
    }
  }

  /** What a fault must wait for: its peers' last faults; a heal or partition every peer's. */
  #orderKeys(fault: FaultAction): string[] {
    const peers = new Set([...fault.peers, ...(fault.groups ?? []).flat()]);
    const kind = faultKind(fault.fault);
    // A heal or partition may change every peer's network faults (a partition's rules name the
    // other groups' peers; a heal rebuilds every peer the partition held).
    const all = kind.acts === "network" && (kind.heals === true || kind.targets === "groups");
    return all ? [...new Set([...this.#options.peers, ...peers])] : [...peers];
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
    const signal = at.signal ?? this.#options.halted;
    const where = {
      ...(at.index !== undefined ? { index: at.index } : {}),
      ...(at.dueMs !== undefined ? { dueMs: at.dueMs } : {}),
      ...(at.detail !== undefined ? { detail: at.detail } : {}),
    };
    const failures: { peers: string[]; error: unknown }[] = [];
    let done: string[] = action.peers;
    const kind = faultKind(action.fault);
    if (kind.acts === "network" && !kind.heals) this.#networkDirty = true;
    try {
      if (kind.apply.scope === "action") {
        await kind.apply.run(action, this.#application(signal));
        if (kind.heals && this.#options.peers.every((peer) => action.peers.includes(peer))) {
          this.#networkDirty = false;
        }
      } else {
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
    // Cut short by the run stopping (a second Ctrl-C): no fault failed, and a heal still owed is
    // done again at cleanup; a timeout (the cleanup's bound) is a failure.
    if (failures.length > 0 && signal.aborted && !timedOut(signal)) {
      const peers = failures.flatMap((failure) => failure.peers).join(", ");
      this.#options.emit({
        type: "trace",
        message: `fault ${action.fault} on ${peers} cut short: the run is stopping` +
          (this.#networkDirty ? " (the network is healed at cleanup)" : ""),
      });
      return;
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
    const apply = faultKind(action.fault).apply;
    if (apply.scope !== "peer") throw new Error(`${action.fault} is not done peer by peer`);
    await apply.run(peer, action, this.#application(signal));
    const leaves = faultKind(action.fault).order.leaves;
    if (leaves === "paused") this.#paused.add(peer);
    else if (leaves !== undefined) this.#paused.delete(peer);
  }

  /** What a fault kind's `apply` is given: the runtime's control and the engine's hooks. */
  #application(signal: AbortSignal): FaultApplication {
    const options = this.#options;
    return {
      control: options.control,
      allPeers: options.peers,
      signal,
      hooks: {
        killing: (peer) => options.onKilling(peer),
        killFailed: (peer) => options.onKillFailed(peer),
        starting: (peer, signal) => options.onStarting(peer, signal),
        startFailed: (peer) => options.onStartFailed(peer),
        started: (peer, running) => options.onStarted(peer, running),
      },
    };
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

/** Whether `signal` was aborted by its own timeout (`AbortSignal.timeout`), not by a halt. */
function timedOut(signal: AbortSignal): boolean {
  return signal.reason instanceof DOMException && signal.reason.name === "TimeoutError";
}
