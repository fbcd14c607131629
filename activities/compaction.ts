// Compaction activities (docs/lake.md "Compacted events"): an event hour's committed raw chunks
// become few sorted, deduplicated zstd Parquet files per tenant under compacted/, published by
// an atomic per-hour manifest; superseded files are swept after a grace period.
// The unit is an hour of all tenants (raw has no tenant level, and Temporal's dev server starts
// only tens of workflows/s). Inside an hour only the groups of tenants found in new chunks are
// rewritten. Everything row-sized happens in DuckDB SQL over s3:// — JS sees per-tenant counts
// and per-file summaries only.
import { HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { DuckDBInstance } from '@duckdb/node-api';
import { ApplicationFailure, activityInfo, cancellationSignal, heartbeat } from '@temporalio/activity';
import { s3Url, sqlLiteral } from '../core/duckdb';
import { DependencyError, RtapError, errorMessage } from '../core/errors';
import { hourLabel, type HourRef } from '../core/hours';
import { RAW_COLUMNS, rawEventsRelation, rawHourPrefix, rawRoot } from '../core/lake';
import {
  COMPACTION_FORMAT,
  DEFAULT_COMPACTION_LAYOUT,
  SHARED_GROUP,
  assignGroups,
  committedChunks,
  compactedFileKey,
  compactedFileName,
  compactedRoot,
  compactionManifestRoot,
  filesOfTenant,
  groupsOf,
  hourManifestVersions,
  inputDelta,
  inputDigest,
  isPathSafeTenant,
  liveFiles,
  planHours,
  planSweep,
  rowBudgets,
  stageBatches,
  supersededAfter,
  validateLayout,
  type CompactedFile,
  type CompactedGroup,
  type CompactionLayout,
  type CompactionPlan,
  type HourManifest,
} from '../core/lake-compacted';
import { createLogger, type Logger } from '../core/logger';
import { deleteKeys, listObjects } from '../core/s3';
import { readHighWaterMarks } from '../ingest/manifests';
import { listManifestKeys, publishHourManifest, readCurrentHourManifest, readHourManifestAt } from './compaction-store';

export interface CompactionDeps {
  s3: S3Client;
  bucket: string;
  /**
   * The worker's lake DuckDB (core/duckdb openLakeDuckDb: httpfs, S3 secret, threads and memory
   * capped). Each activity call opens its own connection: connections are not for concurrent use.
   */
  lake: DuckDBInstance;
  /** How compacted files are cut (default DEFAULT_COMPACTION_LAYOUT). */
  compactionLayout?: Partial<CompactionLayout>;
  /**
   * Uncompressed bytes of rows staged and sorted at once (default 512 MiB); an hour above it is
   * written in several passes over its raw objects. Keep it well under DuckDB's memory limit.
   */
  stageBytes?: number;
  logger?: Logger;
  now?: () => number;
}

export interface PlanCompactionInput {
  prefix: string;
}

export type PlanCompactionResult = CompactionPlan;

export interface CompactHourInput extends HourRef {
  prefix: string;
  /**
   * A tenant the caller cares about: validated and reported (its group and live files). The hour
   * is still brought up to date as a whole, because a tenant-only rewrite would leave the other
   * tenants of changed chunks stale under a manifest that claims the new inputs.
   */
  tenant?: string;
}

export type CompactHourStatus = 'compacted' | 'unchanged' | 'no-input';

export interface CompactHourResult {
  hour: string;
  /** `no-input`: the hour has no committed raw chunk (nothing is written; an existing manifest stays). */
  status: CompactHourStatus;
  /** `full`: every group rewritten (first run, or an input chunk was rewritten or removed); `incremental`: only the groups of tenants in new chunks. */
  mode?: 'full' | 'incremental';
  manifestKey?: string;
  version?: number;
  inputDigest?: string;
  inputs: { committed: number; pending: number };
  /** Raw rows of the committed inputs (duplicates included) and live rows (distinct events). */
  rawRows: number;
  rows: number;
  groups: { live: number; rewritten: number; dedicated: number; sharedTenants: number };
  /** `reused`: written by an earlier attempt of this activity (resumed from its heartbeat). */
  files: { live: number; written: number; reused: number; superseded: number; bytesWritten: number };
  tenant?: { id: string; group?: string; files: string[] };
  ms: number;
  /** Where the time went (compacted hours only). */
  phasesMs?: Partial<Record<CompactHourProgress['phase'], number>>;
}

/** Heartbeat details of compactHour; a retry with the same input digest resumes from `written`. */
export interface CompactHourProgress {
  hour: string;
  phase: 'listing' | 'deduplicating' | 'staging' | 'writing' | 'publishing';
  digest?: string;
  filesDone: number;
  filesTotal: number;
  written: CompactedFile[];
}

export interface SweepSupersededInput {
  prefix: string;
  /** Keep a superseded file this long after a manifest stopped listing it (readers in flight). */
  graceMs: number;
  /** Keep a file no manifest knows this long after it was written; must exceed compactHour's start-to-close timeout (default 6 h). */
  orphanGraceMs?: number;
}

export interface SweepSupersededResult {
  deletedFiles: number;
  deletedManifests: number;
  superseded: number;
  orphans: number;
  /** Superseded or orphaned files still inside their grace period. */
  waiting: number;
  hours: number;
  ms: number;
}

export const DEFAULT_ORPHAN_GRACE_MS = 6 * 3_600_000;
export const DEFAULT_STAGE_BYTES = 512 * 1024 * 1024;
/** Heartbeat at least this often while one long DuckDB statement runs. */
const HEARTBEAT_EVERY_MS = 10_000;

export function createCompactionActivities(deps: CompactionDeps) {
  const { s3, bucket, lake } = deps;
  const layout: CompactionLayout = { ...DEFAULT_COMPACTION_LAYOUT, ...deps.compactionLayout };
  const layoutProblems = validateLayout(layout);
  if (layoutProblems.length > 0) throw new RtapError(`compaction layout: ${layoutProblems.join('; ')}`);
  const stageBytes = deps.stageBytes ?? DEFAULT_STAGE_BYTES;
  const log = deps.logger ?? createLogger('compaction');
  const now = deps.now ?? Date.now;

  return {
    /** The hours whose committed raw input changed since their last compaction. Lists only; reads no Parquet. */
    async planCompaction(input: PlanCompactionInput): Promise<PlanCompactionResult> {
      const prefix = prefixOf(input);
      const signal = cancellationSignal();
      return s3Step('planning', async () => {
        const [marks, raw, manifests] = await Promise.all([
          readHighWaterMarks(s3, bucket, prefix),
          listObjects(s3, bucket, rawRoot(prefix), signal),
          listManifestKeys(s3, bucket, prefix, signal),
        ]);
        heartbeat({ phase: 'listed', rawObjects: raw.length, manifests: manifests.length });
        const plan = planHours(raw, marks, manifests, layout);
        log.info({ prefix, hours: plan.hours.length, upToDate: plan.upToDate, committed: plan.committedChunks, pending: plan.pendingChunks }, 'compaction planned');
        return plan;
      });
    },

    /**
     * Brings one event hour's compacted files up to date with its committed raw chunks.
     * Idempotent: an up-to-date hour is skipped; file names derive from the input digest, so a
     * retry rewrites the same names, and files an earlier attempt wrote (heartbeat details) are
     * not written again.
     */
    async compactHour(input: CompactHourInput): Promise<CompactHourResult> {
      const started = now();
      const prefix = prefixOf(input);
      const hour = hourInput(input);
      const label = hourLabel(hour);
      if (input.tenant !== undefined && (typeof input.tenant !== 'string' || !isPathSafeTenant(input.tenant))) {
        throw ApplicationFailure.nonRetryable(`tenant: not a tenant id: ${JSON.stringify(input.tenant).slice(0, 80)}`, 'InvalidInput');
      }
      const signal = cancellationSignal();
      const progress: CompactHourProgress = { hour: label, phase: 'listing', filesDone: 0, filesTotal: 0, written: [] };
      const beat = () => heartbeat({ ...progress, written: [...progress.written] });
      const phasesMs: CompactHourResult['phasesMs'] = {};
      let phaseStarted = started;
      const enter = (phase: CompactHourProgress['phase']) => {
        phasesMs[progress.phase] = (phasesMs[progress.phase] ?? 0) + now() - phaseStarted;
        phaseStarted = now();
        progress.phase = phase;
        beat();
      };
      beat();

      const { marks, committed, pending, current } = await s3Step('listing', async () => {
        const [marks, listed, current] = await Promise.all([
          readHighWaterMarks(s3, bucket, prefix),
          listObjects(s3, bucket, rawHourPrefix(prefix, hour), signal),
          readCurrentHourManifest(s3, bucket, prefix, hour, signal),
        ]);
        return { marks, current, ...committedChunks(listed, marks) };
      });
      const base = { hour: label, inputs: { committed: committed.length, pending: pending.length } };
      if (committed.length === 0) {
        return { ...base, status: 'no-input', rawRows: 0, rows: 0, groups: { live: 0, rewritten: 0, dedicated: 0, sharedTenants: 0 }, files: { live: 0, written: 0, reused: 0, superseded: 0, bytesWritten: 0 }, ms: now() - started };
      }
      const digest = inputDigest(committed, layout);
      progress.digest = digest;
      const previous = current?.manifest;
      if (current && current.ref.digest === digest && previous) {
        log.info({ hour: label, digest }, 'hour up to date');
        return { ...base, ...summary(previous, input.tenant), status: 'unchanged', manifestKey: current.ref.key, version: previous.version, inputDigest: digest, ms: now() - started };
      }

      // Files an earlier attempt over the same inputs wrote (and that are still there) are reused.
      const resumed = resumedFiles(activityInfo().heartbeatDetails, digest);
      const reused = new Map<string, CompactedFile>();
      for (const f of resumed) if (await exists(s3, bucket, f.key)) reused.set(f.key, f);

      const conn = await lake.connect();
      const onAbort = () => conn.interrupt();
      signal.addEventListener('abort', onAbort);
      const ticker = setInterval(beat, HEARTBEAT_EVERY_MS);
      try {
        const sql = (text: string) => duckStep(signal, () => conn.run(text));
        const rows = async (text: string) => (await duckStep(signal, () => conn.runAndReadAll(text))).getRowObjectsJson();
        const urls = committed.map((c) => s3Url(bucket, c.key));
        const raw = rawEventsRelation(urls, { hivePartitioning: false });

        // Incremental when the only change is new chunks: then a tenant absent from them has the
        // same rows as before, and its group's files stay valid.
        const delta = previous && sameLayout(previous.layout, layout) ? inputDelta(previous.inputs, committed) : undefined;
        const incremental = delta !== undefined && delta.changed.length === 0 && delta.removed.length === 0 && delta.added.length > 0;
        let touched: Set<string> | undefined;
        let stageTenants: string[] | undefined;
        if (incremental) {
          const added = delta.added.map((c) => s3Url(bucket, c.key));
          touched = new Set((await rows(`SELECT DISTINCT tenant_id FROM read_parquet([${added.map(sqlLiteral).join(', ')}])`)).map((r) => String(r.tenant_id)));
          const shared = previous!.groups.find((g) => g.group === SHARED_GROUP)?.tenants ?? [];
          stageTenants = [...new Set([...touched, ...shared])].sort();
        }
        const tenantFilter = (column: string) => (stageTenants ? `WHERE ${column} IN (${stageTenants.map(sqlLiteral).join(', ')})` : '');

        enter('deduplicating');
        // Footers only: rows and uncompressed bytes of the inputs size the files and row groups.
        const urlList = `[${urls.map(sqlLiteral).join(', ')}]`;
        const [meta] = await rows(`
          SELECT (SELECT coalesce(sum(num_rows), 0) FROM parquet_file_metadata(${urlList}))::BIGINT AS n,
                 (SELECT coalesce(sum(total_uncompressed_size), 0) FROM parquet_metadata(${urlList}))::BIGINT AS uncompressed`);
        const rawRows = Number(meta.n);
        const budgets = rowBudgets(layout, { bytes: committed.reduce((n, c) => n + c.size, 0), rows: rawRows, uncompressedBytes: Number(meta.uncompressed) });
        // The first occurrence by offset of each (tenant_id, event_id): the rule both layers keep.
        await sql(`
          CREATE OR REPLACE TEMP TABLE c_keys AS
          SELECT tenant_id, event_time, _partition, _offset FROM (
            SELECT tenant_id, event_id, event_time, _partition, _offset,
              row_number() OVER (PARTITION BY tenant_id, event_id ORDER BY _offset, _partition) AS _n
            FROM ${raw} ${tenantFilter('tenant_id')})
          WHERE _n = 1`);
        const counts = new Map((await rows(`SELECT tenant_id, count(*)::BIGINT AS n FROM c_keys GROUP BY ALL`)).map((r) => [String(r.tenant_id), Number(r.n)]));
        const { groupOf, rewrite } = assignGroups({
          counts,
          minDedicatedRows: budgets.min_dedicated_rows,
          ...(incremental ? { previous: groupsOf(previous!), touched } : {}),
        });
        const rewritten = [...groupOf].filter(([, g]) => rewrite.has(g));
        await sql(`CREATE OR REPLACE TEMP TABLE c_groups (tenant_id VARCHAR, _group VARCHAR)`);
        for (let i = 0; i < rewritten.length; i += 1000) {
          await sql(`INSERT INTO c_groups VALUES ${rewritten.slice(i, i + 1000).map(([t, g]) => `(${sqlLiteral(t)}, ${sqlLiteral(g)})`).join(', ')}`);
        }
        await sql(`
          CREATE OR REPLACE TEMP TABLE c_assign AS
          SELECT k.tenant_id, k._partition, k._offset, g._group,
            ((row_number() OVER (PARTITION BY g._group ORDER BY k.tenant_id, k.event_time, k._offset, k._partition) - 1) // ${budgets.rows_per_file})::INTEGER AS _file
          FROM c_keys k JOIN c_groups g USING (tenant_id)`);
        const planned = (await rows(`SELECT _group, _file, count(*)::BIGINT AS n, min(tenant_id) AS lo, max(tenant_id) AS hi FROM c_assign GROUP BY ALL ORDER BY ALL`)).map((r) => {
          const group = String(r._group);
          const file = Number(r._file);
          return { group, file, rows: Number(r.n), lo: String(r.lo), hi: String(r.hi), key: compactedFileKey(prefix, { group, ...hour, name: compactedFileName(digest, file) }) };
        });
        const todo = planned.filter((p) => !reused.has(p.key));
        progress.filesTotal = planned.length;
        progress.filesDone = planned.length - todo.length;
        progress.written = [...reused.values()].filter((f) => planned.some((p) => p.key === f.key));

        let bytesWritten = 0;
        let filesWritten = 0;
        const uncompressedPerRow = rawRows > 0 ? Number(meta.uncompressed) / rawRows : 0;
        const columns = RAW_COLUMNS.map((c) => c.name).join(', ');
        for (const batch of stageBatches(todo, uncompressedPerRow, stageBytes)) {
          enter('staging');
          // One pass over the raw objects per batch, sorted as the files want it while staging:
          // DuckDB sorts wide rows in a CREATE TABLE … ORDER BY within a memory limit at which
          // the same ORDER BY inside a COPY runs out of memory (measured: 700 MB of events
          // sorted under a 600 MB limit). Each file is then a filtered scan of the staged rows,
          // which come back in insertion order (preserve_insertion_order, DuckDB's default); the
          // integration test checks every file's order.
          await sql(`
            CREATE OR REPLACE TEMP TABLE c_batch AS
            SELECT * FROM c_assign WHERE _group || '/' || _file IN (${batch.map((t) => sqlLiteral(`${t.group}/${t.file}`)).join(', ')})`);
          await sql(`
            CREATE OR REPLACE TEMP TABLE c_stage AS
            SELECT r.*, b._group, b._file
            FROM ${raw} r JOIN c_batch b ON r._partition = b._partition AND r._offset = b._offset
            ${tenantFilter('r.tenant_id')}
            ORDER BY b._group, b._file, r.tenant_id, r.event_time, r._offset, r._partition`);
          enter('writing');
          for (const t of batch) {
            beat();
            const [stats] = await rows(`
              COPY (SELECT ${columns} FROM c_stage WHERE _group = ${sqlLiteral(t.group)} AND _file = ${t.file})
              TO ${sqlLiteral(s3Url(bucket, t.key))} (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE ${budgets.row_group_rows}, RETURN_STATS)`);
            if (Number(stats.count) !== t.rows) throw new RtapError(`${t.key}: wrote ${stats.count} rows, planned ${t.rows}`, { retriable: true });
            const bytes = Number(stats.file_size_bytes);
            bytesWritten += bytes;
            progress.written.push({ key: t.key, rows: t.rows, bytes, min_tenant: t.lo, max_tenant: t.hi });
            progress.filesDone += 1;
            filesWritten += 1;
          }
          await sql('DROP TABLE c_stage');
        }

        enter('publishing');
        const written = new Map(progress.written.map((f) => [f.key, f]));
        const newGroups: CompactedGroup[] = [...rewrite]
          .map((group) => {
            const files = planned.filter((p) => p.group === group).map((p) => written.get(p.key)!);
            return {
              group,
              tenants: rewritten.filter(([, g]) => g === group).map(([t]) => t).sort(),
              rows: files.reduce((n, f) => n + f.rows, 0),
              files,
              written_by: digest,
            };
          })
          .filter((g) => g.files.length > 0);
        const kept = incremental ? previous!.groups.filter((g) => !rewrite.has(g.group)) : [];
        const groups = [...kept, ...newGroups].sort((a, b) => (a.group < b.group ? -1 : 1));
        const liveRows = groups.reduce((n, g) => n + g.rows, 0);
        const live = new Set(groups.flatMap((g) => g.files.map((f) => f.key)));
        const manifest: HourManifest = {
          format: COMPACTION_FORMAT,
          dt: hour.dt,
          hour: hour.hour,
          version: (current?.ref.version ?? 0) + 1,
          input_digest: digest,
          layout,
          budgets,
          inputs: committed.map(({ key, etag, size }) => ({ key, etag, size })),
          high_water: marks,
          raw_rows: rawRows,
          rows: liveRows,
          groups,
          superseded: supersededAfter(previous, live, now()),
          published_at: new Date(now()).toISOString(),
        };
        const manifestKey = await s3Step('publishing', () => publishHourManifest(s3, bucket, prefix, manifest));
        phasesMs.publishing = now() - phaseStarted;
        const result: CompactHourResult = {
          ...base,
          ...summary(manifest, input.tenant),
          status: 'compacted',
          mode: incremental ? 'incremental' : 'full',
          manifestKey,
          version: manifest.version,
          inputDigest: digest,
          files: {
            live: live.size,
            written: filesWritten,
            reused: planned.length - todo.length,
            superseded: manifest.superseded.length,
            bytesWritten,
          },
          ms: now() - started,
          phasesMs,
        };
        result.groups.rewritten = newGroups.length;
        log.info({ hour: label, mode: result.mode, version: manifest.version, rawRows, rows: liveRows, files: result.files, ms: result.ms }, 'hour compacted');
        return result;
      } finally {
        clearInterval(ticker);
        signal.removeEventListener('abort', onAbort);
        // Temp tables are the connection's: closing drops them.
        conn.closeSync();
      }
    },

    /**
     * Deletes superseded compacted files once `graceMs` passed since they were superseded, files
     * no manifest knows once `orphanGraceMs` passed since they were written, and replaced manifest
     * versions. Never a file live in its hour's current manifest.
     */
    async sweepSuperseded(input: SweepSupersededInput): Promise<SweepSupersededResult> {
      const started = now();
      const prefix = prefixOf(input);
      const graceMs = durationOf(input.graceMs, 'graceMs');
      const orphanGraceMs = input.orphanGraceMs === undefined ? DEFAULT_ORPHAN_GRACE_MS : durationOf(input.orphanGraceMs, 'orphanGraceMs');
      const signal = cancellationSignal();
      return s3Step('sweeping', async () => {
        const [files, manifestKeys] = await Promise.all([listObjects(s3, bucket, compactedRoot(prefix), signal), listManifestKeys(s3, bucket, prefix, signal)]);
        const versions = hourManifestVersions(manifestKeys);
        const current = new Map<string, HourManifest | undefined>();
        let read = 0;
        await mapLimit([...versions], 8, async ([label, list]) => {
          current.set(label, await readHourManifestAt(s3, bucket, list[list.length - 1].key));
          if (++read % 100 === 0) heartbeat({ phase: 'reading manifests', read, hours: versions.size });
        });
        const plan = planSweep({ files, manifestKeys, current, nowMs: now(), graceMs, orphanGraceMs });
        heartbeat({ phase: 'deleting', files: plan.deleteFiles.length, manifests: plan.deleteManifests.length });
        await deleteKeys(s3, bucket, plan.deleteFiles);
        await deleteKeys(s3, bucket, plan.deleteManifests);
        const result: SweepSupersededResult = {
          deletedFiles: plan.deleteFiles.length,
          deletedManifests: plan.deleteManifests.length,
          superseded: plan.superseded,
          orphans: plan.orphans,
          waiting: plan.waiting,
          hours: versions.size,
          ms: now() - started,
        };
        log.info({ prefix, root: compactionManifestRoot(prefix), ...result }, 'compaction sweep');
        return result;
      });
    },
  };
}

export type CompactionActivities = ReturnType<typeof createCompactionActivities>;

/** Counts of a manifest, and what it holds for `tenant`. */
function summary(m: HourManifest, tenant?: string): Pick<CompactHourResult, 'rawRows' | 'rows' | 'groups' | 'files' | 'tenant'> {
  const files = liveFiles(m);
  return {
    rawRows: m.raw_rows,
    rows: m.rows,
    groups: {
      live: m.groups.length,
      rewritten: 0,
      dedicated: m.groups.filter((g) => g.group !== SHARED_GROUP).length,
      sharedTenants: m.groups.find((g) => g.group === SHARED_GROUP)?.tenants.length ?? 0,
    },
    files: { live: files.length, written: 0, reused: 0, superseded: m.superseded.length, bytesWritten: 0 },
    ...(tenant === undefined ? {} : { tenant: { id: tenant, group: groupsOf(m).get(tenant), files: filesOfTenant(m, tenant).map((f) => f.key) } }),
  };
}

function sameLayout(a: CompactionLayout, b: CompactionLayout): boolean {
  return a.targetFileBytes === b.targetFileBytes && a.minDedicatedBytes === b.minDedicatedBytes;
}

function resumedFiles(details: unknown, digest: string): CompactedFile[] {
  const d = details as Partial<CompactHourProgress> | undefined;
  return d && d.digest === digest && Array.isArray(d.written) ? d.written : [];
}

async function exists(s3: S3Client, bucket: string, key: string): Promise<boolean> {
  try {
    await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    return true;
  } catch {
    return false;
  }
}

function prefixOf(input: unknown): string {
  const prefix = (input as { prefix?: unknown } | undefined)?.prefix;
  if (typeof prefix !== 'string') throw ApplicationFailure.nonRetryable('prefix: expected a string (\'\' for the bucket root)', 'InvalidInput');
  return prefix;
}

function hourInput(input: HourRef): HourRef {
  const { dt, hour } = input;
  if (typeof dt !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(dt) || Number.isNaN(Date.parse(`${dt}T00:00:00Z`))) {
    throw ApplicationFailure.nonRetryable(`dt: expected YYYY-MM-DD, got ${JSON.stringify(dt)}`, 'InvalidInput');
  }
  if (!Number.isInteger(hour) || hour < 0 || hour > 23) throw ApplicationFailure.nonRetryable(`hour: expected an integer 0–23, got ${JSON.stringify(hour)}`, 'InvalidInput');
  return { dt, hour };
}

export function durationOf(value: unknown, name: string): number {
  if (!Number.isSafeInteger(value) || (value as number) < 0) throw ApplicationFailure.nonRetryable(`${name}: expected a duration in ms ≥ 0, got ${JSON.stringify(value)}`, 'InvalidInput');
  return value as number;
}

/** S3 trouble is transient until proven otherwise: retriable, with the step named. */
async function s3Step<T>(step: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof ApplicationFailure || err instanceof RtapError) throw err;
    if (cancellationSignal().aborted) throw cancellationSignal().reason;
    throw new DependencyError('s3', `${step}: ${errorMessage(err)}`, err);
  }
}

/** DuckDB errors no retry can fix: the statement or the data is wrong, not the moment. */
const FINAL_DUCKDB_ERROR = /^(Parser|Binder|Catalog|Conversion|Invalid Input|Not implemented|Invalid Error) Error/;

/**
 * A DuckDB statement. An interrupt caused by cancellation surfaces as the cancellation; I/O,
 * HTTP and out-of-memory errors are retriable; errors of the statement itself are not.
 */
export async function duckStep<T>(signal: AbortSignal, fn: () => Promise<T>): Promise<T> {
  signal.throwIfAborted();
  try {
    return await fn();
  } catch (err) {
    signal.throwIfAborted();
    const message = errorMessage(err);
    if (FINAL_DUCKDB_ERROR.test(message)) throw ApplicationFailure.nonRetryable(message, 'DuckDbError');
    throw new DependencyError('duckdb', message, err);
  }
}

/** Runs `fn` over the items with at most `limit` in flight. */
export async function mapLimit<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await fn(items[next++]);
  }));
}
