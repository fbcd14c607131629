// The API's OpenAPI 3 document: served at /openapi.json and enforced on every documented request
// by express-openapi-validator (serving/app.ts), so the document and the checks cannot drift.
// Event bodies (POST /api/v2/events/batch, /data/quality/validate) are validated per event by the
// versioned schema registry (docs/schema.md) instead: a bad event is a per-event result, not a 400.
import type { OpenAPIV3 } from 'openapi-types';
import { MEASURES } from '../core/measures';
import { DIMENSIONS, GRAINS, MAX_LIMIT } from './analytics/query-model';
import { FORMATS } from './formats';
import { analyticsPaths, ANALYTICS_SCHEMAS, ASYNC_PARAM, JOB_ACCEPTED } from './openapi-analytics';
import { gdprPaths } from './openapi-gdpr';
import { fraudPaths } from './openapi-fraud';
import { limitsPaths } from './openapi-limits';
import { anomalyPaths } from './openapi-anomalies';
import { securityPaths } from './openapi-security';

const error: OpenAPIV3.SchemaObject = {
  type: 'object',
  required: ['error', 'message'],
  properties: {
    error: { type: 'string', description: 'machine-readable code' },
    message: { type: 'string' },
    details: { type: 'array', items: { type: 'object', properties: { path: { type: 'string' }, reason: { type: 'string' } } } },
  },
};

const errors = (...codes: number[]): OpenAPIV3.ResponsesObject =>
  Object.fromEntries(codes.map((c) => [String(c), { description: ERROR_TEXT[c] ?? 'error', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } }]));
const ERROR_TEXT: Record<number, string> = { 400: 'invalid request: details name each field', 401: 'no or unknown credentials', 403: 'the credential lacks the role or the tenant', 404: 'not found', 406: 'no acceptable format', 426: 'a WebSocket endpoint asked without Upgrade', 429: 'a rate limit or quota was reached (Retry-After and X-RateLimit-* say which and for how long), or too many async jobs of this tenant are running', 503: 'a dependency is down; Retry-After says when to try again' };

const isoInstant: OpenAPIV3.SchemaObject = { type: 'string', format: 'date-time', maxLength: 40 };
const measureNames = MEASURES.measures.map((m) => m.name);

const analyticsQuery: OpenAPIV3.SchemaObject = {
  type: 'object',
  additionalProperties: false,
  required: ['time_range'],
  properties: {
    measures: { type: 'array', minItems: 1, maxItems: 32, items: { type: 'string', enum: measureNames }, default: ['events'] },
    dimensions: { type: 'array', maxItems: 1, items: { type: 'string', enum: Object.keys(DIMENSIONS) }, description: 'at most one: each rollup groups by one dimension; none = tenant totals' },
    filters: {
      type: 'array',
      maxItems: 8,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['dimension', 'op', 'values'],
        properties: {
          dimension: { type: 'string', enum: Object.keys(DIMENSIONS) },
          op: { type: 'string', enum: ['in', 'not_in'] },
          values: { type: 'array', minItems: 1, maxItems: 1000, items: { type: 'string', maxLength: 256 } },
        },
      },
    },
    time_range: { type: 'object', additionalProperties: false, required: ['from', 'to'], properties: { from: isoInstant, to: isoInstant } },
    grain: { type: 'string', enum: [...GRAINS], default: 'hour', description: 'minute, hour, day, or all (one row per dimension value); drill down by a finer grain or an added dimension, roll up by the reverse' },
    sort: {
      type: 'array',
      maxItems: 4,
      items: { type: 'object', additionalProperties: false, required: ['field'], properties: { field: { type: 'string', maxLength: 64 }, order: { type: 'string', enum: ['asc', 'desc'] } } },
    },
    limit: { type: 'integer', minimum: 1, maximum: MAX_LIMIT, default: 1000 },
    offset: { type: 'integer', minimum: 0, maximum: 10_000_000, default: 0 },
  },
};

const mergeMeta: OpenAPIV3.SchemaObject = {
  type: 'object',
  description: 'which batch cut and which live offsets the answer reflects: it counts every event with _offset < max(batch_cut[p], live_offsets[p]) exactly once',
  properties: {
    batch_version: { type: 'string', nullable: true },
    batch_cut: { type: 'object', additionalProperties: { type: 'integer' } },
    live_offsets: { type: 'object', additionalProperties: { type: 'integer' } },
    freshness_ms: { type: 'integer', nullable: true },
    batch_view: { type: 'string', nullable: true },
    grain: { type: 'string' },
    time_range: { type: 'object', properties: { from: isoInstant, to: isoInstant } },
    total_rows: { type: 'integer' },
  },
};

const tableResult = (description: string): OpenAPIV3.ResponseObject => ({
  description: `${description}. JSON {data, meta} by default; CSV, Parquet or Arrow IPC by Accept (or ?format=), with meta in the X-RTAP-Meta header`,
  content: {
    [FORMATS.json]: { schema: { type: 'object', properties: { data: { type: 'array', items: { type: 'object' } }, meta: { $ref: '#/components/schemas/MergeMeta' } } } },
    [FORMATS.csv]: { schema: { type: 'string' } },
    [FORMATS.parquet]: { schema: { type: 'string', format: 'binary' } },
    [FORMATS.arrow]: { schema: { type: 'string', format: 'binary' } },
  },
});

const formatParam: OpenAPIV3.ParameterObject = { name: 'format', in: 'query', required: false, schema: { type: 'string', enum: Object.keys(FORMATS) }, description: 'overrides Accept' };
const tenantParam: OpenAPIV3.ParameterObject = {
  name: 'tenant',
  in: 'query',
  required: false,
  schema: { type: 'string', pattern: '^[a-z0-9][a-z0-9_-]{0,63}$' },
  description: "platform credentials only: the tenant to act for (a tenant's credential always acts for its own tenant)",
};

const security: OpenAPIV3.SecurityRequirementObject[] = [{ apiKey: [] }, { bearer: [] }];

export const OPENAPI: OpenAPIV3.Document = {
  openapi: '3.0.3',
  info: {
    title: 'rtap API',
    version: '2.0.0',
    description: 'Real-time analytics and fraud platform: ingestion, merged live + batch analytics (exact, by offset cut), batch-layer admin.',
  },
  servers: [{ url: '/' }],
  components: {
    securitySchemes: {
      apiKey: { type: 'apiKey', in: 'header', name: 'x-api-key' },
      bearer: { type: 'http', scheme: 'bearer', description: 'a JWT of the configured issuer (docs/api.md "Authentication"), or an API key (a bearer token starting with rtap_)' },
    },
    schemas: { Error: error, AnalyticsQuery: analyticsQuery, MergeMeta: mergeMeta, ...ANALYTICS_SCHEMAS },
  },
  paths: {
    '/healthz': { get: { summary: 'liveness', responses: { '200': { description: 'alive' } } } },
    '/openapi.json': { get: { summary: 'this document', responses: { '200': { description: 'OpenAPI 3 document' } } } },
    '/metrics': { get: { summary: 'Prometheus metrics', responses: { '200': { description: 'text exposition format' } } } },
    '/api/v2/ops/health/detailed': { get: { summary: 'dependency health', responses: { '200': { description: 'all up' }, '503': { description: 'degraded or down' } } } },
    '/api/v2/events/batch': {
      post: {
        summary: 'ingest a batch of events (role ingest); each event validated against the schema registry, per-event results',
        security,
        requestBody: { required: true, content: { 'application/json': { schema: { type: 'object' } } } },
        responses: { '200': { description: 'per-event results' }, '207': { description: 'some events rejected' }, ...errors(400, 401, 403, 413, 415, 503) },
      },
    },
    '/api/v2/data/quality/validate': {
      post: {
        summary: 'validate events without ingesting them (role ingest)',
        security,
        requestBody: { required: true, content: { 'application/json': { schema: { type: 'object' } } } },
        responses: { '200': { description: 'per-event results' }, ...errors(400, 401, 403, 413, 415) },
      },
    },
    '/api/v2/analytics/query': {
      post: {
        summary: 'merged OLAP query (role read): measures × dimension × grain over any range, batch views up to the cut + live cells from it',
        security,
        parameters: [formatParam, tenantParam, ASYNC_PARAM],
        requestBody: { required: true, content: { 'application/json': { schema: { $ref: '#/components/schemas/AnalyticsQuery' } } } },
        responses: { '200': tableResult('rows'), ...JOB_ACCEPTED, ...errors(400, 401, 403, 406, 429, 503) },
      },
    },
    '/api/v2/analytics/realtime/query': {
      post: {
        summary: 'the merged query over the last 24 hours at most, minute grain by default (role read)',
        security,
        parameters: [formatParam, tenantParam],
        requestBody: { required: true, content: { 'application/json': { schema: { $ref: '#/components/schemas/AnalyticsQuery' } } } },
        responses: { '200': tableResult('rows'), ...errors(400, 401, 403, 406, 503) },
      },
    },
    '/api/v2/analytics/realtime/metrics': {
      get: {
        summary: "the tenant's totals over the last minutes (role read)",
        security,
        parameters: [
          tenantParam,
          { name: 'minutes', in: 'query', required: false, schema: { type: 'integer', minimum: 1, maximum: 1440, default: 5 } },
          { name: 'measures', in: 'query', required: false, style: 'form', explode: false, schema: { type: 'array', maxItems: 32, items: { type: 'string', enum: measureNames } } },
        ],
        responses: { '200': { description: '{data: {measure: value}, meta}' }, ...errors(400, 401, 403) },
      },
    },
    '/api/v2/analytics/realtime/dashboard': {
      get: {
        summary: 'the last hour per minute, top dimension values, freshness and the batch/live boundary (role read)',
        security,
        parameters: [tenantParam],
        responses: { '200': { description: 'dashboard data' }, ...errors(400, 401, 403) },
      },
    },
    '/api/v2/analytics/realtime/stream': {
      get: {
        summary:
          "WebSocket (Upgrade): the caller's tenant's per-minute totals of the last 5 minutes, pushed each second they change, as {type: 'rollup', data, meta}; auth by x-api-key, Bearer or ?api_key=; a client with more than 1 MiB unread is dropped",
        security,
        parameters: [tenantParam, { name: 'api_key', in: 'query', required: false, schema: { type: 'string', maxLength: 256 } }],
        responses: { '101': { description: 'switching protocols' }, ...errors(400, 401, 403, 426) },
      },
    },
    '/api/v2/admin/backfill': {
      post: {
        summary: 'start a batch-layer backfill of [from, to) (role admin; a tenant key backfills its own tenant)',
        security,
        requestBody: {
          required: true,
          content: {
            'application/json': {
              schema: {
                type: 'object',
                additionalProperties: false,
                required: ['from', 'to'],
                properties: {
                  from: { type: 'string', maxLength: 40 },
                  to: { type: 'string', maxLength: 40 },
                  tenant: { type: 'string', pattern: '^[a-z0-9][a-z0-9_-]{0,63}$' },
                  full: { type: 'boolean' },
                  concurrency: { type: 'integer', minimum: 1, maximum: 64 },
                },
              },
            },
          },
        },
        responses: { '202': { description: 'started (or already running)' }, ...errors(400, 401, 403, 503) },
      },
    },
    '/api/v2/metrics/sla': {
      get: {
        summary: "the platform's service levels against the brief's objectives (any authenticated role): analytics query latency p99, availability, live freshness, batch age; and latency per route. Since the API started; percentiles are histogram bucket bounds",
        security,
        responses: {
          '200': {
            description: 'objectives (value, target, met) and routes',
            content: {
              'application/json': {
                schema: {
                  type: 'object',
                  required: ['generated_at', 'objectives', 'routes'],
                  properties: {
                    generated_at: { type: 'string', format: 'date-time' },
                    objectives: {
                      type: 'array',
                      items: {
                        type: 'object',
                        required: ['name', 'value', 'target', 'kind', 'met'],
                        properties: {
                          name: { type: 'string' },
                          description: { type: 'string' },
                          value: { type: 'number', nullable: true },
                          target: { type: 'number' },
                          kind: { type: 'string', enum: ['max', 'min'] },
                          met: { type: 'boolean', nullable: true },
                          samples: { type: 'integer' },
                        },
                      },
                    },
                    routes: { type: 'array', items: { type: 'object' } },
                  },
                },
              },
            },
          },
          ...errors(401, 403, 503),
        },
      },
    },
    '/api/v2/admin/backfill/{id}': {
      get: {
        summary: 'a backfill and its progress (role admin)',
        security,
        parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string', pattern: '^rtap-backfill-[A-Za-z0-9_-]{1,200}$' } }],
        responses: { '200': { description: 'status, progress, result' }, ...errors(400, 401, 403, 404) },
      },
    },
    ...analyticsPaths({ errors, formatParam, tenantParam, security, measureNames }),
    ...gdprPaths({ errors, tenantParam, security }),
    ...fraudPaths({ errors, tenantParam, security }),
    ...limitsPaths({ errors, security }),
    ...anomalyPaths({ errors, tenantParam, security }),
    ...securityPaths({ errors, tenantParam, security }),
  },
};
