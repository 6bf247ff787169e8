/** The few statistics the KPIs share; every one returns null when there is nothing to measure. */

export function mean(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  let sum = 0;
  for (const v of values) sum += v;
  return sum / values.length;
}

/**
 * Nearest-rank percentile (the smallest value with at least p % of the values at or below it):
 * always one of the measured values, never an interpolation between two calls.
 */
export function percentile(values: readonly number[], p: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1]!;
}

export function ratio(part: number, whole: number): number | null {
  return whole > 0 ? part / whole : null;
}
