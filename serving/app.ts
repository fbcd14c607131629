// The express application: routes only; processes and clients are built in serving/main.ts.
import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import type { RtapConfig } from '../core/config';
import { kafkaHealth, s3Health, temporalHealth, type Health } from '../core/health';
import { createLogger } from '../core/logger';
import { registry } from '../core/metrics';
import type { MetricsText } from './cluster';
import { backfillRouter, type BackfillRouteDeps } from './admin/backfill';
import { ingestRouter, type IngestRouteDeps } from './ingest/routes';
import { clientError, sendError } from './errors';

export interface AppDeps {
  cfg: RtapConfig;
  /** Overridable so tests can check the route without real dependencies. */
  checks?: Record<string, () => Promise<Health>>;
  /** Ingestion routes; absent in tests of other routes. */
  ingest?: IngestRouteDeps;
  /** Admin routes of the batch layer (backfills); absent in tests of other routes. */
  admin?: BackfillRouteDeps;
  /** What /metrics serves; this process's registry unless a cluster worker asks its primary for all workers'. */
  metrics?: () => Promise<MetricsText>;
}

const localMetrics = async (): Promise<MetricsText> => ({ contentType: registry.contentType, body: await registry.metrics() });

export function createApp({ cfg, checks, ingest, admin, metrics = localMetrics }: AppDeps): Express {
  const log = createLogger('api');
  const app = express();
  app.disable('x-powered-by');
  const dependencyChecks = checks ?? {
    kafka: () => kafkaHealth(cfg),
    temporal: () => temporalHealth(cfg),
    s3: () => s3Health(cfg),
  };

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });

  app.get('/api/v2/ops/health/detailed', async (_req, res) => {
    const names = Object.keys(dependencyChecks);
    const results = await Promise.all(names.map((n) => dependencyChecks[n]()));
    const dependencies = Object.fromEntries(names.map((n, i) => [n, results[i]]));
    const down = results.filter((r) => !r.healthy).length;
    // Ok / Degraded / Error, as in PostHog's ingestion health model.
    const status = down === 0 ? 'ok' : down < results.length ? 'degraded' : 'error';
    res.status(status === 'ok' ? 200 : 503).json({ status, dependencies, checked_at: new Date().toISOString() });
  });

  if (ingest) app.use(ingestRouter(ingest));
  if (admin) app.use(backfillRouter(admin));

  app.get('/metrics', async (_req, res) => {
    const { contentType, body } = await metrics();
    res.type(contentType).send(body);
  });

  app.use((req, res) => {
    res.status(404).json({ error: 'not_found', message: `no route for ${req.method} ${req.path}` });
  });

  // Last resort for every route: a client error (a body parser's 4xx) keeps its status; anything
  // else is a generic 500 with no stack or path in the body; a half-sent response is cut off.
  app.use((err: Error, _req: Request, res: Response, _next: NextFunction) => {
    if (res.headersSent) {
      log.error({ err }, 'error after the response had started; closing the connection');
      res.destroy();
      return;
    }
    const client = clientError(err);
    if (client) return sendError(res, client.status, client.error, client.message);
    log.error({ err }, 'unhandled error in a route');
    res.status(500).json({ error: 'internal', message: 'internal error; it has been logged' });
  });

  return app;
}
