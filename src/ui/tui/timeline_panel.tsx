/**
 * TUI timeline panel: one row per batch of commands due together: due time, the commands, and
 * when they were sent (and how late) or a countdown; the next batch highlighted.
 */
import { Box } from "ink";
import { peerColor } from "../peer_colors.ts";
import { fit, formatDuration } from "../../text/quantities.ts";
import { batchDueAt, type RunState, type TimelineBatchView } from "../run_state.ts";
import { fitStyled, type Styled } from "../styled_text.ts";
import { StyledLine } from "../styled_view.tsx";
import { Panel } from "./panel.tsx";

export interface TimelinePanelProps {
  state: RunState;
  now: number;
  width: number;
  height: number;
  color: boolean;
}

/**
 * The state cell of a batch: `sent +3 ms`, `in 4.2s`, `sending 1/2`, `✗ 1 not delivered`, or
 * `✗ 1 failed` when what went wrong is faults.
 */
export function batchStatus(state: RunState, batch: TimelineBatchView, now: number): string {
  const sent = batch.entries.filter((e) => e.sentAt !== undefined);
  const failed = batch.entries.filter((e) => e.undeliverable !== undefined);
  if (failed.length > 0) {
    return `✗ ${failed.length} ${failed.every((e) => e.fault) ? "failed" : "not delivered"}`;
  }
  if (sent.length === batch.entries.length) {
    const late = Math.max(...sent.map((e) => e.lateMs ?? 0));
    const at = Math.max(...sent.map((e) => e.sentAt!));
    return `sent ${formatDuration(at)} +${Math.round(late)}ms`;
  }
  if (sent.length > 0) return `sending ${sent.length}/${batch.entries.length}`;
  const due = batchDueAt(state, batch);
  if (due === undefined) return "pending";
  return due > now ? `in ${formatDuration(due - now)}` : "due";
}

/** First visible batch: one sent batch above the next one when there is room. */
export function timelineWindow(next: number, count: number, rows: number): number {
  if (count <= rows) return 0;
  return Math.max(0, Math.min(count - rows, next - (rows > 2 ? 1 : 0)));
}

export function TimelinePanel({ state, now, width, height, color }: TimelinePanelProps) {
  const rows = Math.max(0, height - 1);
  const batches = state.batches;
  const first = timelineWindow(state.nextBatch, batches.length, rows);
  const visible = batches.slice(first, first + rows);
  const total = batches.reduce((n, b) => n + b.entries.length, 0);
  const sent = batches.reduce(
    (n, b) => n + b.entries.filter((e) => e.sentAt !== undefined).length,
    0,
  );
  const timeW = Math.max(6, ...visible.map((b) => `+${(b.dueMs / 1_000).toFixed(1)}s`.length));
  const statusW = Math.max(14, ...visible.map((b) => batchStatus(state, b, now).length));
  const commandsW = Math.max(8, width - 2 - timeW - 1 - 1 - statusW);
  return (
    <Panel
      title="Timeline"
      note={total === 0 ? "no commands" : `${sent}/${total} sent`}
      width={width}
      height={height}
      color={color}
    >
      {visible.map((batch, i) => {
        const index = first + i;
        const current = index === state.nextBatch && !state.finished;
        const done = index < state.nextBatch;
        const status = batchStatus(state, batch, now);
        const commands: Styled = [];
        batch.entries.forEach((entry, n) => {
          if (n > 0) commands.push({ text: ", " });
          // Typed by hand at the `:` prompt: marked apart from the test file's entries.
          if (entry.manual) commands.push({ text: "✋ ", color: "cyan" });
          if (entry.fault) {
            // A fault is tm's own act, not a command to a peer: marked, in its own colour.
            commands.push({
              text: `⚡ ${entry.command}`,
              color: entry.undeliverable !== undefined ? "red" : "magenta",
            });
            return;
          }
          commands.push({ text: entry.peer, color: peerColor(entry.peer) });
          commands.push({
            text: ` > ${entry.command}`,
            color: entry.undeliverable !== undefined ? "red" : undefined,
          });
        });
        const line: Styled = [
          { text: current ? "▶ " : "  ", bold: current },
          { text: fit(`+${(batch.dueMs / 1_000).toFixed(1)}s`, timeW) + " " },
          ...fitStyled(commands, commandsW),
          { text: " " },
          {
            text: fit(status, statusW),
            color: status.startsWith("✗") ? "red" : status.startsWith("in ") ? "yellow" : undefined,
          },
        ];
        return (
          <Box key={index}>
            <StyledLine
              line={line.map((s) => ({ ...s, inverse: current, dim: done }))}
              color={color}
              wrap="truncate-end"
            />
          </Box>
        );
      })}
    </Panel>
  );
}
