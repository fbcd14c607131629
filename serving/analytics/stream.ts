// WS /api/v2/analytics/realtime/stream: the caller's tenant's live per-minute totals, pushed every
// second when they change. Authenticated like every route (x-api-key header, Bearer, or the
// `api_key` query parameter for browsers, which cannot set headers on a WebSocket); the tenant
// comes from the key (serving/tenant-scope.ts rules). A client that does not keep up is dropped:
// nothing is buffered past MAX_BUFFERED bytes.
import type { IncomingMessage, Server } from 'node:http';
import { WebSocketServer, type WebSocket } from 'ws';
import type { ControlState } from '../../core/control';
import { createLogger } from '../../core/logger';
import { mergedQuery, type MergeDeps } from './merge';
import { GRAIN_US, type AnalyticsQuery } from './query-model';

export const STREAM_PATH = '/api/v2/analytics/realtime/stream';
const MAX_BUFFERED = 1 << 20;
const MAX_CLIENTS = 1000;
const STREAM_MEASURES = ['events', 'orders', 'revenue', 'distinct_users'];

export interface StreamDeps extends MergeDeps {
  control: ControlState;
  /** Push interval, ms (default 1000). */
  intervalMs?: number;
}

/** Attaches the stream to the API's HTTP server; returns a function that closes it. */
export function attachStream(server: Server, deps: StreamDeps): () => Promise<void> {
  const log = createLogger('analytics-stream');
  const wss = new WebSocketServer({ noServer: true, maxPayload: 4 * 1024 });
  const clients = new Map<WebSocket, { tenant: string; last: string }>();

  server.on('upgrade', (req: IncomingMessage, socket, head) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname !== STREAM_PATH) return; // other upgrade paths are not ours
    const refuse = (status: number, message: string) => {
      socket.end(`HTTP/1.1 ${status} ${status === 401 ? 'Unauthorized' : status === 403 ? 'Forbidden' : 'Service Unavailable'}\r\ncontent-type: application/json\r\nconnection: close\r\n\r\n${JSON.stringify({ error: status === 401 ? 'unauthorized' : 'forbidden', message })}`);
    };
    const header = req.headers['x-api-key'];
    const bearer = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
    const key = (Array.isArray(header) ? header[0] : header) ?? bearer ?? url.searchParams.get('api_key') ?? undefined;
    if (!key) return refuse(401, 'send an API key (x-api-key header, Bearer, or ?api_key=)');
    const principal = deps.control.authenticate(key);
    if (!principal) return refuse(401, 'the API key is not known');
    if (!principal.roles.includes('read') && !principal.roles.includes('admin')) return refuse(403, 'this API key lacks the "read" role');
    const asked = url.searchParams.get('tenant') ?? undefined;
    let tenant: string;
    if (principal.tenant_id === '*') {
      if (!asked || !deps.control.activeTenant(asked)) return refuse(403, 'a platform key must name an active tenant with ?tenant=');
      tenant = asked;
    } else {
      if (asked !== undefined && asked !== principal.tenant_id) return refuse(403, 'this key acts for its own tenant only');
      if (!deps.control.activeTenant(principal.tenant_id)) return refuse(403, 'the tenant is not active');
      tenant = principal.tenant_id;
    }
    if (clients.size >= MAX_CLIENTS) return refuse(503, 'too many stream clients');
    wss.handleUpgrade(req, socket, head, (ws) => {
      clients.set(ws, { tenant, last: '' });
      ws.on('close', () => clients.delete(ws));
      ws.on('error', () => clients.delete(ws));
      // The stream is one-way; anything the client sends is ignored (and bounded by maxPayload).
      ws.send(JSON.stringify({ type: 'hello', tenant, measures: STREAM_MEASURES, interval_ms: deps.intervalMs ?? 1000 }));
    });
  });

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
        if (!c || c.last === body) continue;
        // A client that lets a megabyte pile up is not reading: drop it rather than buffer more.
        if (ws.bufferedAmount > MAX_BUFFERED) {
          log.info({ tenant }, 'dropping a slow stream client');
          ws.terminate();
          clients.delete(ws);
          continue;
        }
        c.last = body;
        ws.send(body);
      }
    }
  }

  return async () => {
    clearInterval(timer);
    for (const ws of clients.keys()) ws.terminate();
    await new Promise<void>((resolve) => wss.close(() => resolve()));
  };
}
