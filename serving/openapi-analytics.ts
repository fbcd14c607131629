// The OpenAPI paths and schemas of the batch-view analytics (funnel, attribution, cohorts),
// geography, lineage, anomalies and async jobs, spread into serving/openapi.ts. A function of the
// document's shared parts (error responses, the format and tenant parameters, security) so the
// two modules do not import each other.
import type { OpenAPIV3 } from 'openapi-types';
import { FUNNEL_STEPS } from '../core/lake-views';
import { COHORT_ID_PATTERN } from './analytics/cohorts';
import { ATTRIBUTION_MODELS } from './analytics/funnel-sql';
import { JOB_ID_PATTERN } from './analytics/jobs';
import { EVENT_ID_PATTERN } from './analytics/lineage';
import { MAX_LIMIT } from './analytics/query-model';
import { FORMATS } from './formats';

export interface DocumentParts {
  errors: (...codes: number[]) => OpenAPIV3.ResponsesObject;
  formatParam: OpenAPIV3.ParameterObject;
  tenantParam: OpenAPIV3.ParameterObject;
  security: OpenAPIV3.SecurityRequirementObject[];
  measureNames: string[];
}

const ref = (name: string): OpenAPIV3.ReferenceObject => ({ $ref: `#/components/schemas/${name}` });
const day: OpenAPIV3.SchemaObject = { type: 'string', format: 'date', description: 'a UTC day, YYYY-MM-DD' };
const count: OpenAPIV3.SchemaObject = { type: 'integer', minimum: 0 };
const ratio: OpenAPIV3.SchemaObject = { type: 'number', nullable: true };
const offsets: OpenAPIV3.SchemaObject = { type: 'object', additionalProperties: { type: 'integer', minimum: 0 }, description: 'Kafka partition → offset' };

export const ANALYTICS_SCHEMAS: Record<string, OpenAPIV3.SchemaObject> = {
  DayRange: {
    type: 'object',
    additionalProperties: false,
    required: ['from', 'to'],
    description: 'whole UTC days [from, to): to is exclusive, so one day is {from: D, to: D+1}; at most 400 days',
    properties: { from: day, to: day },
  },
  FunnelRequest: {
    type: 'object',
    additionalProperties: false,
    required: ['time_range'],
    properties: {
      time_range: ref('DayRange'),
      steps: {
        type: 'array',
        minItems: 1,
        maxItems: FUNNEL_STEPS.length,
        uniqueItems: true,
        items: { type: 'string', enum: [...FUNNEL_STEPS] },
        description: `the funnel's steps in order (default ${FUNNEL_STEPS.join(' → ')}); a session reaches step k when it has every step up to k in the same UTC day, in any order. The head of the default list is read from funnel_1d, any other list from session_steps`,
      },
      grain: { type: 'string', enum: ['all', 'day'], default: 'all', description: 'all: the days summed, one row per step; day: a row per day and step' },
      attribution: { type: 'string', enum: [...ATTRIBUTION_MODELS], description: "also attribute the range's purchase revenue to touchpoints with this model (the result's `attribution`, JSON only)" },
      half_life_hours: { type: 'number', minimum: 0.01, maximum: 8760, description: 'time_decay only: a touchpoint this many hours before the purchase counts half as much as one at the purchase (default 168)' },
    },
  },
  AttributionRequest: {
    type: 'object',
    additionalProperties: false,
    required: ['time_range', 'model'],
    properties: {
      time_range: ref('DayRange'),
      model: {
        type: 'string',
        enum: [...ATTRIBUTION_MODELS],
        description: "first or last touch (all credit to one touchpoint), linear (1/n each), time_decay (2^(−hours before the purchase / half_life_hours), normalized per purchase; timestamps from the purchase's raw event)",
      },
      half_life_hours: { type: 'number', minimum: 0.01, maximum: 8760, description: 'time_decay only (default 168)' },
    },
  },
  BatchOnlyMeta: {
    type: 'object',
    required: ['batch_only', 'batch_version', 'batch_cut', 'live_offsets', 'offsets_after_cut'],
    description: 'what a batch-only answer reflects: the events with _offset < batch_cut[p]',
    properties: {
      batch_only: { type: 'boolean', enum: [true] },
      batch_version: { type: 'string', nullable: true },
      batch_cut: offsets,
      published_at: { type: 'string', nullable: true },
      live_offsets: offsets,
      offsets_after_cut: { type: 'integer', minimum: 0, description: 'offsets (all tenants) the speed layer processed past the cut: not in this answer' },
      note: { type: 'string' },
      view: { type: 'string' },
      files_read: count,
      total_rows: count,
      query_ms: { type: 'number' },
    },
  },
  FunnelStepRow: {
    type: 'object',
    required: ['step_index', 'step', 'sessions', 'conversion_from_previous', 'conversion_from_first'],
    properties: {
      day: { ...day, description: 'grain day only' },
      step_index: { type: 'integer', minimum: 1, maximum: FUNNEL_STEPS.length },
      step: { type: 'string', enum: [...FUNNEL_STEPS] },
      sessions: { ...count, description: 'sessions that reached this step and every one before it' },
      conversion_from_previous: { ...ratio, description: 'sessions / the previous step’s (null for the first step or a previous 0)' },
      conversion_from_first: { ...ratio, description: 'sessions / the first step’s' },
    },
  },
  AttributionRow: {
    type: 'object',
    required: ['touchpoint', 'conversions', 'revenue', 'purchases', 'revenue_share'],
    properties: {
      touchpoint: { type: 'string', nullable: true, description: 'null: purchases with no usable touchpoint (their whole revenue)' },
      conversions: { type: 'number', minimum: 0, description: 'the purchases’ weights summed (each purchase’s weights sum to 1)' },
      revenue: { type: 'number', description: 'final_total × weight, summed (amounts in the events’ own currencies, as the revenue measure)' },
      purchases: { ...count, description: 'purchases in which the touchpoint has a weight > 0' },
      revenue_share: ratio,
    },
  },
  CohortRow: {
    type: 'object',
    required: ['weeks_since', 'week_start', 'users', 'cohort_users', 'retention'],
    properties: { weeks_since: count, week_start: day, users: { ...count, description: 'cohort users with any event in the week' }, cohort_users: count, retention: { type: 'number', minimum: 0, maximum: 1 } },
  },
  CohortListRow: {
    type: 'object',
    required: ['cohort_id', 'cohort_week', 'cohort_users', 'weeks_observed', 'retention_week_1', 'retention_week_4'],
    properties: {
      cohort_id: { type: 'string', pattern: '^\\d{4}-W\\d{2}$' },
      cohort_week: { ...day, description: 'the Monday of the first-purchase week' },
      cohort_users: count,
      weeks_observed: count,
      retention_week_1: { ...ratio, description: 'null while the tenant’s data does not reach that week' },
      retention_week_4: ratio,
    },
  },
  GeographyRow: {
    type: 'object',
    required: ['country'],
    properties: { country: { type: 'string', nullable: true, description: 'null: events without a country' } },
    additionalProperties: { type: 'number', nullable: true, description: 'one column per measure asked' },
  },
  AnomalyRow: {
    type: 'object',
    required: ['anomaly_id', 'detected_at', 'detail'],
    properties: {
      anomaly_id: { type: 'string' },
      detected_at: { type: 'string', format: 'date-time' },
      anomaly_type: { type: 'string', nullable: true },
      severity: { type: 'string', nullable: true },
      score: { type: 'number', nullable: true },
      event_id: { type: 'string', nullable: true },
      explanation: { type: 'string', nullable: true },
      detail: { type: 'string', description: 'the record as the topic holds it (JSON text)' },
    },
  },
  AnomaliesMeta: {
    type: 'object',
    required: ['source_topic', 'window_minutes', 'caught_up', 'total_rows'],
    properties: { source_topic: { type: 'string' }, window_minutes: { type: 'integer' }, caught_up: { type: 'boolean' }, total_rows: count, note: { type: 'string' } },
  },
  JobAccepted: {
    type: 'object',
    required: ['job_id', 'status', 'kind', 'reason', 'status_url', 'created_at'],
    properties: {
      job_id: { type: 'string', pattern: JOB_ID_PATTERN },
      status: { type: 'string', enum: ['running'] },
      kind: { type: 'string' },
      reason: { type: 'string', enum: ['planned_work', 'time_budget', 'requested'] },
      status_url: { type: 'string' },
      created_at: { type: 'string', format: 'date-time' },
    },
  },
  JobStatus: {
    type: 'object',
    required: ['job_id', 'status', 'kind', 'reason', 'created_at', 'finished_at', 'status_url'],
    description: 'while running or failed: the status (and error); once done, the result: data and meta for a table, result for a document',
    properties: {
      job_id: { type: 'string', pattern: JOB_ID_PATTERN },
      status: { type: 'string', enum: ['running', 'done', 'failed'] },
      kind: { type: 'string' },
      reason: { type: 'string', enum: ['planned_work', 'time_budget', 'requested'] },
      created_at: { type: 'string', format: 'date-time' },
      finished_at: { type: 'string', format: 'date-time', nullable: true },
      status_url: { type: 'string' },
      error: ref('Error'),
      data: { type: 'array', items: { type: 'object' } },
      meta: { type: 'object' },
      attribution: { type: 'object' },
      result: { type: 'object' },
    },
  },
  Lineage: {
    type: 'object',
    required: ['event_id', 'tenant_id', 'event_time', 'status', 'kafka', 'raw', 'duplicates', 'compacted', 'batch', 'live'],
    properties: {
      event_id: { type: 'string' },
      tenant_id: { type: 'string' },
      event_time: { type: 'string' },
      event_subtype: { type: 'string', nullable: true },
      status: { type: 'string', enum: ['batch', 'live', 'lake_only'], description: 'where merged answers count it from: the batch views (offset < cut), the speed layer (from the cut to its progress), or neither yet' },
      kafka: { type: 'object', required: ['partition', 'offset'], properties: { partition: count, offset: count, ingested_at: { type: 'string', nullable: true } } },
      raw: { type: 'object', required: ['key', 'url'], properties: { key: { type: 'string' }, url: { type: 'string' } } },
      duplicates: {
        type: 'array',
        description: 'the same event id at later offsets: counted by no layer',
        items: { type: 'object', required: ['partition', 'offset', 'raw_key'], properties: { partition: count, offset: count, raw_key: { type: 'string' }, ingested_at: { type: 'string', nullable: true } } },
      },
      compacted: {
        type: 'object',
        required: ['hour', 'status', 'key'],
        properties: {
          hour: { type: 'string' },
          status: { type: 'string', enum: ['compacted', 'pending', 'not_compacted'] },
          manifest_key: { type: 'string', nullable: true },
          manifest_version: { type: 'integer' },
          key: { type: 'string', nullable: true },
        },
      },
      batch: {
        type: 'object',
        required: ['covered', 'version', 'cut_offset', 'views'],
        properties: {
          covered: { type: 'boolean' },
          version: { type: 'string', nullable: true },
          published_at: { type: 'string', nullable: true },
          cut_offset: count,
          covered_since_version: { type: 'string', nullable: true, description: 'the first published version whose cut covers it (every later one does too)' },
          views: { type: 'array', items: { type: 'object', required: ['view', 'version', 'key'], properties: { view: { type: 'string' }, version: { type: 'string' }, key: { type: 'string' } } } },
        },
      },
      live: {
        type: 'object',
        required: ['counted', 'next_offset'],
        properties: { counted: { type: 'boolean' }, next_offset: { type: 'integer', nullable: true }, offset_bucket: { type: 'integer', nullable: true } },
      },
      files_scanned: count,
    },
  },
};

/** Every query that may run as an async job takes this parameter and may answer JOB_ACCEPTED. */
export const ASYNC_PARAM: OpenAPIV3.ParameterObject = {
  name: 'async',
  in: 'query',
  required: false,
  schema: { type: 'boolean', default: false },
  description: 'true: answer 202 with a job id at once instead of waiting up to the time budget',
};

export const JOB_ACCEPTED: OpenAPIV3.ResponsesObject = {
  '202': {
    description: 'the query runs as an async job (planned work over API_JOB_MAX_FILES files, over the API_QUERY_BUDGET_MS time budget, or async=true): poll status_url (also in Location)',
    content: { [FORMATS.json]: { schema: ref('JobAccepted') } },
  },
};

/** The paths, built on the document's shared parts. */
export function analyticsPaths(d: DocumentParts): OpenAPIV3.PathsObject {
  const asyncParam = ASYNC_PARAM;
  const accepted = JOB_ACCEPTED;
  const table = (description: string, row: string, meta: string, extra: Record<string, OpenAPIV3.SchemaObject | OpenAPIV3.ReferenceObject> = {}): OpenAPIV3.ResponsesObject => ({
    '200': {
      description: `${description}. JSON {data, meta} by default; CSV, Parquet or Arrow IPC by Accept (or ?format=), with meta in the X-RTAP-Meta header`,
      content: {
        [FORMATS.json]: { schema: { type: 'object', required: ['data', 'meta'], properties: { data: { type: 'array', items: ref(row) }, ...extra, meta: ref(meta) } } },
        [FORMATS.csv]: { schema: { type: 'string' } },
        [FORMATS.parquet]: { schema: { type: 'string', format: 'binary' } },
        [FORMATS.arrow]: { schema: { type: 'string', format: 'binary' } },
      },
    },
  });
  const common = [d.formatParam, d.tenantParam, asyncParam];
  const json = (schema: string) => ({ required: true, content: { [FORMATS.json]: { schema: ref(schema) } } });
  return {
    '/api/v2/analytics/funnel/analyze': {
      post: {
        summary:
          'funnel of the days in time_range (role read): sessions per step and conversions, from the funnel_1d batch view (session_steps for other step lists); optionally purchase revenue attributed to touchpoints. Batch only: events at or after the published cut are not in it (meta says which cut)',
        security: d.security,
        parameters: common,
        requestBody: json('FunnelRequest'),
        responses: {
          ...table('one row per step (per day and step with grain day)', 'FunnelStepRow', 'BatchOnlyMeta', {
            attribution: {
              type: 'object',
              description: 'with `attribution` in the request (JSON only)',
              properties: { model: { type: 'string' }, half_life_hours: { type: 'number', nullable: true }, data: { type: 'array', items: ref('AttributionRow') } },
            },
          }),
          ...accepted,
          ...d.errors(400, 401, 403, 406, 429, 503),
        },
      },
    },
    '/api/v2/analytics/attribution/model': {
      post: {
        summary: "the days' purchase revenue attributed to touchpoints of each purchase's touchpoint_journey (role read), from the attribution_purchases batch view; batch only",
        security: d.security,
        parameters: common,
        requestBody: json('AttributionRequest'),
        responses: { ...table('one row per touchpoint, by attributed revenue', 'AttributionRow', 'BatchOnlyMeta'), ...accepted, ...d.errors(400, 401, 403, 406, 429, 503) },
      },
    },
    '/api/v2/analytics/cohort': {
      get: {
        summary: "the tenant's first-purchase cohorts with cohort week in [from, to) (role read), from the cohorts_weekly batch view; batch only",
        security: d.security,
        parameters: [
          { name: 'from', in: 'query', required: false, schema: day, description: 'first cohort week (inclusive)' },
          { name: 'to', in: 'query', required: false, schema: day, description: 'exclusive' },
          ...common,
        ],
        responses: { ...table('one row per cohort', 'CohortListRow', 'BatchOnlyMeta'), ...accepted, ...d.errors(400, 401, 403, 406, 429, 503) },
      },
    },
    '/api/v2/analytics/cohort/{cohort_id}': {
      get: {
        summary: "a first-purchase cohort's retention by weeks since (role read), from the cohorts_weekly batch view; batch only",
        security: d.security,
        parameters: [
          { name: 'cohort_id', in: 'path', required: true, schema: { type: 'string', pattern: COHORT_ID_PATTERN }, description: 'the ISO week of the first purchase, 2026-W47, or its Monday, 2026-11-16' },
          { name: 'weeks', in: 'query', required: false, schema: { type: 'integer', minimum: 0, maximum: 520 }, description: 'at most this many weeks after the first' },
          ...common,
        ],
        responses: { ...table('one row per week since the first-purchase week', 'CohortRow', 'BatchOnlyMeta'), ...accepted, ...d.errors(400, 401, 403, 404, 406, 429, 503) },
      },
    },
    '/api/v2/analytics/geography': {
      get: {
        summary: 'measures per country over [from, to) (role read): the merged query by country, exact (batch views up to the cut + live cells from it)',
        security: d.security,
        parameters: [
          { name: 'from', in: 'query', required: true, schema: { type: 'string', format: 'date-time', maxLength: 40 } },
          { name: 'to', in: 'query', required: true, schema: { type: 'string', format: 'date-time', maxLength: 40 } },
          { name: 'measures', in: 'query', required: false, style: 'form', explode: false, schema: { type: 'array', minItems: 1, maxItems: 32, items: { type: 'string', enum: d.measureNames } }, description: 'default events,orders,revenue,distinct_users; rows sorted by the first, descending' },
          { name: 'limit', in: 'query', required: false, schema: { type: 'integer', minimum: 1, maximum: MAX_LIMIT, default: 1000 } },
          ...common,
        ],
        responses: { ...table('one row per country', 'GeographyRow', 'MergeMeta'), ...accepted, ...d.errors(400, 401, 403, 406, 429, 503) },
      },
    },
    '/api/v2/data/lineage/{event_id}': {
      get: {
        summary:
          "where one of the tenant's events is (role read): Kafka partition and offset, raw object, compacted file, the views versions and files that cover it or the speed layer that counts it live, and its duplicates. Read from the raw lake on S3, the tenant's rows only: another tenant's id is a 404",
        security: d.security,
        parameters: [
          { name: 'event_id', in: 'path', required: true, schema: { type: 'string', pattern: EVENT_ID_PATTERN } },
          { name: 'event_time', in: 'query', required: false, schema: { type: 'string', format: 'date-time', maxLength: 40 }, description: "the event's time, if known: only its hour's raw objects are read (otherwise every raw object)" },
          d.tenantParam,
          asyncParam,
        ],
        responses: {
          '200': { description: 'the lineage (JSON only)', content: { [FORMATS.json]: { schema: ref('Lineage') } } },
          ...accepted,
          ...d.errors(400, 401, 403, 404, 406, 429, 503),
        },
      },
    },
    '/api/v2/analytics/jobs/{id}': {
      get: {
        summary:
          "an async job of the caller's tenant (role read): its status, then its result — a table in any format (Accept or ?format=), a document as JSON. Jobs live in the memory of the API process that started them: lost on restart, expired API_JOB_TTL_MS after finishing, and with API_WORKERS > 1 known to that worker only",
        security: d.security,
        parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string', pattern: JOB_ID_PATTERN } }, d.formatParam, d.tenantParam],
        responses: {
          '200': {
            description: 'status (X-RTAP-Job-Status header too); once done, the result',
            content: {
              [FORMATS.json]: { schema: ref('JobStatus') },
              [FORMATS.csv]: { schema: { type: 'string' } },
              [FORMATS.parquet]: { schema: { type: 'string', format: 'binary' } },
              [FORMATS.arrow]: { schema: { type: 'string', format: 'binary' } },
            },
          },
          ...d.errors(400, 401, 403, 404, 406),
        },
      },
    },
    '/api/v2/anomalies/active': {
      get: {
        summary:
          "the tenant's anomaly records detected in the last minutes (role read), newest first, from this API process's tail of the `anomalies` Kafka topic. The fraud and anomaly detectors that write that topic are not built yet: the list is empty unless something else produces records there (docs/api.md, Anomalies, has the record shape)",
        security: d.security,
        parameters: [
          { name: 'minutes', in: 'query', required: false, schema: { type: 'integer', minimum: 1, maximum: 10080, default: 60 } },
          { name: 'limit', in: 'query', required: false, schema: { type: 'integer', minimum: 1, maximum: 1000, default: 100 } },
          d.formatParam,
          d.tenantParam,
        ],
        responses: { ...table('one row per anomaly record', 'AnomalyRow', 'AnomaliesMeta'), ...d.errors(400, 401, 403, 406) },
      },
    },
  };
}

