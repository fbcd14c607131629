// core/measures' HyperLogLog and percentile digest: their error bounds, merging, encoding, and
// that DuckDB SQL computes exactly the same registers and buckets as TypeScript.
import { createHash } from 'node:crypto';
import { openDuckDb } from '../../core/duckdb';
import {
  Digest,
  digestBucket,
  digestBucketSql,
  digestRelativeError,
  digestRepresentative,
  DIGEST_ZERO_BUCKET,
  hllCanonicalSql,
  hllPacked,
  hllPackedSql,
  HllSketch,
  packHash,
} from '../../core/measures';
import { md5Head } from '../../core/measures/md5';
import { Rng } from '../../generator/prng';

const P = 14;
const S = 64;

describe('HyperLogLog (p = 14)', () => {
  it('hashes with md5 in JavaScript, bit for bit node:crypto on UTF-8 (lone surrogates, 0 to 199 characters: one to a dozen blocks)', () => {
    const rng = new Rng(5);
    const units = ['a', 'é', '€', '😀', '\ud800', '\udfff', '\u0000', '"'];
    const head = new Uint32Array(2);
    for (let len = 0; len < 200; len++) {
      let v = '';
      for (let i = 0; i < len; i++) v += units[rng.int(units.length)];
      const d = createHash('md5').update(v, 'utf8').digest();
      md5Head(v, head);
      expect([v, head[0], head[1]]).toEqual([v, d.readUInt32BE(0), d.readUInt32BE(4)]);
    }
  });

  it('register = top p bits of the 64-bit md5 prefix; rank = leading zeros of the rest + 1', () => {
    expect(packHash(0, 0, P)).toBe(0 * 64 + 51); // all 50 bits zero: rank 65 − p
    expect(packHash(0xffffffff, 0, P)).toBe(16383 * 64 + 1);
    expect(packHash(0x00020000, 0, P)).toBe(0 * 64 + 1); // highest bit after the register
    expect(packHash(0x00000001, 0, P)).toBe(0 * 64 + 18);
    expect(packHash(0, 0x80000000, P)).toBe(0 * 64 + 19);
    expect(packHash(0, 1, P)).toBe(0 * 64 + 50);
    expect(packHash(0xfffc0000, 0xffffffff, P)).toBe(16383 * 64 + 19);
    // md5('abc') = 900150983cd24fb0…: register 0x9001 >> 2 = 9216, next bits 01 0000 1001 1000… → 1 zero
    expect(hllPacked('abc', P)).toBe(9216 * 64 + 2);
  });

  it('DuckDB computes the same packed hash for every value, and the same registers for a set', async () => {
    const { instance, connection: c } = await openDuckDb({ threads: 1, memoryLimit: '512MB' });
    try {
      const rng = new Rng(3);
      const values = Array.from({ length: 30_000 }, (_, i) => `u_${i}_${rng.hex(6)}`);
      values.push('', ' ', 'é', '😀 emoji', 'ｱｲｳ', "it's", 'x'.repeat(1000));
      await c.run('CREATE TABLE v (i INTEGER, s VARCHAR)');
      const appender = await c.createAppender('v');
      values.forEach((s, i) => {
        appender.appendInteger(i);
        appender.appendVarchar(s);
        appender.endRow();
      });
      appender.closeSync();
      await c.run(`INSERT INTO v VALUES (-1, 'a' || chr(0) || 'b')`); // NUL inside a value
      values[-1] = 'a\u0000b';
      const rows = (await c.runAndReadAll(`SELECT i, ${hllPackedSql('s', P)} AS h FROM v ORDER BY i`)).getRowObjectsJson();
      const mismatches = rows.filter((r) => Number(r.h) !== hllPacked(values[Number(r.i)], P));
      expect(mismatches).toEqual([]);
      expect(rows).toHaveLength(values.length + 1);

      for (const n of [5, 1500, 30_000]) {
        // sparse (5, 1500 values) and dense (30,000) in TypeScript; always a list in SQL
        const sketch = new HllSketch(P);
        for (let i = -1; i < n; i++) sketch.addValue(values[i]);
        const [row] = (
          await c.runAndReadAll(`SELECT ${hllCanonicalSql('l')} AS regs FROM (SELECT list_sort(list_distinct(list(${hllPackedSql('s', P)}))) AS l FROM v WHERE i < ${n})`)
        ).getRowObjectsJson();
        expect(sketch.isSparse).toBe(n < 2000);
        expect((row.regs as number[]).map(Number)).toEqual(sketch.registers());
      }
    } finally {
      c.closeSync();
      instance.closeSync();
    }
  });

  it('estimates within 2 % from 10 to 200,000 distinct values (fixed seeds), ~0.8 % RMS', () => {
    const checkpoints = [10, 100, 1000, 5000, 10_000, 20_000, 50_000, 100_000, 200_000];
    const worst: number[] = [];
    const large: number[] = [];
    for (const seed of [1, 2, 3, 4, 5]) {
      const sketch = new HllSketch(P);
      let n = 0;
      for (const target of checkpoints) {
        while (n < target) sketch.addValue(`seed${seed}:user:${n++}`);
        const err = (sketch.estimate() - n) / n;
        worst.push(Math.abs(err));
        if (n >= 10_000) large.push(err);
        expect([seed, n, Math.abs(err)]).toEqual([seed, n, expect.any(Number)]);
        expect(Math.abs(err)).toBeLessThanOrEqual(0.02);
      }
    }
    const rms = Math.sqrt(large.reduce((a, e) => a + e * e, 0) / large.length);
    expect(rms).toBeLessThan(0.012); // theory: 1.04 / √16384 = 0.81 %
    expect(Math.max(...worst)).toBeLessThanOrEqual(0.02);
  });

  it('repeats do not count; an empty sketch estimates 0', () => {
    const s = new HllSketch(P);
    expect(s.estimate()).toBe(0);
    for (let r = 0; r < 5; r++) for (let i = 0; i < 500; i++) s.addValue(`v${i}`);
    const once = new HllSketch(P);
    for (let i = 0; i < 500; i++) once.addValue(`v${i}`);
    expect(s.registers()).toEqual(once.registers());
    expect(Math.abs(s.estimate() - 500) / 500).toBeLessThan(0.02);
  });

  it('merging is register-wise max: the union of sketches is the sketch of the union, in any order, sparse or dense', () => {
    const parts = [50, 1500, 20_000].map((n, k) => {
      const s = new HllSketch(P);
      for (let i = 0; i < n; i++) s.addValue(`m${k}:${i}`);
      s.addValue('shared');
      return s;
    });
    const all = new HllSketch(P);
    [50, 1500, 20_000].forEach((n, k) => {
      for (let i = 0; i < n; i++) all.addValue(`m${k}:${i}`);
    });
    all.addValue('shared');
    for (const order of [[0, 1, 2], [2, 1, 0], [1, 0, 2]]) {
      const m = new HllSketch(P);
      for (const k of order) m.merge(parts[k]);
      expect(m.registers()).toEqual(all.registers());
    }
    const sparse = parts[0].clone();
    sparse.merge(parts[1]);
    expect(sparse.isSparse).toBe(true);
    const direct = new HllSketch(P);
    for (let i = 0; i < 50; i++) direct.addValue(`m0:${i}`);
    for (let i = 0; i < 1500; i++) direct.addValue(`m1:${i}`);
    direct.addValue('shared');
    expect(sparse.registers()).toEqual(direct.registers());
    expect(() => sparse.merge(new HllSketch(12))).toThrow(/precision/);
  });

  it('encodes compactly and decodes to the same registers (sparse and dense)', () => {
    for (const n of [0, 1, 100, 4000, 50_000]) {
      const s = new HllSketch(P);
      for (let i = 0; i < n; i++) s.addValue(`e${i}`);
      const text = s.encode();
      const back = HllSketch.decode(P, text);
      expect(back.registers()).toEqual(s.registers());
      expect(back.isSparse).toBe(s.isSparse);
      if (n === 100) expect(text.length).toBeLessThan(400); // ~3 bytes a register, base64
    }
    expect(() => HllSketch.decode(P, 'x')).toThrow();
  });
});

describe('percentile digest (log-linear, 64 sub-buckets per power of two)', () => {
  it('buckets: exact powers of two start a bucket; zero has its own; negatives, NaN and ∞ are not counted', () => {
    expect(digestBucket(1, S)).toBe(0);
    expect(digestBucket(2, S)).toBe(64);
    expect(digestBucket(2 - 2 ** -52, S)).toBe(63);
    expect(digestBucket(1024, S)).toBe(640);
    expect(digestBucket(1023.9999999999999, S)).toBe(639);
    expect(digestBucket(0.5, S)).toBe(-64);
    expect(digestBucket(0, S)).toBe(DIGEST_ZERO_BUCKET);
    expect(digestBucket(5e-324, S)).toBe(-1074 * 64);
    for (const x of [-1, NaN, Infinity, -Infinity]) expect(digestBucket(x, S)).toBeNull();
    expect(digestRepresentative(DIGEST_ZERO_BUCKET, S)).toBe(0);
    expect(digestRelativeError(S)).toBeCloseTo(1 / 129, 12);
  });

  it('every value is within 1/129 (0.78 %) of its bucket representative', () => {
    const rng = new Rng(9);
    let worst = 0;
    for (let i = 0; i < 100_000; i++) {
      const x = i % 2 ? Math.exp(rng.float() * 40 - 20) : Math.floor(rng.float() * 60_000) + 1;
      const r = digestRepresentative(digestBucket(x, S)!, S);
      worst = Math.max(worst, Math.abs(r - x) / x);
    }
    expect(worst).toBeLessThanOrEqual(1 / 129 + 1e-12);
    expect(worst).toBeGreaterThan(0.99 / 129); // the bound is tight
  });

  it('quantiles are within 0.78 % of the exact nearest-rank quantile', () => {
    const rng = new Rng(4);
    const dists: Record<string, () => number> = {
      lcp_ms: () => Math.round(rng.logNormal(1800, 0.6)),
      uniform: () => rng.float() * 1000,
      heavy_tail: () => 1 / (rng.float() + 1e-9),
      constant: () => 1234,
      with_zeros: () => (rng.float() < 0.3 ? 0 : rng.exp(50)),
    };
    for (const [name, draw] of Object.entries(dists)) {
      const xs = Array.from({ length: 50_000 }, draw);
      const d = new Digest(S);
      for (const x of xs) d.add(x);
      const sorted = xs.slice().sort((a, b) => a - b);
      for (const q of [0.01, 0.25, 0.5, 0.9, 0.95, 0.99, 1]) {
        const exact = sorted[Math.max(1, Math.ceil(q * xs.length)) - 1];
        const est = d.quantile(q)!;
        const err = exact === 0 ? est : Math.abs(est - exact) / exact;
        expect([name, q, err <= 1 / 129 + 1e-12]).toEqual([name, q, true]);
      }
    }
    expect(new Digest(S).quantile(0.5)).toBeNull();
  });

  it('merging adds bucket counts: digest(A ∪ B) = merge(digest(A), digest(B)); encodes and decodes', () => {
    const rng = new Rng(5);
    const a = new Digest(S);
    const b = new Digest(S);
    const all = new Digest(S);
    for (let i = 0; i < 10_000; i++) {
      const x = rng.exp(900);
      (i % 3 ? a : b).add(x);
      all.add(x);
    }
    const m = a.clone();
    m.merge(b);
    expect(m.buckets()).toEqual(all.buckets());
    expect(m.count).toBe(10_000);
    expect(Digest.decode(S, m.encode()).buckets()).toEqual(m.buckets());
    expect(() => m.merge(new Digest(32))).toThrow();
  });

  it('DuckDB computes the same bucket for every value, edge cases included', async () => {
    const { instance, connection: c } = await openDuckDb({ threads: 1, memoryLimit: '512MB' });
    try {
      const rng = new Rng(6);
      const xs: number[] = [0, -0, -3, 1, 2, 3, 0.1, 0.3, 1e-300, 5e-324, 2.2250738585072014e-308, 1.7976931348623157e308, 2 ** 53 + 2];
      for (let k = -60; k <= 60; k++) xs.push(2 ** k, 2 ** k * (1 - 2 ** -53), 2 ** k * (1 + 2 ** -52), 2 ** k * (1 + 1 / 64), 2 ** k * (1 + 1 / 64) * (1 - 2 ** -53));
      for (let i = 0; i < 20_000; i++) xs.push(Math.round(rng.logNormal(1500, 1)), rng.float() * 1e4, Math.exp(rng.float() * 200 - 100));
      await c.run('CREATE TABLE x (i INTEGER, v DOUBLE)');
      const appender = await c.createAppender('x');
      xs.forEach((v, i) => {
        appender.appendInteger(i);
        appender.appendDouble(v);
        appender.endRow();
      });
      appender.closeSync();
      const rows = (await c.runAndReadAll(`SELECT i, ${digestBucketSql('v', S, 'b').join(', ')} FROM x ORDER BY i`)).getRowObjectsJson();
      const mismatches = rows.filter((r) => (r.b === null ? null : Number(r.b)) !== digestBucket(xs[Number(r.i)], S)).map((r) => xs[Number(r.i)]);
      expect(mismatches).toEqual([]);
      expect(rows).toHaveLength(xs.length);
    } finally {
      c.closeSync();
      instance.closeSync();
    }
  });
});
