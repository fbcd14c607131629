// The OpenAPI paths of the anomaly rules, feedback and incidents routes
// (serving/anomalies/control-routes.ts), spread into serving/openapi.ts. Rule parameters are
// checked against each detector's own schema in the route (a 400 names the parameter and its
// range); the document asks for numbers.
import type { OpenAPIV3 } from 'openapi-types';
import { MAX_COMMENT_LENGTH } from '../core/fraud-feedback';

export interface AnomalyDocumentParts {
  errors: (...codes: number[]) => OpenAPIV3.ResponsesObject;
  tenantParam: OpenAPIV3.ParameterObject;
  security: OpenAPIV3.SecurityRequirementObject[];
}

const numbers: OpenAPIV3.SchemaObject = { type: 'object', additionalProperties: { type: 'number' } };

const ruleView: OpenAPIV3.SchemaObject = {
  type: 'object',
  properties: {
    rule_id: { type: 'string' },
    family: { type: 'string', enum: ['financial', 'behavioural', 'business_logic', 'technical'] },
    description: { type: 'string' },
    enabled: { type: 'boolean' },
    parameters: { ...numbers, description: 'what the tenant is scored with: the defaults merged with the overrides' },
    overrides: numbers,
    defaults: numbers,
    schema: { type: 'object', additionalProperties: { type: 'object', properties: { type: { type: 'string' }, minimum: { type: 'number' }, maximum: { type: 'number' }, default: { type: 'number' } } } },
    reads: { type: 'array', items: { type: 'string' } },
    updated_at: { type: 'string', nullable: true },
    updated_by: { type: 'string', nullable: true },
  },
};

const windowParams: OpenAPIV3.ParameterObject[] = [
  { name: 'minutes', in: 'query', required: false, schema: { type: 'integer', minimum: 1, maximum: 10080 } },
  { name: 'limit', in: 'query', required: false, schema: { type: 'integer', minimum: 1, maximum: 1000, default: 100 } },
];

export function anomalyPaths({ errors, tenantParam, security }: AnomalyDocumentParts): OpenAPIV3.PathsObject {
  return {
    '/api/v2/anomalies/rules': {
      get: {
        summary: "every fraud/anomaly detector as the tenant's events are scored with it: enabled, parameters (defaults, the tenant's overrides), each parameter's schema (role viewer)",
        security,
        parameters: [tenantParam],
        responses: { '200': { description: '{data: [rule], meta}', content: { 'application/json': { schema: { type: 'object', properties: { data: { type: 'array', items: ruleView }, meta: { type: 'object' } } } } } }, ...errors(400, 401, 403) },
      },
    },
    '/api/v2/anomalies/rules/{rule_id}': {
      put: {
        summary:
          "set the tenant's rule for one detector (role analyst or admin): `parameters` override the defaults (names and ranges per the rule's schema; the ones omitted keep their defaults), `enabled` false stops the detector for this tenant. Stored in the control topic; the running speed layer applies it on its next event, without a restart",
        security,
        parameters: [{ name: 'rule_id', in: 'path', required: true, schema: { type: 'string', pattern: '^[a-z_]{1,64}$' }, description: 'a detector id (GET /api/v2/anomalies/rules)' }, tenantParam],
        requestBody: {
          required: true,
          content: { 'application/json': { schema: { type: 'object', additionalProperties: false, properties: { parameters: { ...numbers, maxProperties: 32 }, enabled: { type: 'boolean', default: true } } } } },
        },
        responses: { '200': { description: 'the rule as now stored', content: { 'application/json': { schema: { type: 'object', properties: { data: ruleView, meta: { type: 'object' } } } } } }, ...errors(400, 401, 403, 404) },
      },
    },
    '/api/v2/anomalies/feedback/{anomaly_id}': {
      post: {
        summary:
          "an analyst's verdict on an anomaly (`<event id>:fraud`) or on any event of the tenant (its event id: a missed fraud), role analyst or admin. Stored in the control topic (the latest label of an event wins) for the next training run",
        security,
        parameters: [{ name: 'anomaly_id', in: 'path', required: true, schema: { type: 'string', pattern: '^[A-Za-z0-9_.:-]{1,134}$' } }, tenantParam],
        requestBody: {
          required: true,
          content: {
            'application/json': {
              schema: { type: 'object', additionalProperties: false, required: ['label'], properties: { label: { type: 'string', enum: ['fraud', 'legit'] }, comment: { type: 'string', maxLength: MAX_COMMENT_LENGTH } } },
            },
          },
        },
        responses: {
          '201': {
            description: 'stored: {data: {event_id, tenant_id, label, by, at, comment?}, meta: {anomaly_known}}',
            content: { 'application/json': { schema: { type: 'object', properties: { data: { type: 'object' }, meta: { type: 'object' } } } } },
          },
          ...errors(400, 401, 403),
        },
      },
    },
    '/api/v2/anomalies/incidents': {
      get: {
        summary:
          "the tenant's incidents of the last minutes (default a day), most recently active first (role viewer): anomalies the speed layer linked by a shared account, card token, device or shipping address within 30 minutes, with their count, highest score and severity, detectors and entities",
        security,
        parameters: [...windowParams, tenantParam],
        responses: { '200': { description: '{data: [incident], meta}' }, ...errors(400, 401, 403) },
      },
    },
  };
}
