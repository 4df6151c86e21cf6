/**
 * Holds a run's view model, applies engine events as they arrive and tells subscribers at most
 * `maxFps` times a second, so a flood of log lines costs one render per frame. Also keeps a
 * steady clock of run time between events.
 */
import type { EngineEvent, EventSink } from "../engine/events.ts";
import { applyEvent, createRunState, type RunState } from "./run_state.ts";

/** Options of `RunStore`. */
export interface RunStoreOptions {
  /** Most notifications per second (default 30). */
  maxFps?: number;
  /** Lines kept for the log view (default 10,000). */
  lineCapacity?: number;
  /** Monotonic clock in ms (default `performance.now`); tests pass a fake. */
  clock?: () => number;
}

export class RunStore {
  readonly state: RunState;
  /** Incremented by every event. */
  version = 0;
  #listeners = new Set<() => void>();
  #timer: ReturnType<typeof setTimeout> | undefined;
  #lastNotify = -Infinity;
  #interval: number;
  #clock: () => number;
  /** Best estimate of run time minus clock time: the largest `t - clock()` seen at receipt. */
  #offset: number | undefined;

  constructor(options: RunStoreOptions = {}) {
    this.state = createRunState({ lineCapacity: options.lineCapacity });
    this.#interval = 1000 / (options.maxFps ?? 30);
    this.#clock = options.clock ?? (() => performance.now());
  }

  /** The engine's sink: applies the event now, notifies on the next frame. */
  readonly sink: EventSink = (event: EngineEvent) => {
    applyEvent(this.state, event);
    const offset = event.t - this.#clock();
    if (this.#offset === undefined || offset > this.#offset) this.#offset = offset;
    this.version++;
    this.#schedule();
  };

  /** Run time now, ms: ticks between events, frozen at the duration once the run finished. */
  now(): number {
    const finished = this.state.finished;
    if (finished) return Math.max(finished.durationMs, finished.t);
    if (this.#offset === undefined) return 0;
    return Math.max(this.state.lastT, this.#clock() + this.#offset);
  }

  /** Calls `listener` after changes (throttled); returns the unsubscribe function. */
  subscribe(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Notifies subscribers now if anything is pending (tests, and before closing a view). */
  flush(): void {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    this.#notify();
  }

  /** Cancels a pending notification. */
  dispose(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#listeners.clear();
  }

  #schedule() {
    if (this.#timer !== undefined) return;
    const wait = Math.max(0, this.#lastNotify + this.#interval - performance.now());
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#notify();
    }, wait);
  }

  #notify() {
    this.#lastNotify = performance.now();
    for (const listener of [...this.#listeners]) listener();
  }
}
