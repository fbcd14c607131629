// Adaptive baselines: per tenant, metric and (optionally) entity, what is usual for that tenant,
// learned from its own stream, so a detector's threshold is "far from this tenant's usual" rather
// than one global constant (a marketplace's normal basket is a grocer's outlier).
//
// Each key keeps, in O(1) memory:
// - an EWMA mean and variance (West's update, weight `alpha`): fast to follow, but one huge value
//   drags it;
// - a streaming median and MAD: exact over the first `warmup` values, then moved by a fixed step
//   towards each new value (m += η·sign(x − m), the stochastic-approximation quantile estimator),
//   the step being `alpha` × the current scale so it is unit-free. A single outlier moves it by one
//   step only: the robust z-score (x − median) / (1.4826 · MAD) is what detectors threshold.
// The MAD of a metric that is mostly one value (1 card per device) is 0; callers give a floor for
// the scale (`robustZ(…, floor)`), in the metric's own unit, so "3 when the usual is 1" is not an
// infinite z.
//
// Bounded: at most `maxKeys` keys; beyond, the least recently observed tenth is dropped (a dropped
// key warms up again). Not checkpointed yet (docs/fraud.md, limits): after a restart baselines
// warm up again over the next `warmup` values of each key.

export interface BaselineStats {
  /** Values observed. */
  n: number;
  mean: number;
  std: number;
  median: number;
  /** Median absolute deviation from the median (unscaled). */
  mad: number;
}

export interface BaselineOptions {
  /** EWMA weight of a new value, also the median/MAD step relative to the scale. Default 0.05. */
  alpha?: number;
  /** Values kept exactly before switching to streaming estimates; no z-score before. Default 8. */
  warmup?: number;
  /** Keys held at most. Default 200,000. */
  maxKeys?: number;
}

/** What detectors read (as of before the event being scored). */
export interface BaselineView {
  stats(tenant: string, metric: string, entity?: string): BaselineStats | undefined;
  /** (x − median) / max(1.4826·MAD, floor); null while the key is warming up. */
  robustZ(tenant: string, metric: string, x: number, floor: number, entity?: string): number | null;
  /** (x − mean) / max(std, floor); null while warming up. */
  z(tenant: string, metric: string, x: number, floor: number, entity?: string): number | null;
}

export interface Baselines extends BaselineView {
  observe(tenant: string, metric: string, x: number, entity?: string): void;
  readonly size: number;
}

interface Key {
  n: number;
  mean: number;
  variance: number;
  median: number;
  mad: number;
  /** The first values while warming up; null after. */
  warm: number[] | null;
  seen: number;
}

/** 1 / Φ⁻¹(3/4): MAD × this estimates σ for normal data. */
export const MAD_TO_SIGMA = 1.4826;

function medianOf(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export function createBaselines(opts: BaselineOptions = {}): Baselines {
  const alpha = opts.alpha ?? 0.05;
  const warmup = opts.warmup ?? 8;
  const maxKeys = opts.maxKeys ?? 200_000;
  if (!(alpha > 0 && alpha < 1) || !(warmup >= 2) || !(maxKeys >= 1)) throw new RangeError('baselines: invalid options');
  const keys = new Map<string, Key>();
  let clock = 0;
  const keyOf = (tenant: string, metric: string, entity = '') => `${tenant}\u0000${metric}\u0000${entity}`;
  const ready = (k: Key | undefined): k is Key => k !== undefined && k.warm === null;

  function evict(): void {
    // the least recently observed tenth; rare (amortized over maxKeys / 10 inserts)
    const order = [...keys].sort((a, b) => a[1].seen - b[1].seen);
    for (let i = 0; i < Math.ceil(maxKeys / 10); i++) keys.delete(order[i][0]);
  }

  function observe(tenant: string, metric: string, x: number, entity?: string): void {
    if (!Number.isFinite(x)) return;
    const id = keyOf(tenant, metric, entity);
    let k = keys.get(id);
    if (!k) {
      if (keys.size >= maxKeys) evict();
      keys.set(id, (k = { n: 0, mean: x, variance: 0, median: x, mad: 0, warm: [], seen: 0 }));
    }
    k.seen = ++clock;
    // the median's step comes from the robust scale as it was before this value (the EWMA
    // variance is not robust: one huge value would make the next steps huge), floored so a key
    // whose MAD is 0 can still move
    const step = alpha * Math.max(k.mad, Math.abs(k.median) * 0.01, 1e-6);
    if (k.n > 0) {
      const diff = x - k.mean;
      const inc = alpha * diff;
      k.mean += inc;
      k.variance = (1 - alpha) * (k.variance + diff * inc);
    }
    k.n++;
    if (k.warm) {
      k.warm.push(x);
      k.median = medianOf(k.warm);
      k.mad = medianOf(k.warm.map((v) => Math.abs(v - k.median)));
      if (k.warm.length >= warmup) k.warm = null;
      return;
    }
    k.median += step * Math.sign(x - k.median);
    k.mad = Math.max(0, k.mad + step * Math.sign(Math.abs(x - k.median) - k.mad));
  }

  return {
    observe,
    stats(tenant, metric, entity) {
      const k = keys.get(keyOf(tenant, metric, entity));
      return k && { n: k.n, mean: k.mean, std: Math.sqrt(k.variance), median: k.median, mad: k.mad };
    },
    robustZ(tenant, metric, x, floor, entity) {
      const k = keys.get(keyOf(tenant, metric, entity));
      return ready(k) ? (x - k.median) / Math.max(MAD_TO_SIGMA * k.mad, floor) : null;
    },
    z(tenant, metric, x, floor, entity) {
      const k = keys.get(keyOf(tenant, metric, entity));
      return ready(k) ? (x - k.mean) / Math.max(Math.sqrt(k.variance), floor) : null;
    },
    get size() {
      return keys.size;
    },
  };
}
