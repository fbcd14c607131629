// GET /api/v2/analytics/cohort/{cohort_id} and GET /api/v2/analytics/cohort: retention of
// first-purchase cohorts from the cohorts_weekly batch view (one file per views version: tenant ×
// cohort week × weeks since). A cohort is the ISO week (Monday, UTC) of its users' first purchase;
// `cohort_id` is that week as `YYYY-Www` or its Monday as `YYYY-MM-DD`. Batch only, like funnels.
import express, { type Router } from 'express';
import { batchOnlyMeta } from './funnel';
import { taskHandler, TaskError, type JobContext, type Task } from './jobs';
import { parseDayUs, QueryError } from './query-model';
import type { AnalyticsRouteDeps } from './routes';
import { queryRows } from './view-query';

const DAY_MS = 86_400_000;
export const COHORT_ID_PATTERN = '^(\\d{4}-W\\d{2}|\\d{4}-\\d{2}-\\d{2})$';

/** The ISO week (`YYYY-Www`) of a UTC day. */
export function isoWeek(dayMs: number): string {
  const d = new Date(dayMs);
  const weekday = (d.getUTCDay() + 6) % 7; // Monday 0
  const thursday = new Date(dayMs - weekday * DAY_MS + 3 * DAY_MS);
  const year = thursday.getUTCFullYear();
  const week = 1 + Math.floor((thursday.getTime() - Date.UTC(year, 0, 1)) / (7 * DAY_MS));
  return `${year}-W${String(week).padStart(2, '0')}`;
}

/** A cohort id → the Monday (YYYY-MM-DD) of its week; a QueryError naming /cohort_id otherwise. */
export function cohortMonday(id: string): string {
  const week = /^(\d{4})-W(\d{2})$/.exec(id);
  if (week) {
    const year = Number(week[1]);
    // week 1 is the week holding January 4th
    const jan4 = Date.UTC(year, 0, 4);
    const monday = jan4 - ((new Date(jan4).getUTCDay() + 6) % 7) * DAY_MS + (Number(week[2]) - 1) * 7 * DAY_MS;
    if (Number(week[2]) < 1 || isoWeek(monday) !== id) throw new QueryError('/cohort_id', `${id} is not a week of ${year}`);
    return new Date(monday).toISOString().slice(0, 10);
  }
  const ms = /^\d{4}-\d{2}-\d{2}$/.test(id) ? Date.parse(`${id}T00:00:00Z`) : NaN;
  if (!Number.isFinite(ms) || new Date(ms).toISOString().slice(0, 10) !== id) throw new QueryError('/cohort_id', 'an ISO week (2026-W47) or the Monday of one (2026-11-16)');
  if (new Date(ms).getUTCDay() !== 1) {
    const monday = new Date(ms - ((new Date(ms).getUTCDay() + 6) % 7) * DAY_MS).toISOString().slice(0, 10);
    throw new QueryError('/cohort_id', `${id} is not a Monday; its week's Monday is ${monday}`);
  }
  return id;
}

const ROW_COLUMNS = ['weeks_since', 'week_start', 'users', 'cohort_users', 'retention'];
const LIST_COLUMNS = ['cohort_id', 'cohort_week', 'cohort_users', 'weeks_observed', 'retention_week_1', 'retention_week_4'];

/**
 * One cohort's retention: a row per week since the first-purchase week, from 0 to the last week
 * the cohort had an active user (weeks in between with none are 0).
 */
function retentionSql(file: string, maxWeeks: number | null): string {
  return `WITH c AS (
  SELECT weeks_since, users, cohort_users FROM read_parquet(['${file.replace(/'/g, "''")}'])
  WHERE tenant_id = $tenant AND cohort_week = CAST($week AS DATE)${maxWeeks === null ? '' : ' AND weeks_since <= $max_weeks'}
), w AS (SELECT unnest(range(0, (SELECT max(weeks_since) + 1 FROM c))) AS weeks_since)
SELECT w.weeks_since::INTEGER AS weeks_since, strftime(CAST($week AS DATE) + (w.weeks_since * 7)::INTEGER, '%Y-%m-%d') AS week_start,
  coalesce(c.users, 0)::DOUBLE AS users, (SELECT any_value(cohort_users) FROM c)::DOUBLE AS cohort_users,
  (coalesce(c.users, 0) / (SELECT any_value(cohort_users) FROM c))::DOUBLE AS retention
FROM w LEFT JOIN c USING (weeks_since) ORDER BY weeks_since`;
}

/**
 * The tenant's cohorts with cohort_week in [from, to): size, weeks observed, and retention after 1
 * and 4 weeks — NULL while the tenant's data does not reach that week yet.
 */
function cohortListSql(file: string): string {
  return `WITH c AS (SELECT cohort_week, weeks_since, users, cohort_users FROM read_parquet(['${file.replace(/'/g, "''")}']) WHERE tenant_id = $tenant),
last AS (SELECT max(cohort_week + weeks_since * 7) AS week FROM c)
SELECT strftime(cohort_week, '%G-W%V') AS cohort_id, strftime(cohort_week, '%Y-%m-%d') AS cohort_week, any_value(cohort_users)::DOUBLE AS cohort_users,
  (max(weeks_since) + 1)::INTEGER AS weeks_observed,
  CASE WHEN cohort_week + 7 <= (SELECT week FROM last) THEN (coalesce(sum(users) FILTER (WHERE weeks_since = 1), 0) / any_value(cohort_users))::DOUBLE END AS retention_week_1,
  CASE WHEN cohort_week + 28 <= (SELECT week FROM last) THEN (coalesce(sum(users) FILTER (WHERE weeks_since = 4), 0) / any_value(cohort_users))::DOUBLE END AS retention_week_4
FROM c WHERE cohort_week >= CAST($from AS DATE) AND cohort_week < CAST($to AS DATE)
GROUP BY cohort_week ORDER BY cohort_week`;
}

export function cohortsRouter(deps: AnalyticsRouteDeps, ctx: JobContext): Router {
  const router = express.Router();

  /** Plans a query of the version's one cohorts file (no file before the first purchase is in a published version). */
  const plan = async (kind: string, columns: string[], sql: (file: string) => string, params: Record<string, string | number>, notFound?: string): Promise<Task> => {
    const progress = new Map(deps.speed.progress());
    const snap = await deps.batch.snapshot();
    const keys = snap ? deps.batch.unitKeys(snap, 'cohorts_weekly', 0, Number.MAX_SAFE_INTEGER) : [];
    return {
      kind,
      plannedFiles: keys.length,
      run: async () => {
        const started = performance.now();
        const rows = keys.length > 0 ? await queryRows(deps.duck, sql((await deps.batch.localFiles(keys))[0]), params) : [];
        if (notFound && rows.length === 0) {
          throw new TaskError(404, 'not_found', `no cohort ${notFound} for this tenant in the published views (no user's first purchase that week, as of the cut)`, [{ path: '/cohort_id', reason: 'no such cohort' }]);
        }
        const meta = { ...batchOnlyMeta(snap, progress), view: 'cohorts_weekly', files_read: keys.length, total_rows: rows.length, query_ms: Math.round((performance.now() - started) * 10) / 10 };
        return { kind: 'rows', columns, rows, meta: notFound ? { ...meta, cohort_id: params.cohort_id, cohort_week: params.week } : meta };
      },
    };
  };

  router.get('/api/v2/analytics/cohort', taskHandler(ctx, (req) => {
    const from = typeof req.query.from === 'string' ? req.query.from : '0001-01-01';
    const to = typeof req.query.to === 'string' ? req.query.to : '9999-12-31';
    if (parseDayUs(to, '/to') <= parseDayUs(from, '/from')) throw new QueryError('/to', 'must be after from');
    return plan('cohorts', LIST_COLUMNS, cohortListSql, { tenant: req.tenant!, from, to });
  }));

  router.get('/api/v2/analytics/cohort/:cohort_id', taskHandler(ctx, (req) => {
    const id = String(req.params.cohort_id);
    const week = cohortMonday(id);
    const maxWeeks = req.query.weeks === undefined ? null : Number(req.query.weeks);
    if (maxWeeks !== null && (!Number.isInteger(maxWeeks) || maxWeeks < 0 || maxWeeks > 520)) throw new QueryError('/weeks', 'an integer in 0..520');
    return plan('cohort', ROW_COLUMNS, (file) => retentionSql(file, maxWeeks), { tenant: req.tenant!, week, cohort_id: id, ...(maxWeeks === null ? {} : { max_weeks: maxWeeks }) }, id);
  }));
  return router;
}
