/**
 * Records every status a peer sets, in order, through Redis MONITOR: a peer's statuses follow
 * each other within milliseconds (connecting → connected), faster than GET-after-notify can see.
 */
import { Redis } from "npm:ioredis@^6.0.0";

/** Every `SET <key> <value>` seen, per database and key, with waiters for a value. */
export class StatusRecorder implements AsyncDisposable {
  #monitor: { disconnect(): void } | undefined;
  #seen = new Map<string, string[]>();
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
        const id = `${database}/${args[1]}`;
        const list = recorder.#seen.get(id) ?? [];
        list.push(args[2]);
        recorder.#seen.set(id, list);
        recorder.#changed.dispatchEvent(new Event("set"));
      },
    );
    recorder.#monitor = monitor;
    return recorder;
  }

  /** Values SET on `key` in database `db` so far, oldest first. */
  values(db: number, key: string): string[] {
    return [...(this.#seen.get(`${db}/${key}`) ?? [])];
  }

  /** Forgets what was recorded for `key` (before a case reuses it). */
  forget(db: number, key: string): void {
    this.#seen.delete(`${db}/${key}`);
  }

  /** Resolves once `value` was SET on `key`; rejects when `signal` aborts. */
  async waitFor(db: number, key: string, value: string, signal: AbortSignal): Promise<void> {
    while (!this.values(db, key).includes(value)) {
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
