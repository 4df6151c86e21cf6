/**
 * The order of a timeline: entries sorted by due time, entries due at the same instant in file
 * order. The one owner of that rule: the engine's timeline (`src/engine/timeline.ts`) runs
 * entries in it, and the fault checks (`fault_checks.ts`) follow peers through it.
 */

/** Seconds to milliseconds, rounded to the microsecond so 0.1 + 0.2 and 0.3 share a batch. */
export function dueMsOf(seconds: number): number {
  return Math.round(seconds * 1_000 * 1_000) / 1_000;
}

/** An entry and its position in the file. */
export interface Ordered<T> {
  entry: T;
  /** Index in the list as written. */
  position: number;
}

/** The entries in timeline order: by due time (to the microsecond), then file order. */
export function inTimelineOrder<T extends { time: number }>(entries: readonly T[]): Ordered<T>[] {
  return entries
    .map((entry, position) => ({ entry, position }))
    .sort((a, b) => dueMsOf(a.entry.time) - dueMsOf(b.entry.time) || a.position - b.position);
}
