// The speed record: what the speed layer reads of one event — the MeasureInput fields core/measures
// reads plus the feature store's entity ids — handed over in a compact record header so the speed
// layer does not parse the ~3.5 KB value. The ingestion API has the parsed event already and adds
// the header (`x-rtap-m`); events produced by others, without it (or with a version this code does
// not know), are JSON.parsed as before. Either way the result is the same: the header is built by
// measureInputFromEvent itself, and a unit test checks decode(header) = measureInputFromEvent(JSON.parse(value)).
//
// Header value: a JSON array `[1, tenant_id, event_id, event_time_us, <STRING_FIELDS…>,
// <NUMBER_FIELDS…>, card, device, city]` (null for a missing value; ~250–350 bytes). Partition and
// offset are not in it: they are the record's own Kafka coordinates.
import type { IHeaders } from 'kafkajs';
import { headerString } from './kafka';
import { measureInputFromEvent, NUMBER_FIELDS, STRING_FIELDS, type MeasureField, type MeasureInput, type MeasureInputResult } from './measures';
import { parseTimestampMicros, type RtapEvent } from './schema';

export const SPEED_HEADER = 'x-rtap-m';
export const SPEED_HEADER_VERSION = 1;

/** Entity ids the feature store keys by, beyond those of MeasureInput (tenant_id, user_id, country). */
export interface EntityIds {
  /** `payment_methods[0].tokenized_identifier` (already a token). */
  card: string | null;
  /** `session_attributes.device_fingerprint`. */
  device: string | null;
  /** `session_attributes.geolocation.city` (the brief has no IP field: geo stands in for it). */
  city: string | null;
}

export interface SpeedRecord {
  input: MeasureInput;
  entities: EntityIds;
}

export type SpeedRecordResult = ({ ok: true } & SpeedRecord & { fromHeader: boolean }) | Extract<MeasureInputResult, { ok: false }>;

type Coords = { partition: number; offset: number };

const FIELDS = [...STRING_FIELDS, ...NUMBER_FIELDS] as const;
const N = 4 + FIELDS.length + 3;

function get(node: unknown, ...path: (string | number)[]): unknown {
  for (const k of path) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string | number, unknown>)[k];
  }
  return node;
}

const str = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : null);

/** The feature store's entity ids of a parsed event (strings only; anything else is null). */
export function entityIdsFromEvent(event: unknown): EntityIds {
  const attrs = get(event, 'event_data', 'user_context', 'session_data', 'session_attributes');
  return {
    card: str(get(event, 'event_data', 'business_context', 'transaction_context', 'cart_context', 'payment_context', 'payment_methods', 0, 'tokenized_identifier')),
    device: str(get(attrs, 'device_fingerprint')),
    city: str(get(attrs, 'geolocation', 'city')),
  };
}

/**
 * The header of a parsed event, or undefined when the lake would refuse the event (the consumer
 * then parses the value and dead-letters it for the same reason). `event` must be what the value
 * is the JSON of.
 */
export function encodeSpeedHeader(event: unknown): string | undefined {
  const r = measureInputFromEvent(event, { partition: 0, offset: 0 });
  if (!r.ok) return undefined;
  const e = entityIdsFromEvent(event);
  const a: unknown[] = [SPEED_HEADER_VERSION, r.input.tenant_id, r.input.event_id, r.input.event_time_us];
  for (const f of FIELDS) a.push(r.input[f]);
  a.push(e.card, e.device, e.city);
  return JSON.stringify(a);
}

const own = (o: object | undefined, key: string): boolean => o !== undefined && Object.prototype.hasOwnProperty.call(o, key);
const strOf = (v: unknown): string | null => (typeof v === 'string' ? v : null);
/** Upper bound (exclusive) of an event time the lake takes: 3000-01-01, as core/measures reads it. */
const MAX_LAKE_US = Date.UTC(3000, 0, 1) * 1000;

/**
 * encodeSpeedHeader of an event the registry validated, upcast to 2.1 and normalized (what the
 * ingestion step has), ~1 µs instead of ~5: the schema fixes the type of every field the header
 * reads at its 2.1 path, so each is one property read instead of measureInputFromEvent's generic
 * walk over every path the lake tries. Only where the schema leaves room — a 2.1 path absent
 * while an older spelling the lake also reads (core/lake-columns.ts) is present in the open
 * object — does it hand the event to the generic encoder. Same header either way (unit-tested
 * against encodeSpeedHeader).
 */
export function encodeValidSpeedHeader(e: RtapEvent): string | undefined {
  const md = e.event_metadata;
  const ed = e.event_data;
  const uc = ed.user_context;
  const session = uc.session_data;
  const attrs = session.session_attributes;
  const geo = attrs?.geolocation;
  const ua = attrs?.user_agent_parsed;
  const tx = ed.business_context?.transaction_context;
  const cart = tx?.cart_context;
  const pm0 = cart?.payment_context?.payment_methods?.[0];
  const total = cart?.cart_value?.final_total;
  if (
    (uc.user_id === undefined && own(e, 'user_id')) ||
    (pm0?.provider === undefined && own(tx, 'payment_context')) ||
    (total === undefined && (own(tx, 'cart_value') || own(e, 'amount')))
  ) {
    return encodeSpeedHeader(e);
  }
  // Validated and normalized to UTC µs by the registry (a 2199 time with an offset may be 2200 in
  // UTC, hence any year); the lake refuses times before 1970.
  const us = parseTimestampMicros(md.timestamp, true);
  if (us === undefined || us < 0 || us >= MAX_LAKE_US) return undefined;
  const lcp = ed.business_context?.interaction_context?.page_context?.page_load_metrics?.largest_contentful_paint;
  const fields: Record<MeasureField, string | number | null> = {
    event_type: ed.event_type,
    event_subtype: ed.event_subtype,
    source_system: md.source_system,
    country: geo?.country ?? null,
    device_type: strOf(ua?.device?.type) ?? strOf(ua?.device),
    browser_name: strOf(ua?.browser?.name) ?? strOf(ua?.browser),
    payment_provider: pm0?.provider ?? null,
    category_l1: strOf(tx?.products?.[0]?.product_hierarchy?.category_l1),
    user_id: uc.user_id ?? null,
    session_id: session.session_id,
    final_total: total ?? null,
    lcp_ms: typeof lcp === 'number' ? lcp : null,
  };
  const a: unknown[] = [SPEED_HEADER_VERSION, e.tenant_id, md.event_id, us];
  for (const f of FIELDS) a.push(fields[f]);
  a.push(str(pm0?.tokenized_identifier), str(attrs?.device_fingerprint), str(geo?.city));
  return JSON.stringify(a);
}

const isStrOrNull = (v: unknown): v is string | null => v === null || typeof v === 'string';
const isNumOrNull = (v: unknown): v is number | null => v === null || (typeof v === 'number' && Number.isFinite(v));

/** A header's record, or undefined when it is not a well-formed header of a known version. */
export function decodeSpeedHeader(header: string, coords: Coords): SpeedRecord | undefined {
  let a: unknown;
  try {
    a = JSON.parse(header);
  } catch {
    return undefined;
  }
  if (!Array.isArray(a) || a.length !== N || a[0] !== SPEED_HEADER_VERSION) return undefined;
  const [, tenant, eventId, us] = a;
  if (typeof tenant !== 'string' || tenant === '' || typeof eventId !== 'string' || eventId === '' || typeof us !== 'number' || !Number.isFinite(us)) return undefined;
  const input = { tenant_id: tenant, event_id: eventId, event_time_us: us, partition: coords.partition, offset: coords.offset } as MeasureInput;
  const rec = input as unknown as Record<string, string | number | null>;
  let i = 4;
  for (const f of STRING_FIELDS) {
    const v = a[i++];
    if (!isStrOrNull(v)) return undefined;
    rec[f] = v;
  }
  for (const f of NUMBER_FIELDS) {
    const v = a[i++];
    if (!isNumOrNull(v)) return undefined;
    rec[f] = v;
  }
  const [card, device, city] = [a[i], a[i + 1], a[i + 2]];
  if (!isStrOrNull(card) || !isStrOrNull(device) || !isStrOrNull(city)) return undefined;
  return { input, entities: { card, device, city } };
}

/**
 * The speed record of a Kafka message: from its `x-rtap-m` header when it has a valid one, else by
 * parsing the value (the fallback for events produced by others). Refusals are values, with the
 * reason the lake sink would dead-letter the event for.
 */
export function readSpeedRecord(message: { value: Buffer | string | null; headers?: IHeaders }, coords: Coords): SpeedRecordResult {
  const header = headerString(message.headers, SPEED_HEADER);
  if (header !== undefined) {
    const r = decodeSpeedHeader(header, coords);
    if (r) return { ok: true, fromHeader: true, ...r };
  }
  return parseSpeedRecord(message.value, coords);
}

/** The fallback: JSON.parse the value and read it as the lake sink does. */
export function parseSpeedRecord(value: Buffer | string | null, coords: Coords): SpeedRecordResult {
  if (value === null || value.length === 0) return { ok: false, reason: 'empty_value' };
  let event: unknown;
  try {
    event = JSON.parse(value.toString());
  } catch {
    return { ok: false, reason: 'invalid_json' };
  }
  const r = measureInputFromEvent(event, coords);
  if (!r.ok) return r;
  return { ok: true, fromHeader: false, input: r.input, entities: entityIdsFromEvent(event) };
}
