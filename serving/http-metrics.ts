// Latency and outcome of every API request, by route template (never the raw path: ids in paths
// would make one series per id). The SLA figures (serving/sla.ts) are computed from this
// histogram across all API workers.
import type { NextFunction, Request, Response } from 'express';
import { Histogram } from 'prom-client';
import { registry } from '../core/metrics';

/** Upper bounds (ms) fine enough around the brief's 50 ms and 100 ms objectives. */
export const REQUEST_MS_BUCKETS = [1, 2, 5, 10, 20, 30, 50, 75, 100, 150, 200, 300, 500, 1000, 2000, 5000, 10000, 30000];

export const REQUEST_MS = 'rtap_api_request_ms';

export const httpMetrics = {
  requestMs: new Histogram({
    name: REQUEST_MS,
    help: 'API request latency from arrival to the last byte written, by route template, method and status class',
    labelNames: ['route', 'method', 'status_class'],
    buckets: REQUEST_MS_BUCKETS,
    registers: [registry],
  }),
};

/** The route template a request matched, or 'unmatched' (404s, refused before routing). */
function routeOf(req: Request): string {
  const openApiRoute = (req as Request & { openapi?: { openApiRoute?: string } }).openapi?.openApiRoute;
  if (openApiRoute) return openApiRoute;
  const route = (req as Request & { route?: { path?: unknown } }).route?.path;
  return typeof route === 'string' ? `${req.baseUrl}${route}` : 'unmatched';
}

export function requestTiming(req: Request, res: Response, next: NextFunction): void {
  const started = process.hrtime.bigint();
  res.once('finish', () => {
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    httpMetrics.requestMs.observe({ route: routeOf(req), method: req.method, status_class: `${Math.floor(res.statusCode / 100)}xx` }, ms);
  });
  next();
}
