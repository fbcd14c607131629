// GET /api/v2/anomalies/active: the tenant's anomaly records of the last minutes, from the API
// process's tail of the `anomalies` topic (serving/anomalies/tail.ts). Empty until detectors
// write that topic; the answer's meta says what it reflects.
import express, { type Router } from 'express';
import type { DuckDBInstance } from '@duckdb/node-api';
import type { ControlState } from '../../core/control';
import { requireRole } from '../auth';
import { sendError } from '../errors';
import { FORMATS, negotiate, sendRows } from '../formats';
import { tenantScope } from '../tenant-scope';
import type { AnomalyTail } from './tail';

export const ANOMALY_COLUMNS = ['anomaly_id', 'detected_at', 'anomaly_type', 'severity', 'score', 'event_id', 'explanation', 'detail'];

export function anomaliesRouter(deps: { control: ControlState; anomalies: AnomalyTail; duck: DuckDBInstance }): Router {
  const router = express.Router();
  router.get('/api/v2/anomalies/active', requireRole(deps.control, 'read'), tenantScope(deps.control), (req, res, next) => {
    (async () => {
      const format = negotiate(req);
      if (!format) return sendError(res, 406, 'not_acceptable', `results are served as ${Object.values(FORMATS).join(', ')}`);
      const minutes = req.query.minutes === undefined ? 60 : Number(req.query.minutes);
      const limit = req.query.limit === undefined ? 100 : Number(req.query.limit);
      if (!Number.isInteger(minutes) || minutes < 1 || minutes > 10_080) return sendError(res, 400, 'invalid_request', '/minutes: an integer in 1..10080', [{ path: '/minutes', reason: 'an integer in 1..10080' }]);
      if (!Number.isInteger(limit) || limit < 1 || limit > 1000) return sendError(res, 400, 'invalid_request', '/limit: an integer in 1..1000', [{ path: '/limit', reason: 'an integer in 1..1000' }]);
      const rows = deps.anomalies.recent(req.tenant!, Date.now() - minutes * 60_000, limit).map((a) => Object.fromEntries(ANOMALY_COLUMNS.map((c) => [c, a[c as keyof typeof a] ?? null])) as Record<string, string | number | null>);
      const meta = {
        source_topic: deps.anomalies.topic,
        window_minutes: minutes,
        caught_up: deps.anomalies.caughtUp,
        total_rows: rows.length,
        note: 'records of the anomalies topic as this API process tails it; the fraud and anomaly detectors that write it are not built yet, so it is empty unless something else produces there',
      };
      await sendRows(res, format, ANOMALY_COLUMNS, rows, meta, deps.duck);
    })().catch(next);
  });
  return router;
}
