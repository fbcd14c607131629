// Bucketed ring counters: count and sum of events over a sliding event-time horizon, in a fixed
// number of buckets (bounded memory, whatever the traffic). A horizon H with bucket width W keeps
// H/W + 1 buckets; a read at time T sums the buckets of [bucket(T) − H/W, bucket(T)], i.e. the
// current, partial bucket plus H of full ones: the window covers between H and H + W of event time.
// An event older than the ring's oldest bucket is not counted in that horizon (it still counts in
// the longer ones that reach it).

export interface RingSpec {
  readonly name: string;
  /** Bucket width, µs. */
  readonly widthUs: number;
  /** Buckets kept: horizon / width + 1. */
  readonly size: number;
}

export const MINUTE_US = 60_000_000;
export const HOUR_US = 60 * MINUTE_US;

/** 1 min in 10 s buckets, 1 h in 1 min buckets, 24 h in 1 h buckets. */
export const RINGS: readonly RingSpec[] = [
  { name: '1m', widthUs: 10_000_000, size: 7 },
  { name: '1h', widthUs: MINUTE_US, size: 61 },
  { name: '24h', widthUs: HOUR_US, size: 25 },
];

/** Offsets of each ring's buckets in an entity's counter array (count at 2i, sum at 2i + 1). */
export const RING_BASE: readonly number[] = RINGS.reduce<number[]>((acc, _r, i) => [...acc, i === 0 ? 0 : acc[i - 1] + RINGS[i - 1].size], []);
export const BUCKETS = RINGS.reduce((n, r) => n + r.size, 0);

/** Folds (1, amount) into ring `r` at event time `us`. `heads[r]` is the absolute index of its newest bucket. */
export function ringAdd(cells: Float64Array, heads: number[], r: number, us: number, amount: number): void {
  const { widthUs, size } = RINGS[r];
  const base = RING_BASE[r];
  const b = Math.floor(us / widthUs);
  const head = heads[r];
  if (b > head) {
    // advance: clear the buckets between the old head and the new one (at most the whole ring)
    const clear = head === -Infinity ? size : Math.min(size, b - head);
    for (let k = 0; k < clear; k++) {
      const slot = base + mod(b - k, size);
      cells[2 * slot] = 0;
      cells[2 * slot + 1] = 0;
    }
    heads[r] = b;
  } else if (b <= head - size) {
    return; // older than the ring
  }
  const slot = base + mod(b, size);
  cells[2 * slot] += 1;
  cells[2 * slot + 1] += amount;
}

/** Count and sum of a window (`out` of a read: reused by merged reads instead of one object per ring and entity). */
export interface WindowSum {
  count: number;
  sum: number;
}

/** Count and sum of ring `r` as of event time `us`, into `out`. */
export function ringRead(cells: Float64Array, heads: number[], r: number, us: number, out: WindowSum = { count: 0, sum: 0 }): WindowSum {
  const { widthUs, size } = RINGS[r];
  const base = RING_BASE[r];
  const cur = Math.floor(us / widthUs);
  const head = heads[r];
  let count = 0;
  let sum = 0;
  // buckets held: (head − size, head]; wanted: [cur − size + 1, cur]
  const hi = Math.min(head, cur);
  const lo = Math.max(head - size + 1, cur - size + 1);
  for (let a = hi; a >= lo; a--) {
    const slot = base + mod(a, size);
    count += cells[2 * slot];
    sum += cells[2 * slot + 1];
  }
  out.count = count;
  out.sum = sum;
  return out;
}

/**
 * The same read over a short event log `[us, amount, us, amount, …]` (entities with few events keep
 * one instead of rings): identical results, as a ring holds exactly the events whose bucket is
 * within `size` of the newest event's bucket (`maxUs`).
 */
export function logRead(log: readonly number[], maxUs: number, r: number, us: number, out: WindowSum = { count: 0, sum: 0 }): WindowSum {
  const { widthUs, size } = RINGS[r];
  const cur = Math.floor(us / widthUs);
  const lo = Math.max(Math.floor(maxUs / widthUs) - size + 1, cur - size + 1);
  let count = 0;
  let sum = 0;
  // Sums added as the ring adds them (per bucket in arrival order, buckets newest first), so the
  // floating-point result is the same to the last bit.
  let next = cur + 1;
  for (;;) {
    let bucket = -Infinity;
    for (let k = 0; k < log.length; k += 2) {
      const b = Math.floor(log[k] / widthUs);
      if (b >= lo && b < next && b > bucket) bucket = b;
    }
    if (bucket === -Infinity) break;
    let bucketSum = 0;
    for (let k = 0; k < log.length; k += 2) {
      if (Math.floor(log[k] / widthUs) === bucket) {
        count++;
        bucketSum += log[k + 1];
      }
    }
    sum += bucketSum;
    next = bucket;
  }
  out.count = count;
  out.sum = sum;
  return out;
}

function mod(a: number, n: number): number {
  const m = a % n;
  return m < 0 ? m + n : m;
}
