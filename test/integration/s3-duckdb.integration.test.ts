// Smoke tests of MinIO through @aws-sdk/client-s3 and of DuckDB's Parquet round trip through it.
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { DeleteObjectsCommand, GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { openDuckDb, openLakeDuckDb, s3Url, sqlLiteral } from '../../core/duckdb';
import { createS3 } from '../../core/s3';
import { cfg, uniqueName } from './helpers';

let s3: S3Client;
let duck: { instance: DuckDBInstance; connection: DuckDBConnection };
let tmp: string;
const prefix = `${uniqueName('smoke')}/`;

beforeAll(async () => {
  s3 = createS3(cfg.s3);
  duck = await openDuckDb({ threads: 1, memoryLimit: '512MB' });
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'rtap-smoke-'));
});

afterAll(async () => {
  const listed = await s3.send(new ListObjectsV2Command({ Bucket: cfg.s3.bucket, Prefix: prefix }));
  if (listed.Contents?.length) {
    await s3.send(new DeleteObjectsCommand({ Bucket: cfg.s3.bucket, Delete: { Objects: listed.Contents.map((o) => ({ Key: o.Key! })) } }));
  }
  s3.destroy();
  duck.connection.closeSync();
  duck.instance.closeSync();
  await fs.rm(tmp, { recursive: true, force: true });
});

test('put, get and list objects on MinIO', async () => {
  const bodies = { 'a.txt': 'alpha', 'b/c.txt': 'gamma', 'b/d.txt': 'delta' };
  for (const [key, body] of Object.entries(bodies)) {
    await s3.send(new PutObjectCommand({ Bucket: cfg.s3.bucket, Key: prefix + key, Body: body }));
  }
  const got = await s3.send(new GetObjectCommand({ Bucket: cfg.s3.bucket, Key: `${prefix}b/c.txt` }));
  expect(await got.Body!.transformToString()).toBe('gamma');

  const listed = await s3.send(new ListObjectsV2Command({ Bucket: cfg.s3.bucket, Prefix: `${prefix}b/` }));
  expect(listed.Contents!.map((o) => o.Key).sort()).toEqual([`${prefix}b/c.txt`, `${prefix}b/d.txt`]);
});

test('Parquet written by DuckDB survives upload and download unchanged', async () => {
  const original = path.join(tmp, 'orders.parquet');
  await duck.connection.run(`
    COPY (
      SELECT 'tenant-' || (i % 13) AS tenant_id, i::BIGINT AS _offset,
             round(i * 1.37, 2)::DECIMAL(12,2) AS amount,
             TIMESTAMP '2026-11-26 00:00:00' + to_seconds(i) AS event_time
      FROM range(5000) t(i)
    ) TO ${sqlLiteral(original)} (FORMAT parquet)`);
  const key = `${prefix}raw/orders.parquet`;
  await s3.send(new PutObjectCommand({ Bucket: cfg.s3.bucket, Key: key, Body: await fs.readFile(original) }));

  const downloaded = path.join(tmp, 'downloaded.parquet');
  const got = await s3.send(new GetObjectCommand({ Bucket: cfg.s3.bucket, Key: key }));
  await fs.writeFile(downloaded, await got.Body!.transformToByteArray());

  expect(Buffer.compare(await fs.readFile(original), await fs.readFile(downloaded))).toBe(0);
  // Row-level comparison through DuckDB: rows in either file but not both.
  const diff = await duck.connection.runAndReadAll(`
    SELECT count(*)::INTEGER AS n FROM (
      (SELECT * FROM read_parquet(${sqlLiteral(original)}) EXCEPT ALL SELECT * FROM read_parquet(${sqlLiteral(downloaded)}))
      UNION ALL
      (SELECT * FROM read_parquet(${sqlLiteral(downloaded)}) EXCEPT ALL SELECT * FROM read_parquet(${sqlLiteral(original)}))
    )`);
  expect(diff.getRowObjects()[0].n).toBe(0);
  const summary = await duck.connection.runAndReadAll(
    `SELECT count(*)::INTEGER AS rows, count(DISTINCT tenant_id)::INTEGER AS tenants, sum(amount)::DOUBLE AS total FROM read_parquet(${sqlLiteral(downloaded)})`,
  );
  // Independent arithmetic: sum over i of round(1.37 i, 2) = 1.37 * sum(i) since 1.37 i has 2 decimals.
  expect(summary.getRowObjects()[0]).toEqual({ rows: 5000, tenants: 13, total: Number((1.37 * ((4999 * 5000) / 2)).toFixed(2)) });
});

test('DuckDB reads and writes the lake on S3 directly (httpfs from PyPI)', async () => {
  const lake = await openLakeDuckDb({ ...cfg.duckdb, s3: cfg.s3, cacheDir: cfg.cacheDir });
  try {
    const url = s3Url(cfg.s3.bucket, `${prefix}direct/n.parquet`);
    await lake.connection.run(`COPY (SELECT i AS n, md5(i::VARCHAR) AS h FROM range(3000) t(i)) TO ${sqlLiteral(url)} (FORMAT parquet)`);
    // the object is a real S3 object, visible to the SDK…
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: cfg.s3.bucket, Prefix: `${prefix}direct/` }));
    expect(listed.Contents?.map((o) => o.Key)).toEqual([`${prefix}direct/n.parquet`]);
    // encrypted at rest by the bucket's default (SSE-S3 with MinIO's local key), without DuckDB asking
    const head = await s3.send(new HeadObjectCommand({ Bucket: cfg.s3.bucket, Key: `${prefix}direct/n.parquet` }));
    expect(head.ServerSideEncryption).toBe('AES256');
    // …and DuckDB reads it back (with a glob, which needs S3 listing) with the same content.
    const reader = await lake.connection.runAndReadAll(
      `SELECT count(*)::INTEGER AS n, sum(n)::BIGINT AS s, bool_and(h = md5(n::VARCHAR)) AS ok FROM read_parquet(${sqlLiteral(s3Url(cfg.s3.bucket, `${prefix}direct/*.parquet`))})`,
    );
    expect(reader.getRowObjectsJson()).toEqual([{ n: 3000, s: String((2999 * 3000) / 2), ok: true }]);
  } finally {
    lake.close();
  }
});
