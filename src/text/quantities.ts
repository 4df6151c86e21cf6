/**
 * How tm writes quantities, in the views and the log file alike: run times, durations, byte counts
 * (decimal units, as docker reports image sizes), rates, ETAs and progress bars.
 */

/** A count and its noun, plural unless it is 1: `1 peer`, `3 peers`, `0 peers`. */
export function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? "" : "s"}`;
}

/** `[  12.3s]`: run time in seconds, one decimal, right-aligned to 6 characters. */
export function formatStamp(ms: number): string {
  return `[${(Math.max(0, ms) / 1000).toFixed(1).padStart(6)}s]`;
}

/**
 * Seconds as a test file writes them, to the millisecond the timeline keeps: `1.2 s`, `0.25 s`,
 * `30 s` (a float sum such as 1.2000000000000002 is not shown as is).
 */
export function formatSeconds(seconds: number): string {
  return `${Number(seconds.toFixed(3))} s`;
}

/** A duration for people: `850 ms`, `4.2s`, `3m 05s`, `1h 02m`. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.max(0, Math.round(ms))} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  const totalSeconds = Math.floor(ms / 1000);
  const hours = Math.floor(totalSeconds / 3600);
  const minutes = Math.floor((totalSeconds % 3600) / 60);
  const seconds = totalSeconds % 60;
  return hours > 0
    ? `${hours}h ${String(minutes).padStart(2, "0")}m`
    : `${minutes}m ${String(seconds).padStart(2, "0")}s`;
}

/** A short time in state for table cells: `5s`, `12m`, `3h`. */
export function formatAge(ms: number): string {
  const seconds = Math.max(0, Math.floor(ms / 1000));
  if (seconds < 60) return `${seconds}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m`;
  return `${Math.floor(seconds / 3600)}h`;
}

/** Elapsed time as a clock: `00:42`, `12:05`, `1:02:09`. */
export function formatClock(ms: number): string {
  const totalSeconds = Math.max(0, Math.floor(ms / 1000));
  const hours = Math.floor(totalSeconds / 3600);
  const mm = String(Math.floor((totalSeconds % 3600) / 60)).padStart(2, "0");
  const ss = String(totalSeconds % 60).padStart(2, "0");
  return hours > 0 ? `${hours}:${mm}:${ss}` : `${mm}:${ss}`;
}

const BYTE_UNITS = ["B", "kB", "MB", "GB", "TB"];

/** Decimal byte count: `512 B`, `20.1 MB`. */
export function formatBytes(bytes: number): string {
  let value = Math.max(0, bytes);
  let unit = 0;
  while (value >= 1000 && unit < BYTE_UNITS.length - 1) {
    value /= 1000;
    unit++;
  }
  return unit === 0 ? `${Math.round(value)} B` : `${value.toFixed(1)} ${BYTE_UNITS[unit]}`;
}

/** Transfer rate: `18.3 MB/s`. */
export function formatRate(bytesPerSecond: number): string {
  return `${formatBytes(bytesPerSecond)}/s`;
}

/** Bytes over milliseconds as bytes per second; 0 when no time has passed. */
export function rate(bytes: number, ms: number): number {
  return ms > 0 ? (bytes * 1000) / ms : 0;
}

/** Remaining time at the given rate, or undefined when it cannot be estimated. */
export function eta(bytes: number, total: number | undefined, bytesPerSecond: number) {
  if (total === undefined || bytesPerSecond <= 0 || bytes >= total) return undefined;
  return ((total - bytes) / bytesPerSecond) * 1000;
}

/** A bar of `width` cells, `█` filled and `░` empty; `fraction` is clamped to [0, 1]. */
export function progressBar(fraction: number, width: number): string {
  const cells = Math.max(0, width);
  const filled = Math.round(Math.min(1, Math.max(0, fraction)) * cells);
  return "█".repeat(filled) + "░".repeat(cells - filled);
}

/** Cuts `text` to `width` columns, ending with `…` when cut. */
export function truncate(text: string, width: number): string {
  if (width <= 0) return "";
  if (text.length <= width) return text;
  return width === 1 ? "…" : text.slice(0, width - 1) + "…";
}

/** Pads or cuts `text` to exactly `width` columns. */
export function fit(text: string, width: number): string {
  return truncate(text, width).padEnd(Math.max(0, width));
}
