// The format bump, read side and rewrite side, on local files with DuckDB: a format-1 raw object
// (written here with the format-1 columns) reads next to a format-2 one through
// rawEventsRelation, and `rtap lake migrate`'s rewrite turns it into exactly what the current
// sink writes for the same rows.
import { readFileSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { openDuckDb, sqlLiteral } from '../../core/duckdb';
import { LAKE_FORMAT, RAW_COLUMNS, rawColumnsOfFormat, rawEventsRelation } from '../../core/lake';
import { encodeInputLine, flattenToParquet, prepareConnection, writeInputFile } from '../../ingest/flatten';
import { rawFileFormat, rewriteRawFile } from '../../ingest/lake-migrate';

const FIXTURE = path.resolve(__dirname, '../fixtures/event-2.1-full.json');

/** n copies of the brief's event in one event hour, the older 2.0 user-agent strings on odd ones. */
function events(n: number, idPrefix: string): string[] {
  return Array.from({ length: n }, (_, i) => {
    const e = JSON.parse(readFileSync(FIXTURE, 'utf8'));
    e.tenant_id = `tenant-${i % 3}`;
    e.event_metadata.event_id = `${idPrefix}-${i}`;
    e.event_metadata.timestamp = `2026-11-20T14:${String(i % 60).padStart(2, '0')}:00.000001Z`;
    if (i % 2 === 1) e.event_data.user_context.session_data.session_attributes.user_agent_parsed = { browser: 'Firefox', os: 'Linux', device: 'desktop' };
    return JSON.stringify(e);
  });
}

describe('lake format 1 → 2 (DuckDB, local files)', () => {
  let dir: string;
  let db: Awaited<ReturnType<typeof openDuckDb>>;
  const q = async (sql: string) => (await db.connection.runAndReadAll(sql)).getRowObjectsJson();

  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'rtap-lake-format-'));
    db = await openDuckDb({ threads: 1, memoryLimit: '512MB' });
    await prepareConnection(db.connection);
  });
  afterEach(async () => {
    db.connection.closeSync();
    db.instance.closeSync();
    await fs.rm(dir, { recursive: true, force: true });
  });

  /** The current sink's object for these events (partition 4, offsets from `first`). */
  async function sinkObject(name: string, values: string[], first: number): Promise<string> {
    const out = path.join(dir, name);
    await fs.mkdir(out);
    const lines = values.map((v, i) => encodeInputLine({ partition: 4, offset: first + i, timestampMs: 1_790_000_000_123 + i, value: Buffer.from(v) }));
    await writeInputFile(path.join(out, 'in.txt'), lines.map((l) => ('line' in l ? l.line : '')));
    const res = await flattenToParquet(db.connection, path.join(out, 'in.txt'), out);
    expect(res.objects).toHaveLength(1);
    return res.objects[0].file;
  }

  /** What the format-1 sink wrote for the same rows: the format-1 columns only, same order and types. */
  async function formatOneObject(current: string, file: string): Promise<string> {
    const columns = rawColumnsOfFormat(1).map((c) => c.name).join(', ');
    await db.connection.run(`COPY (SELECT ${columns} FROM read_parquet(${sqlLiteral(current)})) TO ${sqlLiteral(file)} (FORMAT parquet, COMPRESSION zstd)`);
    return file;
  }

  it('format 1 has the columns of before the bump, in their order', () => {
    expect(LAKE_FORMAT).toBe(2);
    expect(rawColumnsOfFormat(1).map((c) => c.name)).toEqual([
      'tenant_id', 'event_id', 'event_time', 'ingestion_time', 'event_type', 'event_subtype', 'schema_version', 'source_system',
      'user_id', 'anonymous_id', 'session_id', 'correlation_id', 'causation_id', 'device_fingerprint', 'country', 'region', 'city',
      'merchant_id', 'cart_id', 'final_total', 'currency', 'payment_method_type', 'payment_provider', 'payment_token', 'page_type',
      'fraud_score', 'event_json', '_partition', '_offset', '_ingested_at',
    ]);
    expect(rawColumnsOfFormat(2)).toEqual(RAW_COLUMNS);
    expect(() => rawColumnsOfFormat(3)).toThrow(RangeError);
  });

  it('an old-format object reads next to a new one: NULL in the new columns, _format 1, filters on any column', async () => {
    const oldFile = await formatOneObject(await sinkObject('a', events(6, 'old'), 100), path.join(dir, 'old.parquet'));
    const newFile = await sinkObject('b', events(4, 'new'), 200);
    expect(await rawFileFormat(db.connection, oldFile)).toBe(1);
    expect(await rawFileFormat(db.connection, newFile)).toBe(2);

    const src = rawEventsRelation([oldFile, newFile], { hivePartitioning: false });
    const described = await q(`DESCRIBE SELECT * FROM ${src}`);
    expect(described.map((c) => `${c.column_name} ${c.column_type}`)).toEqual(RAW_COLUMNS.map((c) => `${c.name} ${c.type}`));

    const rows = await q(`SELECT event_id, _format, browser_name, touchpoints, experiment_ids, final_total, tenant_id FROM ${src} ORDER BY _offset`);
    expect(rows).toHaveLength(10);
    expect(rows[0]).toEqual({ event_id: 'old-0', _format: 1, browser_name: null, touchpoints: null, experiment_ids: null, final_total: 318.1, tenant_id: 'tenant-0' });
    expect(rows[6]).toEqual({
      event_id: 'new-0',
      _format: 2,
      browser_name: 'Safari',
      touchpoints: ['instagram_ad', 'email_campaign'],
      experiment_ids: ['checkout_one_tap_v2'],
      final_total: 318.1,
      tenant_id: 'tenant-0',
    });
    expect(rows[7]).toMatchObject({ event_id: 'new-1', browser_name: 'Firefox' });
    expect(await q(`SELECT _format, count(*)::INTEGER AS n FROM ${src} WHERE tenant_id = 'tenant-1' GROUP BY ALL ORDER BY ALL`)).toEqual([
      { _format: 1, n: 2 },
      { _format: 2, n: 1 },
    ]);
    expect(await q(`SELECT count(*)::INTEGER AS n FROM ${src} WHERE _format = 1`)).toEqual([{ n: 6 }]);
    // the typed template branch is optimized away: the tenant filter reaches the Parquet scan
    const plan = (await q(`EXPLAIN SELECT browser_name, count(*) FROM ${src} WHERE tenant_id = 'tenant-1' GROUP BY ALL`)).map((r) => String(r.explain_value)).join('\n');
    expect(plan).toMatch(/READ_PARQUET[\s\S]*Filters:[\s\S]*tenant_id=/);
    // only old objects: the relation still has every current column
    expect(await q(`SELECT count(*)::INTEGER AS n, count(browser_name)::INTEGER AS b FROM ${rawEventsRelation(oldFile, { hivePartitioning: false })}`)).toEqual([{ n: 6, b: 0 }]);
  });

  it('the rewrite turns a format-1 object into what the current sink writes for its rows; a current one is left alone', async () => {
    const current = await sinkObject('a', events(30, 'e'), 1000);
    const old = await formatOneObject(current, path.join(dir, 'old.parquet'));
    const out = path.join(dir, 'out');
    await fs.mkdir(out);

    const res = await rewriteRawFile(db.connection, old, { dt: '2026-11-20', hour: 14, partition: 4 }, out);
    expect(res).toMatchObject({ status: 'rewritten', from: 1, rows: 30 });
    const rewritten = (res as { file: string }).file;
    expect(await rawFileFormat(db.connection, rewritten)).toBe(LAKE_FORMAT);
    const diff = async (a: string, b: string) =>
      Number((await q(`SELECT count(*) AS n FROM (SELECT * FROM read_parquet(${sqlLiteral(a)}) EXCEPT ALL SELECT * FROM read_parquet(${sqlLiteral(b)}))`))[0].n);
    expect(await diff(rewritten, current)).toBe(0);
    expect(await diff(current, rewritten)).toBe(0);
    // same order too (sorted by tenant, time, offset), so byte for byte the sink's object
    expect(await fs.readFile(rewritten)).toEqual(await fs.readFile(current));

    expect(await rewriteRawFile(db.connection, rewritten, { dt: '2026-11-20', hour: 14, partition: 4 }, out)).toEqual({ status: 'current', format: 2, rows: 30 });
  });

  it('refuses a rewrite that would change more than the columns', async () => {
    const old = await formatOneObject(await sinkObject('a', events(3, 'e'), 0), path.join(dir, 'old.parquet'));
    const out = path.join(dir, 'out');
    await fs.mkdir(out);
    await expect(rewriteRawFile(db.connection, old, { dt: '2026-11-20', hour: 15, partition: 4 }, out)).rejects.toThrow(/the key says 2026-11-20 hour 15 p 4/);
    await expect(rewriteRawFile(db.connection, old, { dt: '2026-11-20', hour: 14, partition: 5 }, out)).rejects.toThrow(/not rewritten/);
  });
});
