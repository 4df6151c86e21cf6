/** Ink rendering of styled text (see `styled_text.ts`); with `color` false it emits no ANSI codes. */
import { Text } from "ink";
import type { Styled } from "./styled_text.ts";

export interface StyledLineProps {
  line: Styled;
  /** Colours and emphasis on (default true). */
  color?: boolean;
  /** How text that does not fit is handled (default `wrap`). */
  wrap?: "wrap" | "truncate-end";
}

export function StyledLine({ line, color = true, wrap = "wrap" }: StyledLineProps) {
  return (
    <Text wrap={wrap}>
      {line.map((segment, i) =>
        color
          ? (
            <Text
              key={i}
              color={segment.color}
              bold={segment.bold}
              dimColor={segment.dim}
              inverse={segment.inverse}
            >
              {segment.text}
            </Text>
          )
          : segment.text
      )}
    </Text>
  );
}
