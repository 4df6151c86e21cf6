/**
 * Styled text as data: a line is a list of segments with a colour and emphasis, rendered either
 * by ink (`<Segments>`) or as a string with or without ANSI codes (the plain console).
 */

/** A colour as ink takes it: a named colour (`red`, `gray`, …) or `ansi256(n)`. */
export type Color = string;

export interface Segment {
  text: string;
  color?: Color;
  bold?: boolean;
  dim?: boolean;
  inverse?: boolean;
}

/** Styled text: segments in order. */
export type Styled = Segment[];

const NAMED: Record<string, number> = {
  black: 30,
  red: 31,
  green: 32,
  yellow: 33,
  blue: 34,
  magenta: 35,
  cyan: 36,
  white: 37,
  gray: 90,
  grey: 90,
  redBright: 91,
  greenBright: 92,
  yellowBright: 93,
  blueBright: 94,
  magentaBright: 95,
  cyanBright: 96,
  whiteBright: 97,
};

/** The SGR parameters that select `color`, or undefined for an unknown colour. */
function colorCode(color: Color): string | undefined {
  if (color in NAMED) return String(NAMED[color]);
  const match = /^ansi256\((\d{1,3})\)$/.exec(color);
  return match ? `38;5;${match[1]}` : undefined;
}

/** The text of `line`, styled with ANSI SGR codes when `color` is true, plain otherwise. */
export function renderStyled(line: Styled, color: boolean): string {
  if (!color) return line.map((s) => s.text).join("");
  return line.map((segment) => {
    const codes: string[] = [];
    if (segment.bold) codes.push("1");
    if (segment.dim) codes.push("2");
    if (segment.inverse) codes.push("7");
    const fg = segment.color ? colorCode(segment.color) : undefined;
    if (fg) codes.push(fg);
    return codes.length === 0 || segment.text === ""
      ? segment.text
      : `\x1b[${codes.join(";")}m${segment.text}\x1b[0m`;
  }).join("");
}

/** The visible text of `line`. */
export function plainText(line: Styled): string {
  return line.map((s) => s.text).join("");
}
