/**
 * stdout and stderr as tm writes to them: whole strings, synchronously, and never an exception
 * when nobody reads them any more — the terminal closed (every write fails with EIO after
 * SIGHUP) or a pipe's reader exited (EPIPE, `tm … | head -1`). A run must go on and clean up
 * whether or not anyone watches it, so the first failed write marks the stream gone and every
 * later write is dropped.
 */

/** The part of `Deno.stdout` / `Deno.stderr` an `OutputStream` writes through. */
export interface SyncWriter {
  writeSync(bytes: Uint8Array): number;
}

/** A stream that may vanish mid-run. */
export class OutputStream {
  #gone: Error | undefined;
  readonly #encoder = new TextEncoder();

  /**
   * @param name for messages: `stdout`, `stderr`
   * @param file where the bytes go
   */
  constructor(readonly name: string, private readonly file: SyncWriter) {}

  /** Why the stream is gone (the failed write's error), or undefined while it works. */
  get gone(): Error | undefined {
    return this.#gone;
  }

  /**
   * Writes all of `text`. Returns false, without throwing, if the stream is gone (now or
   * before): nothing is written to it again.
   */
  write(text: string): boolean {
    if (this.#gone) return false;
    const bytes = this.#encoder.encode(text);
    for (let written = 0; written < bytes.length;) {
      try {
        written += this.file.writeSync(bytes.subarray(written));
      } catch (error) {
        // A signal arriving during the write (EINTR) says nothing about the reader: again.
        if (error instanceof Deno.errors.Interrupted) continue;
        this.#gone = error instanceof Error ? error : new Error(String(error));
        return false;
      }
    }
    return true;
  }
}

/** tm's stdout. */
export const stdout: OutputStream = new OutputStream("stdout", Deno.stdout);
/** tm's stderr. */
export const stderr: OutputStream = new OutputStream("stderr", Deno.stderr);
