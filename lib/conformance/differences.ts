/** What differs between an expected and an actual result, as one short line for the report. */
import { tmReading } from "./vectors.ts";

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

/** The levels of a `level|message` log line (docs/protocol.md, "Logs"). */
const LOG_LEVELS = ["debug", "info", "warn", "error"];

/**
 * The first log line not of the form `level|message`, level one of debug, info, warn, error;
 * undefined when every line is.
 */
export function logFormatDifference(logs: readonly string[]): string | undefined {
  const index = logs.findIndex((line) => {
    const bar = line.indexOf("|");
    return bar < 0 || !LOG_LEVELS.includes(line.slice(0, bar));
  });
  if (index < 0) return undefined;
  return `log line #${index + 1} ${quote(logs[index])} is not "level|message" with level one of ${
    LOG_LEVELS.join(", ")
  } (LPUSH <peer>_log "info|text")`;
}

/**
 * The statuses `tm` acts on (see `tmReading`), compared in order with `expected`; the others
 * (connecting, ...) are left out of the comparison but shown.
 */
export function tmStatusDifference(
  expected: readonly string[],
  statuses: readonly string[],
): string | undefined {
  const read = statuses.map(tmReading).filter((s) => s !== undefined);
  const wrong = listDifference("statuses as tm reads them", expected, read);
  if (!wrong) return undefined;
  const all = statuses.length === 0 ? "none" : statuses.map(quote).join(", ");
  return `${wrong}; every status set: ${all}`;
}

/** `<key>` still holds commands after the peer exited: which, and what that means. */
export function commandsLeftText(left: readonly string[], expected: number, key: string): string {
  const shown = left.slice(0, 3).map(quote).join(", ") + (left.length > 3 ? ", ..." : "");
  const hint = expected === 0
    ? ": the peer exited before taking them; commands are taken oldest first" +
      ` (BLPOP ${key} 0: tm appends with RPUSH), and "shutdown" is the last`
    : "";
  return `${key} holds ${left.length} command(s) after the peer exited, expected ${expected}` +
    ` (${shown})${hint}`;
}

/**
 * The log lines naming `commands` (one of them followed by no digit): each must be named, in
 * the order sent, and none missing at the end (lost when the peer exited). `none`: no line
 * names any, so nothing could be checked.
 */
export function commandLogDifference(
  commands: readonly string[],
  logs: readonly string[],
): { none: boolean; difference?: string } {
  const index = new Map(commands.map((c, i) => [c, i]));
  const pattern = new RegExp(
    `(${commands.map((c) => c.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join("|")})(?![0-9])`,
  );
  const named: { line: number; command: number }[] = [];
  logs.forEach((line, i) => {
    const match = pattern.exec(line);
    if (match) named.push({ line: i, command: index.get(match[1])! });
  });
  if (named.length === 0) return { none: true };
  let expected = 0;
  for (const { line, command } of named) {
    if (command === expected - 1) continue; // a second line about the same command
    if (command !== expected) {
      return {
        none: false,
        difference:
          `log line #${line + 1} ${quote(logs[line])} names ${quote(commands[command])} where ${
            quote(commands[expected])
          } was next: commands were sent in order (RPUSH)` +
          ` and must be taken oldest first (BLPOP from the left)`,
      };
    }
    expected++;
  }
  if (expected < commands.length) {
    return {
      none: false,
      difference: `log lines lost: lines name the first ${expected} of ${commands.length}` +
        ` commands, none names ${quote(commands[expected])} or later; every line logged before` +
        ` exit must be pushed to <peer>_log first (flush before "stopped", then exit)`,
    };
  }
  return { none: false };
}
