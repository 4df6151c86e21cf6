/**
 * A file a run appends to as events come (the log file, the run record's `events.jsonl`):
 * written synchronously, so every event is on disk before the next, in order, and a crash loses
 * nothing already reported. The first write that fails closes it and is reported once; later
 * writes do nothing.
 */
export class SyncAppender {
  #file: Deno.FsFile | undefined;
  readonly #encoder = new TextEncoder();
  readonly #onError: (error: unknown) => void;

  /** @param onError called once, with the first failed write's error */
  constructor(file: Deno.FsFile, onError: (error: unknown) => void) {
    this.#file = file;
    this.#onError = onError;
  }

  /** Whether writes still go to the file (no write failed, not closed). */
  get open(): boolean {
    return this.#file !== undefined;
  }

  /** Writes all of `text`; does nothing once closed. */
  write(text: string): void {
    const file = this.#file;
    if (!file) return;
    try {
      const bytes = this.#encoder.encode(text);
      let written = 0;
      while (written < bytes.length) written += file.writeSync(bytes.subarray(written));
    } catch (error) {
      this.close();
      this.#onError(error);
    }
  }

  /** Closes the file; idempotent. */
  close(): void {
    this.#file?.close();
    this.#file = undefined;
  }
}
