/**
 * Records every status a peer sets, in order, through Redis MONITOR: a peer's statuses follow
 * each other within milliseconds (connecting → connected), faster than GET-after-notify can see.
 */
import { Redis } from "npm:ioredis@^6.0.0";

/** One `SET <key> <value>` seen by MONITOR, with its database. */
export interface RecordedSet {
  db: number;
  key: string;
  value: string;
}

/** Every `SET <key> <value>` seen, in the server's order, with waiters for a value. */
export class StatusRecorder implements AsyncDisposable {
  #monitor: { disconnect(): void } | undefined;
  #seen: RecordedSet[] = [];
  #changed = new EventTarget();

  private constructor() {}

  /** Starts MONITOR on `url`; every SET after this resolves is recorded. */
  static async start(url: string): Promise<StatusRecorder> {
    const recorder = new StatusRecorder();
    const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
    const monitor = await redis.monitor();
    redis.disconnect();
    monitor.on(
      "monitor",
      (_time: string, args: string[], _source: string, database: string) => {
        if (args.length < 3 || args[0].toLowerCase() !== "set") return;
        recorder.#seen.push({ db: Number(database), key: args[1], value: args[2] });
        recorder.#changed.dispatchEvent(new Event("set"));
      },
    );
    recorder.#monitor = monitor;
    return recorder;
  }

  /** A position in the record: what is SET from now on comes after it (see `since`). */
  mark(): number {
    return this.#seen.length;
  }

  /** Every SET recorded after `mark`, oldest first. */
  since(mark: number): RecordedSet[] {
    return this.#seen.slice(mark);
  }

  /** Values SET on `key` in database `db` after `mark`, oldest first. */
  values(db: number, key: string, mark = 0): string[] {
    return this.since(mark).filter((s) => s.db === db && s.key === key).map((s) => s.value);
  }

  /**
   * Waits until a value SET on `key` in `db` at or after `from` (an index into
   * `values(db, key, mark)`) satisfies `wanted`; resolves to that value's index. Rejects when
   * `signal` aborts.
   */
  async waitFor(
    db: number,
    key: string,
    wanted: (value: string) => boolean,
    signal: AbortSignal,
    { mark = 0, from = 0 }: { mark?: number; from?: number } = {},
  ): Promise<number> {
    for (;;) {
      const index = this.values(db, key, mark).findIndex((v, i) => i >= from && wanted(v));
      if (index >= 0) return index;
      signal.throwIfAborted();
      await new Promise<void>((resolve) => {
        const done = () => {
          this.#changed.removeEventListener("set", done);
          signal.removeEventListener("abort", done);
          resolve();
        };
        this.#changed.addEventListener("set", done);
        signal.addEventListener("abort", done);
      });
    }
  }

  /** Ends MONITOR; idempotent. */
  stop(): void {
    this.#monitor?.disconnect();
    this.#monitor = undefined;
  }

  [Symbol.asyncDispose](): Promise<void> {
    this.stop();
    return Promise.resolve();
  }
}
