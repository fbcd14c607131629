// POST /api/v2/data/erase/gdpr and POST /api/v2/data/export/gdpr start a GDPR erase or export of
// one data subject of the caller's tenant (serving/tenant-scope.ts decides which); GET …/gdpr/{id}
// follows it. Both need the admin role: an erase destroys data, and an export hands out a person's
// events row by row, which a `read` key (aggregates) never sees. The user id is tokenized here,
// exactly as ingestion tokenized it, so it never reaches Temporal, the lake or the audit record.
import express, { type Request, type Response, type Router } from 'express';
import type { Client } from '@temporalio/client';
import type { TemporalConfig } from '../../core/config';
import type { ControlState } from '../../core/control';
import { describeGdpr, startGdpr, subjectOf } from '../../core/gdpr-control';
import type { GdprKind } from '../../core/gdpr';
import { workflowUiUrl } from '../../core/batch-control';
import { createLogger } from '../../core/logger';
import type { PiiKeyring } from '../../core/pii';
import { sendError } from '../errors';

export interface GdprRouteDeps {
  temporal: TemporalConfig;
  control: ControlState;
  /** Connected on first use, so the API starts (and ingests) while Temporal is down. */
  client: () => Promise<Client>;
  /** The keyring ingestion tokenizes with: the subject's tokens must be the lake's. */
  keyring: PiiKeyring;
  /** Lake root prefix the batch layer works on. */
  prefix?: string;
}

/** The fields of a request body (the OpenAPI document validates their types and sizes first). */
interface GdprBody {
  user_id: string;
  anonymous_ids?: string[];
  reason?: string;
  url_ttl_seconds?: number;
}

export function gdprRouter({ temporal, client, keyring, prefix = '' }: GdprRouteDeps): Router {
  const log = createLogger('gdpr-api');
  const router = express.Router();

  const start = (kind: GdprKind) => async (req: Request, res: Response) => {
    const body = req.body as GdprBody;
    const principal = req.principal!;
    let subject;
    try {
      subject = subjectOf(req.tenant!, body.user_id, keyring, body.anonymous_ids ?? []);
    } catch (err) {
      const [field, ...rest] = (err as Error).message.split(': ');
      return sendError(res, 400, 'invalid_request', (err as Error).message, [{ path: `/${field}`, reason: rest.join(': ') }]);
    }
    let temporalClient: Client;
    try {
      temporalClient = await client();
    } catch (err) {
      log.warn({ err }, `gdpr ${kind} not started: Temporal unreachable`);
      res.setHeader('Retry-After', '30');
      return sendError(res, 503, 'temporal_unavailable', 'the batch layer (Temporal) cannot be reached; try again later');
    }
    try {
      const started = await startGdpr(temporalClient, temporal.taskQueue, {
        kind,
        subject,
        // Who asked, for the audit record: the key's label and a prefix of its hash (never the key).
        requestedBy: `${principal.kind === 'jwt' ? 'jwt' : 'api-key'}:${principal.label}#${principal.id}${principal.tenant_id === '*' ? ' (platform)' : ''}`,
        ...(body.reason ? { reason: body.reason } : {}),
        ...(body.url_ttl_seconds !== undefined ? { urlTtlSeconds: body.url_ttl_seconds } : {}),
        prefix,
      });
      log.info({ kind, requestId: started.requestId, tenant: subject.tenant, by: principal.label }, `gdpr ${kind} requested`);
      res.status(202).json({
        request_id: started.requestId,
        kind,
        tenant: subject.tenant,
        subject: { user_tokens: subject.userTokens, anonymous_ids: subject.anonymousIdHashes?.length ?? 0 },
        status_url: `/api/v2/data/${kind}/gdpr/${started.requestId}`,
        temporal_ui_url: workflowUiUrl(temporal.uiUrl, temporal.namespace, started.workflowId),
      });
    } catch (err) {
      if (err instanceof RangeError) {
        const [field, ...rest] = err.message.split(': ');
        return sendError(res, 400, 'invalid_request', err.message, [{ path: `/${field}`, reason: rest.join(': ') }]);
      }
      throw err;
    }
  };

  const status = (kind: GdprKind) => async (req: Request<{ id: string }>, res: Response) => {
    try {
      // Another tenant's request does not exist for this caller.
      const found = await describeGdpr(await client(), kind, req.params.id, req.tenant);
      if (!found) return sendError(res, 404, 'not_found', `no such GDPR ${kind} request`);
      res.json(found);
    } catch (err) {
      log.warn({ err }, 'gdpr status unavailable');
      res.setHeader('Retry-After', '30');
      return sendError(res, 503, 'temporal_unavailable', 'the batch layer (Temporal) cannot be reached; try again later');
    }
  };

  for (const kind of ['erase', 'export'] as const) {
    router.post(`/api/v2/data/${kind}/gdpr`, start(kind));
    router.get(`/api/v2/data/${kind}/gdpr/:id`, status(kind));
  }
  return router;
}
