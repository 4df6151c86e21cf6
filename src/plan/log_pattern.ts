/**
 * The regular expressions a test file gives tm to run on peer text (`expect[].log`), compiled
 * with RE2 semantics (re2js, a pure-JS port of RE2): matching takes time linear in the line, so
 * no pattern can freeze the run's main thread. A backtracking `RegExp` took 16 s for
 * `(a+)+$` on a 26-character line; re2js's DFA decides a 64 KiB line of `a`s in about 1 ms once
 * warm, 25 ms cold (measured on the 2-core test machine).
 *
 * Syntax is RE2's (docs/config.md, Expectations): no lookaround and no backreferences, which is
 * what makes the linear guarantee possible; such a pattern is refused when the file is loaded.
 */
import { RE2JS, RE2JSException } from "re2js";

/** A compiled pattern: `test` says whether it matches somewhere in the text. */
export interface LogPattern {
  readonly source: string;
  test(text: string): boolean;
}

/** A pattern RE2 does not accept; `reason` is RE2's own description. */
export class LogPatternError extends SyntaxError {
  constructor(readonly source: string, readonly reason: string) {
    super(`not a valid regular expression (RE2 syntax): ${reason}`);
    this.name = "LogPatternError";
  }
}

/**
 * Compiled patterns by source. Compiling costs about 0.1 ms each (10,000 distinct patterns:
 * 1.4 s): validation compiles each pattern once and the run reuses it. Bounded by the config.
 */
const compiled = new Map<string, LogPattern>();

/** Compiles `source` (RE2 syntax); throws `LogPatternError` for what RE2 refuses. */
export function compileLogPattern(source: string): LogPattern {
  const known = compiled.get(source);
  if (known) return known;
  let re: RE2JS;
  try {
    re = RE2JS.compile(source);
  } catch (error) {
    if (!(error instanceof RE2JSException)) throw error;
    throw new LogPatternError(source, describe(error));
  }
  const pattern: LogPattern = { source, test: (text) => re.test(text) };
  compiled.set(source, pattern);
  return pattern;
}

/** RE2's message without its `error parsing regexp: ` prefix; lookbehind named as such. */
function describe(error: RE2JSException): string {
  const reason = error.message.replace(/^error parsing regexp: /, "");
  // RE2 reads `(?<=` and `(?<!` as a named group with a bad name, and says so.
  return /^invalid named capture: `\(\?<[=!]/.test(reason)
    ? `lookbehind is not supported: ${reason.slice(reason.indexOf("`"))}`
    : reason;
}
