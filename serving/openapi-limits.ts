// The OpenAPI paths of tenant usage and limits (serving/admin/usage.ts), spread into
// serving/openapi.ts. Every authenticated answer also carries X-RateLimit-* (docs/security.md).
import type { OpenAPIV3 } from 'openapi-types';
import { LIMIT_NAMES, MAX_LIMIT_VALUE } from '../core/limits';

export interface LimitsDocumentParts {
  errors: (...codes: number[]) => OpenAPIV3.ResponsesObject;
  security: OpenAPIV3.SecurityRequirementObject[];
}

const tenantId: OpenAPIV3.ParameterObject = { name: 'id', in: 'path', required: true, schema: { type: 'string', pattern: '^[a-z0-9][a-z0-9_-]{0,63}$' } };

const limitsSchema: OpenAPIV3.SchemaObject = {
  type: 'object',
  description:
    'requests_per_second/burst: the tenant-wide token bucket; key_requests_per_second/key_burst: each key of the tenant; events_per_day: events accepted per UTC day; query_cost_per_minute: analytics query cost units per minute (cost = time cells the query spans at its grain)',
  properties: Object.fromEntries(LIMIT_NAMES.map((n) => [n, { type: 'integer', minimum: 0 }])),
};

const rateLimitHeaders: Record<string, OpenAPIV3.HeaderObject> = {
  'X-RateLimit-Limit': { description: 'the limit of the scope (bucket size, events per day, or cost units per minute)', schema: { type: 'integer' } },
  'X-RateLimit-Remaining': { description: 'what is left of it now', schema: { type: 'integer' } },
  'X-RateLimit-Reset': { description: 'seconds until it is whole again (events: until the next UTC day)', schema: { type: 'integer' } },
  'X-RateLimit-Scope': { description: 'tenant_requests, key_requests, events_per_day or query_cost', schema: { type: 'string' } },
};

export function limitsPaths({ errors, security }: LimitsDocumentParts): OpenAPIV3.PathsObject {
  return {
    '/api/v2/admin/tenants/{id}/usage': {
      get: {
        summary: "a tenant's usage against its limits (role admin of that tenant, or platform-admin): request buckets, events of the UTC day, query cost budget, totals since the API started",
        security,
        parameters: [tenantId],
        responses: {
          '200': {
            description: 'usage and the effective limits (defaults with the tenant overrides)',
            headers: rateLimitHeaders,
            content: {
              'application/json': {
                schema: {
                  type: 'object',
                  required: ['tenant_id', 'limits', 'usage'],
                  properties: { tenant_id: { type: 'string' }, limits: limitsSchema, overrides: limitsSchema, usage: { type: 'object' }, counted_in: { type: 'string', enum: ['process', 'cluster-primary'] } },
                },
              },
            },
          },
          ...errors(401, 403, 404, 429, 503),
        },
      },
    },
    '/api/v2/admin/tenants/{id}/limits': {
      put: {
        summary: "change a tenant's limits at run time (role platform-admin): each field sets one limit, null returns it to the default; applies to the next request of every API process",
        security,
        parameters: [tenantId],
        requestBody: {
          required: true,
          content: {
            'application/json': {
              schema: {
                type: 'object',
                additionalProperties: false,
                minProperties: 1,
                properties: Object.fromEntries(LIMIT_NAMES.map((n) => [n, { type: 'integer', minimum: 0, maximum: MAX_LIMIT_VALUE, nullable: true }])),
              },
            },
          },
        },
        responses: { '200': { description: 'the limits now in force', headers: rateLimitHeaders }, ...errors(400, 401, 403, 404, 429) },
      },
    },
  };
}
