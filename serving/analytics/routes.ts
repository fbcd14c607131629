// The analytics routes: the merged OLAP query, its realtime variants, geography, and the
// dashboard's data; the batch-view endpoints (funnels, attribution, cohorts), lineage, anomalies
// and async jobs are mounted from their own modules here. Requests are shape-checked by the
// OpenAPI validator before they get here; the tenant comes from serving/tenant-scope.ts only.
import express, { type Request, type Response, type Router } from 'express';
import type { S3Client } from '@aws-sdk/client-s3';
import type { DuckDBInstance } from '@duckdb/node-api';
import type { ControlState } from '../../core/control';
import { createLogger } from '../../core/logger';
import { MEASURES } from '../../core/measures';
import { anomaliesRouter } from '../anomalies/routes';
import type { AnomalyTail } from '../anomalies/tail';
import { sendError } from '../errors';
import { negotiate, sendRows, FORMATS, type Row } from '../formats';
import { cohortsRouter } from './cohorts';
import { funnelRouter } from './funnel';
import { jobsRouter, taskHandler, type Job, type JobContext, type JobTable, type Task } from './jobs';
import { lineageRouter } from './lineage';
import { mergedQuery, type MergeDeps } from './merge';
import { STREAM_PATH } from './stream';
import { DIMENSIONS, GRAIN_US, parseQuery, QueryError, rollupFor, viewGrainFor, viewNameFor, type AnalyticsQuery, type Grain } from './query-model';

/** The lake on S3, for what the batch views do not hold (lineage, touchpoint times). */
export interface LakeAccess {
  s3: S3Client;
  bucket: string;
  prefix: string;
  /** A DuckDB with httpfs and the lake's S3 secret; undefined when httpfs is not provisioned. */
  duck?: DuckDBInstance;
}

export interface AnalyticsRouteDeps extends MergeDeps {
  control: ControlState;
  /** For view scans and Parquet results. */
  duck: DuckDBInstance;
  jobs: JobTable;
  /** Jobs of the other workers of a clustered API (serving/analytics/job-relay.ts). */
  remoteJobs?: (tenant: string, id: string) => Promise<Job | undefined>;
  lake: LakeAccess;
  anomalies: AnomalyTail;
}

const GEOGRAPHY_MEASURES = ['events', 'orders', 'revenue', 'distinct_users'];
/** The query model's body paths → geography's query parameters. */
const GEOGRAPHY_FIELDS: Record<string, string> = { '/time_range': '/to', '/time_range/from': '/from', '/time_range/to': '/to', '/measures': '/measures', '/sort': '/measures', '/limit': '/limit' };

const REALTIME_MAX_US = 24 * GRAIN_US.hour;
const DASHBOARD_MEASURES = ['events', 'orders', 'revenue', 'distinct_users', 'conversion', 'page_load_p95'];

export function analyticsRouter(deps: AnalyticsRouteDeps): Router {
  const log = createLogger('analytics-api');
  const router = express.Router();
  const json = express.json({ limit: 64 * 1024 });

  /** Runs a merged query and answers in the negotiated format; a bad query is a 400 naming the field. */
  const answer = async (req: Request, res: Response, build: (tenant: string) => AnalyticsQuery) => {
    const format = negotiate(req);
    if (!format) return sendError(res, 406, 'not_acceptable', `results are served as ${Object.values(FORMATS).join(', ')}`);
    let q: AnalyticsQuery;
    try {
      q = build(req.tenant!);
    } catch (err) {
      if (err instanceof QueryError) return sendError(res, 400, 'invalid_request', err.message, [{ path: err.path, reason: err.reason }]);
      throw err;
    }
    const started = performance.now();
    const result = await mergedQuery(deps, q);
    const meta = { ...result.meta, query_ms: Math.round((performance.now() - started) * 10) / 10 };
    const columns = ['window_start', ...(q.dimension ? [q.dimension] : []), ...q.measures];
    await sendRows(res, format, columns, result.rows as Row[], meta, deps.duck);
  };

  const ctx: JobContext = { jobs: deps.jobs, duck: deps.duck, onJobError: (err, job) => log.error({ err, job: job.id, kind: job.kind }, 'async job failed') };

  /** A merged query as a task: planned by the batch files it reads, answered within the budget or as a job. */
  const mergedTask = async (kind: string, q: AnalyticsQuery, columns: string[], shape: (rows: Row[]) => Row[] = (r) => r): Promise<Task> => {
    const snap = await deps.batch.snapshot();
    const view = viewNameFor(rollupFor(q.dimension).rollup, viewGrainFor(q));
    return {
      kind,
      plannedFiles: snap ? deps.batch.unitKeys(snap, view, q.fromUs, q.toUs).length : 0,
      run: async () => {
        const started = performance.now();
        const result = await mergedQuery(deps, q);
        return { kind: 'rows', columns, rows: shape(result.rows as Row[]), meta: { ...result.meta, query_ms: Math.round((performance.now() - started) * 10) / 10 } };
      },
    };
  };

  router.post('/api/v2/analytics/query', json, taskHandler(ctx, (req) => {
    const q = parseQuery(req.tenant!, req.body as Record<string, unknown>);
    return mergedTask('query', q, ['window_start', ...(q.dimension ? [q.dimension] : []), ...q.measures]);
  }));

  // Geography: the merged query by country over the range, one row per country (exact, like every merged answer).
  router.get('/api/v2/analytics/geography', taskHandler(ctx, (req) => {
    // the validator splits the documented comma-separated list; an array or its text both arrive here
    const asked = req.query.measures;
    const measures = Array.isArray(asked) ? asked.map(String) : typeof asked === 'string' ? asked.split(',') : GEOGRAPHY_MEASURES;
    const limit = req.query.limit === undefined ? 1000 : Number(req.query.limit);
    const body = { measures, dimensions: ['country'], grain: 'all', time_range: { from: req.query.from, to: req.query.to }, sort: [{ field: measures[0], order: 'desc' }], limit };
    let q: AnalyticsQuery;
    try {
      q = parseQuery(req.tenant!, body);
    } catch (err) {
      // the query model names body fields; this endpoint's are query parameters
      if (err instanceof QueryError) throw new QueryError(GEOGRAPHY_FIELDS[err.path.replace(/\/\d+$/, '')] ?? err.path, err.reason);
      throw err;
    }
    return mergedTask('geography', q, ['country', ...q.measures], (rows) => rows.map(({ window_start: _start, ...rest }) => rest));
  }));

  router.post('/api/v2/analytics/realtime/query', json, (req, res, next) => {
    answer(req, res, (tenant) => {
      const q = parseQuery(tenant, req.body as Record<string, unknown>, MEASURES, { grain: 'minute' });
      if (q.toUs - q.fromUs > REALTIME_MAX_US) throw new QueryError('/time_range', 'realtime queries span at most 24 hours; use /api/v2/analytics/query');
      return q;
    }).catch(next);
  });

  router.get('/api/v2/analytics/realtime/metrics', (req, res, next) => {
    (async () => {
      const minutes = req.query.minutes === undefined ? 5 : Number(req.query.minutes);
      const measures = typeof req.query.measures === 'string' ? req.query.measures.split(',') : Array.isArray(req.query.measures) ? (req.query.measures as string[]) : ['events', 'orders', 'revenue', 'distinct_users'];
      const q = recentQuery(req.tenant!, measures, minutes, 'all', null);
      const result = await mergedQuery(deps, q);
      const totals = result.rows[0] ?? Object.fromEntries(measures.map((m) => [m, 0]));
      res.json({ data: Object.fromEntries(measures.map((m) => [m, totals[m] ?? 0])), meta: result.meta });
    })().catch(next);
  });

  router.get('/api/v2/analytics/realtime/dashboard', (req, res, next) => {
    (async () => {
      const tenant = req.tenant!;
      const perMinute = await mergedQuery(deps, recentQuery(tenant, DASHBOARD_MEASURES, 60, 'minute', null));
      const top: Record<string, unknown> = {};
      for (const dimension of ['event_type', 'country', 'device_type', 'payment_provider']) {
        const r = await mergedQuery(deps, { ...recentQuery(tenant, ['events', 'revenue'], 60, 'all', dimension), sort: [{ field: 'events', order: 'desc' }], limit: 5 });
        top[dimension] = r.rows.map((row) => ({ value: row[dimension], events: row.events, revenue: row.revenue }));
      }
      res.json({ data: { per_minute: perMinute.rows, top }, meta: perMinute.meta });
    })().catch(next);
  });

  // The stream is a WebSocket (serving/analytics/stream.ts answers the Upgrade); a plain GET is
  // authenticated like any other request, then told to upgrade.
  router.get(STREAM_PATH, (_req, res) => {
    res.setHeader('Upgrade', 'websocket');
    sendError(res, 426, 'upgrade_required', 'this is a WebSocket endpoint: connect with Upgrade: websocket');
  });

  router.use(funnelRouter(deps, ctx));
  router.use(cohortsRouter(deps, ctx));
  router.use(lineageRouter(deps, ctx));
  router.use(jobsRouter(deps));
  router.use(anomaliesRouter(deps));

  router.use((err: unknown, _req: Request, res: Response, next: (e: unknown) => void) => {
    if (res.headersSent) return next(err);
    if (err instanceof QueryError) return sendError(res, 400, 'invalid_request', err.message, [{ path: err.path, reason: err.reason }]);
    log.error({ err }, 'analytics query failed');
    res.setHeader('Retry-After', '5');
    sendError(res, 503, 'query_failed', 'the query could not be answered now (batch views or speed layer unavailable); it has been logged');
  });
  return router;
}

/** The last `minutes` whole minutes up to now (the current minute included). */
function recentQuery(tenant: string, measures: string[], minutes: number, grain: Grain, dimension: string | null): AnalyticsQuery {
  if (!Number.isInteger(minutes) || minutes < 1 || minutes > 1440) throw new QueryError('/minutes', 'an integer in 1..1440');
  for (const m of measures) if (!MEASURES.measures.some((x) => x.name === m)) throw new QueryError('/measures', `unknown measure ${JSON.stringify(m.slice(0, 64))}`);
  if (dimension !== null && !DIMENSIONS[dimension]) throw new QueryError('/dimensions', 'unknown dimension');
  const toUs = (Math.floor(Date.now() / 60_000) + 1) * GRAIN_US.minute;
  return { tenant, measures, dimension, grain, fromUs: toUs - minutes * GRAIN_US.minute, toUs, filters: [], sort: [{ field: 'window_start', order: 'asc' }], limit: 10_000, offset: 0 };
}
