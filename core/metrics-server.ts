// /metrics for the processes that have no HTTP server of their own (`rtap speed`, `rtap sink`):
// GET /metrics answers the Prometheus text a process gives (its registry, or several summed).
import * as http from 'node:http';
import type { Logger } from './logger';
import { registry } from './metrics';

export interface MetricsServerOptions {
  host: string;
  /** 0: not served. */
  port: number;
  /** The Prometheus text of one scrape. */
  text: () => Promise<string>;
  /** The settings that choose the port, for the message when it cannot be listened on. */
  portSetting: string;
  log: Logger;
}

export interface MetricsServer {
  readonly port: number;
  close(): Promise<void>;
}

/**
 * Serves GET /metrics. A port that cannot be listened on (in use: a second copy of the process on
 * the host) is logged and nothing is served: metrics must not stop the data path.
 */
export async function serveMetrics(o: MetricsServerOptions): Promise<MetricsServer | undefined> {
  if (o.port === 0) return undefined;
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0];
    if (path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: this process serves /metrics only\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { 'content-type': 'text/plain', allow: 'GET, HEAD' }).end('method not allowed\n');
      return;
    }
    o.text().then(
      (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(req.method === 'HEAD' ? undefined : text),
      (err: unknown) => {
        o.log.warn({ err: (err as Error).message }, 'metrics scrape failed');
        res.writeHead(503, { 'content-type': 'text/plain' }).end(`metrics unavailable: ${(err as Error).message}\n`);
      },
    );
  });
  return new Promise((resolve) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      o.log.error({ host: o.host, port: o.port, code: err.code }, `cannot serve /metrics on this port (${o.portSetting}; 0 turns it off); running without it`);
      resolve(undefined);
    });
    server.listen(o.port, o.host, () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : o.port;
      o.log.info({ url: `http://${o.host}:${port}/metrics` }, 'metrics served');
      // a scraper's keep-alive connection would hold close() open until it idles out
      const close = () =>
        new Promise<void>((done) => {
          server.close(() => done());
          server.closeAllConnections();
        });
      resolve({ port, close });
    });
  });
}
