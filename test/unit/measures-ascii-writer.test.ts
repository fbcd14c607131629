// The changelog's cell values are written by hand (core/measures/ascii-writer.ts) instead of by
// JSON.stringify: the text must stay exactly JSON.stringify's, so that readers and the compacted
// changelog already written see no difference. JSON.stringify and Buffer#toString('base64') are
// the oracles here.
import { Digest, HllSketch, MEASURES, decodeParts, emptyParts, encodeParts, type PartValue } from '../../core/measures';
import { AsciiWriter } from '../../core/measures/ascii-writer';
import { Rng } from '../../generator/prng';

describe('AsciiWriter', () => {
  it('writes numbers as JSON.stringify does: integers, negatives, −0, fractions, large and tiny values, NaN and ±∞', () => {
    const rng = new Rng(17);
    const values = [0, -0, 1, 9, 10, 99, 100, -1, -10, 123456789, Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER, 2 ** 53, 2 ** 60, 1e21, 1e-7, 0.1, 0.30000000000000004, -2.5, NaN, Infinity, -Infinity, 5e-324, 1.7976931348623157e308];
    for (let i = 0; i < 2000; i++) {
      values.push(rng.int(1000), -rng.int(1_000_000), rng.float() * 1e6, Math.round(rng.float() * 1e6) / 100, rng.int(2 ** 30) * 2 ** 22);
    }
    const w = new AsciiWriter();
    for (const x of values) {
      w.number(x);
      expect(w.take()).toBe(JSON.stringify(x));
    }
  });

  it('writes base64 as Buffer#toString does, for every length 0–300 and one larger than its first buffer', () => {
    const rng = new Rng(3);
    const w = new AsciiWriter();
    for (const len of [...Array.from({ length: 301 }, (_, i) => i), 5000]) {
      const bytes = Buffer.from(Array.from({ length: len }, () => rng.int(256)));
      w.text('s');
      w.base64(bytes, len);
      expect(w.take()).toBe(`s${bytes.toString('base64')}`);
    }
  });

  it('starts over after take() and gives flat text', () => {
    const w = new AsciiWriter();
    w.text('{"a":');
    w.number(1);
    w.code('}'.charCodeAt(0));
    expect(w.take()).toBe('{"a":1}');
    expect(w.take()).toBe('');
  });
});

describe('encodeParts', () => {
  it('is exactly JSON.stringify of {v, p} for random cells (sparse and dense sketches, digests, null min/max, fractional sums), and decodes back', () => {
    const rng = new Rng(29);
    const decl = MEASURES;
    for (let c = 0; c < 300; c++) {
      const parts: PartValue[] = emptyParts(decl);
      decl.parts.forEach((p, i) => {
        if (p.kind === 'count') parts[i] = rng.int(1000);
        else if (p.kind === 'sum') parts[i] = rng.chance(0.5) ? Math.round(rng.float() * 1e7) / 100 : rng.int(10);
        else if (p.kind === 'min' || p.kind === 'max') parts[i] = rng.chance(0.3) ? null : Math.round(rng.float() * 1e5) / 100;
        else if (p.kind === 'hll') {
          const n = c % 50 === 0 ? 3000 : rng.int(20);
          for (let k = 0; k < n; k++) (parts[i] as HllSketch).addValue(`u${c}:${k}`);
        } else {
          const n = rng.int(30);
          for (let k = 0; k < n; k++) (parts[i] as Digest).add(c % 7 === 0 ? 0 : rng.float() * 5000);
        }
      });
      const expected = JSON.stringify({
        v: decl.version,
        p: decl.parts.map((p, i) => (p.kind === 'hll' ? (parts[i] as HllSketch).encode() : p.kind === 'digest' ? (parts[i] as Digest).encode() : parts[i])),
      });
      const text = encodeParts(decl, parts);
      expect(text).toBe(expected);
      expect(encodeParts(decl, decodeParts(decl, text))).toBe(text);
    }
  });
});
