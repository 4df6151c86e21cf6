/**
 * How the TUI divides the terminal: panel heights and widths for a size, stacked on narrow
 * terminals (80×24 fits) and side by side (peers | timeline) from 120 columns. Pure.
 */

export interface TuiLayout {
  columns: number;
  rows: number;
  /** Peers and timeline side by side. */
  wide: boolean;
  /** Rows of each panel, title row included. */
  peersHeight: number;
  timelineHeight: number;
  logsHeight: number;
  /** Columns of the peers and timeline panels (equal to `columns` when stacked). */
  peersWidth: number;
  timelineWidth: number;
}

/** Terminals at least this wide put the timeline beside the peers. */
export const WIDE_COLUMNS = 120;

const clamp = (value: number, min: number, max: number) => Math.max(min, Math.min(max, value));

/**
 * @param peerCount peers in the plan
 * @param timelineRows rows the timeline (or the summary, once finished) would like
 */
export function tuiLayout(
  columns: number,
  rows: number,
  peerCount: number,
  timelineRows: number,
  /** The middle panel shows the summary: give it more room (default false). */
  finished = false,
): TuiLayout {
  const available = Math.max(6, rows - 2); // header and footer
  const wide = columns >= WIDE_COLUMNS;
  if (wide) {
    const top = clamp(Math.max(peerCount + 2, timelineRows + 1), 4, Math.floor(available * 0.55));
    const timelineWidth = Math.min(70, Math.floor(columns * 0.42));
    return {
      columns,
      rows,
      wide,
      peersHeight: top,
      timelineHeight: top,
      logsHeight: available - top,
      peersWidth: columns - timelineWidth - 1,
      timelineWidth,
    };
  }
  const peersHeight = clamp(peerCount + 2, 3, Math.floor(available * 0.4));
  const share = finished ? 0.45 : 0.25;
  const timelineHeight = clamp(timelineRows + 1, 2, Math.max(2, Math.floor(available * share)));
  return {
    columns,
    rows,
    wide,
    peersHeight,
    timelineHeight,
    logsHeight: Math.max(2, available - peersHeight - timelineHeight),
    peersWidth: columns,
    timelineWidth: columns,
  };
}
