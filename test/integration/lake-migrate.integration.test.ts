// `rtap lake migrate` against MinIO: format-1 raw objects of committed chunks are rewritten in
// place to format 2 (same names), current ones and those of uncommitted chunks are left alone,
// a second run changes nothing, and old and new objects read side by side with DuckDB all along.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { REPO_ROOT } from '../../core/config';
import { openDuckDb, sqlLiteral } from '../../core/duckdb';
import { LAKE_FORMAT, rawChunkKey, rawColumnsOfFormat, rawRoot } from '../../core/lake';
import { createS3, ensureBucket } from '../../core/s3';
import { encodeInputLine, flattenToParquet, prepareConnection, writeInputFile } from '../../ingest/flatten';
import { migrateLake, type MigrateReport } from '../../ingest/lake-migrate';
import { createManifestStore } from '../../ingest/manifests';
import { cfg, uniqueName } from './helpers';
import { listKeys, queryLake } from './lake-read';

const FIXTURE = path.resolve(__dirname, '../fixtures/event-2.1-full.json');
const run = promisify(execFile);

describe('rtap lake migrate (real MinIO)', () => {
  const s3 = createS3(cfg.s3);
  const prefix = `test/${uniqueName('lake-migrate')}`;
  let dir: string;

  beforeAll(async () => {
    await ensureBucket(s3, cfg.s3.bucket);
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'rtap-migrate-it-'));
  });
  afterAll(async () => {
    await fs.rm(dir, { recursive: true, force: true });
    s3.destroy();
  });

  /** Uploads the current sink's object for `n` fixture events at partition/offsets, optionally cut down to format 1. */
  async function putChunk(partition: number, start: number, n: number, format: 1 | 2): Promise<string> {
    const { instance, connection } = await openDuckDb({ threads: 1, memoryLimit: '512MB' });
    const out = await fs.mkdtemp(path.join(dir, 'chunk-'));
    try {
      await prepareConnection(connection);
      const lines = Array.from({ length: n }, (_, i) => {
        const e = JSON.parse(readFileSync(FIXTURE, 'utf8'));
        e.event_metadata.event_id = `p${partition}-o${start + i}`;
        const framed = encodeInputLine({ partition, offset: start + i, timestampMs: 1_790_000_000_000 + i, value: Buffer.from(JSON.stringify(e)) });
        return 'line' in framed ? framed.line : '';
      });
      await writeInputFile(path.join(out, 'in.txt'), lines);
      const res = await flattenToParquet(connection, path.join(out, 'in.txt'), out);
      let file = res.objects[0].file;
      if (format === 1) {
        const old = path.join(out, 'format1.parquet');
        const columns = rawColumnsOfFormat(1).map((c) => c.name).join(', ');
        await connection.run(`COPY (SELECT ${columns} FROM read_parquet(${sqlLiteral(file)})) TO ${sqlLiteral(old)} (FORMAT parquet, COMPRESSION zstd)`);
        file = old;
      }
      const { dt, hour } = res.objects[0];
      const key = rawChunkKey(prefix, { dt, hour, partition, startOffset: start, endOffset: start + n - 1 });
      await s3.send(new PutObjectCommand({ Bucket: cfg.s3.bucket, Key: key, Body: await fs.readFile(file) }));
      return key;
    } finally {
      connection.closeSync();
      instance.closeSync();
    }
  }

  const formats = async () =>
    Object.fromEntries(
      (await queryLake(s3, prefix, (src) => `SELECT _partition, _format, count(*)::INTEGER AS n, count(browser_name)::INTEGER AS b FROM ${src} GROUP BY ALL ORDER BY ALL`)).map(
        (r) => [`p${String(r._partition)} format ${String(r._format)}`, [r.n, r.b]],
      ),
    );

  it('rewrites committed format-1 objects in place, leaves the rest, and is idempotent', async () => {
    const oldCommitted = await putChunk(0, 0, 10, 1);
    await putChunk(0, 10, 5, 2);
    const oldUncommitted = await putChunk(1, 0, 4, 1);
    // the sink made p0 durable up to offset 15, p1 only up to 2 (chunk 0..3 still pending)
    await createManifestStore(s3, cfg.s3.bucket, prefix, 'events').publishHighWater({ '0': 15, '1': 2 });

    // Mixed formats read together before any migration: old rows have NULL in the new columns.
    expect(await formats()).toEqual({ 'p0 format 1': [10, 0], 'p0 format 2': [5, 5], 'p1 format 1': [4, 0] });

    const cli = async (...args: string[]) =>
      JSON.parse((await run(process.execPath, [path.join(REPO_ROOT, 'bin', 'rtap'), 'lake', 'migrate', '--prefix', prefix, '--json', ...args], { env: { ...process.env, LOG_LEVEL: 'warn' } })).stdout) as MigrateReport;

    const dry = await cli('--dry-run');
    expect(dry).toEqual({ objects: 3, current: 1, rewritten: [{ key: oldCommitted, from: 1, rows: 10 }], uncommitted: [oldUncommitted], failed: [] });
    expect(await formats()).toEqual({ 'p0 format 1': [10, 0], 'p0 format 2': [5, 5], 'p1 format 1': [4, 0] });

    const before = await listKeys(s3, rawRoot(prefix));
    const report = await cli();
    expect(report).toEqual({ objects: 3, current: 1, rewritten: [{ key: oldCommitted, from: 1, rows: 10 }], uncommitted: [oldUncommitted], failed: [] });
    expect(await listKeys(s3, rawRoot(prefix))).toEqual(before); // same names, nothing added or lost
    expect(await formats()).toEqual({ [`p0 format ${LAKE_FORMAT}`]: [15, 15], 'p1 format 1': [4, 0] });
    const migrated = await queryLake(
      s3,
      prefix,
      (src) => `SELECT DISTINCT browser_name, os_name, device_type, category_l1, shipping_carrier, experiment_ids, touchpoints, discount_total FROM ${src} WHERE _partition = 0`,
    );
    expect(migrated).toEqual([
      {
        browser_name: 'Safari',
        os_name: 'iOS',
        device_type: 'mobile',
        category_l1: 'Apparel',
        shipping_carrier: 'dhl',
        experiment_ids: ['checkout_one_tap_v2'],
        touchpoints: ['instagram_ad', 'email_campaign'],
        discount_total: 34.8,
      },
    ]);

    const again = await migrateLake(s3, cfg.s3.bucket, { prefix });
    expect(again).toEqual({ objects: 3, current: 2, rewritten: [], uncommitted: [oldUncommitted], failed: [] });
  });
});
