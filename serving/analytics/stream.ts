// WS /api/v2/analytics/realtime/stream: the caller's tenant's live per-minute totals, pushed every
// second when they change, and its anomalies as the anomalies topic brings them. Authenticated like every route (x-api-key header, Bearer API key or
// JWT, or the `api_key` query parameter for browsers, which cannot set headers on a WebSocket);
// the tenant comes from the credential (serving/tenant-scope.ts rules). A client that does not keep up is dropped:
// nothing is buffered past MAX_BUFFERED bytes.
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import type { ControlState } from '../../core/control';
import { createLogger } from '../../core/logger';
import { ACCESS } from '../security/access';
import type { AuditSink } from '../security/audit';
import { credentialOf, type Identity, type Principal } from '../security/identity';
import { decideTenant } from '../tenant-scope';
import type { Anomaly, AnomalyTail } from '../anomalies/tail';
import { mergedQuery, type MergeDeps } from './merge';
import { GRAIN_US, type AnalyticsQuery } from './query-model';

export const STREAM_PATH = '/api/v2/analytics/realtime/stream';
const MAX_BUFFERED = 1 << 20;
const MAX_CLIENTS = 1000;
const STREAM_MEASURES = ['events', 'orders', 'revenue', 'distinct_users'];
/** Anomalies of the last minutes a new client gets at once; then each one once, as it arrives. */
const ANOMALY_BACKLOG_MS = 5 * 60_000;
const ANOMALIES_PER_PUSH = 100;
const STATUS_TEXT: Record<number, string> = { 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 503: 'Service Unavailable' };
const STATUS_ERROR: Record<number, string> = { 400: 'invalid_request', 401: 'unauthorized', 403: 'forbidden', 404: 'not_found', 503: 'unavailable' };
/** The stream's row of the access table: the HTTP gate never sees an upgrade, so it is applied here. */
const STREAM_RULE = (() => {
  const rule = ACCESS[`GET ${STREAM_PATH}`];
  if (!rule || rule.public === true) throw new Error(`the access table must protect GET ${STREAM_PATH}`);
  return rule;
})();

export interface StreamDeps extends MergeDeps {
  control: ControlState;
  /** Who is calling: the API's identity (serving/auth.ts identityFor). */
  identity: Identity;
  /** Push interval, ms (default 1000). */
  intervalMs?: number;
  /** The API's tail of the anomalies topic; without it the stream carries rollups only. */
  anomalies?: AnomalyTail;
  /** The API's audit chain: every stream connection, opened or refused, is a data access to record. */
  audit?: AuditSink;
}

/** Where a client is in its tenant's anomalies: detected at or after `sinceMs`, minus those already sent at exactly `sinceMs`. */
interface AnomalyCursor {
  sinceMs: number;
  sentAtSince: Set<string>;
}

/** The anomalies a client has not had yet, oldest first, and the cursor after them. */
export function newAnomalies(recent: readonly Anomaly[], cursor: AnomalyCursor): { fresh: Anomaly[]; cursor: AnomalyCursor } {
  const fresh = recent.filter((a) => a.detected_ms > cursor.sinceMs || (a.detected_ms === cursor.sinceMs && !cursor.sentAtSince.has(a.anomaly_id))).sort((a, b) => a.detected_ms - b.detected_ms);
  if (fresh.length === 0) return { fresh, cursor };
  const sinceMs = fresh[fresh.length - 1].detected_ms;
  const sentAtSince = new Set(sinceMs === cursor.sinceMs ? cursor.sentAtSince : []);
  for (const a of fresh) if (a.detected_ms === sinceMs) sentAtSince.add(a.anomaly_id);
  return { fresh, cursor: { sinceMs, sentAtSince } };
}

/** Attaches the stream to the API's HTTP server; returns a function that closes it. */
export function attachStream(server: Server, deps: StreamDeps): () => Promise<void> {
  const log = createLogger('analytics-stream');
  const wss = new WebSocketServer({ noServer: true, maxPayload: 4 * 1024 });
  const clients = new Map<WebSocket, { tenant: string; last: string; anomalies: AnomalyCursor }>();

  server.on('upgrade', (req: IncomingMessage, socket, head) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname !== STREAM_PATH) return; // other upgrade paths are not ours
    const started = Date.now();
    // The upgrade never reaches express, so the audit trail's middleware does not see it: recorded here.
    const audit = (status: number, principal?: Principal, tenant?: string, crossTenant?: boolean) =>
      deps.audit?.append({
        ts: new Date(started).toISOString(),
        source: 'api',
        actor: principal ? { kind: principal.kind, id: principal.id, label: principal.label } : { kind: 'anonymous', id: null },
        tenant: tenant ?? (principal && principal.tenant_id !== '*' ? principal.tenant_id : null),
        cross_tenant: crossTenant ?? principal?.tenant_id === '*',
        action: `GET ${STREAM_PATH}`,
        method: 'GET',
        status,
        target: url.pathname,
        duration_ms: Date.now() - started,
        remote: req.socket.remoteAddress,
        detail: { websocket: true },
      });
    const refuse = (status: number, message: string, principal?: Principal) => {
      audit(status, principal);
      socket.end(`HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? 'Error'}\r\ncontent-type: application/json\r\nconnection: close\r\n\r\n${JSON.stringify({ error: STATUS_ERROR[status] ?? 'error', message })}`);
    };
    // The same identity, role table row and tenant rules as every HTTP route (serving/auth.ts).
    void deps.identity.authenticate(credentialOf(req.headers, url.searchParams.get('api_key'))).then((auth) => {
      if (!auth.ok) return refuse(auth.failure.status, auth.failure.message);
      const rule = STREAM_RULE;
      if (!auth.principal.roles.some((r) => rule.roles.includes(r))) return refuse(403, `this credential lacks a role allowed here (one of ${rule.roles.join(', ')})`, auth.principal);
      const decision = decideTenant(deps.control, auth.principal, url.searchParams.get('tenant') ?? undefined, rule.scope);
      if (!decision.ok) return refuse(decision.status, decision.message, auth.principal);
      if (clients.size >= MAX_CLIENTS) return refuse(503, 'too many stream clients', auth.principal);
      audit(101, auth.principal, decision.tenant, decision.crossTenant);
      open(req, socket, head, decision.tenant);
    });
  });

  const open = (req: IncomingMessage, socket: Duplex, head: Buffer, tenant: string) => {
    wss.handleUpgrade(req, socket, head, (ws) => {
      clients.set(ws, { tenant, last: '', anomalies: { sinceMs: Date.now() - ANOMALY_BACKLOG_MS, sentAtSince: new Set() } });
      ws.on('close', () => clients.delete(ws));
      ws.on('error', () => clients.delete(ws));
      // The stream is one-way; anything the client sends is ignored (and bounded by maxPayload).
      ws.send(JSON.stringify({ type: 'hello', tenant, measures: STREAM_MEASURES, interval_ms: deps.intervalMs ?? 1000 }));
    });
  };

  let pushing = false;
  const timer = setInterval(() => {
    if (pushing || clients.size === 0) return;
    pushing = true;
    push()
      .catch((err: unknown) => log.warn({ err }, 'stream push failed'))
      .finally(() => (pushing = false));
  }, deps.intervalMs ?? 1000);

  async function push(): Promise<void> {
    const byTenant = new Map<string, WebSocket[]>();
    for (const [ws, c] of clients) byTenant.set(c.tenant, [...(byTenant.get(c.tenant) ?? []), ws]);
    for (const [tenant, sockets] of byTenant) {
      const toUs = (Math.floor(Date.now() / 60_000) + 1) * GRAIN_US.minute;
      const q: AnalyticsQuery = { tenant, measures: STREAM_MEASURES, dimension: null, grain: 'minute', fromUs: toUs - 5 * GRAIN_US.minute, toUs, filters: [], sort: [{ field: 'window_start', order: 'asc' }], limit: 10, offset: 0 };
      const result = await mergedQuery(deps, q);
      const body = JSON.stringify({ type: 'rollup', data: result.rows, meta: { live_offsets: result.meta.live_offsets, batch_cut: result.meta.batch_cut, freshness_ms: result.meta.freshness_ms } });
      for (const ws of sockets) {
        const c = clients.get(ws);
        if (!c) continue;
        // A client that lets a megabyte pile up is not reading: drop it rather than buffer more.
        if (ws.bufferedAmount > MAX_BUFFERED) {
          log.info({ tenant }, 'dropping a slow stream client');
          ws.terminate();
          clients.delete(ws);
          continue;
        }
        if (c.last !== body) {
          c.last = body;
          ws.send(body);
        }
        if (deps.anomalies) {
          const { fresh, cursor } = newAnomalies(deps.anomalies.recent(tenant, c.anomalies.sinceMs, ANOMALIES_PER_PUSH), c.anomalies);
          c.anomalies = cursor;
          if (fresh.length > 0) ws.send(JSON.stringify({ type: 'anomalies', data: fresh.map(({ detail: _detail, ...a }) => a) }));
        }
      }
    }
  }

  return async () => {
    clearInterval(timer);
    for (const ws of clients.keys()) ws.terminate();
    await new Promise<void>((resolve) => wss.close(() => resolve()));
  };
}
