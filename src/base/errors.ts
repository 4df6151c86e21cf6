/**
 * Error classes shared across roles, and how the CLI maps them to exit codes.
 */
import { escapeControls } from "../text/terminal_text.ts";

/** A mistake by the user (bad flag, bad or missing config): exit 2, no stack trace. */
export class UsageError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "UsageError";
  }
}

/** The exit codes of tm (README.md, Quick start). */
export const ExitCode = {
  /** The test completed and every peer stopped cleanly; or a command succeeded. */
  ok: 0,
  /** The test failed: startup/shutdown timeout, a crashed peer, an SSH/Docker/Redis failure. */
  failed: 1,
  /** Bad usage or an invalid config. */
  usage: 2,
  /** Interrupted: SIGINT, SIGTERM, SIGHUP or SIGQUIT (`src/engine/interrupt.ts`). */
  interrupted: 130,
} as const;

/** The message of anything thrown: an `Error`'s `message`, anything else as a string. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The stack of an error and of each of its causes, for --verbose and the log file. */
export function errorStack(error: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = error; e !== undefined; e = e instanceof Error ? e.cause : undefined) {
    parts.push(e instanceof Error ? e.stack ?? e.message : String(e));
  }
  return parts.join("\nCaused by: ");
}

/**
 * What the CLI prints for an error that ends the program, and the exit code. A `UsageError`
 * is `tm: <message>` (a config error: its `file:line:column: ...` lines) with no trace, even with
 * `verbose` (the mistake is in the input, not in tm); anything else is `tm: <message>` on one line, plus the stack trace when `verbose`.
 */
export function describeError(
  error: unknown,
  options: { verbose?: boolean } = {},
): { text: string; exitCode: number } {
  if (error instanceof UsageError) {
    // A ConfigError's lines already start with `file:line:column:`, as compilers print them.
    const text = error.name === "ConfigError" ? error.message : `tm: ${error.message}`;
    return { text: text.split("\n").map(escapeControls).join("\n"), exitCode: ExitCode.usage };
  }
  // Messages quote what hosts and peers sent: shown on one line, control characters escaped.
  const oneLine = `tm: ${escapeControls(errorMessage(error).split("\n")[0])}`;
  if (!options.verbose || !(error instanceof Error) || !error.stack) {
    return { text: oneLine, exitCode: ExitCode.failed };
  }
  return { text: `${oneLine}\n${errorStack(error)}`, exitCode: ExitCode.failed };
}
