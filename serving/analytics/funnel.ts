// POST /api/v2/analytics/funnel/analyze and POST /api/v2/analytics/attribution/model: funnels
// and revenue attribution from the published batch views (funnel_1d, session_steps,
// attribution_purchases), in DuckDB SQL over the views' files (serving/analytics/funnel-sql.ts).
// Batch only, and the answer says so: a session is a day-long state the speed layer's cells do not
// keep, so events at or after the published cut are not in these answers until the next batch run.
import express, { type Router } from 'express';
import type { PartitionProgress } from '../../core/speed-changelog';
import { FUNNEL_STEPS } from '../../core/lake-views';
import { parseRawChunkKey, rawRoot } from '../../core/lake';
import { s3Url } from '../../core/duckdb';
import { listObjects } from '../../core/s3';
import type { Row } from '../formats';
import type { BatchSnapshot } from './batch-views';
import { attributionSql, ATTRIBUTION_MODELS, funnelSql, isStepPrefix, type AttributionModel, type FunnelGrain, type FunnelStep } from './funnel-sql';
import { taskHandler, type JobContext, type Task } from './jobs';
import { GRAIN_US, parseDayRange, QueryError, type DayRange } from './query-model';
import type { AnalyticsRouteDeps } from './routes';
import { queryRows } from './view-query';

export const DEFAULT_HALF_LIFE_HOURS = 168;

const FUNNEL_COLUMNS = ['step_index', 'step', 'sessions', 'conversion_from_previous', 'conversion_from_first'];
const ATTRIBUTION_COLUMNS = ['touchpoint', 'conversions', 'revenue', 'purchases', 'revenue_share'];

/** What a batch-only answer reflects, and how much the speed layer has seen past it. */
export function batchOnlyMeta(snap: BatchSnapshot | undefined, progress: ReadonlyMap<number, PartitionProgress>) {
  const cut = snap?.cut ?? {};
  const live = Object.fromEntries([...progress].map(([p, pr]) => [String(p), pr.next_offset]));
  const after = Object.entries(live).reduce((n, [p, o]) => n + Math.max(0, o - (cut[p] ?? 0)), 0);
  return {
    batch_only: true,
    batch_version: snap?.version ?? null,
    batch_cut: cut,
    published_at: snap?.publishedAt ?? null,
    live_offsets: live,
    offsets_after_cut: after,
    note:
      'computed from the published batch views only: events with _offset >= batch_cut[p] are not reflected until a batch run publishes a cut past them (offsets_after_cut counts the offsets, of all tenants, the speed layer has processed beyond the cut)',
  };
}

interface Attribution {
  model: AttributionModel;
  halfLifeHours: number | null;
}

function parseSteps(value: unknown): FunnelStep[] {
  if (value === undefined) return [...FUNNEL_STEPS];
  if (!Array.isArray(value) || value.length === 0 || value.length > FUNNEL_STEPS.length) throw new QueryError('/steps', `1 to ${FUNNEL_STEPS.length} of ${FUNNEL_STEPS.join(', ')}`);
  value.forEach((s, i) => {
    if (!FUNNEL_STEPS.includes(s as FunnelStep)) throw new QueryError(`/steps/${i}`, `one of ${FUNNEL_STEPS.join(', ')}`);
    if (value.indexOf(s) !== i) throw new QueryError(`/steps/${i}`, 'each step at most once');
  });
  return value as FunnelStep[];
}

function parseAttribution(model: unknown, halfLife: unknown, modelPath: string): Attribution | undefined {
  if (model === undefined) {
    if (halfLife !== undefined) throw new QueryError('/half_life_hours', `only with ${modelPath.slice(1)} time_decay`);
    return undefined;
  }
  if (!ATTRIBUTION_MODELS.includes(model as AttributionModel)) throw new QueryError(modelPath, `one of ${ATTRIBUTION_MODELS.join(', ')}`);
  if (halfLife !== undefined && model !== 'time_decay') throw new QueryError('/half_life_hours', `only with ${modelPath.slice(1)} time_decay`);
  const h = halfLife === undefined ? DEFAULT_HALF_LIFE_HOURS : Number(halfLife);
  if (typeof halfLife !== 'undefined' && (typeof halfLife !== 'number' || !(h > 0) || h > 8760)) throw new QueryError('/half_life_hours', 'a number of hours in (0, 8760]');
  return { model: model as AttributionModel, halfLifeHours: model === 'time_decay' ? h : null };
}

/** The attribution query of a range, planned: view files now, raw objects (time decay) listed when it runs. */
function planAttribution(deps: AnalyticsRouteDeps, snap: BatchSnapshot | undefined, tenant: string, range: DayRange, a: Attribution) {
  const keys = snap ? deps.batch.unitKeys(snap, 'attribution_purchases', range.fromUs, range.toUs) : [];
  // Time decay reads the raw objects of the purchases' hours: at least one per partition and hour.
  const rawEstimate = a.model === 'time_decay' && snap ? keys.length * Math.max(1, Object.keys(snap.cut).length) : 0;
  const run = async (): Promise<{ rows: Row[]; filesRead: number }> => {
    if (keys.length === 0 || !snap) return { rows: [], filesRead: 0 };
    const files = await deps.batch.localFiles(keys);
    const params = { tenant, from: range.fromUs, to: range.toUs, half_life: a.halfLifeHours };
    if (a.model !== 'time_decay') return { rows: await queryRows(deps.duck, attributionSql(files, a.model), params), filesRead: files.length };
    const lakeDuck = deps.lake.duck;
    if (!lakeDuck) throw new Error('time-decay attribution reads raw objects on S3: the API has no lake DuckDB (httpfs not provisioned)');
    const raw = await rawObjectsBelowCut(deps, snap, range);
    const sql = attributionSql(files, 'time_decay', raw.map((k) => s3Url(deps.lake.bucket, k)));
    return { rows: await queryRows(lakeDuck, sql, params), filesRead: files.length + raw.length };
  };
  return { plannedFiles: keys.length + rawEstimate, run };
}

/** Raw objects of the range's days holding offsets below the cut (one listing per day). */
async function rawObjectsBelowCut(deps: AnalyticsRouteDeps, snap: BatchSnapshot, range: DayRange): Promise<string[]> {
  const keys: string[] = [];
  for (let us = range.fromUs; us < range.toUs; us += GRAIN_US.day) {
    const day = new Date(us / 1000).toISOString().slice(0, 10);
    for (const o of await listObjects(deps.lake.s3, deps.lake.bucket, `${rawRoot(deps.lake.prefix)}dt=${day}/`)) {
      const ref = parseRawChunkKey(o.key);
      if (ref && ref.startOffset < (snap.cut[String(ref.partition)] ?? 0)) keys.push(o.key);
    }
  }
  return keys;
}

const round = (ms: number) => Math.round(ms * 10) / 10;

async function planFunnel(deps: AnalyticsRouteDeps, tenant: string, body: Record<string, unknown>): Promise<Task> {
  const range = parseDayRange(body.time_range);
  const steps = parseSteps(body.steps);
  const grain = (body.grain ?? 'all') as FunnelGrain;
  if (grain !== 'all' && grain !== 'day') throw new QueryError('/grain', 'all or day');
  const attribution = parseAttribution(body.attribution, body.half_life_hours, '/attribution');
  // progress before the snapshot, as the merge reads them: offsets_after_cut is never understated
  const progress = new Map(deps.speed.progress());
  const snap = await deps.batch.snapshot();
  const view = isStepPrefix(steps) ? 'funnel_1d' : 'session_steps';
  const keys = snap ? deps.batch.unitKeys(snap, view, range.fromUs, range.toUs) : [];
  const attr = attribution && planAttribution(deps, snap, tenant, range, attribution);
  return {
    kind: 'funnel',
    plannedFiles: keys.length + (attr?.plannedFiles ?? 0),
    run: async () => {
      const started = performance.now();
      const rows =
        keys.length > 0
          ? await queryRows(deps.duck, funnelSql({ view, files: await deps.batch.localFiles(keys) }, steps, grain), { tenant, from: range.fromUs, to: range.toUs })
          : grain === 'all'
            ? steps.map((step, i) => ({ step_index: i + 1, step, sessions: 0, conversion_from_previous: null, conversion_from_first: null }))
            : [];
      const attributed = attr && (await attr.run());
      const meta = {
        ...batchOnlyMeta(snap, progress),
        view,
        steps,
        grain,
        time_range: { from: range.fromDay, to: range.toDay },
        files_read: keys.length + (attributed?.filesRead ?? 0),
        total_rows: rows.length,
        query_ms: round(performance.now() - started),
      };
      const extra = attribution && attributed ? { attribution: { model: attribution.model, half_life_hours: attribution.halfLifeHours, data: attributed.rows } } : undefined;
      return { kind: 'rows', columns: grain === 'day' ? ['day', ...FUNNEL_COLUMNS] : FUNNEL_COLUMNS, rows, meta, ...(extra ? { extra } : {}) };
    },
  };
}

async function planAttributionModel(deps: AnalyticsRouteDeps, tenant: string, body: Record<string, unknown>): Promise<Task> {
  const range = parseDayRange(body.time_range);
  const attribution = parseAttribution(body.model, body.half_life_hours, '/model');
  if (!attribution) throw new QueryError('/model', `required: one of ${ATTRIBUTION_MODELS.join(', ')}`);
  const progress = new Map(deps.speed.progress());
  const snap = await deps.batch.snapshot();
  const plan = planAttribution(deps, snap, tenant, range, attribution);
  return {
    kind: 'attribution',
    plannedFiles: plan.plannedFiles,
    run: async () => {
      const started = performance.now();
      const { rows, filesRead } = await plan.run();
      const meta = {
        ...batchOnlyMeta(snap, progress),
        view: 'attribution_purchases',
        model: attribution.model,
        half_life_hours: attribution.halfLifeHours,
        time_range: { from: range.fromDay, to: range.toDay },
        // each purchase's weights sum to 1, so conversions add up to the purchases
        purchases: Math.round(rows.reduce((n, r) => n + Number(r.conversions), 0)),
        revenue: rows.reduce((n, r) => n + Number(r.revenue), 0),
        files_read: filesRead,
        total_rows: rows.length,
        query_ms: round(performance.now() - started),
      };
      return { kind: 'rows', columns: ATTRIBUTION_COLUMNS, rows, meta };
    },
  };
}

export function funnelRouter(deps: AnalyticsRouteDeps, ctx: JobContext): Router {
  const router = express.Router();
  router.post('/api/v2/analytics/funnel/analyze', taskHandler(ctx, (req) => planFunnel(deps, req.tenant!, req.body as Record<string, unknown>)));
  router.post('/api/v2/analytics/attribution/model', taskHandler(ctx, (req) => planAttributionModel(deps, req.tenant!, req.body as Record<string, unknown>)));
  return router;
}
