/**
 * The run's two subscriptions to Redis, from the peers' start until cleanup: statuses and logs.
 * Logs are folded into the peer states and emitted here; statuses go to the run, since what a
 * status means depends on where the run is (a restart after bootstrap is re-bootstrapped). A
 * subscription that ends or fails before `stop()` means Redis is lost.
 */
import type { Coordination, LogEntry, StatusUpdate } from "../coordination/coordination.ts";
import type { UnstampedEvent } from "./events.ts";
import type { PeerStates } from "./peer_states.ts";
import { errorMessage } from "../base/errors.ts";

export interface PeerMonitorOptions {
  states: PeerStates;
  emit(event: UnstampedEvent): void;
  /** A peer set its status; the run applies it to `states`. */
  onStatus(update: StatusUpdate): void;
  /** A subscription ended or failed before `stop()`: `message` says which and why. */
  onLost(message: string): void;
  /**
   * How long the end-of-run log drain may take before the lines still in Redis are given up
   * (with a warning). The run gives `timeout.shutdown`.
   */
  drainTimeoutMs: number;
}

/** Watches the peers' statuses and logs in Redis. */
export class PeerMonitor {
  readonly #options: PeerMonitorOptions;
  /** Aborted by `stop()`: the subscriptions end. */
  readonly #stopped = new AbortController();
  readonly #tasks: Promise<void>[] = [];
  #coordination: Coordination | undefined;
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
    this.#coordination = coordination;
    this.#tasks.push(
      this.#watch(
        "status",
        coordination.statuses(names, signal),
        (update) => this.#options.onStatus(update),
      ),
      this.#watch("log", coordination.logBatches(names, signal), (batch) => {
        for (const entry of batch) this.#onLog(entry);
      }),
    );
  }

  /**
   * Waits until every peer's log list was emptied and each line handled (emitted): called once
   * the peers stopped, it leaves no line they pushed in Redis. Bounded by `drainTimeoutMs`
   * (then a warning says lines may be left); `signal` ends the wait at once.
   */
  async drainLogs(signal: AbortSignal): Promise<void> {
    if (!this.#coordination) return;
    // A timer of our own, cleared below: a listener on AbortSignal.timeout() keeps the process
    // alive until it fires (timeout.shutdown after the run).
    const limit = new AbortController();
    const timer = setTimeout(() => limit.abort(), this.#options.drainTimeoutMs);
    try {
      const drained = await this.#coordination.flushLogs(AbortSignal.any([signal, limit.signal]))
        .catch(() => false); // Redis lost: the monitor reports it
      if (!drained && limit.signal.aborted && !signal.aborted) {
        this.#options.emit({
          type: "warning",
          message: `the peers' logs were not drained within ${
            this.#options.drainTimeoutMs / 1_000
          }s (timeout.shutdown): their last lines may be missing`,
        });
      }
    } finally {
      clearTimeout(timer);
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
