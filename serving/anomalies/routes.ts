// GET /api/v2/anomalies/active: the tenant's anomaly records of the last minutes, from the API
// process's tail of the `anomalies` topic (serving/anomalies/tail.ts), which the speed layer's
// fraud processor writes. Roles and the tenant come from the security gate (serving/auth.ts).
import express, { type Router } from 'express';
import type { DuckDBInstance } from '@duckdb/node-api';
import type { ControlState } from '../../core/control';
import { sendError } from '../errors';
import { FORMATS, negotiate, sendRows } from '../formats';
import type { AnomalyTail } from './tail';

export const ANOMALY_COLUMNS = ['anomaly_id', 'detected_at', 'anomaly_type', 'severity', 'score', 'event_id', 'explanation', 'detail'];

/** `minutes` and `limit` query parameters, checked (the OpenAPI document bounds them too). */
export function windowParams(query: Record<string, unknown>, defaults: { minutes: number; limit: number }): { minutes: number; limit: number } | { path: string; reason: string } {
  const minutes = query.minutes === undefined ? defaults.minutes : Number(query.minutes);
  const limit = query.limit === undefined ? defaults.limit : Number(query.limit);
  if (!Number.isInteger(minutes) || minutes < 1 || minutes > 10_080) return { path: '/minutes', reason: 'an integer in 1..10080' };
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000) return { path: '/limit', reason: 'an integer in 1..1000' };
  return { minutes, limit };
}

export function anomaliesRouter(deps: { control: ControlState; anomalies: AnomalyTail; duck: DuckDBInstance }): Router {
  const router = express.Router();
  router.get('/api/v2/anomalies/active', (req, res, next) => {
    (async () => {
      const format = negotiate(req);
      if (!format) return sendError(res, 406, 'not_acceptable', `results are served as ${Object.values(FORMATS).join(', ')}`);
      const w = windowParams(req.query, { minutes: 60, limit: 100 });
      if ('reason' in w) return sendError(res, 400, 'invalid_request', `${w.path}: ${w.reason}`, [w]);
      const rows = deps.anomalies.recent(req.tenant!, Date.now() - w.minutes * 60_000, w.limit).map((a) => Object.fromEntries(ANOMALY_COLUMNS.map((c) => [c, a[c as keyof typeof a] ?? null])) as Record<string, string | number | null>);
      const meta = {
        source_topic: deps.anomalies.topic,
        window_minutes: w.minutes,
        caught_up: deps.anomalies.caughtUp,
        total_rows: rows.length,
        note: 'records of the anomalies topic (written by the speed layer fraud scoring, committed with its checkpoints) as this API process tails it',
      };
      await sendRows(res, format, ANOMALY_COLUMNS, rows, meta, deps.duck);
    })().catch(next);
  });
  return router;
}
