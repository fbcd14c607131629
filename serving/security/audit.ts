// The audit trail of the API (docs/security.md "Audit"): one record per /api request, appended to
// this process's chain when the answer is sent (or the connection drops). Mounted in
// serving/app.ts BEFORE the security gate, so requests the gate or the OpenAPI validator refuse
// (401, 403, 400) are recorded too, as failed access attempts; the principal, tenant and
// cross-tenant flag the gate sets are read at the end, when they are known.
import { createHash } from 'node:crypto';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { AuditActor, AuditEntry } from '../../core/audit';
import { sendError } from '../errors';
import { accessLookup } from './access';
import { credentialOf } from './identity';
import { ACCEPTED_EVENTS_LOCAL } from './limits';

/** Where entries go: an AuditWriter (core/audit-log.ts), or a test's list. */
export interface AuditSink {
  append(entry: AuditEntry): unknown;
  /** True while records cannot be kept: requests are then refused (503) rather than served unaudited. */
  readonly backlogged: boolean;
}

const MAX_TARGET = 512;

/** The audit entry of a finished request. Exported for tests with fake req/res. */
export function requestEntry(req: Request, res: Response, at: { startedMs: number; endedMs: number }, route: string | undefined, aborted: boolean): AuditEntry {
  const { startedMs, endedMs } = at;
  const p = req.principal;
  const actor: AuditActor = p ? { kind: p.kind, id: p.id, label: p.label } : { kind: 'anonymous', id: null };
  const tenant = req.tenant ?? (p && p.tenant_id !== '*' ? p.tenant_id : null);
  const entry: AuditEntry = {
    ts: new Date(startedMs).toISOString(),
    source: 'api',
    actor,
    tenant,
    cross_tenant: req.crossTenant ?? (p !== undefined && (p.tenant_id === '*' || (tenant !== null && tenant !== p.tenant_id))),
    action: route ?? `${req.method} (no such route)`,
    method: req.method,
    status: res.statusCode,
    // the path only: a query string may carry a credential (?api_key=)
    target: req.path.length > MAX_TARGET ? `${req.path.slice(0, MAX_TARGET)}…` : req.path,
    duration_ms: Math.round(endedMs - startedMs),
    remote: req.socket?.remoteAddress,
  };
  if (!p) {
    const credential = credentialOf(req.headers);
    if (credential) entry.credential_fp = createHash('sha256').update(credential.kind === 'api_key' ? credential.secret : credential.token).digest('hex').slice(0, 12);
  }
  const detail: Record<string, string | number | boolean> = {};
  if (aborted) detail.aborted = true;
  const accepted = res.locals?.[ACCEPTED_EVENTS_LOCAL] as Record<string, number> | undefined;
  if (accepted) detail.events_accepted = Object.values(accepted).reduce((a, b) => a + b, 0);
  const scope = res.getHeader('X-RateLimit-Scope');
  if (res.statusCode === 429 && typeof scope === 'string') detail.limited_by = scope;
  if (Object.keys(detail).length > 0) entry.detail = detail;
  return entry;
}

/** The middleware: records every /api request once, when it ends. */
export function auditTrail(sink: AuditSink, now: () => number = Date.now): RequestHandler {
  const lookup = accessLookup();
  return (req: Request, res: Response, next: NextFunction) => {
    if (!req.path.startsWith('/api/')) return next();
    if (sink.backlogged) {
      res.setHeader('Retry-After', '5');
      return sendError(res, 503, 'audit_unavailable', 'the audit log cannot take records right now (Kafka is behind); no request is served unaudited — retry later');
    }
    const started = now();
    let done = false;
    const record = (aborted: boolean) => {
      if (done) return;
      done = true;
      sink.append(requestEntry(req, res, { startedMs: started, endedMs: now() }, lookup(req.method, req.path)?.route, aborted));
    };
    res.once('finish', () => record(false));
    res.once('close', () => record(!res.writableFinished));
    next();
  };
}
