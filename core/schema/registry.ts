// The versioned event registry: one compiled validator per version (compiled once, on first use),
// upcasters that lift every older version to the current one, and `readEvent`, the one call a
// reader (ingestion API, speed layer) makes per message. Outcomes are values, never exceptions:
// `{ ok: true, event }` or `{ ok: false, reason }` with a DLQ reason listing every violation.
import Ajv, { type ErrorObject, type Options, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { EVENT_SCHEMAS, type JsonSchema } from './json-schemas';
import { isTimestamp, toMicrosIso } from './timestamps';
import type { AnyEvent, EventType, EventV10, PaymentMethod, ProcessingFlags, RtapEvent, SourceSystem } from './types';
import type { EventV20, PaymentMethodV20 } from './types-v20';
import type { CartContext, CartValue, SessionAttributes, UserProfile } from './types';
import { valueWarnings } from './value-sets';

export { toMicrosIso } from './timestamps';

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

/**
 * A descriptive field whose value is outside the brief's known set: accepted, reported and
 * counted, never a rejection. `field` names the value set (a bounded label such as
 * `account_type`); `path` is the concrete JSONPath; `value` is truncated to 64 characters.
 */
export interface ValueWarning {
  field: string;
  path: string;
  value: string;
  reason: string;
}

export type ReadResult =
  | { ok: true; event: RtapEvent; sourceVersion: SchemaVersion; upcast: boolean; warnings: ValueWarning[] }
  | { ok: false; reason: DlqReason };

export function schemaFor(version: SchemaVersion): JsonSchema {
  return EVENT_SCHEMAS[version];
}

export function isSchemaVersion(v: unknown): v is SchemaVersion {
  return typeof v === 'string' && (SCHEMA_VERSIONS as readonly string[]).includes(v);
}

interface Validators {
  /**
   * Stops at the first violation and measures string lengths in UTF-16 units (no code-point
   * count per string: ~2 µs of every event): the cheap pass every valid event takes.
   */
  fast: ValidateFunction;
  /** Collects every violation, lengths in code points (the JSON Schema rule): the verdict whenever the fast pass refuses. */
  full: ValidateFunction;
}

let validators: Map<SchemaVersion, Validators> | undefined;

function compileAll(fast: boolean): Ajv {
  // The fast instance is silent: ajv deprecates `unicode: false` with a warning at every compile,
  // and the full instance compiles the same schemas, so it reports anything else worth a warning.
  // inlineRefs false: every `$ref` of splitForCompile stays a function of its own.
  return eventAjv({ allErrors: !fast, inlineRefs: false, ...(fast ? { unicode: false, logger: false as const } : {}) });
}

/** An ajv instance with the event contract's options and formats; `options` add to or override them. */
export function eventAjv(options: Options = {}): Ajv {
  const ajv = new Ajv({ strict: true, allowUnionTypes: true, ...options });
  addFormats(ajv, ['uuid']);
  // One timestamp parser for validation and conversion: what validates always converts.
  ajv.addFormat('date-time', { type: 'string', validate: isTimestamp });
  return ajv;
}

/**
 * The fast pass may only refuse more than the full one, never accept more. UTF-16 units never
 * undercount code points, so a maxLength the fast pass accepts holds; a minLength holds too as
 * long as it is at most 1 (non-empty in units ⇔ non-empty in code points). Checked here, once.
 */
function assertFastPassSound(schema: unknown, path = '$'): void {
  if (schema === null || typeof schema !== 'object') return;
  const min = (schema as { minLength?: unknown }).minLength;
  if (typeof min === 'number' && min > 1) throw new Error(`core/schema: minLength ${min} at ${path} breaks the fast validation pass (see Validators)`);
  for (const [key, child] of Object.entries(schema)) assertFastPassSound(child, `${path}.${key}`);
}

function validator(version: SchemaVersion): Validators {
  if (!validators) {
    assertFastPassSound(EVENT_SCHEMAS);
    const fast = compileAll(true);
    const full = compileAll(false);
    validators = new Map(
      SCHEMA_VERSIONS.map((v) => {
        const split = splitForCompile(EVENT_SCHEMAS[v]);
        return [v, { fast: fast.compile(split), full: full.compile(split) }];
      }),
    );
  }
  return validators.get(version)!;
}

/** A schema as ajv compiles it: a JsonSchema whose sub-schemas may be references to its definitions. */
type CompiledSchema = Omit<JsonSchema, 'properties' | 'items' | 'additionalProperties'> & {
  properties?: Record<string, CompiledSchema>;
  items?: CompiledSchema;
  additionalProperties?: boolean | CompiledSchema;
  $ref?: string;
  definitions?: Record<string, CompiledSchema>;
};

/**
 * Largest sub-schema (characters of its JSON) compiled into the function of its parent. ajv
 * writes each schema as one function, about 17 characters of code per character of schema, and
 * V8's optimizing compiler leaves any function of more than 60 KB of bytecode to the interpreter
 * (`--max-optimized-bytecode-size`): the 2.1 schema as one function (294 KB of code) was never
 * optimized, and validating a generator event took 10.7 µs of CPU instead of ~3.
 */
export const SPLIT_SCHEMA_CHARS = 3000;

/**
 * The same schema with its larger sub-schemas moved to `definitions` and referenced, so that ajv
 * (with `inlineRefs: false`) compiles each as a function of its own, every one small enough for
 * V8 to optimize. Bottom-up: a node's children are split first, then the largest of them move out
 * until the node itself is within SPLIT_SCHEMA_CHARS. What validates is unchanged (a `$ref` to a
 * definition is that definition); violations keep their instance paths.
 */
export function splitForCompile(schema: JsonSchema, limit = SPLIT_SCHEMA_CHARS): CompiledSchema {
  const definitions: Record<string, CompiledSchema> = {};
  let next = 0;
  const size = (s: CompiledSchema) => JSON.stringify(s).length;
  const moveOut = (s: CompiledSchema): CompiledSchema => {
    const name = `s${next++}`;
    definitions[name] = s;
    return { $ref: `#/definitions/${name}` };
  };
  const visit = (node: JsonSchema): CompiledSchema => {
    const out: CompiledSchema = { ...node } as CompiledSchema;
    // Each place holding a sub-schema (an object and its key there), with that sub-schema's size.
    const slots: { holder: Record<string, unknown>; key: string; size: number }[] = [];
    const take = (holder: Record<string, unknown>, key: string, child: JsonSchema) => {
      const compiled = visit(child);
      holder[key] = compiled;
      slots.push({ holder, key, size: size(compiled) });
    };
    if (node.properties) {
      const properties: Record<string, CompiledSchema> = {};
      for (const [key, child] of Object.entries(node.properties)) take(properties, key, child);
      out.properties = properties;
    }
    if (node.items) take(out, 'items', node.items);
    if (typeof node.additionalProperties === 'object') take(out, 'additionalProperties', node.additionalProperties);
    slots.sort((a, b) => b.size - a.size);
    for (const { holder, key } of slots) {
      if (size(out) <= limit) break;
      holder[key] = moveOut(holder[key] as CompiledSchema);
    }
    return out;
  };
  const root = visit(schema);
  return next === 0 ? root : { ...root, definitions };
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
  const { fast, full } = validator(version);
  // A newer minor carries its own version string; validate it as the known minor it extends.
  const subject = version === claimed ? raw : { ...(raw as object), schema_version: version };
  if (fast(subject) || full(subject)) return { ok: true, version };
  const violations = toViolations(full.errors ?? []);
  return dlq('schema_invalid', `event does not match schema ${version}: ${violations.length} violation(s)`, claimed, violations);
}

/**
 * Validates, upcasts to the current version, normalizes the event time to UTC µs and reports
 * unknown descriptive values. The one call per message for readers of 2.1.
 */
export function readEvent(raw: unknown): ReadResult {
  const result = validateEvent(raw);
  if (!result.ok) return result;
  const event = normalizeTimes(upcast(raw as AnyEvent, result.version));
  return { ok: true, event, sourceVersion: result.version, upcast: result.version !== LATEST_VERSION, warnings: valueWarnings(event) };
}

/** Event and ingestion time as UTC with six fractional digits, whatever offset the sender used. */
export function normalizeTimes(event: RtapEvent): RtapEvent {
  const md = event.event_metadata;
  const timestamp = toMicrosIso(md.timestamp);
  const ingestion = md.ingestion_timestamp === undefined ? undefined : toMicrosIso(md.ingestion_timestamp);
  if (timestamp === md.timestamp && ingestion === md.ingestion_timestamp) return event;
  const metadata = { ...md, timestamp };
  if (ingestion !== undefined) metadata.ingestion_timestamp = ingestion;
  return { ...event, event_metadata: metadata };
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
export function deriveProcessingFlags(e: EventV20): ProcessingFlags {
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

// 2.0 spellings of descriptive values that have a clear counterpart in the brief's sets. Others
// (a 2.0 `guest` account, a `gift_card` payment) are kept as they are and warn as unknown values.
const ACCOUNT_TYPE_V20: Record<string, string> = { registered: 'standard', business: 'enterprise' };
const VERIFICATION_V20: Record<string, string> = { email_verified: 'verified', phone_verified: 'verified', kyc_verified: 'verified' };
const METHOD_TYPE_V20: Record<string, string> = { card: 'credit_card', wallet: 'digital_wallet' };

function upcastAttributes(a: NonNullable<EventV20['event_data']['user_context']['session_data']['session_attributes']>): SessionAttributes {
  const { user_agent_parsed: ua, ...rest } = a;
  if (!ua) return rest;
  return { ...rest, user_agent_parsed: { browser: { name: ua.browser }, os: { name: ua.os }, device: { type: ua.device } } };
}

function upcastProfile(p: NonNullable<EventV20['event_data']['user_context']['user_profile']>): UserProfile {
  const out: UserProfile = { ...p };
  if (p.account_type !== undefined) out.account_type = ACCOUNT_TYPE_V20[p.account_type] ?? p.account_type;
  if (p.verification_status !== undefined) out.verification_status = VERIFICATION_V20[p.verification_status] ?? p.verification_status;
  return out;
}

function upcastPayment(pm: PaymentMethodV20): PaymentMethod {
  const out: PaymentMethod = { ...pm };
  if (pm.method_type !== undefined) out.method_type = METHOD_TYPE_V20[pm.method_type] ?? pm.method_type;
  return out;
}

function upcastCart(c: NonNullable<NonNullable<NonNullable<EventV20['event_data']['business_context']>['transaction_context']>['cart_context']>): CartContext {
  const out: CartContext = { cart_id: c.cart_id };
  if (c.cart_value) {
    const v = c.cart_value;
    const value: CartValue = { final_total: v.final_total };
    if (v.subtotal !== undefined) value.subtotal = v.subtotal;
    if (v.tax_breakdown) value.tax_breakdown = v.tax_breakdown.map((t) => ({ type: t.tax_type, amount: t.amount }));
    if (v.shipping_costs !== undefined) value.shipping_costs = { base_shipping: v.shipping_costs };
    if (v.discounts_applied) {
      value.discounts_applied = v.discounts_applied.map((d) => (d.type === undefined ? { discount_id: d.code, discount_amount: d.amount } : { discount_id: d.code, discount_amount: d.amount, discount_type: d.type }));
    }
    // 2.0 carried loyalty as one money amount; the brief has no such field, so it is kept beside the brief's ones.
    if (v.loyalty_benefits !== undefined) value.loyalty_benefits = { monetary_value: v.loyalty_benefits } as CartValue['loyalty_benefits'];
    if (v.currency !== undefined) value.currency = v.currency;
    out.cart_value = value;
  }
  // The brief nests shipping inside the payment context; 2.0 had it beside.
  const payment: NonNullable<CartContext['payment_context']> = {};
  if (c.payment_context) payment.payment_methods = c.payment_context.payment_methods.map(upcastPayment);
  if (c.shipping_context) {
    const { shipping_address: address, shipping_method: method } = c.shipping_context;
    payment.shipping_context = {};
    if (address) payment.shipping_context.shipping_address = address;
    if (method) payment.shipping_context.shipping_method = { ...method };
  }
  if (Object.keys(payment).length > 0) out.payment_context = payment;
  return out;
}

/** 2.0 (rtap's pre-brief shapes) → 2.1 in the brief's shapes. Nothing 2.0 carried is dropped. */
export function upcastV20toV21(e: EventV20): RtapEvent {
  const uc = e.event_data.user_context;
  const session = uc.session_data;
  const userContext: RtapEvent['event_data']['user_context'] = {
    ...uc,
    session_data: { ...session, session_attributes: session.session_attributes && upcastAttributes(session.session_attributes) },
    user_profile: uc.user_profile && upcastProfile(uc.user_profile),
  };
  if (session.session_attributes === undefined) delete userContext.session_data.session_attributes;
  if (uc.user_profile === undefined) delete userContext.user_profile;

  const out: RtapEvent = {
    schema_version: '2.1',
    tenant_id: e.tenant_id,
    partition_key: e.partition_key,
    event_metadata: { ...e.event_metadata, processing_flags: e.event_metadata.processing_flags ?? deriveProcessingFlags(e) },
    event_data: {
      event_type: e.event_data.event_type,
      event_subtype: e.event_data.event_subtype,
      user_context: userContext,
      technical_context: { ...e.event_data.technical_context, data_lineage: { ...e.event_data.technical_context?.data_lineage, upcast_from: '2.0' } },
    },
  };
  const bc = e.event_data.business_context;
  if (bc) {
    const business: NonNullable<RtapEvent['event_data']['business_context']> = {};
    if (bc.tenant_metadata) business.tenant_metadata = bc.tenant_metadata;
    if (bc.transaction_context) {
      const tx = bc.transaction_context;
      business.transaction_context = {};
      if (tx.products) business.transaction_context.products = tx.products;
      if (tx.cart_context) business.transaction_context.cart_context = upcastCart(tx.cart_context);
    }
    if (bc.interaction_context) {
      const ic = bc.interaction_context;
      const interaction: NonNullable<NonNullable<RtapEvent['event_data']['business_context']>['interaction_context']> = {};
      if (ic.touchpoint_journey) interaction.touchpoint_journey = ic.touchpoint_journey;
      if (ic.page_context) {
        const { user_interactions: clicks, ...page } = ic.page_context;
        interaction.page_context = page;
        if (clicks) interaction.page_context.user_interactions = clicks.map(({ type, target, ...more }) => (target === undefined ? { ...more, interaction_type: type } : { ...more, interaction_type: type, element_id: target }));
      }
      if (ic.experiment_context) {
        const x = ic.experiment_context;
        interaction.experiment_context = {};
        if (x.active_experiments) interaction.experiment_context.active_experiments = x.active_experiments.map((experiment_id) => ({ experiment_id }));
        if (x.feature_flags) interaction.experiment_context.feature_flags = x.feature_flags.map((flag_name) => ({ flag_name, enabled: true }));
      }
      business.interaction_context = interaction;
    }
    out.event_data.business_context = business;
  }
  return out;
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

/**
 * Consecutive versions whose schemas are not compatible but are bridged by an upcaster: readers
 * of the newer one read the older through it (`rtap schema check` reports them as such).
 */
export const UPCAST_BRIDGES: Readonly<Record<string, string>> = {
  '1.0 → 2.0': 'major version change: 1.0 is flat, 2.x nested',
  '2.0 → 2.1': "2.1 adopted the brief's exact shapes (user-agent objects, cart money objects, experiment and flag objects, shipping inside the payment context)",
};
