/**
 * The console when it is not interactive (CI, a pipe, NO_COLOR): the lines as plain text, one
 * line per progress milestone, no spinners, a summary at the end. Apart from `console.tsx` (the
 * live area) so that a run without a terminal never loads ink and react: measured, they add
 * ~23 MiB to tm's resident memory (docs/architecture.md, Start-up).
 */
import type { EngineEvent, EventSink } from "../engine/events.ts";
import * as output from "../base/output_stream.ts";
import { formatLine, isShown, type LineFilter } from "./plain_lines.ts";
import { PhaseDigest, type PhaseDigestOptions } from "./phase_digest.ts";
import { applyEvent, createRunState, type RunLine } from "./run_state.ts";
import { renderStyled } from "./styled_text.ts";
import { summarize } from "./final_summary.ts";

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

/**
 * Line-by-line console: every shown line is written as soon as its event arrives; a run of many
 * peers is digested phase by phase (`phase_digest.ts`) unless `verbose` asks for every line.
 */
export function createPlainConsole(options: ConsoleOptions): ConsoleView {
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
