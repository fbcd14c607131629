// GET /api/v2/data/lineage/{event_id}: where one of the tenant's events is — its Kafka partition
// and offset, the raw object holding it, the compacted file holding it, which published views
// versions and view files cover it (offset < cut) or whether the speed layer counts it live, and
// any duplicates (the same event id at later offsets, which no layer counts).
//
// Found in the lake itself: DuckDB reads the raw objects on S3 (`s3://…`, httpfs) and keeps the
// tenant's rows only, so another tenant's event id is a 404 like an unknown one. Without a hint
// that is every raw object (raw/ has no tenant or event level), so an unhinted lookup in a large
// lake runs as an async job; `?event_time=` narrows it to the event's hour.
import express, { type Router } from 'express';
import { readCurrentHourManifest } from '../../activities/compaction-store';
import { s3Url } from '../../core/duckdb';
import { hourLabel, type HourRef } from '../../core/hours';
import { eventHour, normalizePrefix, parseRawChunkKey, rawEventsRelation, rawHourPrefix, rawRoot } from '../../core/lake';
import { filesOfTenant } from '../../core/lake-compacted';
import { FUNNEL_STEPS, parseVersionManifest, VIEWS, VIEWS_VERSIONS_ROOT, viewFileKey, type ViewDef, type ViewsVersionManifest } from '../../core/lake-views';
import { getText, listObjects } from '../../core/s3';
import { FRAUD_EVENT_SUBTYPES } from '../../core/views-sql';
import type { BatchSnapshot } from './batch-views';
import { taskHandler, TaskError, type JobContext, type Task } from './jobs';
import { QueryError } from './query-model';
import type { AnalyticsRouteDeps } from './routes';
import { queryRows } from './view-query';

export const EVENT_ID_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$';

interface Occurrence {
  partition: number;
  offset: number;
  raw_key: string;
  ingested_at: string | null;
}

interface Found extends Occurrence {
  event_time: string;
  event_time_ms: number;
  event_subtype: string | null;
  has_session: boolean;
  has_user: boolean;
  scored: boolean;
}

/** Every occurrence of the tenant's event id in the raw objects, lowest offset first. */
async function findInRaw(deps: AnalyticsRouteDeps, tenant: string, eventId: string, keys: readonly string[]): Promise<Found[]> {
  if (keys.length === 0) return [];
  const root = `s3://${deps.lake.bucket}/`;
  const rows = await queryRows(
    deps.lake.duck!,
    `SELECT _partition::INTEGER AS partition, _offset::DOUBLE AS "offset", filename, strftime(event_time, '%Y-%m-%dT%H:%M:%S.%fZ') AS event_time,
       epoch_ms(event_time)::DOUBLE AS event_time_ms, strftime(_ingested_at, '%Y-%m-%dT%H:%M:%S.%fZ') AS ingested_at, event_subtype,
       (session_id IS NOT NULL)::INTEGER AS has_session, (user_id IS NOT NULL)::INTEGER AS has_user, (fraud_score IS NOT NULL)::INTEGER AS scored
     FROM ${rawEventsRelation(keys.map((k) => s3Url(deps.lake.bucket, k)), { hivePartitioning: false, filename: true })}
     WHERE tenant_id = $tenant AND event_id = $event ORDER BY _offset, _partition`,
    { tenant, event: eventId },
  );
  return rows.map((r) => ({
    partition: Number(r.partition),
    offset: Number(r.offset),
    raw_key: String(r.filename).startsWith(root) ? String(r.filename).slice(root.length) : String(r.filename),
    ingested_at: r.ingested_at === null ? null : String(r.ingested_at),
    event_time: String(r.event_time),
    event_time_ms: Number(r.event_time_ms),
    event_subtype: r.event_subtype === null ? null : String(r.event_subtype),
    has_session: r.has_session === 1,
    has_user: r.has_user === 1,
    scored: r.scored === 1,
  }));
}

/** The compacted file holding the event, per the hour's current compaction manifest. */
async function findCompacted(deps: AnalyticsRouteDeps, tenant: string, eventId: string, e: Found) {
  const hour: HourRef = eventHour(e.event_time_ms);
  const current = await readCurrentHourManifest(deps.lake.s3, deps.lake.bucket, deps.lake.prefix, hour);
  const base = { hour: hourLabel(hour) };
  if (!current?.manifest) return { ...base, status: 'not_compacted' as const, manifest_key: current?.ref.key ?? null, key: null };
  // compaction reads an hour's committed chunks only; a chunk written since waits for the next run
  if (!current.manifest.inputs.some((i) => i.key === e.raw_key)) return { ...base, status: 'pending' as const, manifest_key: current.ref.key, key: null };
  const candidates = filesOfTenant(current.manifest, tenant).map((f) => f.key);
  const rows = candidates.length === 0 ? [] : await queryRows(
    deps.lake.duck!,
    `SELECT filename FROM read_parquet([${candidates.map((k) => `'${s3Url(deps.lake.bucket, k).replace(/'/g, "''")}'`).join(', ')}], filename = true, union_by_name = true)
     WHERE tenant_id = $tenant AND event_id = $event LIMIT 1`,
    { tenant, event: eventId },
  );
  const root = `s3://${deps.lake.bucket}/`;
  const key = rows.length === 0 ? null : String(rows[0].filename).slice(root.length);
  return { ...base, status: key ? ('compacted' as const) : ('pending' as const), manifest_key: current.ref.key, manifest_version: current.manifest.version, key };
}

/** Whether a view holds a row (or cell) of an event like this one. */
function viewHolds(view: ViewDef, e: Found): boolean {
  const subtype = e.event_subtype ?? '';
  switch (view.kind) {
    case 'cells':
      // every event is in every rollup: a NULL dimension value is a value of its own
      return true;
    case 'session_steps':
    case 'funnel':
      return e.has_session && (FUNNEL_STEPS as readonly string[]).includes(subtype);
    case 'user_activity':
    case 'user_days':
    case 'cohorts':
      return e.has_user;
    case 'attribution':
      return subtype === 'purchase';
    case 'fraud_events':
      return (FRAUD_EVENT_SUBTYPES as readonly string[]).includes(subtype) || e.scored;
    case 'fraud_labels':
      return subtype === 'payment_attempt' || subtype === 'purchase';
  }
}

/** The files of a published version that hold the event (the units of its event hour and day). */
function coveringViewFiles(prefix: string, manifest: ViewsVersionManifest, e: Found): { view: string; version: string; key: string }[] {
  const hour = hourLabel(eventHour(e.event_time_ms));
  const day = hour.slice(0, 10);
  const out: { view: string; version: string; key: string }[] = [];
  for (const view of VIEWS) {
    if (!viewHolds(view, e)) continue;
    const u = manifest.units;
    const [unit, version] =
      view.unit === 'hour' ? [hour, u.hour[hour]] : view.unit === 'day' ? [day, u.day[day]] : view.unit === 'feedback_day' ? [day, u.feedback_day[day]] : ['', u.version ?? undefined];
    if (version) out.push({ view: view.name, version, key: viewFileKey(prefix, view, version, unit) });
  }
  return out;
}

/**
 * The first published version whose cut covers the offset. Cuts only move forward, so the covering
 * versions are the newest ones: a binary search over the version names (creation time first), then
 * the `previous` links walked back for the exact first one.
 */
async function firstCoveringVersion(deps: AnalyticsRouteDeps, partition: number, offset: number): Promise<string | null> {
  const prefix = normalizePrefix(deps.lake.prefix);
  const root = `${prefix}${VIEWS_VERSIONS_ROOT}/`;
  const names = (await listObjects(deps.lake.s3, deps.lake.bucket, root)).map((o) => o.key.slice(root.length).replace(/\.json$/, ''));
  const manifests = new Map<string, ViewsVersionManifest | undefined>();
  const read = async (v: string) => {
    if (!manifests.has(v)) {
      const text = await getText(deps.lake.s3, deps.lake.bucket, `${root}${v}.json`);
      manifests.set(v, text === undefined ? undefined : parseVersionManifest(text));
    }
    return manifests.get(v);
  };
  const covers = (m: { cut: Record<string, number> } | undefined | null) => m !== undefined && m !== null && offset < (m.cut[String(partition)] ?? 0);
  let lo = 0;
  let hi = names.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (covers(await read(names[mid]))) hi = mid;
    else lo = mid + 1;
  }
  if (lo === names.length) return null;
  let first = names[lo];
  for (let m = await read(first); m && covers(m.previous); m = await read(first)) first = m.previous!.version;
  return first;
}

async function planLineage(deps: AnalyticsRouteDeps, tenant: string, eventId: string, eventTime: unknown): Promise<Task> {
  if (!deps.lake.duck) throw new TaskError(503, 'lake_unavailable', 'lineage reads the raw lake on S3 and this API has no lake DuckDB (httpfs not provisioned: run `rtap up`)');
  let hourPrefix: string | undefined;
  if (eventTime !== undefined) {
    const ms = typeof eventTime === 'string' ? Date.parse(eventTime) : NaN;
    if (!Number.isFinite(ms)) throw new QueryError('/event_time', 'an ISO-8601 instant with a zone');
    hourPrefix = rawHourPrefix(deps.lake.prefix, eventHour(ms));
  }
  const progress = new Map(deps.speed.progress());
  const snap: BatchSnapshot | undefined = await deps.batch.snapshot();
  // Planned work without listing the lake: every published hour has at least a chunk per partition.
  const partitions = Math.max(1, Object.keys(snap?.cut ?? {}).length, progress.size);
  const planned = hourPrefix ? partitions : Object.keys(snap?.manifest.units.hour ?? {}).length * partitions;
  return {
    kind: 'lineage',
    plannedFiles: planned,
    run: async () => {
      const keys = (await listObjects(deps.lake.s3, deps.lake.bucket, hourPrefix ?? rawRoot(deps.lake.prefix))).map((o) => o.key).filter((k) => parseRawChunkKey(k) !== undefined);
      const found = await findInRaw(deps, tenant, eventId, keys);
      if (found.length === 0) {
        throw new TaskError(404, 'not_found', `no event ${eventId} of this tenant in the lake${hourPrefix ? ' in the hour of event_time' : ''} (events reach the lake within the sink's flush interval)`, [
          { path: '/event_id', reason: 'not in the lake for this tenant' },
        ]);
      }
      const [e, ...duplicates] = found;
      const cutOffset = snap?.cut[String(e.partition)] ?? 0;
      const covered = snap !== undefined && e.offset < cutOffset;
      const next = progress.get(e.partition)?.next_offset ?? null;
      const counted = !covered && next !== null && e.offset < next;
      const bucketSize = snap?.manifest.offset_bucket_size;
      return {
        kind: 'document',
        body: {
          event_id: eventId,
          tenant_id: tenant,
          event_time: e.event_time,
          event_subtype: e.event_subtype,
          // which layer the merged answers take it from
          status: covered ? 'batch' : counted ? 'live' : 'lake_only',
          kafka: { partition: e.partition, offset: e.offset, ingested_at: e.ingested_at },
          raw: { key: e.raw_key, url: s3Url(deps.lake.bucket, e.raw_key) },
          duplicates: duplicates.map((d) => ({ partition: d.partition, offset: d.offset, raw_key: d.raw_key, ingested_at: d.ingested_at })),
          compacted: await findCompacted(deps, tenant, eventId, e),
          batch: {
            covered,
            version: snap?.version ?? null,
            published_at: snap?.publishedAt ?? null,
            cut_offset: cutOffset,
            covered_since_version: covered ? await firstCoveringVersion(deps, e.partition, e.offset) : null,
            views: covered && snap ? coveringViewFiles(deps.lake.prefix, snap.manifest, e) : [],
          },
          live: {
            counted,
            next_offset: next,
            offset_bucket: bucketSize ? Math.floor(e.offset / bucketSize) : null,
          },
          files_scanned: keys.length,
        },
      };
    },
  };
}

export function lineageRouter(deps: AnalyticsRouteDeps, ctx: JobContext): Router {
  const router = express.Router();
  router.get(
    '/api/v2/data/lineage/:event_id',
    taskHandler(ctx, (req) => planLineage(deps, req.tenant!, String(req.params.event_id), req.query.event_time), { document: true }),
  );
  return router;
}
