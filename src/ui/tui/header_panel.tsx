/** TUI header: test name, phase (or verdict), elapsed time, Redis URL, warning and error counts. */
import { Box, Text } from "ink";
import { formatClock, truncate } from "../../text/quantities.ts";
import type { RunState } from "../run_state.ts";
import { totals, verdictColor } from "../final_summary.ts";

export interface HeaderPanelProps {
  state: RunState;
  now: number;
  width: number;
  color: boolean;
}

export function HeaderPanel({ state, now, width, color }: HeaderPanelProps) {
  const finished = state.finished;
  const phase = finished
    ? finished.verdict.toUpperCase()
    : state.phase ?? (state.test ? "starting" : "waiting");
  const phaseColor = finished ? verdictColor(state) : "cyan";
  const { warnings, errors } = finished ? totals(state) : state;
  const left = ` tm · ${state.test || "…"}`;
  const middle = `  ${phase}  ${formatClock(now)}`;
  const counts = `  warn ${warnings}  err ${errors} `;
  const redis = state.redisUrl ? `  ${state.redisUrl}` : "";
  const room = width - left.length - middle.length - counts.length;
  const redisText = room > 8 ? truncate(redis, room) : "";
  const gap = Math.max(0, width - left.length - middle.length - redisText.length - counts.length);
  return (
    <Box width={width} height={1}>
      <Text wrap="truncate-end">
        <Text bold={color}>{left}</Text>
        <Text bold={color} color={color ? phaseColor : undefined}>{middle}</Text>
        <Text dimColor={color}>{redisText}</Text>
        <Text>{" ".repeat(gap)}</Text>
        <Text>
          {"  warn "}
          <Text color={color && warnings > 0 ? "yellow" : undefined}>{warnings}</Text>
          {"  err "}
          <Text color={color && errors > 0 ? "red" : undefined}>{errors}</Text>
          {" "}
        </Text>
      </Text>
    </Box>
  );
}
