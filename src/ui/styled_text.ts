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

/** Cuts `line` to `width` columns (ending with `…` when cut) and pads it to exactly `width`. */
export function fitStyled(line: Styled, width: number): Styled {
  const out: Styled = [];
  let used = 0;
  const total = line.reduce((n, s) => n + s.text.length, 0);
  const limit = total > width ? width - 1 : width;
  for (const segment of line) {
    if (used >= limit) break;
    const text = segment.text.slice(0, limit - used);
    out.push({ ...segment, text });
    used += text.length;
  }
  if (total > width && width > 0) out.push({ text: "…" });
  else if (used < width) out.push({ text: " ".repeat(width - used) });
  return out;
}

/** Marks case-insensitive occurrences of `needle` in `line` as inverse. */
export function highlight(line: Styled, needle: string): Styled {
  if (needle === "") return line;
  const lowerNeedle = needle.toLowerCase();
  const out: Styled = [];
  for (const segment of line) {
    const lower = segment.text.toLowerCase();
    let from = 0;
    let at = lower.indexOf(lowerNeedle);
    while (at >= 0) {
      if (at > from) out.push({ ...segment, text: segment.text.slice(from, at) });
      out.push({ ...segment, text: segment.text.slice(at, at + needle.length), inverse: true });
      from = at + needle.length;
      at = lower.indexOf(lowerNeedle, from);
    }
    if (from < segment.text.length) out.push({ ...segment, text: segment.text.slice(from) });
  }
  return out;
}
