/**
 * Error classes shared across roles, and how the CLI maps them to exit codes.
 */

/** A mistake by the user (bad flag, bad or missing config): exit 2, no stack trace. */
export class UsageError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "UsageError";
  }
}
