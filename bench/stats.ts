// Summary statistics shared by the benchmarks.

/** Percentiles (p in 0–100) of the values, by nearest rank on a numeric sort. */
export function percentiles(values: ArrayLike<number>, ps: readonly number[]): number[] {
  // Numeric sort: Array.prototype.sort without a comparator orders numbers as strings.
  const sorted = Array.from(values).sort((a, b) => a - b);
  return ps.map((p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]);
}
