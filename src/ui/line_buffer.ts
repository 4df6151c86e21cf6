/**
 * A bounded, append-only buffer of the newest items, each numbered by `seq` (0, 1, 2, … over the
 * buffer's whole life), so views can anchor on an item while older ones are dropped.
 */

/** Appended items carry their position in the stream. */
export interface Sequenced {
  seq: number;
}

export class LineBuffer<T extends Sequenced> {
  #items: T[] = [];
  #next = 0;

  /** @param capacity how many of the newest items are kept (default 10,000) */
  constructor(readonly capacity = 10_000) {}

  /** Appends an item, numbering it; drops the oldest ones beyond `capacity` (amortised O(1)). */
  push(item: Omit<T, "seq">): T {
    const numbered = { ...item, seq: this.#next++ } as T;
    this.#items.push(numbered);
    if (this.#items.length > this.capacity + (this.capacity >> 2)) {
      this.#items.splice(0, this.#items.length - this.capacity);
    }
    return numbered;
  }

  /** Number of items kept (at most `capacity`). */
  get length(): number {
    return Math.min(this.#items.length, this.capacity);
  }

  /** `seq` the next item will get, i.e. how many items were ever pushed. */
  get nextSeq(): number {
    return this.#next;
  }

  /** The kept items, oldest first (a fresh array). */
  toArray(): T[] {
    return this.#items.slice(-this.capacity);
  }

  /** Kept items with `seq >= from`, oldest first. */
  since(from: number): T[] {
    const kept = this.toArray();
    const first = kept.length > 0 ? kept[0].seq : this.#next;
    return kept.slice(Math.max(0, from - first));
  }

  /** The newest item, if any. */
  last(): T | undefined {
    return this.#items.at(-1);
  }
}
