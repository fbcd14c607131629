// The speed reader's fetched batches (core/speed-reader.ts applyBatch, what its consumer calls):
// a large batch is decoded in slices that let the event loop run between them (requests are
// answered meanwhile), and its records become visible together once the batch is applied — a
// query never sees a batch's cells without its progress record, or the reverse.
import { createAggregator, encodeCellKey, encodeParts, MEASURES, type MeasureInput } from '../../core/measures';
import { processorKey, progressKey, sessionKey } from '../../core/speed-changelog';
import { createSpeedReader } from '../../core/speed-reader';

const T0 = Date.parse('2026-11-20T10:00:00Z') * 1000;
const B = 100;

jest.setTimeout(60_000);

function changelogOf(n: number): { key: Buffer; value: Buffer | null }[] {
  const agg = createAggregator(MEASURES, { offsetBucketSize: B });
  for (let i = 0; i < n; i++) {
    const e: MeasureInput = {
      tenant_id: `t${i % 7}`,
      event_id: `e${i}`,
      event_time_us: T0 + (i % 600) * 60_000_000,
      partition: 0,
      offset: i,
      event_type: 'user_interaction',
      event_subtype: 'page_view',
      source_system: 'web_app',
      country: ['US', 'DE', 'FR'][i % 3],
      device_type: 'desktop',
      browser_name: 'Chrome',
      payment_provider: null,
      category_l1: 'fashion',
      user_id: `u${i % 500}`,
      session_id: `s${i % 900}`,
      final_total: null,
      lcp_ms: 1000 + (i % 300),
    } as MeasureInput;
    agg.add(e);
  }
  const records = [...agg.cells()].map((c) => ({ key: Buffer.from(encodeCellKey(c.key)), value: Buffer.from(encodeParts(MEASURES, c.parts)) }));
  records.push({ key: Buffer.from(progressKey(0)), value: Buffer.from(JSON.stringify({ next_offset: n, max_event_us: T0, watermark_us: null, emitted_until_us: null, committed_at_ms: 0 })) });
  return records;
}

test('a large batch yields to the event loop while decoding and becomes visible all at once', async () => {
  const records = changelogOf(8_000);
  expect(records.length).toBeGreaterThan(2_000);
  const reader = createSpeedReader({}, { offsetBucketSize: B });
  // what a request running between slices sees: nothing of the batch until it is applied whole
  const seen: { size: number; progress: number | undefined }[] = [];
  let probing = true;
  const probe = () => {
    if (!probing) return;
    seen.push({ size: reader.size, progress: reader.progress().get(0)?.next_offset });
    setImmediate(probe);
  };
  setImmediate(probe);
  await reader.applyBatch(records);
  probing = false;
  expect(seen.length).toBeGreaterThan(1);
  expect(seen.every((s) => s.size === 0 && s.progress === undefined)).toBe(true);
  expect(reader.size).toBe(records.length - 1);
  expect(reader.progress().get(0)?.next_offset).toBe(8_000);
  // the same state as applying record by record
  const one = createSpeedReader({}, { offsetBucketSize: B });
  for (const r of records) one.apply(0, r.key.toString('utf8'), r.value === null ? null : r.value.toString('utf8'));
  const q = { tenant: 't3', rollup: 'country_1m', fromUs: T0, toUs: T0 + 600 * 60_000_000, grain: 'hour' as const, measures: ['events', 'distinct_users', 'page_load_p95'] };
  expect(reader.query(q)).toEqual(one.query(q));
  expect(reader.query(q).reduce((n, r) => n + (r.measures.events ?? 0), 0)).toBeGreaterThan(0);
});

test('records without a key, sessions and processor state are skipped; tombstones drop cells', async () => {
  const records = changelogOf(300);
  const reader = createSpeedReader({}, { offsetBucketSize: B });
  const others = [
    { key: null, value: Buffer.from('x') },
    { key: Buffer.from(sessionKey('t1', 'u1')), value: Buffer.from('[{"start_us":1,"last_us":2,"events":1}]') },
    { key: Buffer.from(processorKey('features', 'u1')), value: Buffer.from('{}') },
  ];
  await reader.applyBatch([...records, ...others]);
  const cells = reader.size;
  expect(cells).toBe(records.length - 1);
  const first = records[0];
  await reader.applyBatch([{ key: first.key, value: null }]);
  expect(reader.size).toBe(cells - 1);
  expect(reader.droppedBelow().get(0)).toBeGreaterThan(0);
});
