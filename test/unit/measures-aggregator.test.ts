// core/measures: the declaration's checks, the aggregator's cell keys (window, dimension, Kafka
// partition, offset bucket), the changelog delta and encoding, dropping covered buckets,
// measures read at query time, and the dedup horizon.
import {
  createAggregator,
  createDeduplicator,
  cellKeyText,
  decodeCellKey,
  decodeParts,
  encodeCellKey,
  encodeParts,
  evaluateMeasures,
  MEASURES,
  mergeAll,
  validateDeclaration,
  type Cell,
  type MeasureInput,
  type MeasuresDeclaration,
} from '../../core/measures';

const T0 = Date.UTC(2026, 10, 20, 14, 0, 0) * 1000;
const MIN = 60_000_000;

function input(o: Partial<MeasureInput> = {}): MeasureInput {
  return {
    tenant_id: 'acme',
    event_id: `e${Math.random()}`,
    event_time_us: T0,
    partition: 0,
    offset: 0,
    event_type: 'user_interaction',
    event_subtype: 'page_view',
    source_system: 'web_app',
    country: 'DE',
    device_type: 'desktop',
    browser_name: 'Firefox',
    payment_provider: null,
    category_l1: null,
    user_id: 'u1',
    session_id: 's1',
    final_total: null,
    lcp_ms: null,
    ...o,
  };
}

const totals = (cells: Iterable<Cell>, rollup = 'totals_1h') =>
  evaluateMeasures(MEASURES, mergeAll(MEASURES, [...cells].filter((c) => c.key.rollup === rollup).map((c) => c.parts)));

describe('the declaration', () => {
  it('is valid and names every measure of the issue', () => {
    expect(() => validateDeclaration(MEASURES)).not.toThrow();
    const names = MEASURES.measures.map((m) => m.name);
    for (const n of ['events', 'revenue', 'orders', 'refund_amount', 'distinct_users', 'sessions', 'conversion', 'cart_abandonment', 'page_load_p50', 'page_load_p95'])
      expect(names).toContain(n);
    expect(MEASURES.rollups.map((r) => [r.window, r.dimension])).toEqual([
      ['minute', 'event_type'],
      ['minute', 'country'],
      ['minute', 'device_type'],
      ['minute', 'browser_name'],
      ['minute', 'payment_provider'],
      ['minute', 'category_l1'],
      ['minute', 'source_system'],
      ['hour', null],
    ]);
    expect(Object.isFrozen(MEASURES.parts[0])).toBe(true);
  });

  it('refuses inconsistent declarations', () => {
    const bad = (edit: (d: MeasuresDeclaration) => MeasuresDeclaration) => () => validateDeclaration(edit(MEASURES));
    expect(bad((d) => ({ ...d, measures: [...d.measures, { name: 'x', kind: 'value', part: 'nope', unit: '', description: '' }] }))).toThrow(/unknown part nope/);
    expect(bad((d) => ({ ...d, measures: [...d.measures, { name: 'x', kind: 'quantile', part: 'events', q: 0.5, unit: '', description: '' }] }))).toThrow(/non-digest/);
    expect(bad((d) => ({ ...d, measures: [...d.measures, { name: 'x', kind: 'ratio', numerator: 'page_load_p50', denominator: 'events', unit: '', description: '' }] }))).toThrow(/not a value/);
    expect(bad((d) => ({ ...d, parts: [...d.parts, { name: 'events', kind: 'count', description: '' }] }))).toThrow(/duplicate part/);
    expect(bad((d) => ({ ...d, parts: [...d.parts, { name: 'bucket', kind: 'count', description: '' }] }))).toThrow(/reserved/);
    expect(bad((d) => ({ ...d, parts: [...d.parts, { name: 'Bad-Name', kind: 'count', description: '' }] }))).toThrow(/snake_case/);
    expect(bad((d) => ({ ...d, digestSubBuckets: 48 }))).toThrow(/power of two/);
    expect(bad((d) => ({ ...d, hllPrecision: 20 }))).toThrow(/hllPrecision/);
  });
});

describe('createAggregator', () => {
  it('keys every cell by rollup, tenant, window, dimension value, Kafka partition and offset bucket', () => {
    const agg = createAggregator(MEASURES, { offsetBucketSize: 100 });
    agg.add(input({ offset: 5, event_time_us: T0 + 30e6 }));
    agg.add(input({ offset: 99, event_time_us: T0 + 59e6 })); // same minute, same bucket
    agg.add(input({ offset: 100, event_time_us: T0 + 10e6 })); // next bucket
    agg.add(input({ offset: 7, partition: 1 })); // other partition
    agg.add(input({ offset: 101, event_time_us: T0 + MIN, country: null })); // next minute, no country
    const country = [...agg.cells()].filter((c) => c.key.rollup === 'country_1m').map((c) => [c.key.window_start_us - T0, c.key.dimension, c.key.partition, c.key.bucket, c.parts[0]]);
    expect(country.sort()).toEqual(
      [
        [0, 'DE', 0, 0, 2],
        [0, 'DE', 0, 1, 1],
        [0, 'DE', 1, 0, 1],
        [MIN, null, 0, 1, 1],
      ].sort(),
    );
    const hour = [...agg.cells()].filter((c) => c.key.rollup === 'totals_1h');
    expect(hour.map((c) => [c.key.window_start_us, c.key.dimension])).toEqual([
      [T0, null],
      [T0, null],
      [T0, null],
    ]);
    expect(agg.size).toBe(7 * 4 + 3); // 4 (minute, partition, bucket) cells per minute rollup, 3 (hour, partition, bucket) totals
    expect(agg.get({ rollup: 'country_1m', tenant_id: 'acme', window_start_us: T0, dimension: 'DE', partition: 0, bucket: 1 })?.parts[0]).toBe(1);
    expect(() => createAggregator(MEASURES, { offsetBucketSize: 0 })).toThrow();
  });

  it('measures read from merged parts: revenue, orders, conversion, cart abandonment, percentiles', () => {
    const agg = createAggregator(MEASURES);
    let o = 0;
    for (let s = 0; s < 10; s++) {
      agg.add(input({ offset: o++, session_id: `s${s}`, user_id: `u${s % 4}`, lcp_ms: 1000 + 100 * s }));
      if (s < 5) agg.add(input({ offset: o++, session_id: `s${s}`, event_type: 'transaction', event_subtype: 'checkout', lcp_ms: 2000 }));
      if (s < 2) agg.add(input({ offset: o++, session_id: `s${s}`, event_type: 'transaction', event_subtype: 'purchase', final_total: 100 + s, payment_provider: 'visa' }));
    }
    agg.add(input({ offset: o++, event_type: 'transaction', event_subtype: 'refund', final_total: 40 }));
    const m = totals(agg.cells());
    expect(m).toMatchObject({ events: 18, orders: 2, revenue: 201, average_order_value: 100.5, smallest_order: 100, largest_order: 101, refunds: 1, refund_amount: 40, checkouts: 5, page_loads: 15 });
    // sketch estimates: within a few thousandths at this size (10.003 for 10)
    expect(m.sessions).toBeCloseTo(10, 1);
    expect(m.distinct_users).toBeCloseTo(4, 1);
    expect(m.conversion).toBeCloseTo(0.2, 3);
    expect(m.cart_abandonment).toBeCloseTo(0.6, 12);
    expect(m.page_load_avg).toBeCloseTo((10 * 1000 + 100 * 45 + 5 * 2000) / 15, 9);
    expect(Math.abs(m.page_load_p50! - 1700) / 1700).toBeLessThan(1 / 129);
    expect(Math.abs(m.page_load_p95! - 2000) / 2000).toBeLessThan(1 / 129);
    // an empty selection: counts 0, ratios and quantiles null; abandonment clamps to [0, 1]
    const none = evaluateMeasures(MEASURES, mergeAll(MEASURES, []));
    expect(none).toMatchObject({ events: 0, revenue: 0, smallest_order: null, conversion: null, cart_abandonment: null, page_load_p50: null, distinct_users: 0 });
    const late = createAggregator(MEASURES);
    late.add(input({ event_subtype: 'purchase', final_total: 5 })); // the checkout was in an earlier window
    expect(totals(late.cells()).cart_abandonment).toBeNull();
    late.add(input({ event_subtype: 'checkout', offset: 1 }));
    late.add(input({ event_subtype: 'purchase', final_total: 5, offset: 2 }));
    expect(totals(late.cells()).cart_abandonment).toBe(0);
    // a subset by name gives those only; an unknown name is an error that names it
    const some = evaluateMeasures(MEASURES, mergeAll(MEASURES, []), ['conversion', 'events']);
    expect(Object.keys(some)).toEqual(['conversion', 'events']);
    expect(() => evaluateMeasures(MEASURES, mergeAll(MEASURES, []), ['events', 'no_such_measure'])).toThrow(/unknown measure no_such_measure/);
  });

  it('takeChanged returns each changed cell once, with its full state; cells encode and decode for a changelog', () => {
    const agg = createAggregator(MEASURES);
    agg.add(input({ offset: 1, lcp_ms: 812 }));
    agg.add(input({ offset: 2, user_id: 'u2' }));
    const first = agg.takeChanged();
    expect(first).toHaveLength(MEASURES.rollups.length);
    expect(agg.takeChanged()).toEqual([]);
    agg.add(input({ offset: 3, browser_name: 'Safari' }));
    const second = agg.takeChanged();
    expect(second.map((c) => c.key.rollup).sort()).toEqual(MEASURES.rollups.map((r) => r.name).sort()); // browser_1m: a new cell; the rest updated
    // the changelog record of a cell: key and value text, and back
    const restored = createAggregator(MEASURES);
    for (const c of agg.cells()) {
      const k = encodeCellKey(c.key);
      const v = encodeParts(MEASURES, c.parts);
      expect(v.length).toBeLessThan(200);
      restored.restore({ key: decodeCellKey(k), parts: decodeParts(MEASURES, v) });
    }
    const plain = (a: typeof agg) => [...a.cells()].map((c) => [encodeCellKey(c.key), encodeParts(MEASURES, c.parts)]).sort();
    expect(plain(restored)).toEqual(plain(agg));
    expect(() => decodeParts({ ...MEASURES, version: 99 }, encodeParts(MEASURES, first[0].parts))).toThrow(/version/);
    // merge adds: two instances' cells of the same key combine
    const other = createAggregator(MEASURES);
    other.add(input({ offset: 4, user_id: 'u9' }));
    for (const c of other.cells()) restored.merge(c);
    expect(totals(restored.cells()).events).toBe(4);
    expect(totals(restored.cells()).distinct_users).toBeCloseTo(3, 2);
  });

  it('takeChangedDeferred encodes each cell as it was at the take, even when written before its turn (copy on write)', () => {
    const agg = createAggregator(MEASURES);
    const value = (c: Cell) => `${encodeCellKey(c.key)} ${encodeParts(MEASURES, c.parts)}`;
    for (let o = 0; o < 5; o++) agg.add(input({ offset: o, user_id: `u${o}`, lcp_ms: 100 + o }));
    const atTake = [...agg.cells()].map(value);
    const taken = agg.takeChangedDeferred(value);
    expect(taken.out).toHaveLength(atTake.length);
    expect(taken.encodeSome(2)).toBe(false);
    // later events write every cell: the ones not encoded yet must still come out as at the take
    for (let o = 5; o < 8; o++) agg.add(input({ offset: o, user_id: `v${o}`, lcp_ms: 900 }));
    agg.merge({ key: [...agg.cells()][0].key, parts: [...agg.cells()][0].parts });
    expect(taken.encodeSome(1)).toBe(true); // the rest were encoded by the writes
    expect([...taken.out].sort()).toEqual([...atTake].sort());
    // the writes are the next take's changes, with their new values
    const next = agg.takeChanged().map(value).sort();
    expect(next).toEqual([...agg.cells()].map(value).sort());
    expect(next).not.toEqual([...atTake].sort());
    // an unfinished take is finished by the next one, as of its own take
    agg.add(input({ offset: 9, user_id: 'w' }));
    const a = agg.takeChangedDeferred(value);
    const before = [...agg.cells()].map(value).sort();
    const b = agg.takeChangedDeferred(value);
    expect(b.out).toHaveLength(0);
    expect(a.encodeSome(1)).toBe(true);
    expect([...a.out].sort()).toEqual(before);
  });

  it('cellKeyText is encodeCellKey, computed once for a held cell', () => {
    const agg = createAggregator(MEASURES);
    const countries = ['DE', 'FR', 'US', null];
    for (let i = 0; i < 200; i++) agg.add(input({ offset: i, user_id: `u${i % 37}`, country: countries[i % 4], event_time_us: T0 + (i % 3) * 60_000_000 }));
    const changed = agg.takeChanged();
    expect(changed.length).toBeGreaterThan(20);
    for (const c of changed) {
      expect(cellKeyText(c)).toBe(encodeCellKey(c.key));
      expect((c as unknown as { keyText: string }).keyText).toBe(encodeCellKey(c.key)); // kept on the held cell
    }
    // a cell that is not held (a plain object) gets its key encoded each time, and is not changed
    const plain = { key: changed[0].key, parts: changed[0].parts };
    expect(cellKeyText(plain)).toBe(encodeCellKey(changed[0].key));
    expect('keyText' in plain).toBe(false);
  });

  it('dropCovered drops exactly the cells whose bucket a cut covers, and says which', () => {
    const agg = createAggregator(MEASURES, { offsetBucketSize: 10 });
    for (let o = 0; o < 35; o++) agg.add(input({ offset: o, partition: o % 2 }));
    const before = agg.size;
    const dropped = agg.dropCovered(new Map([[0, 20]])); // partition 0 buckets 0 and 1; partition 1 untouched
    expect(new Set(dropped.map((k) => `${k.partition}:${k.bucket}`))).toEqual(new Set(['0:0', '0:1']));
    expect(agg.size).toBe(before - dropped.length);
    expect([...agg.cells()].every((c) => c.key.partition === 1 || c.key.bucket >= 2)).toBe(true);
    expect(agg.dropCovered(new Map([[0, 29]]))).toEqual([]); // bucket 2 ends at 30
  });
});

describe('createDeduplicator', () => {
  it('keeps the first occurrence of (tenant, event id) within the horizon of offsets', () => {
    const d = createDeduplicator({ horizonOffsets: 100 });
    const at = (event_id: string, offset: number, tenant_id = 'a', partition = 0) => d.firstSeen({ tenant_id, event_id, partition, offset });
    expect(at('x', 0)).toBe(true);
    expect(at('x', 5)).toBe(false);
    expect(at('x', 6, 'b')).toBe(true); // another tenant's id
    expect(at('x', 7, 'a', 1)).toBe(true); // partitions are independent
    expect(at('x', 100)).toBe(false);
    for (let o = 101; o < 400; o++) at(`y${o}`, o);
    expect(at('x', 400)).toBe(true); // beyond the horizon: counted again (until a batch cut covers it)
    expect(d.size).toBeLessThan(110);
  });
});
