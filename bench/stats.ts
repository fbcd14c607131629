// Summary statistics shared by the benchmarks.

/** Percentiles (p in 0–100) of the values, by nearest rank on a numeric sort. */
export function percentiles(values: ArrayLike<number>, ps: readonly number[]): number[] {
  // Numeric sort: Array.prototype.sort without a comparator orders numbers as strings.
  const sorted = Array.from(values).sort((a, b) => a - b);
  return ps.map((p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]);
}

/**
 * The worst latency of the events sent in each second of a run (`sentAtMs[i]`, `latencyMs[i]` for
 * i < n), as text: a stall shows as one bad second, a backlog as a rising run, warm-up as a bad start.
 */
export function worstPerSecond(sentAtMs: ArrayLike<number>, latencyMs: ArrayLike<number>, n = latencyMs.length): string {
  if (n === 0) return '';
  let t0 = Infinity;
  for (let i = 0; i < n; i++) if (sentAtMs[i] < t0) t0 = sentAtMs[i];
  const worst: number[] = [];
  for (let i = 0; i < n; i++) {
    const s = Math.floor((sentAtMs[i] - t0) / 1000);
    worst[s] = Math.max(worst[s] ?? 0, latencyMs[i]);
  }
  return Array.from(worst, (w) => Math.round(w ?? 0)).join(' ');
}

/** Start-up left out of the steady-state latency figures (afterWarmUp), ms. */
export const WARM_UP_MS = 3000;

/**
 * The events' latency after a run's start-up: p50 / p95 / p99 / max of those sent at least
 * `warmUpMs` after the first one (`sentAtMs[i]`, `latencyMs[i]` for i < n), as text. A process's
 * first seconds compile its code and grow its state from nothing, a cost paid once per start that
 * dominates a short run's tail; both figures are printed, this one beside the whole run's.
 */
export function afterWarmUp(sentAtMs: ArrayLike<number>, latencyMs: ArrayLike<number>, warmUpMs: number, n = latencyMs.length): string {
  const p = steadyPercentiles(sentAtMs, latencyMs, warmUpMs, [50, 95, 99, 100], n);
  if (!p) return 'none';
  const [p50, p95, p99, max] = p;
  return `p50=${p50} p95=${p95} p99=${p99} max=${max}`;
}

/** Percentiles `ps` of the latencies of the events sent at least `warmUpMs` after the first (as afterWarmUp); undefined for none. */
export function steadyPercentiles(sentAtMs: ArrayLike<number>, latencyMs: ArrayLike<number>, warmUpMs: number, ps: readonly number[], n = latencyMs.length): number[] | undefined {
  let t0 = Infinity;
  for (let i = 0; i < n; i++) if (sentAtMs[i] < t0) t0 = sentAtMs[i];
  const kept: number[] = [];
  for (let i = 0; i < n; i++) if (sentAtMs[i] >= t0 + warmUpMs) kept.push(latencyMs[i]);
  return kept.length === 0 ? undefined : percentiles(kept, ps);
}

/** The median (the mean of the middle two for an even count); NaN for none. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}
