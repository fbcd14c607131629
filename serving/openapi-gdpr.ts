// The OpenAPI paths of GDPR erase and export (serving/data/gdpr.ts), spread into
// serving/openapi.ts. A function of the document's shared parts so the modules do not import
// each other; the validator enforces these schemas before the routes run.
import type { OpenAPIV3 } from 'openapi-types';
import { MAX_ANONYMOUS_IDS, MAX_USER_ID_LENGTH } from '../core/gdpr-control';
import { DEFAULT_URL_TTL_SECONDS, MAX_URL_TTL_SECONDS } from '../core/gdpr';

export interface GdprDocumentParts {
  errors: (...codes: number[]) => OpenAPIV3.ResponsesObject;
  tenantParam: OpenAPIV3.ParameterObject;
  security: OpenAPIV3.SecurityRequirementObject[];
}

const subjectFields: Record<string, OpenAPIV3.SchemaObject> = {
  user_id: {
    type: 'string',
    minLength: 1,
    maxLength: MAX_USER_ID_LENGTH,
    description: 'the user id as the tenant sends it in events (tokenized here exactly as ingestion does), or its token tok_v<n>_…',
  },
  anonymous_ids: {
    type: 'array',
    maxItems: MAX_ANONYMOUS_IDS,
    items: { type: 'string', minLength: 1, maxLength: MAX_USER_ID_LENGTH },
    description: "anonymous ids (cookies, devices) that are the subject's too: their rows are covered as well",
  },
  reason: { type: 'string', maxLength: 500, description: 'free text for the audit record (a ticket number)' },
};

const accepted: OpenAPIV3.ResponseObject = {
  description: 'started: follow status_url',
  content: {
    'application/json': {
      schema: {
        type: 'object',
        required: ['request_id', 'kind', 'tenant', 'status_url'],
        properties: {
          request_id: { type: 'string', format: 'uuid' },
          kind: { type: 'string', enum: ['erase', 'export'] },
          tenant: { type: 'string' },
          subject: { type: 'object', properties: { user_tokens: { type: 'array', items: { type: 'string' } }, anonymous_ids: { type: 'integer' } } },
          status_url: { type: 'string' },
          temporal_ui_url: { type: 'string' },
        },
      },
    },
  },
};

export function gdprPaths({ errors, tenantParam, security }: GdprDocumentParts): OpenAPIV3.PathsObject {
  const id: OpenAPIV3.ParameterObject = { name: 'id', in: 'path', required: true, schema: { type: 'string', format: 'uuid', pattern: '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' } };
  const body = (extra: Record<string, OpenAPIV3.SchemaObject> = {}): OpenAPIV3.RequestBodyObject => ({
    required: true,
    content: { 'application/json': { schema: { type: 'object', additionalProperties: false, required: ['user_id'], properties: { ...subjectFields, ...extra } } } },
  });
  const status = (kind: string): OpenAPIV3.OperationObject => ({
    summary: `a GDPR ${kind} request of the caller's tenant: status (RUNNING, COMPLETED, FAILED…), progress while it runs, result when done (role admin)`,
    security,
    parameters: [tenantParam, id],
    responses: { '200': { description: '{request_id, kind, status, started_at, closed_at?, progress?, result?, error?}' }, ...errors(400, 401, 403, 404, 503) },
  });
  return {
    '/api/v2/data/erase/gdpr': {
      post: {
        summary:
          "erase a data subject of the caller's tenant (role admin): every raw, compacted and view row of the user is removed, views recomputed, an audit record written (docs/gdpr.md)",
        security,
        parameters: [tenantParam],
        requestBody: body(),
        responses: { '202': accepted, ...errors(400, 401, 403, 503) },
      },
    },
    '/api/v2/data/erase/gdpr/{id}': { get: status('erase') },
    '/api/v2/data/export/gdpr': {
      post: {
        summary: "export every event of a data subject of the caller's tenant as JSON and Parquet behind presigned URLs (role admin; docs/gdpr.md)",
        security,
        parameters: [tenantParam],
        requestBody: body({
          url_ttl_seconds: { type: 'integer', minimum: 60, maximum: MAX_URL_TTL_SECONDS, default: DEFAULT_URL_TTL_SECONDS, description: 'how long the download URLs work (at most 7 days)' },
        }),
        responses: { '202': accepted, ...errors(400, 401, 403, 503) },
      },
    },
    '/api/v2/data/export/gdpr/{id}': { get: status('export') },
  };
}
