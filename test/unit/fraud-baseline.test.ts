// Adaptive baselines: warm-up, the streaming median/MAD against known distributions, robustness to
// an outlier (where the EWMA mean is dragged), a level shift followed, tenant isolation, the scale
// floor, and bounded keys.
import { createBaselines, MAD_TO_SIGMA } from '../../speed-layer/fraud/baseline';

/** Deterministic N(mean, sd) draws (Box–Muller over a small LCG), so the test never flakes. */
function normals(n: number, mean: number, sd: number, seed = 7): number[] {
  let s = seed;
  const u = () => ((s = (s * 1103515245 + 12345) % 2 ** 31) + 1) / (2 ** 31 + 1);
  return Array.from({ length: n }, () => mean + sd * Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u()));
}

describe('adaptive baselines', () => {
  it('give no z-score while warming up, then the exact median and MAD of the first values', () => {
    const b = createBaselines({ warmup: 8 });
    for (const x of [1, 2, 3, 4, 5, 6, 7]) b.observe('t1', 'm', x);
    expect(b.robustZ('t1', 'm', 100, 1)).toBeNull();
    expect(b.z('t1', 'm', 100, 1)).toBeNull();
    b.observe('t1', 'm', 8);
    expect(b.stats('t1', 'm')).toMatchObject({ n: 8, median: 4.5, mad: 2 });
    expect(b.robustZ('t1', 'm', 10.5, 0.1)).toBeCloseTo(6 / (MAD_TO_SIGMA * 2), 6);
  });

  it('estimate the median and MAD of a stream (normal data: 1.4826 · MAD ≈ σ) and its EWMA mean', () => {
    const b = createBaselines();
    for (const x of normals(5000, 100, 10)) b.observe('t1', 'amount', x);
    const s = b.stats('t1', 'amount')!;
    expect(s.median).toBeGreaterThan(97);
    expect(s.median).toBeLessThan(103);
    expect(MAD_TO_SIGMA * s.mad).toBeGreaterThan(7);
    expect(MAD_TO_SIGMA * s.mad).toBeLessThan(13);
    expect(s.mean).toBeGreaterThan(94);
    expect(s.mean).toBeLessThan(106);
    expect(b.robustZ('t1', 'amount', 160, 1)!).toBeGreaterThan(4);
  });

  it('are not dragged by one huge value (the EWMA mean is)', () => {
    const b = createBaselines();
    for (const x of normals(2000, 100, 10)) b.observe('t1', 'amount', x);
    const before = b.stats('t1', 'amount')!;
    b.observe('t1', 'amount', 1e6);
    const after = b.stats('t1', 'amount')!;
    expect(Math.abs(after.median - before.median)).toBeLessThan(1);
    expect(after.mean - before.mean).toBeGreaterThan(10_000);
  });

  it("follow a tenant's level shift", () => {
    const b = createBaselines();
    for (const x of normals(1000, 100, 10)) b.observe('t1', 'm', x);
    for (const x of normals(3000, 200, 10, 11)) b.observe('t1', 'm', x);
    expect(b.stats('t1', 'm')!.median).toBeGreaterThan(190);
    expect(Math.abs(b.robustZ('t1', 'm', 200, 1)!)).toBeLessThan(1);
  });

  it('are per tenant (and per entity): the same value is usual for one tenant and extreme for another', () => {
    const b = createBaselines();
    for (const x of normals(500, 100, 10)) b.observe('small', 'amount', x);
    for (const x of normals(500, 1000, 100, 3)) b.observe('big', 'amount', x);
    expect(b.robustZ('small', 'amount', 1000, 1)!).toBeGreaterThan(20);
    expect(Math.abs(b.robustZ('big', 'amount', 1000, 1)!)).toBeLessThan(1);
    b.observe('small', 'amount', 5, 'sku1');
    expect(b.stats('small', 'amount', 'sku1')!.n).toBe(1);
    expect(b.stats('big', 'amount', 'sku1')).toBeUndefined();
  });

  it('use the floor as the scale of a metric that is mostly one value (MAD 0)', () => {
    const b = createBaselines();
    for (let i = 0; i < 100; i++) b.observe('t1', 'cards', 1);
    expect(b.stats('t1', 'cards')!.mad).toBe(0);
    expect(b.robustZ('t1', 'cards', 7, 1)).toBe(6);
  });

  it('hold at most maxKeys keys, dropping the least recently observed', () => {
    const b = createBaselines({ maxKeys: 100 });
    for (let i = 0; i < 1000; i++) b.observe(`t${i}`, 'm', i);
    expect(b.size).toBeLessThanOrEqual(100);
    expect(b.stats('t999', 'm')).toBeDefined();
    expect(b.stats('t0', 'm')).toBeUndefined();
  });
});
