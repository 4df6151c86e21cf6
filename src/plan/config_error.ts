/**
 * `ConfigError`: every problem found in a config file, each with its YAML path and, where the
 * file has a node for it, its line and column. A user mistake: exit 2, no stack trace.
 */
import { UsageError } from "../base/errors.ts";
import { escapeControls } from "../text/terminal_text.ts";

/** One problem in a config file. */
export interface ConfigProblem {
  /** YAML path such as `peers[2].runs_on`; empty for the file as a whole. */
  path: string;
  /** 1-based line of the offending node (for a missing field: of the map that lacks it). */
  line?: number;
  /** 1-based column of that node. */
  column?: number;
  message: string;
}

/**
 * Formats one problem as `file:line:column: path: message` (parts without data left out), on one
 * line whatever the file holds: a key or value quoted in it has its newlines and other control
 * characters escaped (a YAML complex key such as `? {a: 1}` may span lines).
 */
export function formatProblem(file: string, problem: ConfigProblem): string {
  return escapeControls(problemLine(file, problem));
}

function problemLine(file: string, problem: ConfigProblem): string {
  const where = problem.line === undefined
    ? file
    : `${file}:${problem.line}${problem.column === undefined ? "" : `:${problem.column}`}`;
  return problem.path
    ? `${where}: ${problem.path}: ${problem.message}`
    : `${where}: ${problem.message}`;
}

/** A config file that cannot be used; `message` holds one line per problem. */
export class ConfigError extends UsageError {
  constructor(
    /** The config file as the user named it. */
    readonly file: string,
    /** Every problem found, in file order where positions are known. */
    readonly problems: ConfigProblem[],
    options?: ErrorOptions,
  ) {
    super(problems.map((problem) => formatProblem(file, problem)).join("\n"), options);
    this.name = "ConfigError";
  }
}
