// A mergeable percentile digest, computed IDENTICALLY here and in DuckDB SQL (digestBucketSql):
// a log-linear histogram (HDR-histogram style). A value x > 0 with 2^e ≤ x < 2^(e+1) falls in
// bucket e·S + floor((x / 2^e − 1) · S), S linear sub-buckets per power of two (a power of two
// itself); 0 has a bucket of its own (DIGEST_ZERO_BUCKET); negative values and NaN are not
// counted. Buckets hold counts; merging adds them.
//
// Exact in both layers: the exponent is floor(log2 x) corrected against exact powers of two, and
// x / 2^e − 1 and its product with S are exact in binary floating point, so the bucket never
// depends on the last bit of a libm's log (V8 and DuckDB use different ones).
//
// Error: a quantile is read as the bucket's representative 2·lo·hi / (lo + hi), within a relative
// (hi − lo) / (hi + lo) ≤ 1 / (2S + 1) of every value of the bucket: 0.78 % for S = 64. The
// quantile is the nearest-rank one: the value of rank ceil(q · n) in sorted order.

import type { AsciiWriter } from './ascii-writer';

const OPEN = '['.charCodeAt(0);
const CLOSE = ']'.charCodeAt(0);
const COMMA = ','.charCodeAt(0);

/** Bucket of exact zeros (below every real bucket, whose lowest is −1074·S). */
export const DIGEST_ZERO_BUCKET = -1_000_000;

/** The bucket of x, or null when x is not counted (negative, NaN, ±∞). */
export function digestBucket(x: number, subBuckets: number): number | null {
  if (!(x >= 0) || x === Infinity) return null;
  if (x === 0) return DIGEST_ZERO_BUCKET;
  let e = Math.floor(Math.log2(x));
  if (2 ** e > x) e--;
  else if (2 ** (e + 1) <= x) e++;
  return e * subBuckets + Math.floor((x / 2 ** e - 1) * subBuckets);
}

/**
 * DuckDB select items computing digestBucket(value) as INTEGER column `name` (NULL when not
 * counted). They use DuckDB's lateral column aliases: put them in one SELECT list, in order.
 */
export function digestBucketSql(value: string, subBuckets: number, name: string): string[] {
  const e0 = `${name}__e0`;
  const e = `${name}__e`;
  return [
    `floor(log2(CASE WHEN ${value} > 0 THEN ${value} END)) AS ${e0}`,
    `${e0} - CASE WHEN pow(2.0, ${e0}) > ${value} THEN 1 WHEN pow(2.0, ${e0} + 1) <= ${value} THEN -1 ELSE 0 END AS ${e}`,
    `CASE WHEN ${value} = 0 THEN ${DIGEST_ZERO_BUCKET} WHEN ${value} > 0 THEN (${e} * ${subBuckets} + floor((${value} / pow(2.0, ${e}) - 1) * ${subBuckets}))::INTEGER END AS ${name}`,
  ];
}

/** The value a bucket stands for: within 1 / (2S + 1) relative of every value in it. */
export function digestRepresentative(bucket: number, subBuckets: number): number {
  if (bucket === DIGEST_ZERO_BUCKET) return 0;
  const e = Math.floor(bucket / subBuckets);
  const j = bucket - e * subBuckets;
  const lo = 2 ** e * (1 + j / subBuckets);
  const hi = 2 ** e * (1 + (j + 1) / subBuckets);
  return (2 * lo * hi) / (lo + hi);
}

/** Upper bound of the relative error of a quantile read from a digest. */
export const digestRelativeError = (subBuckets: number): number => 1 / (2 * subBuckets + 1);

export class Digest {
  readonly subBuckets: number;
  /** Sorted buckets and their counts, interleaved: [bucket, count, bucket, count, …]. */
  private pairs: number[] = [];
  private n = 0;

  constructor(subBuckets: number) {
    this.subBuckets = subBuckets;
  }

  /** Values counted. */
  get count(): number {
    return this.n;
  }

  add(x: number): void {
    const b = digestBucket(x, this.subBuckets);
    if (b !== null) this.addBucket(b, 1);
  }

  addBucket(bucket: number, count: number): void {
    const p = this.pairs;
    if (p.length === 0) {
      // most cells see one or two values: an exact-size array, not push()'s 17 slots
      this.pairs = [bucket, count];
      this.n += count;
      return;
    }
    let lo = 0;
    let hi = p.length / 2;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (p[2 * mid] < bucket) lo = mid + 1;
      else hi = mid;
    }
    if (2 * lo < p.length && p[2 * lo] === bucket) p[2 * lo + 1] += count;
    else if (2 * lo === p.length) p.push(bucket, count);
    else p.splice(2 * lo, 0, bucket, count);
    this.n += count;
  }

  merge(other: Digest): void {
    if (other.subBuckets !== this.subBuckets) throw new RangeError(`cannot merge a digest of ${other.subBuckets} sub-buckets into ${this.subBuckets}`);
    const o = other.pairs;
    for (let i = 0; i < o.length; i += 2) this.addBucket(o[i], o[i + 1]);
  }

  /** [bucket, count] pairs in bucket order (what the SQL lists hold). */
  buckets(): [number, number][] {
    const out: [number, number][] = [];
    for (let i = 0; i < this.pairs.length; i += 2) out.push([this.pairs[i], this.pairs[i + 1]]);
    return out;
  }

  /** Nearest-rank q-quantile (q in (0, 1]), or null when empty. */
  quantile(q: number): number | null {
    if (this.n === 0) return null;
    const rank = Math.max(1, Math.ceil(q * this.n));
    const p = this.pairs;
    let seen = 0;
    for (let i = 0; i < p.length; i += 2) {
      seen += p[i + 1];
      if (seen >= rank) return digestRepresentative(p[i], this.subBuckets);
    }
    return digestRepresentative(p[p.length - 2], this.subBuckets);
  }

  clone(): Digest {
    const copy = new Digest(this.subBuckets);
    copy.pairs = this.pairs.slice();
    copy.n = this.n;
    return copy;
  }

  /** Flat [bucket, count, bucket, count, …] in bucket order. */
  encode(): number[] {
    return this.pairs.slice();
  }

  /** Writes encode() as JSON text (a cell's changelog value is written in one piece: cells.ts encodeParts). */
  encodeTo(w: AsciiWriter): void {
    w.code(OPEN);
    for (let i = 0; i < this.pairs.length; i++) {
      if (i > 0) w.code(COMMA);
      w.number(this.pairs[i]);
    }
    w.code(CLOSE);
  }

  static decode(subBuckets: number, flat: readonly number[]): Digest {
    const d = new Digest(subBuckets);
    for (let i = 0; i + 1 < flat.length; i += 2) d.addBucket(flat[i], flat[i + 1]);
    return d;
  }
}
