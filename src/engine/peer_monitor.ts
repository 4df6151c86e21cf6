/**
 * The run's two subscriptions to Redis, from the peers' start until cleanup: statuses and logs.
 * Logs are folded into the peer states and emitted here; statuses go to the run, since what a
 * status means depends on where the run is (a restart after bootstrap is re-bootstrapped). A
 * subscription that ends or fails before `stop()` means Redis is lost.
 */
import type { Coordination, LogEntry, StatusUpdate } from "../coordination/coordination.ts";
import type { UnstampedEvent } from "./events.ts";
import type { PeerStates } from "./peer_states.ts";
import { setTimeout as sleep } from "node:timers/promises";
import { errorMessage } from "../base/errors.ts";

/** Before closing Redis, peer logs are drained until none came for this long... */
export const LOG_QUIET_MS = 100;
/** ...or for at most this long. */
export const LOG_DRAIN_MAX_MS = 2_000;

export interface PeerMonitorOptions {
  states: PeerStates;
  emit(event: UnstampedEvent): void;
  /** A peer set its status; the run applies it to `states`. */
  onStatus(update: StatusUpdate): void;
  /** A subscription ended or failed before `stop()`: `message` says which and why. */
  onLost(message: string): void;
}

/** Watches the peers' statuses and logs in Redis. */
export class PeerMonitor {
  readonly #options: PeerMonitorOptions;
  /** Aborted by `stop()`: the subscriptions end. */
  readonly #stopped = new AbortController();
  readonly #tasks: Promise<void>[] = [];
  #lastLogAt = performance.now();
  readonly #malformedWarned = new Set<string>();

  constructor(options: PeerMonitorOptions) {
    this.#options = options;
  }

  /** Whether `start` was called. */
  get started(): boolean {
    return this.#tasks.length > 0;
  }

  /** Subscribes to the statuses and logs of `names`; both run until `stop()`. */
  start(coordination: Coordination, names: string[]): void {
    const signal = this.#stopped.signal;
    this.#tasks.push(
      this.#watch(
        "status",
        coordination.statuses(names, signal),
        (update) => this.#options.onStatus(update),
      ),
      this.#watch("log", coordination.logs(names, signal), (entry) => this.#onLog(entry)),
    );
  }

  /**
   * Waits for peer logs still in Redis: until none came for LOG_QUIET_MS, at most
   * LOG_DRAIN_MAX_MS; `signal` ends the wait at once.
   */
  async drainLogs(signal: AbortSignal): Promise<void> {
    const deadline = performance.now() + LOG_DRAIN_MAX_MS;
    for (;;) {
      const now = performance.now();
      const quietFor = now - this.#lastLogAt;
      if (quietFor >= LOG_QUIET_MS || now >= deadline || signal.aborted) return;
      const wait = Math.min(LOG_QUIET_MS - quietFor, deadline - now) + 1;
      await sleep(wait, undefined, { signal }).catch(() => {});
    }
  }

  /** Ends the subscriptions; from now on their end is not a loss. */
  stop(): void {
    this.#stopped.abort();
  }

  /** Resolves once both subscriptions have ended. */
  ended(): Promise<void> {
    return Promise.all(this.#tasks).then(() => {});
  }

  async #watch<T>(what: string, source: AsyncGenerator<T>, handle: (item: T) => void) {
    try {
      for await (const item of source) handle(item);
      if (!this.#stopped.signal.aborted) throw new Error(`the ${what} monitor ended`);
    } catch (error) {
      if (this.#stopped.signal.aborted) return;
      this.#options.onLost(
        `${what} monitor: ${errorMessage(error)}`,
      );
    }
  }

  #onLog(entry: LogEntry): void {
    const { states, emit } = this.#options;
    const { peer, level, message } = entry;
    this.#lastLogAt = performance.now();
    if (!states.get(peer)) return;
    if (entry.malformed && !this.#malformedWarned.has(peer)) {
      this.#malformedWarned.add(peer);
      emit({
        type: "warning",
        peer,
        message: `${peer} pushed a log entry that is not "level|message" (kept as ${level}; ` +
          "further ones are kept without this warning)",
      });
    }
    states.applyLog(peer, level, message);
    emit({ type: "peer-log", peer, level, message });
  }
}
