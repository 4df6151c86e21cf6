/**
 * TUI logs panel: every line of the run (statuses, commands, peer logs, orchestrator events),
 * following the tail or anchored where the user scrolled, filtered to one peer and/or a search.
 */
import { Box } from "ink";
import { formatLine } from "../plain_lines.ts";
import type { RunLine, RunState } from "../run_state.ts";
import { fitStyled, highlight } from "../styled_text.ts";
import { StyledLine } from "../styled_view.tsx";
import { Panel } from "./panel.tsx";

/** What the log view shows. */
export interface LogQuery {
  /** Only lines about this peer. */
  peer?: string;
  /** Only lines containing this text (case-insensitive). */
  search?: string;
  /** `seq` of the bottom line when scrolled; undefined follows the tail. */
  anchor?: number;
  /** Rows to fill. */
  rows: number;
}

export interface LogWindow {
  /** The lines to show, oldest first, at most `rows`. */
  lines: RunLine[];
  /** Lines passing the filters. */
  matching: number;
  /** Index (in the matching lines) of the bottom visible line. */
  bottom: number;
  /** The view shows the newest matching line. */
  atTail: boolean;
}

/** Lines passing the peer filter and the search, oldest first. */
export function matchingLines(state: RunState, query: Omit<LogQuery, "rows" | "anchor">) {
  const needle = query.search?.toLowerCase();
  return state.lines.toArray().filter((line) =>
    (query.peer === undefined || line.peer === query.peer) &&
    (!needle || line.text.toLowerCase().includes(needle) ||
      (line.peer?.toLowerCase().includes(needle) ?? false))
  );
}

/** The window of lines for a query. Pure. */
export function logWindow(state: RunState, query: LogQuery): LogWindow {
  const lines = matchingLines(state, query);
  let bottom = lines.length - 1;
  if (query.anchor !== undefined) {
    // the last line at or before the anchor (lines are in seq order)
    let lo = 0;
    let hi = lines.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (lines[mid].seq <= query.anchor) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    bottom = Math.max(Math.min(found, lines.length - 1), Math.min(query.rows, lines.length) - 1);
  }
  const top = Math.max(0, bottom - query.rows + 1);
  return {
    lines: lines.slice(top, bottom + 1),
    matching: lines.length,
    bottom,
    atTail: bottom >= lines.length - 1,
  };
}

/**
 * The anchor after scrolling by `delta` rows (negative: up); undefined when it reaches the
 * tail (follow again).
 */
export function scrollAnchor(state: RunState, query: LogQuery, delta: number): number | undefined {
  const lines = matchingLines(state, query);
  if (lines.length === 0) return undefined;
  const { bottom } = logWindow(state, query);
  const target = Math.max(Math.min(query.rows, lines.length) - 1, bottom + delta);
  return target >= lines.length - 1 ? undefined : lines[target].seq;
}

export interface LogsPanelProps {
  state: RunState;
  query: LogQuery;
  width: number;
  height: number;
  color: boolean;
}

export function LogsPanel({ state, query, width, height, color }: LogsPanelProps) {
  const view = logWindow(state, { ...query, rows: Math.max(0, height - 1) });
  const notes = [
    query.peer !== undefined ? `peer ${query.peer}` : undefined,
    query.search ? `/${query.search} (${view.matching})` : undefined,
    view.atTail ? undefined : `scrolled ${view.matching - 1 - view.bottom} up · End follows`,
  ].filter((n) => n !== undefined);
  return (
    <Panel
      title="Logs"
      note={notes.length > 0 ? notes.join(" · ") : `${state.lines.nextSeq} lines`}
      width={width}
      height={height}
      color={color}
    >
      {view.lines.map((line) => {
        const styled = formatLine(line, { nameWidth: state.nameWidth });
        const shown = query.search ? highlight(styled, query.search) : styled;
        return (
          <Box key={line.seq}>
            <StyledLine line={fitStyled(shown, width)} color={color} wrap="truncate-end" />
          </Box>
        );
      })}
    </Panel>
  );
}
