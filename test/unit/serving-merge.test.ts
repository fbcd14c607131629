// The merge logic on hand-made events: the batch side holds the events below the cut (folded
// cells, as batch views store them), the speed reader holds every event's cells keyed by offset
// bucket (as the changelog carries them). Every random query must count each event exactly once —
// checked against plain per-event arithmetic over the events, not against the merge's own code.
// (The real-stack version of this property is test/integration/serving-merge.integration.test.ts.)
import { createAggregator, encodeCellKey, encodeParts, MEASURES, type Cell, type MeasureInput } from '../../core/measures';
import { progressKey } from '../../core/speed-changelog';
import { createSpeedReader } from '../../core/speed-reader';
import type { BatchSnapshot, BatchViews } from '../../serving/analytics/batch-views';
import { mergedQuery } from '../../serving/analytics/merge';
import { GRAIN_US, parseQuery, passes, DIMENSIONS, type AnalyticsQuery } from '../../serving/analytics/query-model';
import { mulberry32 as prng } from '../../core/random';

const B = 100;
const HOUR_US = 3_600_000_000;
const T0 = Date.parse('2026-11-20T00:00:00Z') * 1000;


const rnd = prng(42);
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)];
const nextOffset = [0, 0, 0];
const events: MeasureInput[] = [];
for (let i = 0; i < 3000; i++) {
  const partition = i % 3;
  const subtype = pick(['page_view', 'page_view', 'add_to_cart', 'checkout', 'purchase', 'refund']);
  events.push({
    tenant_id: pick(['t1', 't1', 't2']),
    event_id: `e${i}`,
    // 6 hours; late events arrive at any offset
    event_time_us: T0 + Math.floor(rnd() * 6 * HOUR_US),
    partition,
    offset: nextOffset[partition]++,
    event_type: subtype === 'purchase' || subtype === 'refund' ? 'transaction' : 'user_interaction',
    event_subtype: subtype,
    source_system: pick(['web_app', 'mobile_app']),
    country: pick(['US', 'DE', 'FR', null]),
    device_type: pick(['desktop', 'mobile']),
    browser_name: pick(['Chrome', 'Safari']),
    payment_provider: subtype === 'purchase' ? pick(['visa', 'paypal']) : null,
    category_l1: pick(['fashion', 'electronics']),
    user_id: `u${Math.floor(rnd() * 200)}`,
    session_id: `s${Math.floor(rnd() * 400)}`,
    final_total: subtype === 'purchase' || subtype === 'refund' ? Math.round(rnd() * 50_000) / 100 : null,
    lcp_ms: subtype === 'page_view' ? Math.round(rnd() * 4000) : null,
  });
}
// partitions 0 and 1 partly in batch, partition 2 entirely live
const cut: Record<string, number> = { '0': 3 * B, '1': 7 * B, '2': 0 };
const below = (e: MeasureInput) => e.offset < (cut[String(e.partition)] ?? 0);

/** The batch layer's stand-in: folded cells of the events below the cut, filtered as the real one filters view files. */
function batchStandIn(): BatchViews {
  const agg = createAggregator(MEASURES, { offsetBucketSize: B });
  for (const e of events.filter(below)) agg.add({ ...e, partition: -1, offset: 0 });
  const all: Cell[] = [...agg.cells()];
  const snap: BatchSnapshot = { version: 'v1', cut, publishedAt: '2026-11-20T07:00:00Z', manifest: {} as BatchSnapshot['manifest'] };
  return {
    snapshot: async () => snap,
    // the merge reads cells only
    unitKeys: () => [],
    resident: async () => false,
    close: () => undefined,
    localFiles: async () => [],
    cells: async (_s, view, tenant, fromUs, toUs) => {
      const rollup = `${view.replace(/_1[mhd]$/, '')}_1${view.endsWith('_1h') && view.startsWith('totals') ? 'h' : 'm'}`;
      const grainUs = view.endsWith('_1d') ? 24 * HOUR_US : view.endsWith('_1h') ? HOUR_US : 60_000_000;
      // re-bucket minute cells to the view's grain, as the hour and day views are merged
      return all
        .filter((c) => c.key.rollup === rollup && c.key.tenant_id === tenant)
        .map((c) => ({ ...c, key: { ...c.key, window_start_us: Math.floor(c.key.window_start_us / grainUs) * grainUs } }))
        .filter((c) => c.key.window_start_us >= fromUs && c.key.window_start_us < toUs);
    },
  };
}

function speedReaderWithAll() {
  const reader = createSpeedReader({}, { offsetBucketSize: B });
  const agg = createAggregator(MEASURES, { offsetBucketSize: B });
  for (const e of events) agg.add(e);
  for (const c of agg.cells()) reader.apply(c.key.partition, encodeCellKey(c.key), encodeParts(MEASURES, c.parts));
  for (const p of [0, 1, 2]) reader.apply(p, progressKey(p), JSON.stringify({ next_offset: nextOffset[p], max_event_us: T0 + 6 * HOUR_US, watermark_us: null, emitted_until_us: null, committed_at_ms: 0 }));
  return reader;
}

/** Plain arithmetic over the events: what the query must answer, per result row. */
function oracle(q: AnalyticsQuery): Map<string, { events: number; orders: number; revenue: number; users: Set<string> }> {
  const field = q.dimension === null ? null : (DIMENSIONS[q.dimension].replace(/_1m$/, '') === 'browser' ? 'browser_name' : DIMENSIONS[q.dimension].replace(/_1m$/, ''));
  const out = new Map<string, { events: number; orders: number; revenue: number; users: Set<string> }>();
  for (const e of events) {
    if (e.tenant_id !== q.tenant || e.event_time_us < q.fromUs || e.event_time_us >= q.toUs) continue;
    const dim = field === null ? null : ((e as unknown as Record<string, string | null>)[field] ?? null);
    if (!passes(q.filters, dim)) continue;
    const w = q.grain === 'all' ? q.fromUs : Math.floor(e.event_time_us / GRAIN_US[q.grain]) * GRAIN_US[q.grain];
    const k = `${new Date(w / 1000).toISOString()}|${dim}`;
    let r = out.get(k);
    if (!r) out.set(k, (r = { events: 0, orders: 0, revenue: 0, users: new Set() }));
    r.events++;
    if (e.event_subtype === 'purchase') {
      r.orders++;
      r.revenue += e.final_total ?? 0;
    }
    if (e.user_id) r.users.add(e.user_id);
  }
  return out;
}

test('every random query counts each event exactly once across the cut', async () => {
  const deps = { batch: batchStandIn(), speed: speedReaderWithAll() };
  const dims = [null, ...Object.keys(DIMENSIONS)];
  for (let i = 0; i < 60; i++) {
    const grain = pick(['minute', 'hour', 'day', 'all'] as const);
    const dimension = pick(dims);
    const fromH = Math.floor(rnd() * 5);
    const span = 1 + Math.floor(rnd() * (6 - fromH));
    const from = new Date((T0 + fromH * HOUR_US + (grain === 'minute' ? Math.floor(rnd() * 30) * 60_000_000 : 0)) / 1000).toISOString();
    const to = new Date((T0 + (fromH + span) * HOUR_US) / 1000).toISOString();
    const filters = dimension === 'country' && rnd() < 0.5 ? [{ dimension, op: pick(['in', 'not_in'] as const), values: ['US', 'DE'] }] : [];
    const q = parseQuery(pick(['t1', 't2']), { measures: ['events', 'orders', 'revenue', 'distinct_users'], dimensions: dimension ? [dimension] : [], grain, time_range: { from, to }, filters, limit: 10_000 });
    const got = await mergedQuery(deps, q);
    const want = oracle(q);
    const label = `${JSON.stringify({ grain, dimension, from, to, filters })}`;
    expect({ label, rows: got.rows.length }).toEqual({ label, rows: want.size });
    for (const row of got.rows) {
      const w = want.get(`${row.window_start}|${q.dimension ? row[q.dimension] : null}`);
      expect({ label, row: row.window_start, events: row.events, orders: row.orders }).toEqual({ label, row: row.window_start, events: w?.events, orders: w?.orders });
      expect(row.revenue as number).toBeCloseTo(w!.revenue, 6);
      // HyperLogLog: within 5 % on these small sets (p = 14 is near-exact below a few thousand)
      expect(Math.abs((row.distinct_users as number) - w!.users.size)).toBeLessThanOrEqual(Math.max(1, 0.05 * w!.users.size));
    }
    expect(got.meta.batch_cut).toEqual(cut);
    expect(got.meta.live_offsets).toEqual({ '0': 1000, '1': 1000, '2': 1000 });
  }
});

test('with nothing published every event comes from the speed layer', async () => {
  const none: BatchViews = { snapshot: async () => undefined, cells: async () => [], unitKeys: () => [], localFiles: async () => [], resident: async () => false, close: () => undefined };
  const q = parseQuery('t1', { measures: ['events'], grain: 'all', time_range: { from: new Date(T0 / 1000).toISOString(), to: new Date((T0 + 6 * HOUR_US) / 1000).toISOString() } });
  const got = await mergedQuery({ batch: none, speed: speedReaderWithAll() }, q);
  expect(got.rows[0].events).toBe(events.filter((e) => e.tenant_id === 't1').length);
  expect(got.meta.batch_version).toBeNull();
});

test('sorting, paging and the total row count', async () => {
  const q = parseQuery('t1', {
    measures: ['events'],
    dimensions: ['country'],
    grain: 'all',
    time_range: { from: new Date(T0 / 1000).toISOString(), to: new Date((T0 + 6 * HOUR_US) / 1000).toISOString() },
    sort: [{ field: 'events', order: 'desc' }],
    limit: 2,
    offset: 1,
  });
  const got = await mergedQuery({ batch: batchStandIn(), speed: speedReaderWithAll() }, q);
  const all = [...oracle({ ...q, limit: 100, offset: 0 }).entries()].map(([k, v]) => ({ country: k.split('|')[1], events: v.events })).sort((a, b) => b.events - a.events);
  expect(got.meta.total_rows).toBe(all.length);
  expect(got.rows.map((r) => r.events)).toEqual(all.slice(1, 3).map((r) => r.events));
});

test('a batch snapshot older than the cut the speed layer applied is read again, never answered with a gap', async () => {
  const speed = speedReaderWithAll();
  // the speed layer applied a cut of 5·B on partition 0: tombstones of its buckets 0..4
  const agg = createAggregator(MEASURES, { offsetBucketSize: B });
  for (const e of events.filter((x) => x.partition === 0 && x.offset < 5 * B)) agg.add(e);
  for (const c of agg.cells()) speed.apply(0, encodeCellKey(c.key), null);
  expect(speed.droppedBelow().get(0)).toBe(5 * B);
  const q = parseQuery('t1', { measures: ['events'], grain: 'all', time_range: { from: new Date(T0 / 1000).toISOString(), to: new Date((T0 + 6 * HOUR_US) / 1000).toISOString() } });
  const reads: boolean[] = [];
  const stale = batchStandIn();
  const lagging: BatchViews = { ...stale, snapshot: async (fresh) => (reads.push(fresh ?? false), stale.snapshot()) };
  await expect(mergedQuery({ batch: lagging, speed }, q)).rejects.toThrow(/behind the cut the speed layer applied/);
  expect(reads).toEqual([false, true, true]);
});
