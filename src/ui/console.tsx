/**
 * Console mode: permanent lines for what happened, a live area for what is happening (ink, on an
 * interactive terminal), and a summary at the end. Not interactive (CI, a pipe, NO_COLOR): the
 * same lines as plain text, one line per progress milestone, no spinners.
 */
import { Box, render, Static } from "ink";
import process from "node:process";
import { EventEmitter } from "node:events";
import type { EngineEvent, EventSink } from "../engine/events.ts";
import * as output from "../base/output_stream.ts";
import { LiveArea, liveItems } from "./live_area.tsx";
import { formatLine, isShown, type LineFilter } from "./plain_lines.ts";
import { PhaseDigest, type PhaseDigestOptions } from "./phase_digest.ts";
import { applyEvent, createRunState, type RunLine, type RunState } from "./run_state.ts";
import { RunStore } from "./run_store.ts";
import { renderStyled, type Styled } from "./styled_text.ts";
import { StyledLine } from "./styled_view.tsx";
import { summarize } from "./final_summary.ts";
import { guardTerminal } from "./terminal_guard.ts";
import { useRunState } from "./use_run_state.ts";

export interface ConsoleOptions {
  /** A TTY and not NO_COLOR/CI: show the live area (ink). */
  interactive: boolean;
  /** ANSI colours. */
  color: boolean;
  /** Also every peer log line and orchestrator trace. */
  verbose: boolean;
  /** Show orchestrator traces among the lines. Default: `verbose`. */
  traces?: boolean;
  /** Where output goes (default: stdout; nothing more once it is gone, see output_stream.ts). */
  write?: (text: string) => void;
  /** Terminal width (default: the terminal's, else 80). */
  columns?: number;
  /** How the plain console digests a run of many peers (defaults: `PhaseDigestOptions`). */
  digest?: PhaseDigestOptions;
}

export interface ConsoleView {
  sink: EventSink;
  /** Prints what is pending, removes the live area, leaves the terminal clean. Idempotent. */
  close(): Promise<void>;
}

export function createConsole(options: ConsoleOptions): ConsoleView {
  return options.interactive ? createLiveConsole(options) : createPlainConsole(options);
}

/**
 * Line-by-line console: every shown line is written as soon as its event arrives; a run of many
 * peers is digested phase by phase (`phase_digest.ts`) unless `verbose` asks for every line.
 */
function createPlainConsole(options: ConsoleOptions): ConsoleView {
  const write = options.write ?? ((text: string) => void output.stdout.write(text));
  const state = createRunState({ lineCapacity: 1000 });
  const filter: LineFilter = { verbose: options.verbose, milestones: true, traces: options.traces };
  const digest = options.verbose ? undefined : new PhaseDigest(options.digest);
  let printed = 0;
  let summarized = false;
  let closed = false;
  const print = (lines: RunLine[]) => {
    const shown = lines.filter((line) => isShown(line, filter));
    if (shown.length === 0) return;
    write(
      shown.map((line) =>
        renderStyled(formatLine(line, { nameWidth: state.nameWidth }), options.color)
      ).join("\n") + "\n",
    );
  };
  const printSummary = () => {
    if (summarized || !state.finished) return;
    summarized = true;
    write([[], ...summarize(state)].map((l) => renderStyled(l, options.color)).join("\n") + "\n");
  };
  const sink: EventSink = (event: EngineEvent) => {
    if (closed) return;
    applyEvent(state, event);
    const fresh = state.lines.since(printed);
    printed = state.lines.nextSeq;
    print(digest ? digest.take(event, fresh) : fresh);
    if (event.type === "run-finished") printSummary();
  };
  return {
    sink,
    close() {
      // A run that ended without run-finished still says what its last phase did.
      if (!closed && !state.finished && digest) print(digest.close(state.lastT));
      closed = true;
      return Promise.resolve();
    },
  };
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
