// `rtap lake migrate`: the one-off rewrite of raw objects of an older lake format into the
// current one (docs/lake.md "Format history"). Each object is re-flattened from its own rows
// (event_json + _partition/_offset/_ingested_at) with the sink's flatten SQL and uploaded under
// the same name, so the result is exactly what the current sink writes for that chunk and hour.
// Idempotent (current-format objects are skipped) and safe beside a running sink: only objects
// of committed chunks (end offset below the published high-water mark) are touched, and those
// the sink never writes again.
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { DuckDBConnection } from '@duckdb/node-api';
import { openDuckDb, sqlLiteral } from '../core/duckdb';
import { errorMessage } from '../core/errors';
import { FORMAT_COLUMN, LAKE_FORMAT, parseRawChunkKey, rawRoot, type RawChunkRef } from '../core/lake';
import type { Logger } from '../core/logger';
import { withRetry } from '../core/retry';
import { flattenRelation, prepareConnection } from './flatten';
import { readHighWaterMarks } from './manifests';

/** The lake format of a local raw Parquet file: its `_format` value, 1 when it has no such column. */
export async function rawFileFormat(conn: DuckDBConnection, file: string): Promise<number> {
  const src = sqlLiteral(file);
  const hasColumn = await conn.runAndReadAll(`SELECT count(*) AS n FROM parquet_schema(${src}) WHERE name = ${sqlLiteral(FORMAT_COLUMN)}`);
  if (Number(hasColumn.getRowObjectsJson()[0].n) === 0) return 1;
  const formats = (await conn.runAndReadAll(`SELECT DISTINCT ${FORMAT_COLUMN} AS f FROM read_parquet(${src})`)).getRowObjectsJson();
  if (formats.length !== 1) throw new Error(`${file}: mixed or empty ${FORMAT_COLUMN} (${formats.map((r) => String(r.f)).join(', ')})`);
  return Number(formats[0].f);
}

export type RewriteResult = { status: 'current'; format: number; rows: number } | { status: 'rewritten'; from: number; rows: number; file: string };

/**
 * Rewrites one local raw object of an older format into `outDir` in the current format, checking
 * that nothing changes but the columns: the same rows (offsets), none rejected, one object for
 * the same partition and event hour as its key says. Throws when a check fails, so the object in
 * the lake stays untouched.
 */
export async function rewriteRawFile(conn: DuckDBConnection, file: string, ref: Pick<RawChunkRef, 'dt' | 'hour' | 'partition'>, outDir: string): Promise<RewriteResult> {
  const format = await rawFileFormat(conn, file);
  const src = `read_parquet(${sqlLiteral(file)})`;
  const count = Number((await conn.runAndReadAll(`SELECT count(*) AS n FROM ${src}`)).getRowObjectsJson()[0].n);
  if (format === LAKE_FORMAT) return { status: 'current', format, rows: count };
  if (format > LAKE_FORMAT) throw new Error(`${file}: lake format ${format} is newer than this rtap (${LAKE_FORMAT})`);
  // _ingested_at was make_timestamp(kafka_ms * 1000): epoch_ms gives back the exact input.
  const flat = await flattenRelation(conn, `SELECT _partition AS p, _offset AS o, epoch_ms(_ingested_at) AS ts, event_json AS line FROM ${src}`, outDir);
  const where = `${ref.dt} hour ${ref.hour} p ${ref.partition}`;
  if (flat.rejects.length > 0) throw new Error(`${file}: ${flat.rejects.length} row(s) would now be rejected (${flat.rejects[0].reason}); not rewritten`);
  if (flat.objects.length !== 1 || flat.rows !== count) {
    throw new Error(`${file}: rewrite gave ${flat.objects.length} object(s) with ${flat.rows} of ${count} rows; not rewritten`);
  }
  const [obj] = flat.objects;
  if (obj.partition !== ref.partition || obj.dt !== ref.dt || obj.hour !== ref.hour) {
    throw new Error(`${file}: rows belong to ${obj.dt} hour ${obj.hour} p ${obj.partition}, the key says ${where}; not rewritten`);
  }
  return { status: 'rewritten', from: format, rows: count, file: obj.file };
}

export interface MigrateOptions {
  /** Lake root prefix inside the bucket ('' in production). */
  prefix: string;
  /** Report what would be rewritten, write nothing. */
  dryRun?: boolean;
  duckdbThreads?: number;
  duckdbMemoryLimit?: string;
  logger?: Logger;
}

export interface MigrateReport {
  /** Raw objects found under `<prefix>raw/`. */
  objects: number;
  /** Already in the current format. */
  current: number;
  /** Rewritten (or, with dryRun, to be rewritten): key → the format it had. */
  rewritten: { key: string; from: number; rows: number }[];
  /** Objects of chunks the sink has not committed yet: the sink itself rewrites or deletes them. */
  uncommitted: string[];
  /** Objects that failed a check and were left as they are. */
  failed: { key: string; error: string }[];
}

async function listRawKeys(s3: S3Client, bucket: string, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const out = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: rawRoot(prefix), ContinuationToken: token }));
    for (const o of out.Contents ?? []) if (o.Key) keys.push(o.Key);
    token = out.NextContinuationToken;
  } while (token);
  return keys.sort();
}

/** Rewrites every committed raw object of an older format under `prefix` (see the header). */
export async function migrateLake(s3: S3Client, bucket: string, opts: MigrateOptions): Promise<MigrateReport> {
  const marks = await readHighWaterMarks(s3, bucket, opts.prefix);
  const keys = await listRawKeys(s3, bucket, opts.prefix);
  const report: MigrateReport = { objects: 0, current: 0, rewritten: [], uncommitted: [], failed: [] };
  const { instance, connection } = await openDuckDb({ threads: opts.duckdbThreads ?? 1, memoryLimit: opts.duckdbMemoryLimit ?? '1GB' });
  const tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'rtap-lake-migrate-'));
  try {
    await prepareConnection(connection);
    for (const [i, key] of keys.entries()) {
      const ref = parseRawChunkKey(key);
      if (!ref) continue;
      report.objects += 1;
      if (ref.endOffset >= (marks[String(ref.partition)] ?? 0)) {
        report.uncommitted.push(key);
        continue;
      }
      const dir = path.join(tmp, String(i));
      await fs.mkdir(dir);
      try {
        const file = path.join(dir, 'in.parquet');
        const got = await withRetry(() => s3.send(new GetObjectCommand({ Bucket: bucket, Key: key })), { shouldRetry: () => true });
        await fs.writeFile(file, await got.Body!.transformToByteArray());
        const res = await rewriteRawFile(connection, file, ref, dir);
        if (res.status === 'current') {
          report.current += 1;
          continue;
        }
        if (!opts.dryRun) {
          const body = await fs.readFile(res.file);
          await withRetry(
            () => s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: 'application/vnd.apache.parquet' })),
            { shouldRetry: () => true },
          );
        }
        report.rewritten.push({ key, from: res.from, rows: res.rows });
        opts.logger?.info({ key, from: res.from, to: LAKE_FORMAT, rows: res.rows, dryRun: opts.dryRun ?? false }, 'raw object rewritten');
      } catch (err) {
        const error = errorMessage(err);
        report.failed.push({ key, error });
        opts.logger?.error({ key, err: error }, 'raw object left as it is');
      } finally {
        await fs.rm(dir, { recursive: true, force: true });
      }
    }
  } finally {
    connection.closeSync();
    instance.closeSync();
    await fs.rm(tmp, { recursive: true, force: true });
  }
  return report;
}
