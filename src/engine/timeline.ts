/**
 * The timeline: the config's commands and faults sorted by time and dispatched at their due
 * time from a monotonic clock. Entries due at the same instant form one batch, kept in file
 * order: its commands the engine sends in one pipeline, its faults it queues (`fault_queue.ts`).
 * One timer per batch (finished by a sub-2 ms busy-wait for accuracy); no polling tick.
 */
import {
  type CommandConfig,
  type FaultConfig,
  isFault,
  type TimelineEntryConfig,
} from "../plan/schema.ts";
import { targetsOf } from "../faults/fault_checks.ts";
import { dueMsOf, inTimelineOrder } from "../plan/timeline_order.ts";
import type { TimelineCommand, TimelineFault } from "./events.ts";
import { faultKind } from "../faults/kinds.ts";

/** One entry of the timeline: a command sent to a peer, or a fault tm does itself. */
export type TimelineEntry = TimelineCommand | TimelineFault;

/** Entries due at the same instant, in file order, split by kind. */
export interface TimelineBatch {
  /** Due time in ms after the timeline starts. */
  dueMs: number;
  commands: TimelineCommand[];
  faults: TimelineFault[];
}

/** Whether a timeline entry is a fault. */
export function isTimelineFault(entry: TimelineEntry): entry is TimelineFault {
  return "fault" in entry;
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
 * The entries sorted by time; equal times (to the microsecond) keep their order in the file.
 * `index` is the position in the sorted timeline.
 * @param allPeers every peer of the test: what `peers: "*"` and a `heal` without targets act on
 *   (only needed when the entries hold faults)
 */
export function buildTimeline(commands: readonly CommandConfig[]): TimelineCommand[];
export function buildTimeline(
  entries: readonly TimelineEntryConfig[],
  allPeers?: readonly string[],
): TimelineEntry[];
export function buildTimeline(
  entries: readonly TimelineEntryConfig[],
  allPeers: readonly string[] = [],
): TimelineEntry[] {
  return inTimelineOrder(entries).map(({ entry }, index): TimelineEntry =>
    isFault(entry)
      ? { index, time: entry.time, ...faultAction(entry, allPeers) }
      : { index, time: entry.time, peer: entry.peer, command: entry.command }
  );
}

/** What a fault entry of the config does, its targets expanded. */
function faultAction(fault: FaultConfig, allPeers: readonly string[]) {
  return {
    fault: fault.fault,
    peers: targetsOf(fault, allPeers),
    ...faultKind(fault.fault).details(fault as never),
  };
}

/** Groups a sorted timeline into batches of entries due at the same millisecond. */
export function batchTimeline(timeline: readonly TimelineEntry[]): TimelineBatch[] {
  const batches: TimelineBatch[] = [];
  for (const entry of timeline) {
    const dueMs = dueMsOf(entry.time);
    let last = batches.at(-1);
    if (!last || last.dueMs !== dueMs) batches.push(last = { dueMs, commands: [], faults: [] });
    if (isTimelineFault(entry)) last.faults.push(entry);
    else last.commands.push(entry);
  }
  return batches;
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
