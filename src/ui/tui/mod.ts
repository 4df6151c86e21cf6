/**
 * The TUI's entry point for the CLI (imported lazily): `startTui()` takes over the terminal
 * (alternate screen, raw input) until `close()`, and gives it back on every way out.
 */
import { render } from "ink";
import process from "node:process";
import { createElement } from "react";
import type { EventSink } from "../../engine/events.ts";
import type { Steering } from "../../engine/steering.ts";
import { completeManualEntry } from "../../plan/manual_entry.ts";
import { RunStore } from "../run_store.ts";
import { guardTerminal } from "../terminal_guard.ts";
import { TuiRoot } from "./root.tsx";

export interface TuiOptions {
  /**
   * The user asked to stop: q or Ctrl+C while the run goes; `force` is false the first time and
   * true the second. Called at most twice.
   */
  onStop: (force: boolean) => void;
  /** Keyboard (default: process.stdin). */
  stdin?: NodeJS.ReadStream;
  /** Terminal (default: process.stdout). */
  stdout?: NodeJS.WriteStream;
  /** Colours (default: on unless NO_COLOR is set). */
  color?: boolean;
  /** The `:` prompt's manual timeline entries go to the run through it; absent: no prompt. */
  steering?: Steering;
  /** The peers' names, for the prompt's Tab completion. */
  peers?: readonly string[];
}

export interface TuiView {
  sink: EventSink;
  /** Leaves the alternate screen and restores the terminal. Idempotent. */
  close(): Promise<void>;
  /** Resolves when the user pressed q (or Ctrl+C) after the run finished. */
  quit: Promise<void>;
}

export function startTui(options: TuiOptions): TuiView {
  const store = new RunStore({ maxFps: 30 });
  const stdout = options.stdout ?? process.stdout;
  const stdin = options.stdin ?? process.stdin;
  const custom = options.stdout !== undefined;
  const guard = guardTerminal({
    alternateScreen: true,
    writeSync: custom ? (text) => void stdout.write(text) : undefined,
    cookInput: options.stdin
      ? () => {
        if (stdin.isTTY) stdin.setRawMode(false);
      }
      : undefined,
  });
  const quit = Promise.withResolvers<void>();
  let stopCalls = 0;
  const onStop = (force: boolean) => {
    if (stopCalls >= 2) return;
    stopCalls++;
    options.onStop(force);
  };
  const color = options.color ?? !Deno.env.get("NO_COLOR");
  let instance: ReturnType<typeof render>;
  try {
    instance = render(
      createElement(TuiRoot, {
        store,
        onStop,
        onQuit: quit.resolve,
        color,
        ...(options.steering
          ? {
            steer: (input: string) => options.steering!.submit(input),
            complete: (input: string) => completeManualEntry(input, options.peers ?? []),
          }
          : {}),
      }),
      {
        stdout,
        stdin,
        alternateScreen: true,
        // We only start on a terminal; ink would otherwise turn live updates off when CI is set.
        interactive: true,
        exitOnCtrlC: false,
        patchConsole: true,
        maxFps: 30,
      },
    );
  } catch (error) {
    guard.restore();
    guard.release();
    throw error;
  }
  let closed: Promise<void> | undefined;
  return {
    sink: store.sink,
    quit: quit.promise,
    close() {
      closed ??= (async () => {
        try {
          store.flush();
          instance.unmount();
          await instance.waitUntilExit();
        } finally {
          guard.restore();
          guard.release();
          store.dispose();
        }
      })();
      return closed;
    },
  };
}
