/**
 * Tasks ordered by what they touch: a task waits only for the tasks run before it that share one
 * of its keys, and a task on `"all"` keys waits for every task before it (and every later one
 * waits for it). Tasks on disjoint keys run at once. Each key's tasks run in the order `run` was
 * called, so nothing a task does on a key can be overtaken by a later task on that key.
 *
 * The Docker runtime's network faults use it with one key per peer: two peers' trees (on two
 * hosts) are rebuilt at once, one peer's changes stay in order, and a change of the partition,
 * which reads and rewrites every grouped peer's tree, holds them all.
 */
import { abortable } from "./async.ts";

export class KeyedOrder {
  /** The last task run on each key: what the next task on that key waits for. */
  readonly #tails = new Map<string, Promise<void>>();
  /** The last task on every key (`"all"`): what every later task waits for. */
  #allTail: Promise<void> = Promise.resolve();

  /**
   * Runs `task` once every earlier task sharing one of `keys` has settled (with `"all"`: every
   * earlier task). An abort of `signal` while it waits rejects with the signal's reason and
   * skips the task; later tasks on its keys still wait for the ones before it.
   */
  run<T>(
    keys: readonly string[] | "all",
    task: () => Promise<T>,
    signal?: AbortSignal,
  ): Promise<T> {
    const before = keys === "all"
      ? [this.#allTail, ...this.#tails.values()]
      : [this.#allTail, ...keys.flatMap((key) => this.#tails.get(key) ?? [])];
    const gate = Promise.all(before).then(() => {});
    const result = abortable(gate, signal).then(task);
    // Settles once the tasks before it and its own have, whatever their outcome.
    const tail = gate.then(() => result).then(() => {}, () => {});
    if (keys === "all") {
      this.#tails.clear();
      this.#allTail = tail;
    } else {
      for (const key of keys) this.#tails.set(key, tail);
    }
    return result;
  }
}
