// Drift of the model's score distribution against the one it was validated with: the population
// stability index over fixed probability bins, PSI = Σ (aᵢ − eᵢ) · ln(aᵢ / eᵢ) with shares floored
// at 1e-4 (an empty bin would make it infinite). Rule of thumb: < 0.1 stable, 0.1–0.25 moving,
// > 0.25 retrain. The bins are fixed rather than quantiles because fraud probabilities pile up
// near 0: quantile edges would collapse into one bin.
export const DRIFT_EDGES: readonly number[] = [0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.35, 0.5, 0.7, 0.9];

/** Counts per bin (DRIFT_EDGES.length + 1 bins). */
export function histogram(values: Iterable<number>): number[] {
  const h = new Array<number>(DRIFT_EDGES.length + 1).fill(0);
  for (const v of values) h[binOf(v)]++;
  return h;
}

function binOf(v: number): number {
  let i = 0;
  while (i < DRIFT_EDGES.length && v >= DRIFT_EDGES[i]) i++;
  return i;
}

/** PSI of `actual` counts against `expected` counts (same bins). */
export function psi(expected: readonly number[], actual: readonly number[]): number {
  const e = expected.reduce((a, b) => a + b, 0);
  const a = actual.reduce((x, y) => x + y, 0);
  if (e === 0 || a === 0) return 0;
  let sum = 0;
  for (let i = 0; i < expected.length; i++) {
    const ei = Math.max(1e-4, expected[i] / e);
    const ai = Math.max(1e-4, (actual[i] ?? 0) / a);
    sum += (ai - ei) * Math.log(ai / ei);
  }
  return sum;
}

export interface DriftMonitor {
  observe(probability: number): void;
  /** PSI of the scores since the last reset against the reference; 0 before `minCount` scores. */
  value(): number;
  readonly count: number;
  reset(): void;
}

/** Accumulates live scores and compares them with the model's reference histogram (metrics.json). */
export function createDriftMonitor(reference: readonly number[], minCount = 500): DriftMonitor {
  let counts = new Array<number>(reference.length).fill(0);
  let n = 0;
  return {
    observe(p) {
      counts[binOf(p)]++;
      n++;
    },
    value: () => (n < minCount ? 0 : psi(reference, counts)),
    get count() {
      return n;
    },
    reset() {
      counts = new Array<number>(reference.length).fill(0);
      n = 0;
    },
  };
}
