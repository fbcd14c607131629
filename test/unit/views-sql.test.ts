// The batch views' SQL (core/views-sql.ts) on local Parquet: raw objects written by the sink's own
// flatten from generator traffic (late events, duplicates, re-sends, defects) over ~2 days, the
// hour views computed hour by hour at a cut as activities/views.ts does, the day views merged from
// the hour files. Checked against independent computations:
// - minute cells of every hour, together == measuresSql over all raw rows at the cut;
// - hour cells (merged from minutes in SQL) == measuresSql of the same rollups declared with an
//   hour window, straight from raw rows;
// - day cells (merged from hour files in SQL) == the minute cells merged in TypeScript
//   (cells.ts mergeAll): counts, min, max exact, sums to 1e-9, sketch registers and digest
//   buckets identical.
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { openDuckDb } from '../../core/duckdb';
import { hourLabel } from '../../core/hours';
import { rawChunkKey, rawEventsRelation } from '../../core/lake';
import { VIEWS, type ViewDef } from '../../core/lake-views';
import { murmur2 } from '../../core/kafka-partitioner';
import { canonicalParts, cellFromSqlRow, mergeAll, measuresSql, MEASURES, type Cell, type MeasuresDeclaration } from '../../core/measures';
import { cellsDayViewSql, cellsHourViewSql, compactedCoversHour, hourCellsSql, hourRowsSql, parquetList } from '../../core/views-sql';
import { EventGenerator } from '../../generator/generator';
import { encodeInputLine, flattenToParquet, prepareConnection, writeInputFile } from '../../ingest/flatten';

// DuckDB over thousands of generated events: seconds on a loaded 2-core machine.
jest.setTimeout(120_000);

const PARTITIONS = 3;
const DAY_US = 86_400_000_000;

function messages(): { partition: number; offset: number; value: string }[] {
  const next = new Array<number>(PARTITIONS).fill(0);
  const out: { partition: number; offset: number; value: string }[] = [];
  const sent: { key: string; value: string }[] = [];
  const push = (key: string, value: string) => {
    const partition = (murmur2(key) & 0x7fffffff) % PARTITIONS;
    out.push({ partition, offset: next[partition]++, value });
  };
  // one event per ~30 s of event time: ~2 days, so hours and days both have several units
  const g = new EventGenerator({ seed: 11, tenants: 5, users: 400, rate: 1 / 30, lateRate: 0.05, defectRate: 0.03, fraudRate: 0.02 });
  for (let i = 0; i < 6000; i++) {
    const e = g.next();
    const value = JSON.stringify(e.event);
    push(e.key, value);
    sent.push({ key: e.key, value });
    if (i % 500 === 499) push(sent[i - 300].key, sent[i - 300].value); // a re-send far behind its original
  }
  return out;
}

function close(a: number, b: number): boolean {
  return a === b || Math.abs(a - b) <= 1e-9 * Math.max(Math.abs(a), Math.abs(b));
}

function diffCells(decl: MeasuresDeclaration, got: Map<string, Cell>, want: Map<string, Cell>): string[] {
  const out: string[] = [];
  for (const k of new Set([...got.keys(), ...want.keys()])) {
    const a = got.get(k);
    const b = want.get(k);
    if (!a || !b) {
      out.push(`${k}: ${a ? 'only in the view' : 'missing from the view'}`);
      continue;
    }
    const x = canonicalParts(decl, a.parts);
    const y = canonicalParts(decl, b.parts);
    for (const p of decl.parts) {
      const same = p.kind === 'sum' ? close(x[p.name] as number, y[p.name] as number) : JSON.stringify(x[p.name]) === JSON.stringify(y[p.name]);
      if (!same) out.push(`${k} ${p.name}: view ${JSON.stringify(x[p.name])} expected ${JSON.stringify(y[p.name])}`);
    }
  }
  return out;
}

const keyOf = (c: Cell) => JSON.stringify([c.key.rollup, c.key.tenant_id, c.key.window_start_us, c.key.dimension]);

describe('batch views SQL: hour views at a cut, hour and day grains merged exactly', () => {
  let dir: string;
  let db: Awaited<ReturnType<typeof openDuckDb>>;
  let rawFiles: string[];
  let cut: Map<number, number>;
  /** view name → hour or day label → local file */
  const viewFiles = new Map<string, Map<string, string>>();

  const cellsOf = async (sql: string): Promise<Map<string, Cell>> => {
    const rows = (await db.connection.runAndReadAll(sql)).getRowObjectsJson();
    return new Map(rows.map((r) => cellFromSqlRow(MEASURES, r)).map((c) => [keyOf(c), c]));
  };
  const filesOf = (view: string) => [...(viewFiles.get(view) ?? new Map<string, string>()).values()];

  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'rtap-views-sql-'));
    db = await openDuckDb({ threads: 2, memoryLimit: '1GB' });
    await prepareConnection(db.connection);
    const msgs = messages();
    const input = path.join(dir, 'in.txt');
    await writeInputFile(input, msgs.map((m) => { const l = encodeInputLine({ partition: m.partition, offset: m.offset, timestampMs: 1_790_000_000_000, value: Buffer.from(m.value) }); return 'line' in l ? l.line : ''; }));
    const flat = await flattenToParquet(db.connection, input, dir);
    rawFiles = flat.objects.map((o) => o.file);
    // a cut inside every partition: the rows after it are in the lake but not in the views
    const ends = new Array<number>(PARTITIONS).fill(0);
    for (const m of msgs) ends[m.partition] = Math.max(ends[m.partition], m.offset + 1);
    cut = new Map(ends.map((e, p) => [p, Math.floor(e * 0.85)]));

    const hours = new Map<string, string[]>();
    for (const o of flat.objects) {
      const label = hourLabel(o);
      hours.set(label, [...(hours.get(label) ?? []), o.file]);
    }
    const write = async (view: ViewDef, unit: string, sql: string) => {
      const file = path.join(dir, 'views', view.name, `${unit}.parquet`);
      await fs.mkdir(path.dirname(file), { recursive: true });
      await db.connection.run(`COPY (${sql}) TO '${file}' (FORMAT parquet, COMPRESSION zstd)`);
      if (!viewFiles.has(view.name)) viewFiles.set(view.name, new Map());
      viewFiles.get(view.name)!.set(unit, file);
    };
    const cellViews = VIEWS.filter((v) => v.kind === 'cells');
    for (const [label, files] of [...hours].sort()) {
      await db.connection.run(`CREATE OR REPLACE TEMP TABLE hour_rows AS ${hourRowsSql(files, cut)}`);
      const n = Number((await db.connection.runAndReadAll('SELECT count(*) AS n FROM hour_rows')).getRowObjectsJson()[0].n);
      if (n === 0) continue;
      await db.connection.run(`CREATE OR REPLACE TEMP TABLE hour_cells AS ${hourCellsSql(MEASURES, 'hour_rows')}`);
      for (const v of cellViews.filter((x) => x.unit === 'hour')) await write(v, label, cellsHourViewSql(MEASURES, v, 'hour_cells'));
    }
    const days = [...new Set([...hours.keys()].map((l) => l.slice(0, 10)))].sort();
    for (const dt of days) {
      for (const v of cellViews.filter((x) => x.unit === 'day')) {
        const files = [...viewFiles.get(v.mergedFrom!)!].filter(([l]) => l.startsWith(dt)).map(([, f]) => f);
        if (files.length > 0) await write(v, dt, cellsDayViewSql(MEASURES, v, files));
      }
    }
  }, 120_000);

  afterAll(async () => {
    db.connection.closeSync();
    db.instance.closeSync();
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('the traffic spans several hours and days, and the cut leaves rows out', async () => {
    expect(filesOf('totals_1h').length).toBeGreaterThan(30);
    expect(filesOf('totals_1d').length).toBeGreaterThanOrEqual(2);
    const [{ all, below }] = (await db.connection.runAndReadAll(
      `SELECT count(*) AS all, count(*) FILTER (WHERE ${[...cut].map(([p, o]) => `(_partition = ${p} AND _offset < ${o})`).join(' OR ')}) AS below FROM ${rawEventsRelation(rawFiles, { hivePartitioning: false })}`,
    )).getRowObjectsJson();
    expect(Number(below)).toBeLessThan(Number(all));
  });

  it('minute cells of all hours == measuresSql over every raw row at the cut', async () => {
    const minute = MEASURES.rollups.filter((r) => r.window === 'minute').map((r) => r.name);
    const want = await cellsOf(measuresSql(MEASURES, { source: rawEventsRelation(rawFiles, { hivePartitioning: false }), cut, byOffsetBucket: false, rollups: minute }));
    const got = await cellsOf(`SELECT * FROM ${parquetList(minute.flatMap(filesOf))}`);
    expect(got.size).toBeGreaterThan(1000);
    expect(diffCells(MEASURES, got, want).slice(0, 10)).toEqual([]);
  });

  it('hour cells merged from minutes == measuresSql with the rollups declared at an hour window', async () => {
    const hourViews = VIEWS.filter((v) => v.kind === 'cells' && v.grain === 'hour');
    const decl: MeasuresDeclaration = {
      ...MEASURES,
      rollups: hourViews.map((v) => ({ ...MEASURES.rollups.find((r) => r.name === v.rollup)!, name: v.name, window: 'hour' as const })),
    };
    const want = await cellsOf(measuresSql(decl, { source: rawEventsRelation(rawFiles, { hivePartitioning: false }), cut, byOffsetBucket: false }));
    const got = await cellsOf(`SELECT * FROM ${parquetList(hourViews.flatMap((v) => filesOf(v.name)))}`);
    expect(got.size).toBeGreaterThan(100);
    expect(diffCells(MEASURES, got, want).slice(0, 10)).toEqual([]);
  });

  it('day cells merged in SQL from hour files == minute cells merged in TypeScript', async () => {
    const all = await cellsOf(measuresSql(MEASURES, { source: rawEventsRelation(rawFiles, { hivePartitioning: false }), cut, byOffsetBucket: false }));
    const groups = new Map<string, { cell: Cell; parts: Cell['parts'][] }>();
    const dayView = (rollup: string) => VIEWS.find((v) => v.rollup === rollup && v.grain === 'day')!.name;
    for (const c of all.values()) {
      const key = { ...c.key, rollup: dayView(c.key.rollup), window_start_us: Math.floor(c.key.window_start_us / DAY_US) * DAY_US };
      const k = keyOf({ key, parts: [] });
      const g = groups.get(k) ?? { cell: { key, parts: [] }, parts: [] };
      g.parts.push(c.parts);
      groups.set(k, g);
    }
    const want = new Map([...groups].map(([k, g]) => [k, { key: g.cell.key, parts: mergeAll(MEASURES, g.parts) }]));
    const dayViews = VIEWS.filter((v) => v.kind === 'cells' && v.grain === 'day');
    const got = await cellsOf(`SELECT * FROM ${parquetList(dayViews.flatMap((v) => filesOf(v.name)))}`);
    expect(got.size).toBe(want.size);
    expect(diffCells(MEASURES, got, want).slice(0, 10)).toEqual([]);
    // sketches really merged across hours: some day cell holds more registers than any of its hours
    const big = [...got.values()].find((c) => c.key.rollup === 'totals_1d')!;
    expect(canonicalParts(MEASURES, big.parts).users).not.toEqual([]);
  });

  it('hour rows from a compacted file (each event once, its lowest offset, all rows of the hour) == hour rows from raw, at the cut', async () => {
    const hours = new Map<string, string[]>();
    for (const f of rawFiles) {
      const m = /p\d+-(\d{4}-\d{2}-\d{2})-(\d+)\.parquet$/.exec(f)!; // flattenToParquet's local names
      const label = `${m[1]}T${m[2].padStart(2, '0')}`;
      hours.set(label, [...(hours.get(label) ?? []), f]);
    }
    expect(hours.size).toBeGreaterThan(30);
    let rows = 0;
    for (const [label, files] of hours) {
      // compaction's rule (activities/compaction.ts c_keys): first occurrence by (_offset, _partition), over every row, cut or not
      const compacted = path.join(dir, 'compacted', `${label}.parquet`);
      await fs.mkdir(path.dirname(compacted), { recursive: true });
      await db.connection.run(`COPY (SELECT * FROM ${rawEventsRelation(files, { hivePartitioning: false })}
        QUALIFY row_number() OVER (PARTITION BY tenant_id, event_id ORDER BY _offset, _partition) = 1 ORDER BY tenant_id, event_time) TO '${compacted}' (FORMAT parquet)`);
      const [r] = (await db.connection.runAndReadAll(`WITH a AS (${hourRowsSql(files, cut)}), b AS (${hourRowsSql([compacted], cut, { compacted: true })})
        SELECT (SELECT count(*) FROM a) AS n, (SELECT count(*) FROM (FROM a EXCEPT ALL FROM b)) AS only_raw, (SELECT count(*) FROM (FROM b EXCEPT ALL FROM a)) AS only_compacted`)).getRowObjectsJson();
      expect([label, Number(r.only_raw), Number(r.only_compacted)]).toEqual([label, 0, 0]);
      rows += Number(r.n);
    }
    expect(rows).toBeGreaterThan(4000);
  });

  it('merged cells keep measuresSql types, with partition and bucket folded to −1', async () => {
    const types = async (sql: string) => (await db.connection.runAndReadAll(`DESCRIBE ${sql}`)).getRowObjectsJson().map((r) => `${r.column_name} ${r.column_type}`);
    const raw = await types(measuresSql(MEASURES, { source: rawEventsRelation(rawFiles, { hivePartitioning: false }), byOffsetBucket: false }));
    expect(await types(`SELECT * FROM ${parquetList(filesOf('country_1d'))}`)).toEqual(raw);
    expect(await types(`SELECT * FROM ${parquetList(filesOf('country_1h'))}`)).toEqual(raw);
    const [r] = (await db.connection.runAndReadAll(`SELECT DISTINCT "partition", bucket FROM ${parquetList(filesOf('country_1d'))}`)).getRowObjectsJson();
    expect([Number(r.partition), Number(r.bucket)]).toEqual([-1, -1]);
    // sketches stored canonically (one sorted entry per register), as measuresSql stores them
    const merged = VIEWS.filter((v) => v.kind === 'cells' && v.mergedFrom).flatMap((v) => filesOf(v.name));
    const [bad] = (await db.connection.runAndReadAll(
      `SELECT count(*) FILTER (WHERE users <> list_sort(users) OR len(users) <> len(list_distinct(list_transform(users, x -> x // 64)))) AS n FROM ${parquetList(merged)}`,
    )).getRowObjectsJson();
    expect(Number(bad.n)).toBe(0);
  });
});

describe('compactedCoversHour: when an hour view may read the compacted files instead of raw', () => {
  const key = (p: number, start: number, end: number) => rawChunkKey('lake/', { dt: '2026-01-05', hour: 9, partition: p, startOffset: start, endOffset: end });
  const chunks = [
    { key: key(0, 0, 99), etag: 'a' },
    { key: key(0, 100, 199), etag: 'b' },
    { key: key(1, 0, 49), etag: 'c' },
  ];
  const cut = { '0': 150, '1': 50 };

  it('the same chunks below the cut, same ETags: covered (the cut may fall inside a chunk)', () => {
    expect(compactedCoversHour(chunks, chunks, cut)).toBe(true);
    expect(compactedCoversHour(chunks, [...chunks].reverse(), cut)).toBe(true);
  });

  it('chunks at or above the cut on either side do not matter', () => {
    const above = { key: key(0, 200, 299), etag: 'd' };
    expect(compactedCoversHour([...chunks, above], chunks, cut)).toBe(true);
    expect(compactedCoversHour(chunks, [...chunks, above], cut)).toBe(true);
    // a partition not in the cut is left out of both
    expect(compactedCoversHour([...chunks, { key: key(2, 0, 9), etag: 'e' }], chunks, cut)).toBe(true);
  });

  it('a chunk below the cut added since, rewritten in place or removed: not covered', () => {
    expect(compactedCoversHour(chunks.slice(0, 2), chunks, cut)).toBe(false);
    expect(compactedCoversHour(chunks, chunks.slice(0, 2), cut)).toBe(false);
    expect(compactedCoversHour(chunks, [chunks[0], { ...chunks[1], etag: 'b2' }, chunks[2]], cut)).toBe(false);
    // the straddling chunk below a later cut only
    expect(compactedCoversHour(chunks.slice(0, 1).concat(chunks[2]), chunks, { '0': 100, '1': 50 })).toBe(true);
    expect(compactedCoversHour(chunks.slice(0, 1).concat(chunks[2]), chunks, { '0': 101, '1': 50 })).toBe(false);
  });
});
