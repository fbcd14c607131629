// POST /api/v2/admin/backfill starts a batch-layer backfill (the workflow `rtap backfill` and the
// Temporal UI start); GET /api/v2/admin/backfill/{id} shows its progress. A tenant's admin key
// backfills that tenant only; only a platform key ('*') may backfill every tenant.
import express, { type Request, type Response, type Router } from 'express';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { TemporalConfig } from '../../core/config';
import type { ControlState } from '../../core/control';
import { queryProgress, startBackfill, workflowUiUrl, type BackfillRequest } from '../../core/batch-control';
import { createLogger } from '../../core/logger';
import { sendError } from '../errors';

export interface BackfillRouteDeps {
  temporal: TemporalConfig;
  control: ControlState;
  /** Connected on first use, so the API starts (and ingests) while Temporal is down. */
  client: () => Promise<Client>;
  /** Lake root prefix the batch layer works on. */
  prefix?: string;
}

const BODY_FIELDS = new Set(['from', 'to', 'tenant', 'full', 'concurrency']);
const WORKFLOW_ID = /^rtap-backfill-[A-Za-z0-9_-]{1,200}$/;

export function backfillRouter({ temporal, client, prefix = '' }: BackfillRouteDeps): Router {
  const log = createLogger('admin-api');
  const router = express.Router();
  const parseJson = express.json({ limit: 16 * 1024 });

  router.post('/api/v2/admin/backfill', parseJson, async (req: Request, res: Response) => {
    const body: unknown = req.body;
    if (body === null || typeof body !== 'object' || Array.isArray(body)) {
      return sendError(res, 400, 'invalid_request', 'the body must be a JSON object {from, to, tenant?, full?, concurrency?}');
    }
    const fields = body as Record<string, unknown>;
    const unknown = Object.keys(fields).filter((k) => !BODY_FIELDS.has(k));
    if (unknown.length > 0) {
      return sendError(res, 400, 'invalid_request', 'unknown fields', unknown.slice(0, 10).map((k) => ({ path: `/${k.slice(0, 64)}`, reason: 'not a backfill field' })));
    }
    const typeProblems = [
      ...(['from', 'to'] as const).filter((k) => typeof fields[k] !== 'string').map((k) => ({ path: `/${k}`, reason: 'required: a date, hour or ISO-8601 instant (string)' })),
      ...(fields.tenant !== undefined && typeof fields.tenant !== 'string' ? [{ path: '/tenant', reason: 'must be a string' }] : []),
      ...(fields.full !== undefined && typeof fields.full !== 'boolean' ? [{ path: '/full', reason: 'must be a boolean' }] : []),
      ...(fields.concurrency !== undefined && typeof fields.concurrency !== 'number' ? [{ path: '/concurrency', reason: 'must be an integer' }] : []),
    ];
    if (typeProblems.length > 0) return sendError(res, 400, 'invalid_request', 'the backfill request is invalid', typeProblems);

    const principal = req.principal!;
    // The gate decided the tenant (a body `tenant` of another tenant never gets here): one tenant,
    // or '*' when a platform credential backfills every tenant.
    const tenant = req.tenant!;
    const request: BackfillRequest = {
      from: fields.from as string,
      to: fields.to as string,
      ...(tenant !== '*' ? { tenant } : {}),
      ...(fields.full === true ? { full: true } : {}),
      ...(fields.concurrency !== undefined ? { concurrency: fields.concurrency as number } : {}),
      prefix,
    };
    let temporalClient: Client;
    try {
      temporalClient = await client();
    } catch (err) {
      log.warn({ err }, 'backfill not started: Temporal unreachable');
      res.setHeader('Retry-After', '30');
      return sendError(res, 503, 'temporal_unavailable', 'the batch layer (Temporal) cannot be reached; try again later');
    }
    try {
      const started = await startBackfill(temporalClient, temporal.taskQueue, request);
      log.info({ workflowId: started.workflowId, hours: started.hours, by: principal.label }, 'backfill requested');
      res.status(202).json({
        workflow_id: started.workflowId,
        hours: started.hours,
        already_running: started.alreadyRunning,
        status_url: `/api/v2/admin/backfill/${started.workflowId}`,
        temporal_ui_url: workflowUiUrl(temporal.uiUrl, temporal.namespace, started.workflowId),
      });
    } catch (err) {
      if (err instanceof RangeError) {
        const [field, ...rest] = err.message.split(': ');
        return sendError(res, 400, 'invalid_request', err.message, [{ path: `/${field}`, reason: rest.join(': ') || err.message }]);
      }
      throw err;
    }
  });

  router.get('/api/v2/admin/backfill/:id', async (req: Request<{ id: string }>, res: Response) => {
    const id = req.params.id;
    if (!WORKFLOW_ID.test(id)) return sendError(res, 400, 'invalid_request', 'not a backfill id', [{ path: '/id', reason: 'expected rtap-backfill-…' }]);
    try {
      const handle = (await client()).workflow.getHandle(id);
      const description = await handle.describe();
      // A tenant sees its own tenant's backfills only; others do not exist for it.
      if (req.tenant !== '*' && description.memo?.tenant !== req.tenant) return sendError(res, 404, 'not_found', 'no such backfill');
      const status = description.status.name;
      const progress = status === 'RUNNING' ? await queryProgress(handle).catch(() => undefined) : undefined;
      const result = status === 'COMPLETED' ? await handle.result() : undefined;
      res.json({ workflow_id: id, status, started_at: description.startTime.toISOString(), closed_at: description.closeTime?.toISOString(), progress, result });
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return sendError(res, 404, 'not_found', 'no such backfill');
      throw err;
    }
  });

  return router;
}
