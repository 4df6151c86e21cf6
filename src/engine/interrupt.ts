/**
 * Ctrl-C and SIGTERM as abort signals for a run: the first SIGINT or SIGTERM asks for a
 * graceful stop (`stop`), a second SIGINT asks to clean up at once (`kill`).
 */

export interface InterruptHandlers extends Disposable {
  /** Aborted by the first SIGINT or SIGTERM. */
  readonly stop: AbortSignal;
  /** Aborted by a SIGINT after `stop` (a second Ctrl-C). */
  readonly kill: AbortSignal;
}

/** Reason given to `stop` / `kill` when a signal aborts them. */
export class InterruptedError extends Error {
  constructor(readonly signal: "SIGINT" | "SIGTERM", readonly force: boolean) {
    super(force ? `${signal} again: cleaning up at once` : `${signal}: stopping gracefully`);
    this.name = "InterruptedError";
  }
}

/**
 * Installs SIGINT and SIGTERM listeners until disposed (`using interrupts = ...`). While they
 * are installed the process does not die on those signals; the run decides what to do.
 */
export function installInterruptHandlers(): InterruptHandlers {
  const stop = new AbortController();
  const kill = new AbortController();
  const onSignal = (signal: "SIGINT" | "SIGTERM") => () => {
    if (!stop.signal.aborted) stop.abort(new InterruptedError(signal, false));
    else if (signal === "SIGINT" && !kill.signal.aborted) {
      kill.abort(new InterruptedError(signal, true));
    }
  };
  const listeners: [Deno.Signal, () => void][] = [
    ["SIGINT", onSignal("SIGINT")],
    ["SIGTERM", onSignal("SIGTERM")],
  ];
  const installed: typeof listeners = [];
  for (const [signal, listener] of listeners) {
    try {
      Deno.addSignalListener(signal, listener);
      installed.push([signal, listener]);
    } catch {
      // SIGTERM cannot be listened to on Windows; Ctrl-C still works there.
    }
  }
  return {
    stop: stop.signal,
    kill: kill.signal,
    [Symbol.dispose]() {
      for (const [signal, listener] of installed.splice(0)) {
        Deno.removeSignalListener(signal, listener);
      }
    },
  };
}
