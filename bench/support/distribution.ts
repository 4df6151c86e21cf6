/** Summaries of a sample of latencies, and the ratios the benchmarks print beside a baseline. */

/** p50, p99 and max of a sample, ms; NaN for an empty sample. */
export interface Distribution {
  count: number;
  p50: number;
  p99: number;
  max: number;
}

/** The nearest-rank percentile `p` (0–100) of an ascending sample; NaN if it is empty. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

/** Summarises `values` (any order; not modified). */
export function distribution(values: readonly number[]): Distribution {
  const sorted = [...values].sort((a, b) => a - b);
  return {
    count: sorted.length,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    max: sorted.at(-1) ?? NaN,
  };
}

/** `measured / baseline` as `1.23×`; `—` when the baseline is zero or missing. */
export function ratio(measured: number, baseline: number): string {
  return baseline > 0 && Number.isFinite(measured) ? `${(measured / baseline).toFixed(2)}×` : "—";
}

/** Milliseconds with `digits` decimals. */
export function ms(value: number, digits = 2): string {
  return Number.isFinite(value) ? `${value.toFixed(digits)} ms` : "—";
}

/** A target's verdict cell. */
export function met(ok: boolean): string {
  return ok ? "met" : "**missed**";
}
