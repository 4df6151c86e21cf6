/**
 * Peer selectors: wherever a test file names a peer it may name several at once with a glob
 * (`node-*`, `seed-?`) or a numeric range (`node-[1-50]`, `node-[1-5,9]`), docs/config.md
 * "Selecting peers". A name without `*`, `?` or `[` selects that one peer. Pure.
 *
 * Peer names hold only letters, digits, `_`, `.` and `-` (`PEER_NAME_PATTERN`), so the three
 * special characters never clash with a name. Matching is a memoised walk over (pattern part,
 * name position): polynomial in the name's length whatever the pattern, never a backtracking
 * blow-up.
 */

/** A selector that cannot be read: an unclosed `[`, a range whose start is past its end. */
export class PeerPatternError extends Error {
  constructor(
    /** The selector as written. */
    readonly pattern: string,
    /** What is wrong with it, in words. */
    readonly reason: string,
  ) {
    super(`"${pattern}": ${reason}`);
    this.name = "PeerPatternError";
  }
}

/** One part of a selector: literal text, `*`, `?`, or a bracketed list of numeric ranges. */
type Part =
  | { kind: "text"; text: string }
  | { kind: "any" }
  | { kind: "one" }
  | { kind: "number"; ranges: { from: number; to: number }[] };

/** Whether `text` is a glob or range (or a stray `]`) rather than one peer's name. */
export function isPeerPattern(text: string): boolean {
  return /[*?[\]]/.test(text);
}

/**
 * A predicate for the names `pattern` selects.
 * @throws PeerPatternError when the pattern cannot be read
 */
export function compilePeerPattern(pattern: string): (name: string) => boolean {
  if (!isPeerPattern(pattern)) return (name) => name === pattern;
  const parts = parse(pattern);
  return (name) => matches(parts, name);
}

/**
 * The names `pattern` selects, in the order of `names`.
 * @throws PeerPatternError when the pattern cannot be read
 */
export function selectPeers(pattern: string, names: readonly string[]): string[] {
  const test = compilePeerPattern(pattern);
  return names.filter(test);
}

/**
 * `compilePeerPattern` and what it calls as script source (the functions' own text, types
 * stripped by the runtime), for report.html's lane search: the page selects peers exactly as the
 * test file does, from the one matcher.
 */
export function peerPatternScript(): string {
  return [PeerPatternError, isPeerPattern, compilePeerPattern, parse, parseRanges, matches, isDigit]
    .map(String).join("\n");
}

function parse(pattern: string): Part[] {
  const parts: Part[] = [];
  let text = "";
  const flush = () => {
    if (text !== "") parts.push({ kind: "text", text });
    text = "";
  };
  for (let i = 0; i < pattern.length; i++) {
    const char = pattern[i];
    if (char === "*") {
      flush();
      if (parts.at(-1)?.kind !== "any") parts.push({ kind: "any" });
    } else if (char === "?") {
      flush();
      parts.push({ kind: "one" });
    } else if (char === "[") {
      const end = pattern.indexOf("]", i);
      if (end < 0) throw new PeerPatternError(pattern, "[ is not closed by ]");
      flush();
      parts.push({ kind: "number", ranges: parseRanges(pattern, pattern.slice(i + 1, end)) });
      i = end;
    } else if (char === "]") {
      throw new PeerPatternError(pattern, "] without an opening [");
    } else {
      text += char;
    }
  }
  flush();
  return parts;
}

/** `1-50`, `3`, `1-5,9`: whole numbers, each range's start at most its end. */
function parseRanges(pattern: string, inside: string): { from: number; to: number }[] {
  return inside.split(",").map((item) => {
    const range = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(item);
    if (!range) {
      throw new PeerPatternError(
        pattern,
        `[${inside}] is not a numeric range: write [1-50], [7] or [1-5,9]`,
      );
    }
    const from = Number(range[1]);
    const to = range[2] === undefined ? from : Number(range[2]);
    if (from > to) {
      throw new PeerPatternError(pattern, `[${inside}] starts past its end (${from} > ${to})`);
    }
    return { from, to };
  });
}

function matches(parts: readonly Part[], name: string): boolean {
  // known[p * (n + 1) + i]: 0 unknown, 1 matches, 2 does not (parts from p, name from i).
  const n = name.length;
  const known = new Uint8Array((parts.length + 1) * (n + 1));
  const from = (p: number, i: number): boolean => {
    if (p === parts.length) return i === n;
    const slot = p * (n + 1) + i;
    if (known[slot] !== 0) return known[slot] === 1;
    const result = step(parts[p], p, i);
    known[slot] = result ? 1 : 2;
    return result;
  };
  const step = (part: Part, p: number, i: number): boolean => {
    switch (part.kind) {
      case "text":
        return name.startsWith(part.text, i) && from(p + 1, i + part.text.length);
      case "one":
        return i < n && from(p + 1, i + 1);
      case "any":
        for (let j = i; j <= n; j++) if (from(p + 1, j)) return true;
        return false;
      case "number": {
        // A whole number as written in a generated name: no sign, no leading zero.
        for (let j = i + 1; j <= n && isDigit(name.charCodeAt(j - 1)); j++) {
          if (name[i] === "0" && j > i + 1) break;
          const value = Number(name.slice(i, j));
          if (part.ranges.some((r) => value >= r.from && value <= r.to) && from(p + 1, j)) {
            return true;
          }
        }
        return false;
      }
    }
  };
  return from(0, 0);
}

function isDigit(code: number): boolean {
  return code >= 48 && code <= 57;
}
