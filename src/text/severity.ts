/**
 * The one severity scale of tm, most severe first: the levels of `log_level` in the config (what
 * the orchestrator reports of itself) and what a peer's log level means (`warning`, `fatal`, …).
 */

/** The levels, most severe first; a threshold lets through its own level and those before it. */
export const SEVERITIES = ["error", "warn", "info", "debug", "trace"] as const;

export type Severity = (typeof SEVERITIES)[number];

/**
 * What a log level means, whatever its spelling: `warn`/`warning` → `warn`; `error`, `err`,
 * `fatal`, `critical` → `error`; `info`, `debug`, `trace` as themselves (any case); any other
 * word a peer uses (`notice`, `verbose`) → `info`.
 */
export function severityOf(level: string): Severity {
  switch (level.toLowerCase()) {
    case "error":
    case "err":
    case "fatal":
    case "critical":
      return "error";
    case "warn":
    case "warning":
      return "warn";
    case "debug":
      return "debug";
    case "trace":
      return "trace";
    default:
      return "info";
  }
}

/** Whether `severity` is reported at the threshold `level` (`info`: error, warn and info). */
export function isReported(severity: Severity, level: Severity): boolean {
  return SEVERITIES.indexOf(severity) <= SEVERITIES.indexOf(level);
}
