/**
 * Keeps the terminal sane while an ink view owns it, on every way out.
 *
 * Two Deno-specific problems with ink's own cleanup (its `signal-exit` hook):
 * - On SIGINT, SIGTERM, SIGHUP or SIGQUIT, `signal-exit` sees no other `process` listener (the
 *   CLI listens through `Deno.addSignalListener`, which it cannot see), tears the view down and
 *   re-raises the signal, so the CLI receives it twice (a graceful stop turns into a forced one).
 *   The guard adds its own no-op `process` listeners so `signal-exit` leaves the signals to the
 *   CLI, which handles them itself (`src/engine/interrupt.ts`) and closes the view.
 * - `Deno.exit()` and uncaught errors do not run `signal-exit`'s exit hook, leaving the alternate
 *   screen on, the cursor hidden and the terminal raw. The guard restores them synchronously on
 *   `unload`, `error` and `unhandledrejection`.
 *
 * And the terminal may go away mid-run (SIGHUP: it closed, every write fails with EIO). Node's
 * `process.stdout` reports a failed write as an `error` event, which without a listener is an
 * uncaught exception that would end tm before it cleaned up. The first guard listens on stdin,
 * stdout and stderr for the rest of the process (an event can come a tick after a view closed),
 * so ink's writes fail quietly (their callbacks still run, its render flushes still resolve)
 * and the run goes on.
 */
import process from "node:process";
import { INTERRUPT_SIGNALS } from "../engine/interrupt.ts";
import * as output from "../base/output_stream.ts";

/** Options of `guardTerminal`. */
export interface GuardOptions {
  /** The view uses the alternate screen (default false). */
  alternateScreen?: boolean;
  /** Writes to the terminal synchronously (default: stdout, nothing once it is gone). */
  writeSync?: (text: string) => void;
  /** Turns raw mode off synchronously (default: `Deno.stdin.setRaw(false)` when a TTY). */
  cookInput?: () => void;
}

export interface TerminalGuard {
  /** Puts the terminal back now: alternate screen off, cursor shown, raw mode off. Idempotent. */
  restore(): void;
  /** Removes the listeners (after the view closed normally). */
  release(): void;
}

function defaultWriteSync(text: string) {
  output.stdout.write(text);
}

function defaultCookInput() {
  if (Deno.stdin.isTerminal()) Deno.stdin.setRaw(false);
}

let streamErrorsTolerated = false;

/** Makes failed writes to (and reads from) the process's standard streams non-fatal; once. */
function tolerateStreamErrors(): void {
  if (streamErrorsTolerated) return;
  streamErrorsTolerated = true;
  for (const stream of [process.stdin, process.stdout, process.stderr]) {
    stream.on("error", () => {/* the terminal or the pipe's reader is gone */});
  }
}

export function guardTerminal(options: GuardOptions = {}): TerminalGuard {
  const writeSync = options.writeSync ?? defaultWriteSync;
  const cookInput = options.cookInput ?? defaultCookInput;
  let restored = false;
  let released = false;
  const ignoreSignal = () => {};
  const restore = () => {
    if (restored) return;
    restored = true;
    try {
      writeSync((options.alternateScreen ? "\x1b[?1049l" : "") + "\x1b[?25h");
    } catch { /* the terminal is gone */ }
    try {
      cookInput();
    } catch { /* stdin is closed or not a terminal */ }
  };
  const onFatal = (event: Event) => {
    if (!event.defaultPrevented) restore();
  };
  tolerateStreamErrors();
  for (const signal of INTERRUPT_SIGNALS) process.on(signal, ignoreSignal);
  globalThis.addEventListener("unload", restore);
  globalThis.addEventListener("error", onFatal);
  globalThis.addEventListener("unhandledrejection", onFatal);
  return {
    restore,
    release() {
      if (released) return;
      released = true;
      for (const signal of INTERRUPT_SIGNALS) process.off(signal, ignoreSignal);
      globalThis.removeEventListener("unload", restore);
      globalThis.removeEventListener("error", onFatal);
      globalThis.removeEventListener("unhandledrejection", onFatal);
    },
  };
}
