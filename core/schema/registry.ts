// The versioned event registry: one compiled validator per version (compiled once, on first use),
// upcasters that lift every older version to the current one, and `readEvent`, the one call a
// reader (ingestion API, speed layer) makes per message. Outcomes are values, never exceptions:
// `{ ok: true, event }` or `{ ok: false, reason }` with a DLQ reason listing every violation.
import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { EVENT_SCHEMAS, type JsonSchema } from './json-schemas';
import type { AnyEvent, EventType, EventV10, EventV20, ProcessingFlags, RtapEvent, SourceSystem } from './types';

export const LATEST_VERSION = '2.1';
export const SCHEMA_VERSIONS = ['1.0', '2.0', '2.1'] as const;
export type SchemaVersion = (typeof SCHEMA_VERSIONS)[number];

/** One problem found in an event: where (JSONPath such as `$.event_data.user_context.user_id`) and why. */
export interface Violation {
  path: string;
  reason: string;
}

export type DlqCode = 'not_json' | 'not_object' | 'missing_version' | 'unknown_version' | 'schema_invalid';

/** What goes with an event to the dead-letter topic (`events.dlq`). */
export interface DlqReason {
  code: DlqCode;
  message: string;
  /** The version the event claimed, when it claimed one. */
  schema_version: string | null;
  violations: Violation[];
}

export type ValidationResult = { ok: true; version: SchemaVersion } | { ok: false; reason: DlqReason };

export type ReadResult =
  | { ok: true; event: RtapEvent; sourceVersion: SchemaVersion; upcast: boolean }
  | { ok: false; reason: DlqReason };

export function schemaFor(version: SchemaVersion): JsonSchema {
  return EVENT_SCHEMAS[version];
}

export function isSchemaVersion(v: unknown): v is SchemaVersion {
  return typeof v === 'string' && (SCHEMA_VERSIONS as readonly string[]).includes(v);
}

let validators: Map<SchemaVersion, ValidateFunction> | undefined;

function validator(version: SchemaVersion): ValidateFunction {
  if (!validators) {
    const ajv = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true });
    addFormats(ajv, ['date-time', 'uuid']);
    validators = new Map(SCHEMA_VERSIONS.map((v) => [v, ajv.compile(EVENT_SCHEMAS[v])]));
  }
  return validators.get(version)!;
}

/**
 * Which registered schema validates an event claiming `claimed`. Known versions map to
 * themselves; an unknown minor of a known major (e.g. 2.7) is read with the newest known minor
 * of that major, since minor versions only add optional fields (forward compatibility).
 */
export function resolveVersion(claimed: string): SchemaVersion | undefined {
  if (isSchemaVersion(claimed)) return claimed;
  const m = /^(\d+)\.(\d+)$/.exec(claimed);
  if (!m) return undefined;
  const sameMajor = SCHEMA_VERSIONS.filter((v) => v.startsWith(`${m[1]}.`) && Number(v.split('.')[1]) < Number(m[2]));
  return sameMajor.at(-1);
}

/** Validates an event against the schema of the version it claims; reports every violation. */
export function validateEvent(raw: unknown): ValidationResult {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    return dlq('not_object', `event must be a JSON object, got ${raw === null ? 'null' : Array.isArray(raw) ? 'array' : typeof raw}`, null, [
      { path: '$', reason: 'must be object' },
    ]);
  }
  const claimed = (raw as { schema_version?: unknown }).schema_version;
  if (claimed === undefined) {
    return dlq('missing_version', 'event has no schema_version', null, [{ path: '$.schema_version', reason: "must have required property 'schema_version'" }]);
  }
  if (typeof claimed !== 'string') {
    return dlq('missing_version', 'schema_version must be a string such as "2.1"', null, [{ path: '$.schema_version', reason: 'must be string' }]);
  }
  const version = resolveVersion(claimed);
  if (!version) {
    return dlq('unknown_version', `unknown schema_version "${claimed}" (known: ${SCHEMA_VERSIONS.join(', ')})`, claimed, [
      { path: '$.schema_version', reason: `must be one of ${SCHEMA_VERSIONS.join(', ')}` },
    ]);
  }
  const validate = validator(version);
  // A newer minor carries its own version string; validate it as the known minor it extends.
  const subject = version === claimed ? raw : { ...(raw as object), schema_version: version };
  if (validate(subject)) return { ok: true, version };
  const violations = toViolations(validate.errors ?? []);
  return dlq('schema_invalid', `event does not match schema ${version}: ${violations.length} violation(s)`, claimed, violations);
}

/** Validates, then upcasts to the current version. The one call per message for readers of 2.1. */
export function readEvent(raw: unknown): ReadResult {
  const result = validateEvent(raw);
  if (!result.ok) return result;
  const event = upcast(raw as AnyEvent, result.version);
  return { ok: true, event, sourceVersion: result.version, upcast: result.version !== LATEST_VERSION };
}

/** Parses one message (Kafka value or NDJSON line), then reads it. */
export function parseEvent(text: string | Buffer): ReadResult {
  let raw: unknown;
  try {
    raw = JSON.parse(typeof text === 'string' ? text : text.toString('utf8'));
  } catch (err) {
    return dlq('not_json', `not valid JSON: ${(err as Error).message}`, null, [{ path: '$', reason: 'must be valid JSON' }]);
  }
  return readEvent(raw);
}

function dlq(code: DlqCode, message: string, version: string | null, violations: Violation[]): { ok: false; reason: DlqReason } {
  return { ok: false, reason: { code, message, schema_version: version, violations } };
}

/** ajv errors → `{ path, reason }`, with JSONPath (`$.a.b[0].c`) pointing at the offending field. */
export function toViolations(errors: ErrorObject[]): Violation[] {
  const out: Violation[] = [];
  const seen = new Set<string>();
  for (const e of errors) {
    let pointer = e.instancePath;
    let reason = e.message ?? e.keyword;
    if (e.keyword === 'required') {
      pointer += `/${(e.params as { missingProperty: string }).missingProperty}`;
      reason = 'is required';
    } else if (e.keyword === 'enum') {
      reason = `must be one of ${(e.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(v)).join(', ')}`;
    } else if (e.keyword === 'const') {
      reason = `must be ${JSON.stringify((e.params as { allowedValue: unknown }).allowedValue)}`;
    } else if (e.keyword === 'format') {
      reason = `must be a valid ${(e.params as { format: string }).format}`;
    }
    const path = pointerToJsonPath(pointer);
    const key = `${path}\u0000${reason}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ path, reason });
  }
  return out;
}

export function pointerToJsonPath(pointer: string): string {
  if (pointer === '') return '$';
  let out = '$';
  for (const raw of pointer.slice(1).split('/')) {
    const part = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (/^\d+$/.test(part)) out += `[${part}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(part)) out += `.${part}`;
    else out += `[${JSON.stringify(part)}]`;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Upcasters. Each takes a valid event of its version and returns a new object (inputs are never
// mutated). Chained: 1.0 → 2.0 → 2.1.

/** The 2.x event_type of a subtype (1.0 only knew the subtype, which it called event_type). */
export const SUBTYPE_TO_TYPE: Record<string, EventType> = {
  page_view: 'user_interaction',
  search: 'user_interaction',
  add_to_cart: 'user_interaction',
  remove_from_cart: 'user_interaction',
  recommendation_click: 'user_interaction',
  login: 'user_interaction',
  logout: 'user_interaction',
  password_change: 'user_interaction',
  address_change: 'user_interaction',
  account_created: 'user_interaction',
  checkout: 'transaction',
  payment_attempt: 'transaction',
  purchase: 'transaction',
  refund: 'transaction',
  return_request: 'transaction',
  fraud_score: 'ml_inference',
};

const SOURCE_V10: Record<EventV10['source'], SourceSystem> = { web: 'web_app', mobile: 'mobile_app', api: 'api', batch: 'batch_import' };

/** ISO-8601 in any offset/precision → UTC with exactly six fractional digits. */
export function toMicrosIso(value: string): string {
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?Z$/i.exec(value);
  if (m) return `${m[1].toUpperCase()}.${(m[2] ?? '').padEnd(6, '0').slice(0, 6)}Z`;
  const ms = Date.parse(value);
  return `${new Date(ms).toISOString().slice(0, 23)}000Z`;
}

export function upcastV10toV20(e: EventV10): EventV20 {
  const attributes: NonNullable<EventV20['event_data']['user_context']['session_data']['session_attributes']> = {};
  if (e.device_id !== undefined) attributes.device_fingerprint = e.device_id;
  if (e.user_agent !== undefined) attributes.user_agent = e.user_agent;
  if (e.country !== undefined) {
    attributes.geolocation = { country: e.country };
    if (e.city !== undefined) attributes.geolocation.city = e.city;
    if (e.latitude !== undefined && e.longitude !== undefined) attributes.geolocation.coordinates = { lat: e.latitude, lon: e.longitude };
  }
  const userContext: EventV20['event_data']['user_context'] = { session_data: { session_id: e.session_id } };
  if (e.user_id !== undefined) userContext.user_id = e.user_id;
  if (e.email !== undefined) userContext.email = e.email;
  if (Object.keys(attributes).length > 0) userContext.session_data.session_attributes = attributes;

  const business: NonNullable<EventV20['event_data']['business_context']> = {};
  const hasTransaction = e.product_ids !== undefined || e.amount !== undefined || e.payment_token !== undefined || e.order_id !== undefined;
  if (hasTransaction) {
    business.transaction_context = {};
    if (e.product_ids !== undefined) business.transaction_context.products = e.product_ids.map((product_id) => ({ product_id }));
    if (e.amount !== undefined || e.payment_token !== undefined || e.order_id !== undefined) {
      const cart: NonNullable<NonNullable<EventV20['event_data']['business_context']>['transaction_context']>['cart_context'] = {
        cart_id: e.order_id ?? `legacy-${e.event_id}`,
      };
      if (e.amount !== undefined) cart.cart_value = e.currency !== undefined ? { final_total: e.amount, currency: e.currency } : { final_total: e.amount };
      if (e.payment_token !== undefined) cart.payment_context = { payment_methods: [{ tokenized_identifier: e.payment_token }] };
      business.transaction_context.cart_context = cart;
    }
  }
  if (e.page_url !== undefined || e.referrer !== undefined) {
    const page: Record<string, string> = {};
    if (e.page_url !== undefined) page.page_url = e.page_url;
    if (e.referrer !== undefined) page.referrer_url = e.referrer;
    business.interaction_context = { page_context: page };
  }

  const out: EventV20 = {
    schema_version: '2.0',
    tenant_id: e.tenant_id,
    partition_key: `${e.tenant_id}:${e.user_id ?? e.session_id}`,
    event_metadata: {
      event_id: e.event_id,
      correlation_id: e.session_id,
      timestamp: toMicrosIso(e.timestamp),
      ingestion_timestamp: toMicrosIso(e.received_at ?? e.timestamp),
      source_system: SOURCE_V10[e.source],
      event_version: '1.0',
    },
    event_data: {
      event_type: SUBTYPE_TO_TYPE[e.event_type] ?? 'user_interaction',
      event_subtype: e.event_type,
      user_context: userContext,
    },
  };
  if (Object.keys(business).length > 0) out.event_data.business_context = business;
  return out;
}

/** Flags a 2.0 event did not carry, derived from its content. */
export function deriveProcessingFlags(e: EventV20 | RtapEvent): ProcessingFlags {
  const uc = e.event_data.user_context;
  const cart = e.event_data.business_context?.transaction_context?.cart_context;
  const hasPii = uc.user_id !== undefined || uc.email !== undefined || cart?.payment_context !== undefined || cart?.shipping_context?.shipping_address !== undefined;
  return {
    requires_enrichment: uc.session_data.session_attributes?.geolocation === undefined,
    pii_contains: hasPii,
    gdpr_subject: uc.user_id !== undefined,
    audit_required: e.event_data.event_type === 'transaction',
  };
}

export function upcastV20toV21(e: EventV20): RtapEvent {
  const technical = e.event_data.technical_context;
  return {
    ...e,
    schema_version: '2.1',
    event_metadata: { ...e.event_metadata, processing_flags: e.event_metadata.processing_flags ?? deriveProcessingFlags(e) },
    event_data: {
      ...e.event_data,
      technical_context: { ...technical, data_lineage: { ...technical?.data_lineage, upcast_from: '2.0' } },
    },
  };
}

/** Lifts a valid event of `version` to 2.1. A 2.1 event is returned as it is. */
export function upcast(event: AnyEvent, version: SchemaVersion): RtapEvent {
  switch (version) {
    case '1.0': {
      const v21 = upcastV20toV21(upcastV10toV20(event as EventV10));
      v21.event_data.technical_context!.data_lineage!.upcast_from = '1.0';
      return v21;
    }
    case '2.0':
      return upcastV20toV21(event as EventV20);
    case '2.1':
      return event as RtapEvent;
  }
}
