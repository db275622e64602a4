/**
 * Small statistics for the benchmarks: percentiles by linear interpolation between closest
 * ranks (the same definition as numpy's default), and a summary that keeps the spread next to
 * the median, because every figure here comes from a shared, busy machine.
 */

/** The q-quantile (0 ≤ q ≤ 1) of `values`; NaN for no values. */
export function quantile(values: readonly number[], q: number): number {
  if (!(q >= 0 && q <= 1)) throw new RangeError(`quantile ${q} is outside [0, 1]`);
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const position = (sorted.length - 1) * q;
  const below = Math.floor(position);
  const above = Math.ceil(position);
  const low = sorted[below] as number;
  const high = sorted[above] as number;
  return low + (high - low) * (position - below);
}

export const median = (values: readonly number[]): number => quantile(values, 0.5);

export interface Summary {
  n: number;
  min: number;
  p25: number;
  median: number;
  p75: number;
  p99: number;
  max: number;
}

export function summarize(values: readonly number[]): Summary {
  return {
    n: values.length,
    min: values.length === 0 ? Number.NaN : Math.min(...values),
    p25: quantile(values, 0.25),
    median: quantile(values, 0.5),
    p75: quantile(values, 0.75),
    p99: quantile(values, 0.99),
    max: values.length === 0 ? Number.NaN : Math.max(...values),
  };
}

/** A number with `digits` decimals, or `–` when it is not a number. */
export function fixed(value: number | undefined, digits = 1): string {
  return value === undefined || !Number.isFinite(value) ? '–' : value.toFixed(digits);
}

/** `median (p25–p75)`, the way every timing appears in the report. */
export function withSpread(summary: Summary, digits = 1, unit = ''): string {
  return `${fixed(summary.median, digits)}${unit} (${fixed(summary.p25, digits)}–${fixed(summary.p75, digits)})`;
}

/** `median (min–max)`, for figures taken over a handful of repeated runs. */
export function withRange(summary: Summary, digits = 1, unit = ''): string {
  return `${fixed(summary.median, digits)}${unit} (${fixed(summary.min, digits)}–${fixed(summary.max, digits)})`;
}

/** Bytes as KiB with one decimal (bundle sizes), or MiB from 1 MiB on. */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes)) return '–';
  if (bytes >= 1024 * 1024) return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
  return `${(bytes / 1024).toFixed(1)} KiB`;
}

/** a / b, or NaN when b is 0 (a ratio against an empty baseline means nothing). */
export const ratio = (a: number, b: number): number => (b === 0 ? Number.NaN : a / b);
