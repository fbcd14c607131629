// HyperLogLog for distinct counts, computed IDENTICALLY here and in DuckDB SQL (hllPackedSql), so
// speed and batch cells hold the same registers for the same events (docs/measures.md).
//
// Hash: the first 8 bytes of md5(UTF-8 value), read as a big-endian 64-bit integer h. With
// precision p: register = the top p bits of h; rank = (leading zeros of the other 64 − p bits) + 1,
// in 1..65 − p. A register keeps the largest rank seen; merging is register-wise max. A value is
// carried around "packed": register · 64 + rank.
//
// Representation: sparse (sorted packed entries, one per non-zero register, 8 bytes each) until an
// eighth of the registers are set, then dense (one byte per register). The estimate is Ertl's
// improved raw estimator ("New cardinality estimation algorithms for HyperLogLog sketches",
// 2017), accurate from 0 to far beyond 10^9 without bias tables: standard error ≈ 1.04 / √(2^p),
// 0.81 % at p = 14.
import { AsciiWriter } from './ascii-writer';
import { md5Head } from './md5';

const head = new Uint32Array(2);

/** Packed (register · 64 + rank) of a value: what the SQL expression hllPackedSql computes. */
export function hllPacked(value: string, precision: number): number {
  md5Head(value, head);
  return packHash(head[0], head[1], precision);
}

/** Packs the 64-bit hash hi·2^32 + lo. Exported for tests. */
export function packHash(hi: number, lo: number, p: number): number {
  const register = hi >>> (32 - p);
  const wHi = hi & ((1 << (32 - p)) - 1); // the 32 − p hash bits left in hi
  let zeros: number;
  if (wHi !== 0) zeros = Math.clz32(wHi) - p;
  else if (lo !== 0) zeros = 32 - p + Math.clz32(lo);
  else zeros = 64 - p;
  return register * 64 + zeros + 1;
}

/**
 * DuckDB SQL for hllPacked(value) (UINTEGER; NULL when the value is NULL). `value` is a VARCHAR
 * expression; md5 hashes its UTF-8 bytes, as node:crypto does.
 */
export function hllPackedSql(value: string, precision: number): string {
  const q = 64 - precision;
  const h = `('0x' || substr(md5(${value}), 1, 16))::UBIGINT`;
  const w = `(${h} & ${2n ** BigInt(q) - 1n}::UBIGINT)`;
  // bin(w) is w in binary without leading zeros, so its length is w's bit length
  return `((${h} >> ${q}) * 64 + CASE WHEN ${w} = 0 THEN ${q + 1} ELSE ${q + 1} - length(bin(${w})) END)::UINTEGER`;
}

/**
 * DuckDB SQL that turns `sorted`, a column holding a sorted LIST of distinct packed values, into
 * the canonical register list: one entry per register, the one with its largest rank.
 */
export function hllCanonicalSql(sorted: string): string {
  return `list_filter(${sorted}, (x, i) -> i = len(${sorted}) OR (${sorted}[i + 1] // 64) <> (x // 64))`;
}

const registerOf = (packed: number) => Math.floor(packed / 64);
/** Leading letters of encode(): sparse, dense. */
const S = 's'.charCodeAt(0);
const D = 'd'.charCodeAt(0);

/** Varint bytes of encode(), reused (single-threaded). */
let scratch = Buffer.allocUnsafe(4096);
/** encode()'s text, reused (single-threaded). */
const writer = new AsciiWriter();

export class HllSketch {
  readonly precision: number;
  /** Sorted packed entries, one per non-zero register (sparse form); null once dense. */
  private sparse: number[] | null = [];
  /** Rank per register (dense form). */
  private dense: Uint8Array | null = null;

  constructor(precision: number) {
    if (!Number.isInteger(precision) || precision < 4 || precision > 18) throw new RangeError(`HLL precision ${precision} not in 4..18`);
    this.precision = precision;
  }

  /** Number of registers: 2^p. */
  get m(): number {
    return 1 << this.precision;
  }

  get isSparse(): boolean {
    return this.dense === null;
  }

  /** Non-zero registers. */
  get size(): number {
    if (this.sparse !== null) return this.sparse.length;
    let k = 0;
    for (const r of this.dense!) if (r !== 0) k++;
    return k;
  }

  addValue(value: string): void {
    this.add(hllPacked(value, this.precision));
  }

  /** Adds a packed hash (hllPacked). */
  add(packed: number): void {
    const register = registerOf(packed);
    const s = this.sparse;
    if (s === null) {
      const rank = packed - register * 64;
      if (rank > this.dense![register]) this.dense![register] = rank;
      return;
    }
    if (s.length === 0) {
      // most cells see one or two values: an exact-size array, not push()'s 17 slots
      this.sparse = [packed];
      return;
    }
    let lo = 0;
    let hi = s.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (registerOf(s[mid]) < register) lo = mid + 1;
      else hi = mid;
    }
    if (lo < s.length && registerOf(s[lo]) === register) {
      if (packed > s[lo]) s[lo] = packed;
    } else if (lo === s.length) {
      s.push(packed);
    } else {
      s.splice(lo, 0, packed);
    }
    // sparse costs 8 bytes an entry (a JS array of small integers), dense 1 byte a register
    if (s.length > this.m / 8) this.toDense();
  }

  /** Register-wise max with another sketch of the same precision. */
  merge(other: HllSketch): void {
    if (other.precision !== this.precision) throw new RangeError(`cannot merge HLL precision ${other.precision} into ${this.precision}`);
    const a = this.sparse;
    const b = other.sparse;
    if (a === null || b === null || a.length + b.length > this.m / 8) {
      this.toDense();
      const d = this.dense!;
      if (b === null) {
        const od = other.dense!;
        for (let i = 0; i < d.length; i++) if (od[i] > d[i]) d[i] = od[i];
      } else {
        for (const x of b) this.add(x);
      }
      return;
    }
    const out: number[] = [];
    let i = 0;
    let j = 0;
    while (i < a.length || j < b.length) {
      if (j >= b.length || (i < a.length && registerOf(a[i]) < registerOf(b[j]))) out.push(a[i++]);
      else if (i >= a.length || registerOf(b[j]) < registerOf(a[i])) out.push(b[j++]);
      else out.push(Math.max(a[i++], b[j++]));
    }
    this.sparse = out;
  }

  /** Canonical contents: sorted packed entries of the non-zero registers (what the SQL lists hold). */
  registers(): number[] {
    if (this.sparse !== null) return this.sparse.slice();
    const out: number[] = [];
    const d = this.dense!;
    for (let r = 0; r < d.length; r++) if (d[r] !== 0) out.push(r * 64 + d[r]);
    return out;
  }

  /** Estimated number of distinct values (Ertl's improved estimator). */
  estimate(): number {
    const q = 64 - this.precision;
    const m = this.m;
    const c = new Array<number>(q + 2).fill(0);
    if (this.sparse !== null) {
      c[0] = m - this.sparse.length;
      for (const x of this.sparse) c[x % 64]++;
    } else {
      for (const r of this.dense!) c[r]++;
    }
    let z = m * tau((m - c[q + 1]) / m);
    for (let k = q; k >= 1; k--) z = 0.5 * (z + c[k]);
    z += m * sigma(c[0] / m);
    return (m * m) / (2 * Math.LN2 * z);
  }

  clone(): HllSketch {
    const copy = new HllSketch(this.precision);
    copy.sparse = this.sparse && this.sparse.slice();
    copy.dense = this.dense && this.dense.slice();
    return copy;
  }

  /** Compact text: `s` + base64 of varint deltas of the sparse entries, or `d` + base64 of the registers. */
  encode(): string {
    this.encodeTo(writer);
    return writer.take();
  }

  /** Writes encode()'s text (a cell's changelog value is written in one piece: cells.ts encodeParts). */
  encodeTo(w: AsciiWriter): void {
    if (this.sparse === null) {
      w.code(D);
      w.base64(this.dense!, this.dense!.length);
      return;
    }
    const sparse = this.sparse;
    // a packed value is below 2^24: at most 4 varint bytes
    if (scratch.length < sparse.length * 4) scratch = Buffer.allocUnsafe(sparse.length * 8);
    const bytes = scratch;
    let k = 0;
    let prev = 0;
    for (let i = 0; i < sparse.length; i++) {
      let d = sparse[i] - prev;
      prev = sparse[i];
      while (d >= 0x80) {
        bytes[k++] = (d & 0x7f) | 0x80;
        d >>>= 7;
      }
      bytes[k++] = d;
    }
    w.code(S);
    w.base64(bytes, k);
  }

  static decode(precision: number, text: string): HllSketch {
    const sketch = new HllSketch(precision);
    const bytes = Buffer.from(text.slice(1), 'base64');
    if (text[0] === 'd') {
      if (bytes.length !== sketch.m) throw new RangeError(`dense HLL of ${bytes.length} registers, expected ${sketch.m}`);
      sketch.sparse = null;
      sketch.dense = new Uint8Array(bytes);
      return sketch;
    }
    if (text[0] !== 's') throw new RangeError('not an encoded HLL sketch');
    let prev = 0;
    for (let k = 0; k < bytes.length; ) {
      let d = 0;
      let shift = 0;
      let b: number;
      do {
        b = bytes[k++];
        d += (b & 0x7f) * 2 ** shift;
        shift += 7;
      } while (b & 0x80);
      prev += d;
      sketch.add(prev);
    }
    return sketch;
  }

  static fromRegisters(precision: number, packed: Iterable<number>): HllSketch {
    const sketch = new HllSketch(precision);
    for (const x of packed) sketch.add(x);
    return sketch;
  }

  private toDense(): void {
    if (this.sparse === null) return;
    const dense = new Uint8Array(this.m);
    for (const x of this.sparse) {
      const r = registerOf(x);
      dense[r] = x - r * 64;
    }
    this.dense = dense;
    this.sparse = null;
  }
}

function sigma(x: number): number {
  if (x === 1) return Infinity;
  let y = 1;
  let z = x;
  for (;;) {
    x *= x;
    const prev = z;
    z += x * y;
    y += y;
    if (z === prev) return z;
  }
}

function tau(x: number): number {
  if (x === 0 || x === 1) return 0;
  let y = 1;
  let z = 1 - x;
  for (;;) {
    x = Math.sqrt(x);
    const prev = z;
    y *= 0.5;
    z -= (1 - x) ** 2 * y;
    if (z === prev) return z / 3;
  }
}
