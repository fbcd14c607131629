// The OpenAPI path of on-demand fraud scoring (serving/ml/fraud-score.ts), spread into
// serving/openapi.ts. The body is an event: the schema registry validates it in the route (any
// supported version), so the document only asks for an object.
import type { OpenAPIV3 } from 'openapi-types';

export interface FraudDocumentParts {
  errors: (...codes: number[]) => OpenAPIV3.ResponsesObject;
  tenantParam: OpenAPIV3.ParameterObject;
  security: OpenAPIV3.SecurityRequirementObject[];
}

const reason: OpenAPIV3.SchemaObject = {
  type: 'object',
  properties: { detector: { type: 'string' }, family: { type: 'string', enum: ['financial', 'behavioural', 'business_logic', 'technical'] }, score: { type: 'number' }, explanation: { type: 'string' } },
};

const modelVerdict: OpenAPIV3.SchemaObject = {
  type: 'object',
  required: ['version', 'probability', 'threshold', 'flagged', 'score'],
  properties: {
    version: { type: 'string' },
    probability: { type: 'number', minimum: 0, maximum: 1, description: 'P(fraud)' },
    threshold: { type: 'number', nullable: true, description: "the model's operating threshold, chosen on validation data" },
    flagged: { type: 'boolean', description: 'probability ≥ threshold' },
    score: { type: 'number', minimum: 0, maximum: 1, description: "the probability on the ensemble's scale (threshold → 0.5, medium)" },
  },
};

export function fraudPaths({ errors, tenantParam, security }: FraudDocumentParts): OpenAPIV3.PathsObject {
  return {
    '/api/v2/ml/fraud/score': {
      post: {
        summary:
          "score one event of the caller's tenant for fraud on demand (role read): every detector's score and explanation, the ensemble score 0–1 and severity. Scored against the event alone (no history): see `state` and docs/fraud.md",
        security,
        parameters: [tenantParam],
        requestBody: { required: true, content: { 'application/json': { schema: { type: 'object', description: 'an event of any supported schema version (validated by the schema registry)' } } } },
        responses: {
          '200': {
            description: 'the score',
            content: {
              'application/json': {
                schema: {
                  type: 'object',
                  required: ['event_id', 'tenant_id', 'score', 'severity', 'detectors', 'state'],
                  properties: {
                    event_id: { type: 'string' },
                    tenant_id: { type: 'string' },
                    score: { type: 'number', minimum: 0, maximum: 1 },
                    severity: { type: 'string', nullable: true, enum: ['low', 'medium', 'high', 'critical', null] },
                    explanation: { type: 'string' },
                    top_reasons: { type: 'array', items: reason },
                    detectors: { type: 'array', items: { ...reason, properties: { ...reason.properties, weight: { type: 'number' }, evidence: { type: 'object' } } } },
                    state: { type: 'string', description: 'what the event was scored against' },
                    model: { type: 'string', description: 'the trained model version that set the score, or the hand-set fallback' },
                    fallback_score: { type: 'number', minimum: 0, maximum: 1, description: "the hand-set weights' score (the score itself when no model is published)" },
                    scoring_ms: { type: 'number' },
                  },
                },
              },
            },
          },
          ...errors(400, 401, 403),
        },
      },
    },
    '/api/v2/ml/inference/fraud': {
      post: {
        summary:
          "the trained fraud models' inference on one event of the caller's tenant (role analyst): the champion's and the challenger's probability, threshold and verdict, and the feature vector they saw. 503 until a model is published (rtap fraud train)",
        security,
        parameters: [tenantParam],
        requestBody: { required: true, content: { 'application/json': { schema: { type: 'object', description: 'an event of any supported schema version (validated by the schema registry)' } } } },
        responses: {
          '200': {
            description: 'the models\' verdicts',
            content: {
              'application/json': {
                schema: {
                  type: 'object',
                  required: ['event_id', 'tenant_id', 'champion', 'challenger', 'features', 'state'],
                  properties: {
                    event_id: { type: 'string' },
                    tenant_id: { type: 'string' },
                    champion: modelVerdict,
                    challenger: { ...modelVerdict, nullable: true },
                    features: { type: 'object', additionalProperties: { type: 'number' }, description: 'the model inputs by name (docs/fraud.md, "The trained model")' },
                    state: { type: 'string', description: 'what the event was scored against' },
                    inference_ms: { type: 'number' },
                  },
                },
              },
            },
          },
          ...errors(400, 401, 403, 503),
        },
      },
    },
  };
}
