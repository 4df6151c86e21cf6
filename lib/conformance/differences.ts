/** What differs between an expected and an actual result, as one short line for the report. */

const MAX_QUOTE = 120;

/** `text` as a JSON string, cut to a readable length. */
export function quote(text: string): string {
  const quoted = JSON.stringify(text);
  return quoted.length > MAX_QUOTE ? `${quoted.slice(0, MAX_QUOTE - 4)}..."` : quoted;
}

/**
 * The first difference between two lists, or undefined when they are equal:
 * `statuses #3 of 4: expected "connected", got "connecting"`, or a missing / extra item.
 */
export function listDifference(
  what: string,
  expected: readonly string[],
  actual: readonly string[],
): string | undefined {
  const n = Math.min(expected.length, actual.length);
  for (let i = 0; i < n; i++) {
    if (expected[i] !== actual[i]) {
      return `${what} #${i + 1} of ${expected.length}: expected ${quote(expected[i])}, got ${
        quote(actual[i])
      } (${actual.length} in all)`;
    }
  }
  if (actual.length < expected.length) {
    return `${what}: ${actual.length} of ${expected.length}, first missing #${n + 1} ${
      quote(expected[n])
    }`;
  }
  if (actual.length > expected.length) {
    return `${what}: ${
      actual.length - expected.length
    } more than the ${expected.length} expected, first extra #${n + 1} ${quote(actual[n])}`;
  }
  return undefined;
}

/** The exit code check: `exit code 143, expected 0`, or undefined. */
export function exitDifference(expected: number | "nonzero", actual: number): string | undefined {
  if (expected === "nonzero") return actual === 0 ? "exit code 0, expected non-zero" : undefined;
  return actual === expected ? undefined : `exit code ${actual}, expected ${expected}`;
}

/**
 * The stderr check: exactly one non-empty line, holding every `includes` and no `excludes`.
 */
export function stderrDifference(
  stderr: string,
  want: { includes: string[]; excludes: string[] },
): string | undefined {
  const lines = stderr.split("\n").map((l) => l.trimEnd()).filter((l) => l.trim() !== "");
  if (lines.length !== 1) {
    return `stderr has ${lines.length} lines, expected one: ${
      quote(lines.slice(0, 3).join(" / "))
    }`;
  }
  const [line] = lines;
  const missing = want.includes.filter((s) => !line.includes(s));
  if (missing.length > 0) return `stderr ${quote(line)} lacks ${missing.map(quote).join(", ")}`;
  const leaked = want.excludes.filter((s) => line.includes(s));
  if (leaked.length > 0) {
    return `stderr ${quote(line)} must not contain ${leaked.map(quote).join(", ")}`;
  }
  return undefined;
}
