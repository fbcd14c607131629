// Batch views' resident day tables (serving/analytics/batch-views.ts): once a day-unit cells view of
// a snapshot is loaded into DuckDB, cells() answers from it with exactly the cells the Parquet scan
// of the same day files gives (the parts asked for), for any tenant and range; a snapshot with
// other files gets a table of its own. Files are put where the view cache expects them, so no S3.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { openDuckDb, sqlLiteral, type OpenDuckDb } from '../../core/duckdb';
import { viewByName, viewFileKey, type ViewsVersionManifest } from '../../core/lake-views';
import { MEASURES, type Cell } from '../../core/measures';
import { mulberry32 as prng } from '../../core/random';
import { createBatchViews, type BatchSnapshot, type BatchViews } from '../../serving/analytics/batch-views';

const DAY_US = 86_400_000_000;
const D0 = Date.parse('2026-11-01T00:00:00Z') * 1000;
const VIEW = 'country_1d';
const PREFIX = 'resident-test';
const NUMERIC = MEASURES.parts.filter((p) => p.kind !== 'hll' && p.kind !== 'digest');
const dayOf = (us: number) => new Date(us / 1000).toISOString().slice(0, 10);

let dir: string;
let duck: OpenDuckDb;
let batch: BatchViews;
const errors: unknown[] = [];

/** A day file of the view as the batch layer writes it (key columns, numeric parts; sorted by tenant). */
async function writeDay(version: string, day: number, seed: number): Promise<string> {
  const key = viewFileKey(PREFIX, viewByName(VIEW), version, dayOf(D0 + day * DAY_US));
  const file = path.join(dir, key);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const rnd = prng(seed);
  const rows: string[] = [];
  for (const tenant of ['t1', 't2', 't3', 't4']) {
    for (const country of ['DE', 'FR', 'US', null]) {
      if (rnd() < 0.2) continue;
      const values = NUMERIC.map((p) => {
        if (p.kind === 'count') return `${Math.floor(rnd() * 1000)}::BIGINT`;
        if ((p.kind === 'min' || p.kind === 'max') && rnd() < 0.3) return 'NULL::DOUBLE';
        return `${(rnd() * 1e4).toFixed(3)}::DOUBLE`;
      });
      rows.push(`(${sqlLiteral(VIEW)}, ${sqlLiteral(tenant)}, ${D0 + day * DAY_US}::BIGINT, ${country === null ? 'NULL::VARCHAR' : sqlLiteral(country)}, -1::INTEGER, -1::BIGINT, ${values.join(', ')})`);
    }
  }
  const columns = ['rollup', 'tenant_id', 'window_start_us', 'dimension', 'partition', 'bucket', ...NUMERIC.map((p) => p.name)].map((c) => `"${c}"`).join(', ');
  const conn = await duck.instance.connect();
  try {
    await conn.run(`COPY (SELECT * FROM (VALUES ${rows.join(', ')}) AS t(${columns}) ORDER BY tenant_id, window_start_us, dimension NULLS FIRST) TO ${sqlLiteral(file)} (FORMAT parquet)`);
  } finally {
    conn.closeSync();
  }
  return key;
}

function snapshot(version: string, days: Record<string, string>): BatchSnapshot {
  const manifest = { version, cut: {}, published_at: '2026-11-28T00:00:00Z', units: { hour: {}, day: days, feedback_day: {}, version: null } } as unknown as ViewsVersionManifest;
  return { version, cut: {}, publishedAt: manifest.published_at, manifest };
}

/** The cells as comparable rows: window, dimension and the asked parts, sorted. */
function rowsOf(cells: Cell[], parts: readonly string[]): string[] {
  const idx = parts.map((p) => MEASURES.parts.findIndex((x) => x.name === p));
  return cells.map((c) => JSON.stringify([c.key.window_start_us, c.key.dimension, ...idx.map((i) => c.parts[i])])).sort();
}

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rtap-resident-'));
  duck = await openDuckDb({ threads: 1, memoryLimit: '256MB' });
  // S3 is never asked: every file is in the cache already
  batch = createBatchViews({ s3: {} as S3Client, bucket: 'unused', prefix: PREFIX, duck: duck.instance, cacheDir: dir, onResidentError: (err) => errors.push(err) });
});

afterAll(() => {
  batch.close();
  duck.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('cells from the resident table equal the Parquet scan of the same day files, for every tenant and range', async () => {
  const days: Record<string, string> = {};
  for (let d = 0; d < 6; d++) {
    await writeDay('v1', d, 100 + d);
    days[dayOf(D0 + d * DAY_US)] = 'v1';
  }
  const snap = snapshot('v1', days);
  const asks: { tenant: string; from: number; to: number; parts: string[] }[] = [];
  const rnd = prng(7);
  for (let i = 0; i < 40; i++) {
    const a = Math.floor(rnd() * 8) - 1;
    const b = a + 1 + Math.floor(rnd() * 6);
    // whole days and ranges that start or end inside a day
    const from = D0 + a * DAY_US + (rnd() < 0.3 ? Math.floor(rnd() * 24) * 3_600_000_000 : 0);
    const to = D0 + b * DAY_US;
    const parts = NUMERIC.filter(() => rnd() < 0.5).map((p) => p.name);
    asks.push({ tenant: ['t1', 't2', 't3', 't4', 't9'][i % 5], from, to, parts: parts.length > 0 ? parts : ['events'] });
  }
  // the first ask starts the load and is answered by the Parquet scan
  const scanned = await Promise.all(asks.map((q) => batch.cells(snap, VIEW, q.tenant, q.from, q.to, q.parts)));
  expect(await batch.resident(snap, VIEW)).toBe(true);
  const resident = await Promise.all(asks.map((q) => batch.cells(snap, VIEW, q.tenant, q.from, q.to, q.parts)));
  asks.forEach((q, i) => expect(rowsOf(resident[i], q.parts)).toEqual(rowsOf(scanned[i], q.parts)));
  expect(scanned.some((c) => c.length > 0)).toBe(true);
  // resident cells carry no partition or bucket (day views have none) and the view's name
  expect(resident.flat().every((c) => c.key.partition === -1 && c.key.bucket === -1 && c.key.rollup === VIEW)).toBe(true);
  expect(errors).toEqual([]);
});

test('a snapshot with other day files gets its own table (never the older one)', async () => {
  const days: Record<string, string> = {};
  for (let d = 0; d < 6; d++) days[dayOf(D0 + d * DAY_US)] = 'v1';
  // day 2 recomputed by version v2 with other values
  await writeDay('v2', 2, 999);
  days[dayOf(D0 + 2 * DAY_US)] = 'v2';
  const snap = snapshot('v2', days);
  const ask = () => batch.cells(snap, VIEW, 't2', D0, D0 + 6 * DAY_US, ['events', 'revenue']);
  const scanned = await ask();
  expect(await batch.resident(snap, VIEW)).toBe(true);
  expect(rowsOf(await ask(), ['events', 'revenue'])).toEqual(rowsOf(scanned, ['events', 'revenue']));
  const v1 = await batch.cells(snapshot('v1', Object.fromEntries(Object.keys(days).map((d) => [d, 'v1']))), VIEW, 't2', D0 + 2 * DAY_US, D0 + 3 * DAY_US, ['events']);
  const v2 = scanned.filter((c) => c.key.window_start_us === D0 + 2 * DAY_US);
  expect(rowsOf(v2, ['events'])).not.toEqual(rowsOf(v1, ['events']));
  expect(errors).toEqual([]);
});

test('unitKeys picks the units overlapping the range', () => {
  const days: Record<string, string> = {};
  for (let d = 0; d < 6; d++) days[dayOf(D0 + d * DAY_US)] = 'v1';
  const snap = snapshot('v1', days);
  const key = (d: number) => viewFileKey(PREFIX, viewByName(VIEW), 'v1', dayOf(D0 + d * DAY_US));
  expect(batch.unitKeys(snap, VIEW, D0, D0 + DAY_US)).toEqual([key(0)]);
  expect(batch.unitKeys(snap, VIEW, D0 + 1, D0 + DAY_US + 1)).toEqual([key(0), key(1)]);
  expect(batch.unitKeys(snap, VIEW, D0 - DAY_US, D0)).toEqual([]);
  expect(batch.unitKeys(snap, VIEW, D0 + 5 * DAY_US + 5, D0 + 9 * DAY_US)).toEqual([key(5)]);
  expect(batch.unitKeys(snap, VIEW, D0 - 3 * DAY_US, D0 + 30 * DAY_US)).toEqual([0, 1, 2, 3, 4, 5].map(key));
  expect(batch.unitKeys(snap, VIEW, D0 + 3 * DAY_US, D0 + 3 * DAY_US + 1)).toEqual([key(3)]);
});
