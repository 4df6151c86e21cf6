/** A TUI panel: a title rule (`── Peers (4) ─────`) over rows clipped to a fixed size. */
import { Box, Text } from "ink";
import type { ReactNode } from "react";

export interface PanelProps {
  title: string;
  /** Extra text after the title, dimmed (counts, filters). */
  note?: string;
  width: number;
  /** Rows including the title row. */
  height: number;
  color: boolean;
  children?: ReactNode;
}

export function Panel({ title, note, width, height, color, children }: PanelProps) {
  const head = `── ${title} `;
  const tail = note ? `${note} ` : "";
  const rule = "─".repeat(Math.max(0, width - head.length - tail.length));
  return (
    <Box flexDirection="column" width={width} height={height} overflow="hidden">
      <Text wrap="truncate-end">
        <Text bold={color} color={color ? "cyan" : undefined}>{head}</Text>
        <Text dimColor={color}>{tail}{rule}</Text>
      </Text>
      {children}
    </Box>
  );
}
