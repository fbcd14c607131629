// `rtap speed`'s /metrics: the stream threads each keep their own registry (a worker thread is an
// isolate of its own), so a scrape asks every thread for its metrics and sums them with this
// thread's (prom-client's AggregatorRegistry, as the API's primary does for its workers).
// Process-wide metrics (CPU, memory, file descriptors, event loop, heap, GC) come from the main
// thread only: each thread reports the same process, and a sum would count it once per thread.
import * as http from 'node:http';
import { AggregatorRegistry, type MetricObjectWithValues, type MetricValue } from 'prom-client';
import type { Logger } from '../core/logger';
import { registry } from '../core/metrics';

/** One registry's metrics as `registry.getMetricsAsJSON()` gives them (what a thread posts). */
export type MetricsJson = MetricObjectWithValues<MetricValue<string>>[];

/** prom-client's default metrics, as core/metrics.ts names them. */
const PROCESS_WIDE = /^rtap_(process|nodejs)_/;

/** A stream thread's share of a scrape: its own metrics, without the process-wide ones. */
export function threadShare(metrics: MetricsJson): MetricsJson {
  return metrics.filter((m) => !PROCESS_WIDE.test(m.name));
}

/** The Prometheus text of this thread's registry plus the threads' shares, summed metric by metric. */
export async function aggregatedMetricsText(threads: readonly MetricsJson[]): Promise<string> {
  const own = await registry.getMetricsAsJSON();
  return AggregatorRegistry.aggregate([own, ...threads.map(threadShare)]).metrics();
}

export interface MetricsServerOptions {
  host: string;
  /** 0: not served. */
  port: number;
  /** The stream threads' metrics, one array per thread. */
  collect: () => Promise<MetricsJson[]>;
  log: Logger;
}

export interface MetricsServer {
  readonly port: number;
  close(): Promise<void>;
}

/**
 * Serves GET /metrics. A port that cannot be listened on (in use: a second `rtap speed` on the
 * host) is logged and nothing is served: metrics must not stop the data path.
 */
export async function serveSpeedMetrics(o: MetricsServerOptions): Promise<MetricsServer | undefined> {
  if (o.port === 0) return undefined;
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0];
    if (path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: rtap speed serves /metrics only\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { 'content-type': 'text/plain', allow: 'GET, HEAD' }).end('method not allowed\n');
      return;
    }
    o.collect()
      .then((threads) => aggregatedMetricsText(threads))
      .then(
        (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(req.method === 'HEAD' ? undefined : text),
        (err: unknown) => {
          o.log.warn({ err: (err as Error).message }, 'metrics scrape failed');
          res.writeHead(503, { 'content-type': 'text/plain' }).end(`metrics unavailable: ${(err as Error).message}\n`);
        },
      );
  });
  return new Promise((resolve) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      o.log.error({ host: o.host, port: o.port, code: err.code }, 'cannot serve /metrics on this port (SPEED_METRICS_PORT / --metrics-port; 0 turns it off); the speed layer runs without it');
      resolve(undefined);
    });
    server.listen(o.port, o.host, () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : o.port;
      o.log.info({ url: `http://${o.host}:${port}/metrics` }, 'speed layer metrics served');
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
