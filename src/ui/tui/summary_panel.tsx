/** TUI summary once the run finished: the same summary the console prints. */
import { Box } from "ink";
import type { RunState } from "../run_state.ts";
import { fitStyled } from "../styled_text.ts";
import { StyledLine } from "../styled_view.tsx";
import { summarize } from "../final_summary.ts";
import { Panel } from "./panel.tsx";

/** Rows the summary needs (its lines plus the title row). */
export function summaryRows(state: RunState): number {
  return summarize(state).length + 1;
}

export function SummaryPanel(
  { state, width, height, color }: {
    state: RunState;
    width: number;
    height: number;
    color: boolean;
  },
) {
  return (
    <Panel title="Result" note="press q to quit" width={width} height={height} color={color}>
      {summarize(state, { maxPeerRows: Math.max(1, height - 6) }).map((line, i) => (
        <Box key={i}>
          <StyledLine line={fitStyled(line, width)} color={color} wrap="truncate-end" />
        </Box>
      ))}
    </Panel>
  );
}
