/**
 * The timeline: the config's commands sorted by time and sent at their due time from a
 * monotonic clock. Commands due at the same instant form one batch, kept in file order, which
 * the engine sends in one pipeline. One timer per batch (finished by a sub-2 ms busy-wait for
 * accuracy); no polling tick.
 */
import type { CommandConfig } from "../config/schema.ts";
import type { TimelineCommand } from "./events.ts";

/** Commands due at the same instant, in file order. */
export interface TimelineBatch {
  /** Due time in ms after the timeline starts. */
  dueMs: number;
  commands: TimelineCommand[];
}

/** A monotonic clock in milliseconds; the real one is `performance.now()` and `setTimeout`. */
export interface Clock {
  now(): number;
  /** Resolves at or after `at` (a `now()` value); rejects with the signal's reason on abort. */
  sleepUntil(at: number, signal: AbortSignal): Promise<void>;
}

/**
 * How long before a due time the timer wakes; the rest is a busy-wait. Timers fire about a
 * millisecond late on a Linux event loop; this window turns that into sub-millisecond accuracy
 * for at most this much CPU per batch.
 */
export const SPIN_WINDOW_MS = 1.5;

/**
 * `performance.now()` and one `setTimeout` per wait, set to wake SPIN_WINDOW_MS early (and
 * re-armed if it still wakes too early), then a busy-wait to the due time. No polling tick.
 */
export const monotonicClock: Clock = {
  now: () => performance.now(),
  async sleepUntil(at, signal) {
    for (;;) {
      signal.throwIfAborted();
      const remaining = at - performance.now();
      if (remaining <= SPIN_WINDOW_MS) break;
      await new Promise<void>((resolve, reject) => {
        const onAbort = () => {
          clearTimeout(timer);
          reject(signal.reason);
        };
        const timer = setTimeout(() => {
          signal.removeEventListener("abort", onAbort);
          resolve();
        }, remaining - SPIN_WINDOW_MS);
        signal.addEventListener("abort", onAbort, { once: true });
      });
    }
    while (performance.now() < at) {
      // busy-wait: at most SPIN_WINDOW_MS
    }
  },
};

/**
 * The commands sorted by time; equal times (to the microsecond) keep their order in the file.
 * `index` is the position in the sorted timeline.
 */
export function buildTimeline(commands: readonly CommandConfig[]): TimelineCommand[] {
  return commands
    .map((command, order) => ({ command, order }))
    .sort((a, b) => dueMsOf(a.command.time) - dueMsOf(b.command.time) || a.order - b.order)
    .map(({ command }, index) => ({
      index,
      time: command.time,
      peer: command.peer,
      command: command.command,
    }));
}

/** Groups a sorted timeline into batches of commands due at the same millisecond. */
export function batchTimeline(timeline: readonly TimelineCommand[]): TimelineBatch[] {
  const batches: TimelineBatch[] = [];
  for (const command of timeline) {
    const dueMs = dueMsOf(command.time);
    const last = batches.at(-1);
    if (last && last.dueMs === dueMs) last.commands.push(command);
    else batches.push({ dueMs, commands: [command] });
  }
  return batches;
}

/** Seconds to milliseconds, rounded to the microsecond so 0.1 + 0.2 and 0.3 share a batch. */
function dueMsOf(seconds: number): number {
  return Math.round(seconds * 1_000 * 1_000) / 1_000;
}

export interface RunTimelineOptions {
  batches: readonly TimelineBatch[];
  /** Called once per batch at its due time; may return a promise (not awaited before the next). */
  dispatch: (batch: TimelineBatch, lateMs: number) => void;
  /** Aborting stops the timeline: the returned promise rejects with the signal's reason. */
  signal: AbortSignal;
  /** Default: `monotonicClock`. */
  clock?: Clock;
  /** `clock.now()` value the due times count from; default: `clock.now()` at the call. */
  start?: number;
}

/**
 * Dispatches every batch at `start + dueMs`, in order. `lateMs` is how late the dispatch is
 * (`now − due`, ≥ 0 up to timer resolution). A batch whose due time has already passed is
 * dispatched at once, so a slow dispatch delays the next batches but never reorders them.
 */
export async function runTimeline(options: RunTimelineOptions): Promise<void> {
  const clock = options.clock ?? monotonicClock;
  const start = options.start ?? clock.now();
  for (const batch of options.batches) {
    const due = start + batch.dueMs;
    await clock.sleepUntil(due, options.signal);
    options.signal.throwIfAborted();
    options.dispatch(batch, clock.now() - due);
  }
}
