/**
 * The signals that end a run, as abort signals for it:
 *
 * | signal  | sent when                                   | first one          | again              |
 * | ------- | ------------------------------------------- | ------------------ | ------------------ |
 * | SIGINT  | Ctrl-C                                      | stop (graceful)    | kill (at once)     |
 * | SIGTERM | `kill`, a service manager                   | stop (graceful)    | nothing more       |
 * | SIGHUP  | the terminal or SSH session running tm ends | stop (graceful)    | nothing more       |
 * | SIGQUIT | Ctrl-\, a user asking to quit hard          | stop and kill      | (already killed)   |
 *
 * A graceful stop sends `shutdown` and waits up to the shutdown timeout; `kill` removes
 * everything at once. Only a person at the keyboard escalates: a repeated SIGTERM or SIGHUP
 * (a shell forwarding the hangup to its jobs, then the kernel) must not turn a graceful stop
 * into a forced one.
 *
 * A SIGHUP that tm was started ignoring (`nohup tm …`, `trap '' HUP`) stays ignored: the user
 * asked for the run to outlive the terminal. (Shells also start background jobs ignoring SIGINT
 * and SIGQUIT, but as a convention, not a request; those are always handled.)
 */

/** The signals `installInterruptHandlers` handles. */
export const INTERRUPT_SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT"] as const;
export type InterruptSignal = typeof INTERRUPT_SIGNALS[number];

export interface InterruptHandlers extends Disposable {
  /** Aborted by the first SIGINT, SIGTERM or SIGHUP, and by SIGQUIT. */
  readonly stop: AbortSignal;
  /** Aborted by a SIGINT after `stop` (a second Ctrl-C), and by SIGQUIT. */
  readonly kill: AbortSignal;
  /** Aborted by SIGHUP (unless ignored): the terminal is gone, nobody can answer any more. */
  readonly hangUp: AbortSignal;
}

/** What each signal means, in the messages the run reports. */
const MEANING: Record<InterruptSignal, string> = {
  SIGINT: "SIGINT (Ctrl-C)",
  SIGTERM: "SIGTERM",
  SIGHUP: "SIGHUP (the terminal or session running tm closed)",
  SIGQUIT: "SIGQUIT",
};

/** Reason given to `stop` / `kill` when a signal aborts them. */
export class InterruptedError extends Error {
  constructor(readonly signal: InterruptSignal, readonly force: boolean) {
    const again = force && signal === "SIGINT";
    super(
      `${again ? "SIGINT again" : MEANING[signal]}: ${
        force ? "cleaning up at once" : "stopping gracefully"
      }`,
    );
    this.name = "InterruptedError";
  }
}

/** What a signal does: `stop` aborts the graceful stop, `kill` the forced one. */
export function interruptAction(
  signal: InterruptSignal,
  state: { stopped: boolean },
): { stop: boolean; kill: boolean } {
  switch (signal) {
    case "SIGINT":
      return { stop: !state.stopped, kill: state.stopped };
    case "SIGTERM":
    case "SIGHUP":
      return { stop: !state.stopped, kill: false };
    case "SIGQUIT":
      return { stop: !state.stopped, kill: true };
  }
}

/** Signal numbers of the `SigIgn` mask in a `/proc/<pid>/status` text; none if it has none. */
export function ignoredSignals(status: string): Set<number> {
  const mask = /^SigIgn:\s*([0-9a-f]+)$/m.exec(status)?.[1];
  const ignored = new Set<number>();
  if (mask === undefined) return ignored;
  const bits = BigInt(`0x${mask}`);
  for (let signal = 1; signal <= mask.length * 4; signal++) {
    if ((bits >> BigInt(signal - 1)) & 1n) ignored.add(signal);
  }
  return ignored;
}

/** SIGHUP's number (the same on Linux and macOS). */
const SIGHUP_NUMBER = 1;

/** Whether this process ignores SIGHUP (read before tm listens to it; Linux only). */
function hangUpIgnored(): boolean {
  try {
    return ignoredSignals(Deno.readTextFileSync("/proc/self/status")).has(SIGHUP_NUMBER);
  } catch {
    return false; // no /proc: assume the default disposition
  }
}

/**
 * Installs listeners for SIGINT, SIGTERM, SIGHUP (unless ignored when tm started) and SIGQUIT
 * until disposed (`using interrupts = ...`). While they are installed the process does not die
 * on those signals; the run decides what to do.
 */
export function installInterruptHandlers(): InterruptHandlers {
  const stop = new AbortController();
  const kill = new AbortController();
  const hangUp = new AbortController();
  const onSignal = (signal: InterruptSignal) => () => {
    if (signal === "SIGHUP") hangUp.abort(new InterruptedError(signal, false));
    const action = interruptAction(signal, { stopped: stop.signal.aborted });
    // `kill` first: a run that sees both never starts a graceful stop it would cut short.
    if (action.kill && !kill.signal.aborted) kill.abort(new InterruptedError(signal, true));
    if (action.stop) stop.abort(new InterruptedError(signal, action.kill));
  };
  const installed: [Deno.Signal, () => void][] = [];
  const nohup = hangUpIgnored();
  for (const signal of INTERRUPT_SIGNALS.filter((s) => !(s === "SIGHUP" && nohup))) {
    const listener = onSignal(signal);
    try {
      Deno.addSignalListener(signal, listener);
      installed.push([signal, listener]);
    } catch {
      // Windows has SIGINT (and SIGBREAK) only; Ctrl-C still works there.
    }
  }
  return {
    stop: stop.signal,
    kill: kill.signal,
    hangUp: hangUp.signal,
    [Symbol.dispose]() {
      for (const [signal, listener] of installed.splice(0)) {
        Deno.removeSignalListener(signal, listener);
      }
    },
  };
}
