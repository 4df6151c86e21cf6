/**
 * Console mode: permanent lines for what happened, a live area for what is happening (ink, on an
 * interactive terminal), and a summary at the end. Not interactive (CI, a pipe, NO_COLOR): the
 * same lines as plain text (`plain_console.ts`, which a run without a terminal loads alone).
 */
import { Box, render, Static } from "ink";
import process from "node:process";
import { EventEmitter } from "node:events";
import type { EngineEvent } from "../engine/events.ts";
import { LiveArea, liveItems } from "./live_area.tsx";
import { formatLine, isShown, type LineFilter } from "./plain_lines.ts";
import { PhaseDigest, type PhaseDigestOptions } from "./phase_digest.ts";
import type { RunLine, RunState } from "./run_state.ts";
import { RunStore } from "./run_store.ts";
import type { Styled } from "./styled_text.ts";
import { StyledLine } from "./styled_view.tsx";
import { summarize } from "./final_summary.ts";
import { guardTerminal } from "./terminal_guard.ts";
import { useRunState } from "./use_run_state.ts";
import { type ConsoleOptions, type ConsoleView, createPlainConsole } from "./plain_console.ts";

export type { ConsoleOptions, ConsoleView };

export function createConsole(options: ConsoleOptions): ConsoleView {
  return options.interactive ? createLiveConsole(options) : createPlainConsole(options);
}

/**
 * Feeds `<Static>` one batch of new lines per store version. Each batch is a new `<Static>`
 * (keyed by `id`), so ink prints it once and does not keep every line ever printed. The lines
 * come as the events made them, digested for a run of many peers (`phase_digest.ts`) unless
 * `verbose`: the live area shows each phase's progress meanwhile.
 */
class StaticFeed {
  id = 0;
  items: Styled[] = [];
  /** Lines to print, in order, not yet handed to `<Static>`. */
  #pending: RunLine[] = [];
  #version = -1;
  #summarized = false;
  readonly #digest: PhaseDigest | undefined;

  constructor(private readonly filter: LineFilter, digest?: PhaseDigestOptions) {
    this.#digest = filter.verbose ? undefined : new PhaseDigest(digest);
  }

  /** Takes the lines `event` made (`fresh`), as it is applied. */
  take(event: EngineEvent, fresh: RunLine[]): void {
    this.#pending.push(...(this.#digest ? this.#digest.take(event, fresh) : fresh));
  }

  /** A run closed before run-finished: its last phase's counts. */
  end(state: RunState): void {
    if (!state.finished && this.#digest) this.#pending.push(...this.#digest.close(state.lastT));
  }

  update(state: RunState, version: number, closing: boolean): void {
    if (version === this.#version && !closing) return;
    this.#version = version;
    const fresh = this.#pending.splice(0).filter((line) => isShown(line, this.filter));
    const items = fresh.map((line) => formatLine(line, { nameWidth: state.nameWidth }));
    if (state.finished && !this.#summarized) {
      this.#summarized = true;
      items.push([{ text: "" }], ...summarize(state));
    }
    if (items.length > 0) {
      this.id++;
      this.items = items;
    }
  }
}

interface ConsoleAppProps {
  store: RunStore;
  feed: StaticFeed;
  color: boolean;
  columns: () => number;
  closing: boolean;
}

function ConsoleApp({ store, feed, color, columns, closing }: ConsoleAppProps) {
  const { state, now, version } = useRunState(store, 100);
  feed.update(state, version, closing);
  const items = closing ? [] : liveItems(state, now, { columns: columns() });
  return (
    <Box flexDirection="column">
      <Static key={feed.id} items={feed.items}>
        {(line, i) => <StyledLine key={i} line={line} color={color} />}
      </Static>
      <LiveArea items={items} color={color} />
    </Box>
  );
}

/** A minimal stream for ink over a write function. */
class WriteStream extends EventEmitter {
  constructor(
    private readonly sink: (text: string) => void,
    readonly columns: number,
    readonly isTTY: boolean,
  ) {
    super();
  }
  readonly rows = 24;
  write(chunk: string | Uint8Array, callback?: () => void): boolean {
    this.sink(typeof chunk === "string" ? chunk : new TextDecoder().decode(chunk));
    callback?.();
    return true;
  }
}

/** ink console: `<Static>` lines above a live area. */
function createLiveConsole(options: ConsoleOptions): ConsoleView {
  const store = new RunStore();
  const feed = new StaticFeed({
    verbose: options.verbose,
    milestones: false,
    traces: options.traces,
  }, options.digest);
  const stdout = options.write
    ? new WriteStream(options.write, options.columns ?? 80, true)
    : process.stdout;
  const columns = () => options.columns ?? (stdout.columns || 80);
  const app = (closing: boolean) => (
    <ConsoleApp
      store={store}
      feed={feed}
      color={options.color}
      columns={columns}
      closing={closing}
    />
  );
  const guard = options.write ? undefined : guardTerminal();
  const instance = render(app(false), {
    stdout: stdout as NodeJS.WriteStream,
    exitOnCtrlC: false,
    patchConsole: false,
    interactive: true,
  });
  let closed: Promise<void> | undefined;
  return {
    sink(event) {
      const before = store.state.lines.nextSeq;
      store.sink(event);
      feed.take(event, store.state.lines.since(before));
    },
    close() {
      closed ??= (async () => {
        feed.end(store.state);
        store.flush();
        instance.rerender(app(true));
        await instance.waitUntilRenderFlush();
        instance.unmount();
        await instance.waitUntilExit();
        store.dispose();
        guard?.release();
      })();
      return closed;
    },
  };
}
