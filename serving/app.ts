// The express application: routes only; processes and clients are built in serving/main.ts.
import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import type { RtapConfig } from '../core/config';
import { kafkaHealth, s3Health, temporalHealth, type Health } from '../core/health';
import { createLogger } from '../core/logger';
import { registry } from '../core/metrics';
import type { MetricsText } from './cluster';
import * as OpenApiValidator from 'express-openapi-validator';
import { backfillRouter, type BackfillRouteDeps } from './admin/backfill';
import { gdprRouter, type GdprRouteDeps } from './data/gdpr';
import { fraudScoreRouter, type FraudScoreRouteDeps } from './ml/fraud-score';
import { analyticsRouter, type AnalyticsRouteDeps } from './analytics/routes';
import { anomalyControlRouter, type AnomalyControlDeps } from './anomalies/control-routes';
import { OPENAPI } from './openapi';
import { ingestRouter, type IngestRouteDeps } from './ingest/routes';
import { clientError, sendError } from './errors';
import { hardening } from './security/hardening';
import { requestTiming } from './http-metrics';
import { slaRouter } from './sla';
import { dashboardRouter } from './dashboard';
import { ControlState } from '../core/control';
import { identityFor, securityGate } from './auth';
import { keysRouter, type KeysRouteDeps } from './admin/keys';
import type { Identity } from './security/identity';
import { auditTrail, type AuditSink } from './security/audit';
import { rateLimits } from './security/limits';
import { usageRouter, type UsageRouteDeps } from './admin/usage';

export interface AppDeps {
  cfg: RtapConfig;
  /** Overridable so tests can check the route without real dependencies. */
  checks?: Record<string, () => Promise<Health>>;
  /** Ingestion routes; absent in tests of other routes. */
  ingest?: IngestRouteDeps;
  /** Admin routes of the batch layer (backfills); absent in tests of other routes. */
  admin?: BackfillRouteDeps;
  /** GDPR erase and export routes; absent in tests of other routes. */
  gdpr?: GdprRouteDeps;
  /** On-demand fraud scoring; absent in tests of other routes. */
  fraud?: FraudScoreRouteDeps;
  /** Analytics routes (merged queries); absent in tests of other routes. */
  analytics?: AnalyticsRouteDeps;
  /** Anomaly rules, feedback and incidents; absent in tests of other routes. */
  anomalies?: AnomalyControlDeps;
  /** Tenants and API keys for the security gate; by default the control state the routes were given. */
  control?: ControlState;
  /** Who is calling (API keys, JWTs); by default built from cfg.auth and the control state. */
  identity?: Identity;
  /** API key management routes (admin); absent in tests of other routes. */
  keys?: KeysRouteDeps;
  /** Rate limits and quotas, and the usage/limits admin routes; absent in tests of other routes. */
  limits?: UsageRouteDeps;
  /** Where each /api request's audit record goes; absent in tests of other routes. */
  audit?: AuditSink;
  /** What /metrics serves; this process's registry unless a cluster worker asks its primary for all workers'. */
  metrics?: () => Promise<MetricsText>;
}

const localMetrics = async (): Promise<MetricsText> => ({ contentType: registry.contentType, body: await registry.metrics() });

export function createApp({ cfg, checks, ingest, admin, gdpr, fraud, analytics, anomalies, keys, metrics = localMetrics, ...security }: AppDeps): Express {
  const log = createLogger('api');
  const app = express();
  app.disable('x-powered-by');
  app.use(hardening({ corsOrigins: cfg.api.corsOrigins, tls: cfg.api.tls !== undefined }));
  app.use(requestTiming);
  // Before the validator and the gate, so the requests they refuse (400, 401, 403) are audited too.
  if (security.audit) app.use(auditTrail(security.audit));
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

  app.use(dashboardRouter());

  app.get('/openapi.json', (_req, res) => {
    res.json(OPENAPI);
  });

  // Event bodies have their own reader (content encodings, raw slices for dead letters) and are
  // validated per event by the schema registry; everything else is parsed here and checked
  // against the OpenAPI document before any route sees it.
  const eventRoutes = /^\/api\/v2\/(events\/batch|data\/quality\/validate)$/;
  const smallJson = express.json({ limit: 64 * 1024 });
  app.use((req, res, next) => (eventRoutes.test(req.path) ? next() : smallJson(req, res, next)));
  app.use(
    OpenApiValidator.middleware({
      apiSpec: OPENAPI as never,
      validateRequests: { allowUnknownQueryParameters: false },
      validateResponses: false,
      // Credentials are the security gate's (serving/auth.ts), which also knows JWTs from API keys.
      validateSecurity: false,
      ignorePaths: eventRoutes,
      // Undocumented paths fall through to the 404 below.
      ignoreUndocumented: true,
    }),
  );

  // Authentication, roles and the tenant scope of every /api route, from one table (serving/auth.ts).
  const control = security.control ?? ingest?.control ?? admin?.control ?? gdpr?.control ?? fraud?.control ?? analytics?.control ?? keys?.plane.state ?? new ControlState();
  app.use(securityGate({ control, identity: security.identity ?? identityFor(cfg, control) }));
  if (security.limits) {
    app.use(rateLimits(security.limits));
    app.use(usageRouter(security.limits));
  }

  if (ingest) app.use(ingestRouter(ingest));
  if (keys) app.use(keysRouter(keys));
  if (admin) app.use(backfillRouter(admin));
  if (gdpr) app.use(gdprRouter(gdpr));
  if (fraud) app.use(fraudScoreRouter(fraud));
  if (analytics) app.use(analyticsRouter(analytics));
  if (analytics) app.use(slaRouter({ metrics, speed: analytics.speed, batch: analytics.batch }));
  if (anomalies) app.use(anomalyControlRouter(anomalies));

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
    const invalid = openApiError(err);
    if (invalid) return sendError(res, invalid.status, invalid.error, invalid.message, invalid.details);
    const client = clientError(err);
    if (client) return sendError(res, client.status, client.error, client.message);
    log.error({ err }, 'unhandled error in a route');
    res.status(500).json({ error: 'internal', message: 'internal error; it has been logged' });
  });

  return app;
}

/** A request the OpenAPI validator refused: its status and each failing field as a detail. */
function openApiError(err: unknown): { status: number; error: string; message: string; details: { path: string; reason: string }[] } | undefined {
  const e = err as { status?: unknown; errors?: unknown; message?: unknown };
  if (typeof e?.status !== 'number' || e.status < 400 || e.status > 499 || !Array.isArray(e.errors)) return undefined;
  const details = (e.errors as { path?: unknown; message?: unknown }[]).slice(0, 20).map((d) => ({
    // '/body/limit' → '/limit', '/query/minutes' → '/minutes': the field as the caller named it
    path: String(d.path ?? '').replace(/^\/(body|query|params|path|headers)(?=\/|$)/, '') || '/',
    reason: String(d.message ?? 'invalid').slice(0, 200),
  }));
  const code = e.status === 405 ? 'method_not_allowed' : e.status === 415 ? 'unsupported_media_type' : e.status === 404 ? 'not_found' : 'invalid_request';
  return { status: e.status, error: code, message: details.map((d) => `${d.path}: ${d.reason}`).join('; ') || String(e.message), details };
}
