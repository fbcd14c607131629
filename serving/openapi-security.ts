// The OpenAPI paths of API key management (serving/admin/keys.ts), spread into serving/openapi.ts;
// the validator enforces these schemas before the gate and the routes run.
import type { OpenAPIV3 } from 'openapi-types';
import { ROLES } from '../core/control';

export interface SecurityDocumentParts {
  errors: (...codes: number[]) => OpenAPIV3.ResponsesObject;
  tenantParam: OpenAPIV3.ParameterObject;
  security: OpenAPIV3.SecurityRequirementObject[];
}

const keySummary: OpenAPIV3.SchemaObject = {
  type: 'object',
  required: ['key_id', 'tenant_id', 'roles', 'label', 'created_at', 'status', 'usable_secrets'],
  properties: {
    key_id: { type: 'string' },
    tenant_id: { type: 'string', description: 'the tenant the key acts for, or * (platform)' },
    roles: { type: 'array', items: { type: 'string', enum: [...ROLES] } },
    label: { type: 'string' },
    created_at: { type: 'string', format: 'date-time' },
    expires_at: { type: 'string', format: 'date-time' },
    revoked_at: { type: 'string', format: 'date-time' },
    status: { type: 'string', enum: ['active', 'expired', 'revoked'] },
    usable_secrets: { type: 'integer', description: '2 while a rotated key’s previous secret is in its grace period' },
  },
};

const withSecret: OpenAPIV3.SchemaObject = {
  allOf: [keySummary, { type: 'object', required: ['api_key'], properties: { api_key: { type: 'string', description: 'the secret: shown in this answer only' }, previous_secret_expires_at: { type: 'string', format: 'date-time' } } }],
};

export function securityPaths({ errors, tenantParam, security }: SecurityDocumentParts): OpenAPIV3.PathsObject {
  const keyId: OpenAPIV3.ParameterObject = { name: 'key_id', in: 'path', required: true, schema: { type: 'string', pattern: '^key_[0-9a-f]{16}$' } };
  const json = (schema: OpenAPIV3.SchemaObject) => ({ 'application/json': { schema } });
  return {
    '/api/v2/admin/keys': {
      get: {
        summary: "the API keys of the caller's tenant (role admin; a platform administrator: every key, or one tenant's with ?tenant=): ids and metadata, never secrets",
        security,
        parameters: [tenantParam],
        responses: { '200': { description: 'the keys', content: json({ type: 'object', properties: { data: { type: 'array', items: keySummary } } }) }, ...errors(400, 401, 403, 404) },
      },
      post: {
        summary: "create an API key for the caller's tenant (role admin; a platform administrator names the tenant with ?tenant=, or none for a platform key); nobody grants a role they do not hold",
        security,
        parameters: [tenantParam],
        requestBody: {
          required: true,
          content: json({
            type: 'object',
            additionalProperties: false,
            required: ['roles'],
            properties: {
              roles: { type: 'array', minItems: 1, maxItems: ROLES.length, uniqueItems: true, items: { type: 'string', enum: [...ROLES] } },
              label: { type: 'string', minLength: 1, maxLength: 200 },
              expires_in: { type: 'string', pattern: '^[0-9]{1,6}[smhd]$', description: 'lifetime such as 30d, 12h, 90m; absent = no expiry' },
            },
          }),
        },
        responses: { '201': { description: 'created; the secret is in this answer only', content: json(withSecret) }, ...errors(400, 401, 403, 404) },
      },
    },
    '/api/v2/admin/keys/{key_id}/rotate': {
      post: {
        summary: 'a new secret for the key (same id, roles, expiry); its previous secret keeps working for API_KEY_ROTATION_GRACE_S (role admin, own tenant)',
        security,
        parameters: [tenantParam, keyId],
        responses: { '201': { description: 'rotated; the new secret is in this answer only', content: json(withSecret) }, ...errors(400, 401, 403, 404) },
      },
    },
    '/api/v2/admin/keys/{key_id}': {
      delete: {
        summary: 'revoke the key: every secret of it stops authenticating at once (role admin, own tenant)',
        security,
        parameters: [tenantParam, keyId],
        responses: { '200': { description: 'revoked', content: json(keySummary) }, ...errors(400, 401, 403, 404) },
      },
    },
  };
}
