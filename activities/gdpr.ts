// GDPR erase and export, and per-tenant retention (docs/gdpr.md): the activities. Row work is
// DuckDB over s3:// (the worker's lake instance, one connection per call); JavaScript sees per-file
// counts. Erase and retention rewrite raw objects in place under their own names (names derive from
// offsets, so the sink's exactly-once argument and every planner keep working) and leave the
// compacted files and views to the pipeline's own activities, which the workflows call for the
// affected hours (workflows/gdpr.ts).
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand, type S3Client, type S3ServiceException } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { ApplicationFailure, cancellationSignal, heartbeat } from '@temporalio/activity';
import { s3Url, sqlLiteral } from '../core/duckdb';
import { RtapError } from '../core/errors';
import {
  AUDIT_FORMAT,
  MAX_URL_TTL_SECONDS,
  REQUEST_ID_PATTERN,
  auditKey,
  exportRoot,
  exportsRoot,
  exportsTenantRoot,
  retentionCutoffs,
  type AuditRecord,
  type ExportManifest,
  type ExportResult,
  type ExportedFile,
  type GdprSubject,
  type LocateResult,
  type PurgeResult,
  type RetentionPlan,
  type RewriteResult,
  type RowFilter,
  type SignedFile,
} from '../core/gdpr';
import { validateRowFilter, validateSubject } from '../core/gdpr-control';
import { hourLabel, hourRefsOf, type HourRef } from '../core/hours';
import { RAW_COLUMNS, normalizePrefix, parseRawChunkKey, rawEventsRelation, rawRoot } from '../core/lake';
import { compactedRoot, hourManifestVersions, parseCompactedFileKey, planSweep, type HourManifest } from '../core/lake-compacted';
import { VIEWS, VIEWS_ROOT, VIEWS_VERSIONS_ROOT, daysOfHours, feedbackDaysOf, viewUnits } from '../core/lake-views';
import { createLogger, type Logger } from '../core/logger';
import { deleteKeys, getText, listObjects, putJson } from '../core/s3';
import { readHighWaterMarks } from '../ingest/manifests';
import { DEFAULT_ORPHAN_GRACE_MS, duckStep, mapLimit } from './compaction';
import { listManifestKeys, readHourManifestAt } from './compaction-store';
import { locateRows, readCurrentViews } from './gdpr-locate';
import { keepSql, matchSql, subjectSql } from './gdpr-sql';

export interface GdprDeps {
  s3: S3Client;
  bucket: string;
  /** The worker's lake DuckDB (core/duckdb openLakeDuckDb); each call takes its own connection. */
  lake: DuckDBInstance;
  /**
   * The tenants' retention policies (tenant → days) from the control plane, for retention runs
   * that do not name policies themselves (the daily schedule). Absent: such runs fail at once.
   */
  retentionPolicies?: () => Promise<Record<string, number>>;
  logger?: Logger;
  now?: () => number;
}

export interface FindSubjectInput {
  prefix: string;
  subject: GdprSubject;
  /** Hours scanned whatever the compaction manifests say (the erase's hours of earlier rounds). */
  alsoHours?: HourRef[];
  /** Also scan the current views version (default true; an export reads raw only). */
  views?: boolean;
}

export interface PlanRetentionInput {
  prefix: string;
  /** The instant the policies apply at (epoch ms). */
  asOfMs: number;
  /** Tenant → days; default: GdprDeps.retentionPolicies. */
  policies?: Record<string, number>;
}

export interface RewriteWithoutInput {
  prefix: string;
  /** A raw object's key (with the prefix). */
  key: string;
  filter: RowFilter;
}

export interface PurgeInput {
  prefix: string;
  /** The erased (or expired) hours whose superseded compacted and view files go. */
  hours: HourRef[];
  /** A file superseded less than this long ago stays (readers of the previous manifest in flight). */
  graceMs: number;
}

export interface ExportSubjectInput {
  prefix: string;
  requestId: string;
  subject: GdprSubject;
  /** The committed raw objects holding the subject (findSubjectFiles' `raw`). */
  rawKeys: string[];
  /** When the export's URLs expire; recorded in its manifest, after which retention deletes it. */
  expiresAt: string;
}

export interface PresignInput {
  files: ExportedFile[];
  ttlSeconds: number;
}

/** Raw rows are staged whole (every column) while rewritten; a heartbeat repeats during long statements. */
const HEARTBEAT_EVERY_MS = 20_000;
/** A request directory under exports/ without a manifest is a failed export; gone after this. */
const EXPORT_ORPHAN_MS = 24 * 3_600_000;
/** Parquet compressions DuckDB writes, by the name parquet_metadata reports. */
const COMPRESSIONS: Record<string, string> = { ZSTD: 'zstd', SNAPPY: 'snappy', GZIP: 'gzip', UNCOMPRESSED: 'uncompressed', LZ4_RAW: 'lz4_raw', LZ4: 'lz4_raw', BROTLI: 'brotli' };

export function createGdprActivities(deps: GdprDeps) {
  const { s3, bucket, lake } = deps;
  const log = deps.logger ?? createLogger('gdpr');
  const now = deps.now ?? Date.now;
  const url = (key: string) => s3Url(bucket, key);

  /** A connection of the lake DuckDB for one call: interrupted on cancellation, heartbeating while statements run. */
  async function withConnection<T>(work: (conn: DuckDBConnection, beat: (p: unknown) => void, signal: AbortSignal) => Promise<T>): Promise<T> {
    const signal = cancellationSignal();
    const conn = await lake.connect();
    const interrupt = () => conn.interrupt();
    signal.addEventListener('abort', interrupt);
    let last: unknown = null;
    const beat = (p: unknown) => {
      last = p;
      heartbeat(p);
    };
    const ticker = setInterval(() => heartbeat(last), HEARTBEAT_EVERY_MS);
    try {
      await conn.run(`SET TimeZone = 'UTC'`);
      return await work(conn, beat, signal);
    } finally {
      clearInterval(ticker);
      signal.removeEventListener('abort', interrupt);
      conn.closeSync();
    }
  }

  const rows = async (conn: DuckDBConnection, signal: AbortSignal, sql: string) => (await duckStep(signal, () => conn.runAndReadAll(sql))).getRowObjectsJson();

  return {
    /**
     * Which raw objects (committed and not), live compacted files and files of the current views
     * version hold the subject's rows, and the hours to recompute. Reads only; idempotent.
     */
    async findSubjectFiles(input: FindSubjectInput): Promise<LocateResult> {
      return boundary(async () => {
        const prefix = prefixOf(input);
        const subject = validateSubject(input.subject);
        const alsoHours = input.alsoHours === undefined ? [] : hourRefsOf(input.alsoHours, 'alsoHours');
        return withConnection(async (conn, beat, signal) => {
          const found = await locateRows({ s3, bucket }, conn, { prefix, filter: { kind: 'subject', subject }, alsoHours, views: input.views !== false, signal, beat });
          log.info({ prefix, tenant: subject.tenant, raw: found.raw.length, pending: found.pending.length, compacted: found.compacted.length, views: found.views.length, scanned: found.scanned, ms: found.ms }, 'subject located');
          return found;
        });
      });
    },

    /** The rows past their tenant's retention as of `asOfMs`: which committed raw objects and live compacted files hold them. */
    async planRetention(input: PlanRetentionInput): Promise<RetentionPlan> {
      return boundary(async () => {
        const prefix = prefixOf(input);
        if (!Number.isSafeInteger(input.asOfMs) || input.asOfMs > now() + 60_000) throw new RangeError('asOfMs: expected an instant in epoch ms, not in the future');
        let policies = input.policies;
        if (policies === undefined) {
          if (!deps.retentionPolicies) throw new RangeError('policies: none given, and this worker has no control-plane source of tenant policies');
          policies = await deps.retentionPolicies();
        }
        const cutoffs = retentionCutoffs(policies, input.asOfMs);
        const asOf = new Date(input.asOfMs).toISOString();
        if (cutoffs.length === 0) return { asOf, cutoffs, raw: [], pending: [], compacted: [], hours: [] };
        return withConnection(async (conn, beat, signal) => {
          const found = await locateRows({ s3, bucket }, conn, { prefix, filter: { kind: 'retention', cutoffs }, views: false, signal, beat });
          log.info({ prefix, asOf, tenants: cutoffs.length, raw: found.raw.length, compacted: found.compacted.length, ms: found.ms }, 'retention planned');
          return { asOf, cutoffs, raw: found.raw, pending: found.pending, compacted: found.compacted, hours: found.hours };
        });
      });
    },

    /**
     * Rewrites one committed raw object without the rows the filter matches, under the SAME key:
     * its other rows byte for byte, in the file's own order, its columns (an older lake format
     * stays that format) and its compression. The new object is written with a conditional PUT
     * on the ETag the rows were read from, so two rewrites of one object (an erase and a
     * retention run) can never lose each other's removals: the loser retries on the new content.
     * A retry after success finds no matching row and reports `clean`: it converges. An object
     * the sink has not committed is left alone (`pending`): the sink may still rewrite it.
     */
    async rewriteWithout(input: RewriteWithoutInput): Promise<RewriteResult> {
      return boundary(async () => {
        const started = now();
        const prefix = prefixOf(input);
        const filter = validateRowFilter(input.filter);
        const key = input.key;
        const ref = typeof key === 'string' && key.startsWith(rawRoot(prefix)) ? parseRawChunkKey(key) : undefined;
        if (!ref) throw new RangeError(`key: not a raw object under ${rawRoot(prefix)}: ${JSON.stringify(key)?.slice(0, 200)}`);
        const base = { key, rowsBefore: 0, removed: 0, rowsAfter: 0 };
        const marks = await readHighWaterMarks(s3, bucket, prefix);
        if (ref.endOffset >= (marks[String(ref.partition)] ?? 0)) return { ...base, status: 'pending', ms: now() - started };
        const head = await headObject(s3, bucket, key);
        if (!head) return { ...base, status: 'missing', ms: now() - started };

        const local = path.join(os.tmpdir(), `rtap-gdpr-${randomUUID()}.parquet`);
        try {
          return await withConnection(async (conn, beat, signal) => {
            const src = `read_parquet(${sqlLiteral(url(key))}, hive_partitioning = false)`;
            beat({ key, phase: 'counting' });
            const [count] = await rows(conn, signal, `SELECT count(*)::BIGINT AS n, (count(*) FILTER (WHERE ${matchSql(filter)}))::BIGINT AS m FROM ${src}`);
            const rowsBefore = Number(count.n);
            const matching = Number(count.m);
            if (matching === 0) return { ...base, status: 'clean', rowsBefore, rowsAfter: rowsBefore, etagBefore: unquote(head.etag), ms: now() - started };
            const codecs = (await rows(conn, signal, `SELECT DISTINCT compression FROM parquet_metadata(${sqlLiteral(url(key))})`)).map((r) => String(r.compression));
            const compression = codecs.length === 1 && COMPRESSIONS[codecs[0]] ? COMPRESSIONS[codecs[0]] : 'zstd';
            beat({ key, phase: 'rewriting', matching });
            // file_row_number keeps the file's order (tenant_id, event_time, _offset for the sink's
            // objects) whatever it is; SELECT * keeps exactly the file's columns.
            const [stats] = await rows(conn, signal, `
              COPY (SELECT * EXCLUDE (file_row_number)
                    FROM read_parquet(${sqlLiteral(url(key))}, hive_partitioning = false, file_row_number = true)
                    WHERE ${keepSql(filter)} ORDER BY file_row_number)
              TO ${sqlLiteral(local)} (FORMAT parquet, COMPRESSION ${compression}, RETURN_STATS)`);
            const rowsAfter = Number(stats.count);
            if (rowsAfter !== rowsBefore - matching) throw new RtapError(`${key}: kept ${rowsAfter} of ${rowsBefore} rows, expected ${rowsBefore - matching}; the object changed while read`, { retriable: true });
            beat({ key, phase: 'uploading', matching });
            const etagAfter = await putIfMatch(s3, bucket, key, await fs.readFile(local), head.etag);
            log.info({ key, filter: filter.kind, rowsBefore, removed: matching, rowsAfter, compression }, 'raw object rewritten');
            return { key, status: 'rewritten', rowsBefore, removed: matching, rowsAfter, etagBefore: unquote(head.etag), etagAfter, ms: now() - started };
          });
        } finally {
          await fs.rm(local, { force: true });
        }
      });
    },

    /**
     * Deletes what still holds rows of the erased (or expired) hours after their recompute:
     * compacted files of those hours no current manifest lists (superseded at least `graceMs`
     * ago, or orphans of failed runs past the sweep's orphan grace), and files of those hours'
     * units (hour, day, feedback day) in published views versions that the current version no
     * longer references (older versions lose those units), plus unpublished versions' files
     * older than the orphan grace. Files a run in flight may still publish are never touched.
     */
    async purgeSuperseded(input: PurgeInput): Promise<PurgeResult> {
      return boundary(async () => {
        const prefix = prefixOf(input);
        const hours = hourRefsOf(input.hours);
        if (!Number.isSafeInteger(input.graceMs) || input.graceMs < 0) throw new RangeError('graceMs: expected a duration in ms ≥ 0');
        const signal = cancellationSignal();
        const labels = new Set(hours.map(hourLabel));
        const nowMs = now();

        // compacted: the sweep's own rules, restricted to the hours
        const [files, manifestKeys] = await Promise.all([listObjects(s3, bucket, compactedRoot(prefix), signal), listManifestKeys(s3, bucket, prefix, signal)]);
        const inHours = (key: string) => {
          const ref = parseCompactedFileKey(key);
          return ref !== undefined && labels.has(hourLabel(ref));
        };
        const versions = hourManifestVersions(manifestKeys.filter((k) => labels.has(hourLabelOfManifest(k))));
        const current = new Map<string, HourManifest | undefined>();
        await mapLimit([...versions], 8, async ([label, list]) => {
          current.set(label, await readHourManifestAt(s3, bucket, list[list.length - 1].key));
        });
        const sweep = planSweep({
          files: files.filter((f) => inHours(f.key)),
          manifestKeys: [...versions.values()].flat().map((v) => v.key),
          current,
          nowMs,
          graceMs: input.graceMs,
          orphanGraceMs: DEFAULT_ORPHAN_GRACE_MS,
        });
        heartbeat({ phase: 'compacted', delete: sweep.deleteFiles.length });
        await deleteKeys(s3, bucket, sweep.deleteFiles);

        // views: units of the hours in versions other than the one the current version names
        const manifest = await readCurrentViews({ s3, bucket }, prefix);
        const published = new Set(
          (await listObjects(s3, bucket, `${normalizePrefix(prefix)}${VIEWS_VERSIONS_ROOT}/`, signal)).map((o) => o.key.slice(o.key.lastIndexOf('/') + 1).replace(/\.json$/, '')),
        );
        const days = new Set(daysOfHours(hours));
        const feedback = new Set(feedbackDaysOf([...days]));
        const viewFiles: string[] = [];
        for (const view of VIEWS) {
          if (view.unit === 'version') continue;
          const inUse = new Map(manifest ? viewUnits(manifest, view) : []);
          const affected = (unit: string) => (view.unit === 'hour' ? labels.has(unit) : view.unit === 'day' ? days.has(unit) : feedback.has(unit));
          for (const o of await listObjects(s3, bucket, `${normalizePrefix(prefix)}${VIEWS_ROOT}/${view.name}/`, signal)) {
            const f = parseViewFile(o.key);
            if (!f || !affected(f.unit) || inUse.get(f.unit) === f.version) continue;
            const old = published.has(f.version) ? nowMs - o.lastModified >= input.graceMs : nowMs - o.lastModified >= DEFAULT_ORPHAN_GRACE_MS;
            if (old) viewFiles.push(o.key);
          }
        }
        heartbeat({ phase: 'views', delete: viewFiles.length });
        await deleteKeys(s3, bucket, viewFiles);
        log.info({ prefix, hours: hours.length, compacted: sweep.deleteFiles.length, views: viewFiles.length }, 'superseded files of erased hours purged');
        return { compacted: sweep.deleteFiles, views: viewFiles.sort() };
      });
    },

    /** Deletes committed raw objects that hold no row any more (after retention emptied them and their hours were recomputed). */
    async deleteEmptyRaw(input: { prefix: string; keys: string[] }): Promise<{ deleted: string[] }> {
      return boundary(async () => {
        const prefix = prefixOf(input);
        if (!Array.isArray(input.keys)) throw new RangeError('keys: expected a list of raw object keys');
        const marks = await readHighWaterMarks(s3, bucket, prefix);
        const candidates = input.keys.filter((k) => {
          const ref = k.startsWith(rawRoot(prefix)) ? parseRawChunkKey(k) : undefined;
          return ref !== undefined && ref.endOffset < (marks[String(ref.partition)] ?? 0);
        });
        if (candidates.length === 0) return { deleted: [] };
        const deleted = await withConnection(async (conn, _beat, signal) => {
          const out: string[] = [];
          for (const key of candidates) {
            if (!(await headObject(s3, bucket, key))) continue;
            const [m] = await rows(conn, signal, `SELECT coalesce(sum(num_rows), 0)::BIGINT AS n FROM parquet_file_metadata(${sqlLiteral(url(key))})`);
            if (Number(m.n) === 0) out.push(key);
          }
          return out;
        });
        await deleteKeys(s3, bucket, deleted);
        return { deleted };
      });
    },

    /**
     * The subject's events (each event once: its first occurrence by offset) from the committed
     * raw objects holding them, as Parquet (every lake column) and as a JSON array (the same
     * columns, the event itself nested under `event`), under `exports/<tenant>/<request-id>/`,
     * with a manifest saying whose it is and when it expires. Idempotent: same names, overwritten.
     */
    async exportSubject(input: ExportSubjectInput): Promise<ExportResult> {
      return boundary(async () => {
        const prefix = prefixOf(input);
        const subject = validateSubject(input.subject);
        if (typeof input.requestId !== 'string' || !REQUEST_ID_PATTERN.test(input.requestId)) throw new RangeError('requestId: expected a UUID');
        if (!Array.isArray(input.rawKeys) || !input.rawKeys.every((k) => typeof k === 'string' && k.startsWith(rawRoot(prefix)) && parseRawChunkKey(k))) throw new RangeError('rawKeys: expected raw object keys under the prefix');
        if (Number.isNaN(Date.parse(input.expiresAt))) throw new RangeError('expiresAt: expected an ISO instant');
        const root = exportRoot(prefix, subject.tenant, input.requestId);
        const parquetKey = `${root}events.parquet`;
        const jsonKey = `${root}events.json`;
        const count = await withConnection(async (conn, beat, signal) => {
          // No object holds the subject: the export is empty, with the lake's columns all the same.
          const source = input.rawKeys.length > 0
            ? rawEventsRelation(input.rawKeys.map(url), { hivePartitioning: false })
            : `(SELECT ${RAW_COLUMNS.map((c) => `NULL::${c.type} AS ${c.name}`).join(', ')} WHERE false)`;
          beat({ phase: 'reading', objects: input.rawKeys.length });
          await duckStep(signal, () => conn.run(`
            CREATE OR REPLACE TEMP TABLE gdpr_export AS
            SELECT * FROM ${source} WHERE ${subjectSql(subject)}
            QUALIFY row_number() OVER (PARTITION BY tenant_id, event_id ORDER BY _offset, _partition) = 1
            ORDER BY event_time, _partition, _offset`));
          const [n] = await rows(conn, signal, 'SELECT count(*)::BIGINT AS n FROM gdpr_export');
          beat({ phase: 'writing', rows: Number(n.n) });
          await duckStep(signal, () => conn.run(`COPY (SELECT * FROM gdpr_export ORDER BY event_time, _partition, _offset) TO ${sqlLiteral(url(parquetKey))} (FORMAT parquet, COMPRESSION zstd)`));
          await duckStep(signal, () => conn.run(`COPY (SELECT * EXCLUDE (event_json), json(event_json) AS event FROM gdpr_export ORDER BY event_time, _partition, _offset) TO ${sqlLiteral(url(jsonKey))} (FORMAT json, ARRAY true)`));
          return Number(n.n);
        });
        const files: ExportedFile[] = [];
        for (const [format, key] of [['json', jsonKey], ['parquet', parquetKey]] as const) files.push({ format, key, bytes: (await headObject(s3, bucket, key))?.size ?? 0 });
        const manifest: ExportManifest = {
          format: AUDIT_FORMAT,
          request_id: input.requestId,
          tenant: subject.tenant,
          user_tokens: subject.userTokens,
          rows: count,
          files,
          created_at: new Date(now()).toISOString(),
          expires_at: input.expiresAt,
        };
        const manifestKey = `${root}manifest.json`;
        await putJson(s3, bucket, manifestKey, manifest);
        log.info({ tenant: subject.tenant, requestId: input.requestId, rows: count }, 'subject exported');
        return { rows: count, files, manifestKey };
      });
    },

    /** Presigned GET URLs of an export's files (SigV4, computed locally: no request to S3). */
    async presignExport(input: PresignInput): Promise<SignedFile[]> {
      return boundary(async () => {
        if (!Number.isInteger(input.ttlSeconds) || input.ttlSeconds < 1 || input.ttlSeconds > MAX_URL_TTL_SECONDS) throw new RangeError(`ttlSeconds: an integer in 1..${MAX_URL_TTL_SECONDS}`);
        const expiresAt = new Date(now() + input.ttlSeconds * 1000).toISOString();
        const out: SignedFile[] = [];
        for (const f of input.files) {
          const name = f.key.slice(f.key.lastIndexOf('/') + 1);
          const command = new GetObjectCommand({ Bucket: bucket, Key: f.key, ResponseContentDisposition: `attachment; filename="${name}"` });
          out.push({ ...f, url: await getSignedUrl(s3, command, { expiresIn: input.ttlSeconds }), expiresAt });
        }
        return out;
      });
    },

    /** Deletes the tenant's earlier exports of the subject: they are copies of the rows being erased. */
    async deleteSubjectExports(input: { prefix: string; subject: GdprSubject }): Promise<{ deleted: string[] }> {
      return boundary(async () => {
        const prefix = prefixOf(input);
        const subject = validateSubject(input.subject);
        const tokens = new Set(subject.userTokens);
        const objects = await listObjects(s3, bucket, exportsTenantRoot(prefix, subject.tenant), cancellationSignal());
        const deleted: string[] = [];
        for (const [dir, keys] of byDirectory(objects.map((o) => o.key))) {
          const manifest = await readExportManifest(s3, bucket, `${dir}manifest.json`);
          if (manifest?.user_tokens.some((t) => tokens.has(t))) deleted.push(...keys);
        }
        await deleteKeys(s3, bucket, deleted);
        return { deleted };
      });
    },

    /** Deletes exports whose URLs have expired, and request directories a failed export left without a manifest a day ago. */
    async expireExports(input: { prefix: string }): Promise<{ deleted: string[] }> {
      return boundary(async () => {
        const prefix = prefixOf(input);
        const nowMs = now();
        const objects = await listObjects(s3, bucket, exportsRoot(prefix), cancellationSignal());
        const modified = new Map(objects.map((o) => [o.key, o.lastModified]));
        const deleted: string[] = [];
        for (const [dir, keys] of byDirectory(objects.map((o) => o.key))) {
          const manifest = keys.includes(`${dir}manifest.json`) ? await readExportManifest(s3, bucket, `${dir}manifest.json`) : undefined;
          const expired = manifest ? Date.parse(manifest.expires_at) <= nowMs : keys.every((k) => nowMs - (modified.get(k) ?? nowMs) >= EXPORT_ORPHAN_MS);
          if (expired) deleted.push(...keys);
        }
        await deleteKeys(s3, bucket, deleted);
        return { deleted };
      });
    },

    /**
     * Writes the request's audit record under audit/ with a create-only PUT (If-None-Match: *): a
     * record is never overwritten. A retry that finds its own record reports it and succeeds.
     */
    async appendAudit(input: { prefix: string; record: AuditRecord }): Promise<{ key: string; existed: boolean }> {
      return boundary(async () => {
        const prefix = prefixOf(input);
        const record = input.record;
        if (record?.format !== AUDIT_FORMAT || typeof record.request_id !== 'string' || typeof record.requested_at !== 'string') throw new RangeError('record: not an audit record');
        const key = auditKey(prefix, record.kind, record.request_id, record.requested_at, record.tenant);
        try {
          await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: `${JSON.stringify(record, null, 2)}\n`, ContentType: 'application/json', IfNoneMatch: '*' }));
          return { key, existed: false };
        } catch (err) {
          const status = (err as S3ServiceException).$metadata?.httpStatusCode;
          if (status !== 412 && status !== 409) throw err;
          const existing = JSON.parse((await getText(s3, bucket, key)) ?? '{}') as Partial<AuditRecord>;
          if (existing.request_id !== record.request_id || existing.kind !== record.kind) throw ApplicationFailure.nonRetryable(`${key} exists and belongs to another request`, 'AuditConflict');
          return { key, existed: true };
        }
      });
    },
  };
}

export type GdprActivities = ReturnType<typeof createGdprActivities>;

/** `…views/<view>/version=<V>/dt=<D>[/hour=<HH>]/data.parquet` → the version and unit it holds. */
function parseViewFile(key: string): { version: string; unit: string } | undefined {
  const m = /\/version=([^/]+)\/dt=(\d{4}-\d{2}-\d{2})(?:\/hour=(\d{2}))?\/data\.parquet$/.exec(key);
  return m ? { version: m[1], unit: m[3] === undefined ? m[2] : `${m[2]}T${m[3]}` } : undefined;
}

function hourLabelOfManifest(key: string): string {
  const m = /\/dt=(\d{4}-\d{2}-\d{2})\/hour=(\d{2})\//.exec(key);
  return m ? `${m[1]}T${m[2]}` : '';
}

/** Keys grouped by their request directory `…/exports/<tenant>/<request-id>/`. */
function byDirectory(keys: readonly string[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const key of keys) {
    const m = /^(.*exports\/[^/]+\/[^/]+\/)/.exec(key);
    if (!m) continue;
    const list = out.get(m[1]) ?? [];
    list.push(key);
    out.set(m[1], list);
  }
  return out;
}

async function readExportManifest(s3: S3Client, bucket: string, key: string): Promise<ExportManifest | undefined> {
  const text = await getText(s3, bucket, key);
  if (text === undefined) return undefined;
  try {
    const m = JSON.parse(text) as Partial<ExportManifest>;
    return Array.isArray(m.user_tokens) && typeof m.expires_at === 'string' ? (m as ExportManifest) : undefined;
  } catch {
    return undefined;
  }
}

const unquote = (etag: string) => etag.replace(/"/g, '');

/** The object's ETag as S3 sends it (quoted: what If-Match wants) and size; undefined when absent. */
async function headObject(s3: S3Client, bucket: string, key: string): Promise<{ etag: string; size: number } | undefined> {
  try {
    const out = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    return { etag: out.ETag ?? '', size: out.ContentLength ?? 0 };
  } catch (err) {
    const e = err as S3ServiceException;
    if (e.name === 'NotFound' || e.name === 'NoSuchKey' || e.$metadata?.httpStatusCode === 404) return undefined;
    throw err;
  }
}

/** PUT only if the object is still the one read (If-Match); its new ETag. A lost race is retriable. */
async function putIfMatch(s3: S3Client, bucket: string, key: string, body: Buffer, etag: string): Promise<string> {
  try {
    const out = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, IfMatch: etag }));
    return unquote(out.ETag ?? '');
  } catch (err) {
    const status = (err as S3ServiceException).$metadata?.httpStatusCode;
    if (status === 412 || status === 409) throw new RtapError(`${key} changed while being rewritten; retrying on its new content`, { retriable: true, cause: err });
    throw err;
  }
}

function prefixOf(input: unknown): string {
  const prefix = (input as { prefix?: unknown } | undefined)?.prefix;
  if (typeof prefix !== 'string') throw new RangeError("prefix: expected a string ('' for the bucket root)");
  return prefix;
}

/**
 * The activity boundary: bad input (RangeError) fails for good as `InvalidInput`; rtap errors as
 * they say; anything else (S3, DuckDB I/O) is left to the retry policy.
 */
async function boundary<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (err instanceof ApplicationFailure) throw err;
    if (err instanceof RangeError) throw ApplicationFailure.nonRetryable(err.message, 'InvalidInput');
    if (err instanceof RtapError) throw err.retriable ? ApplicationFailure.retryable(err.message, err.name) : ApplicationFailure.nonRetryable(err.message, err.name);
    throw err;
  }
}
