// The fraud engine's view of one event: the few dozen fields detectors read, flattened out of the
// 2–4 KB nested 2.1 event once, so every detector reads plain properties (and a test can build an
// event in three lines). Built from a parsed event (signalsFromEvent); in the speed layer, from the
// ingestion API's record headers when it has them: the speed record (core/speed-record.ts) gives
// ids, times, type, entities, amount, and the fraud header (`x-rtap-f`, below) the rest, so the
// scorer does not JSON.parse the ~3.6 KB value (fraudEventFromHeader). With the speed header only,
// signalsFromSpeedRecord gives the fields it has, the rest null — detectors that need them then
// stay quiet.
//
// Deliberately NOT read: `ml_context.model_scores.fraud_detection` and
// `payment_methods[].risk_signals.fraud_score`. They are an upstream model's scores, and the
// generator draws them from the ground-truth label (generator/events.ts, fraudDetection), so a
// detector reading them would be graded on the answer key.
import type { SpeedRecord } from './speed-record';
import { parseTimestampMicros, type RtapEvent } from './schema';

export interface FraudEvent {
  tenant: string;
  eventId: string;
  timeUs: number;
  /** Ingestion time, µs (null when absent or unreadable). */
  ingestUs: number | null;
  type: string | null;
  subtype: string | null;
  source: string | null;
  userId: string | null;
  anonymousId: string | null;
  sessionId: string | null;
  sessionSeq: number | null;
  device: string | null;
  card: string | null;
  country: string | null;
  city: string | null;
  lat: number | null;
  lon: number | null;
  browser: string | null;
  deviceType: string | null;
  /** cart_value.final_total */
  amount: number | null;
  subtotal: number | null;
  discountTotal: number;
  discountIds: string[];
  payment: {
    methodType: string | null;
    provider: string | null;
    declined: boolean;
    declineCode: string | null;
    firstTime: boolean;
    geoMismatch: boolean;
    billingCountry: string | null;
    billingAddressType: string | null;
  } | null;
  shipping: {
    addressKey: string | null;
    country: string | null;
    postalCode: string | null;
    addressType: string | null;
    sameAsBilling: boolean | null;
    serviceLevel: string | null;
  } | null;
  /** Products in the event: price ratios and quantities against stock. */
  products: { id: string; listPrice: number | null; salePrice: number | null; costBasis: number | null; quantity: number; available: number | null }[];
  profile: {
    accountType: string | null;
    registrationUs: number | null;
    verification: string | null;
    creditRating: string | null;
  } | null;
  security: {
    suspiciousUa: boolean;
    tor: boolean;
    knownBot: boolean;
    geoBlocked: boolean;
    rateLimitRemaining: number | null;
  };
  /** HTTP status of an API refusal (rate_limit_hit: 429), from performance telemetry. */
  statusCode: number | null;
  processingMs: number | null;
  lcpMs: number | null;
  /** user_interactions on the page the event happened on; null when the event has no page. */
  interactions: number | null;
  /** The merchant's declared markets (tenant_metadata.geographic_markets, country codes); null when the event carries none. */
  markets: string[] | null;
}

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj | undefined => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : undefined);
const str = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : null);
const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const bool = (v: unknown): boolean => v === true;
const us = (v: unknown): number | null => (typeof v === 'string' ? (parseTimestampMicros(v, true) ?? null) : null);

/** An event without any of the optional parts: what signalsFromSpeedRecord fills and tests start from. */
export function emptyFraudEvent(tenant: string, eventId: string, timeUs: number): FraudEvent {
  return {
    tenant,
    eventId,
    timeUs,
    ingestUs: null,
    type: null,
    subtype: null,
    source: null,
    userId: null,
    anonymousId: null,
    sessionId: null,
    sessionSeq: null,
    device: null,
    card: null,
    country: null,
    city: null,
    lat: null,
    lon: null,
    browser: null,
    deviceType: null,
    amount: null,
    subtotal: null,
    discountTotal: 0,
    discountIds: [],
    payment: null,
    shipping: null,
    products: [],
    profile: null,
    security: { suspiciousUa: false, tor: false, knownBot: false, geoBlocked: false, rateLimitRemaining: null },
    statusCode: null,
    processingMs: null,
    lcpMs: null,
    interactions: null,
    markets: null,
  };
}

/** The detectors' view of a 2.1 event (validated and upcast by the schema registry, or as produced). */
export function signalsFromEvent(e: RtapEvent): FraudEvent {
  const md = e.event_metadata;
  const ed = e.event_data;
  const uc = ed.user_context;
  const sd = uc.session_data;
  const attrs = sd?.session_attributes;
  const geo = attrs?.geolocation;
  const ua = attrs?.user_agent_parsed;
  const bc = ed.business_context;
  const tx = bc?.transaction_context;
  const cart = tx?.cart_context;
  const value = cart?.cart_value;
  const pm = cart?.payment_context?.payment_methods?.[0];
  const ship = cart?.payment_context?.shipping_context;
  const page = bc?.interaction_context?.page_context;
  const tc = ed.technical_context;
  const flags = tc?.security_context?.security_flags;
  const profile = uc.user_profile;
  const out = emptyFraudEvent(e.tenant_id, md.event_id, parseTimestampMicros(md.timestamp, true) ?? 0);
  out.ingestUs = us(md.ingestion_timestamp);
  out.type = str(ed.event_type);
  out.subtype = str(ed.event_subtype);
  out.source = str(md.source_system);
  out.userId = str(uc.user_id);
  out.anonymousId = str(uc.anonymous_id);
  out.sessionId = str(sd?.session_id);
  out.sessionSeq = num(sd?.session_sequence);
  out.device = str(attrs?.device_fingerprint);
  out.card = str(pm?.tokenized_identifier);
  out.country = str(geo?.country);
  out.city = str(geo?.city);
  out.lat = num(geo?.coordinates?.lat);
  out.lon = num(geo?.coordinates?.lon);
  out.browser = str(obj(ua?.browser)?.name);
  out.deviceType = str(obj(ua?.device)?.type);
  out.amount = num(value?.final_total);
  out.subtotal = num(value?.subtotal);
  for (const d of value?.discounts_applied ?? []) {
    out.discountTotal += num(d?.discount_amount) ?? 0;
    const id = str(d?.discount_id);
    if (id) out.discountIds.push(id);
  }
  if (pm) {
    out.payment = {
      methodType: str(pm.method_type),
      provider: str(pm.provider),
      declined: pm.authorization_status === 'declined',
      declineCode: str(pm.decline_code),
      firstTime: bool(pm.risk_signals?.first_time_payment),
      geoMismatch: bool(pm.risk_signals?.geo_mismatch),
      billingCountry: str(pm.billing_address?.country),
      billingAddressType: str(pm.billing_address?.address_type),
    };
  }
  const addr = ship?.shipping_address;
  if (ship) {
    // the address token when tokenized, else its parts (raw lines never leave this function)
    const key = str(addr?.address_hash) ?? (addr?.address_line ? `${addr.country ?? ''}|${addr.postal_code ?? ''}|${addr.address_line}` : null);
    out.shipping = {
      addressKey: key,
      country: str(addr?.country),
      postalCode: str(addr?.postal_code),
      addressType: str(addr?.address_type),
      sameAsBilling: typeof addr?.same_as_billing === 'boolean' ? addr.same_as_billing : null,
      serviceLevel: str(ship.shipping_method?.service_level),
    };
  }
  for (const p of tx?.products ?? []) {
    if (!p) continue;
    out.products.push({
      id: String(p.product_id),
      listPrice: num(p.pricing?.list_price),
      salePrice: num(p.pricing?.sale_price),
      costBasis: num(p.pricing?.cost_basis),
      quantity: num(p.quantity) ?? 1,
      available: num(p.inventory?.quantity_available),
    });
  }
  if (profile) {
    out.profile = {
      accountType: str(profile.account_type),
      registrationUs: us(profile.registration_date),
      verification: str(profile.verification_status),
      creditRating: str(profile.risk_profile?.credit_rating),
    };
  }
  out.security = {
    suspiciousUa: bool(flags?.suspicious_user_agent),
    tor: bool(flags?.tor_exit_node),
    knownBot: bool(flags?.known_bot),
    geoBlocked: bool(flags?.geo_blocked),
    rateLimitRemaining: num(tc?.security_context?.rate_limit_remaining),
  };
  const telemetry = tc?.performance_telemetry;
  out.statusCode = num(telemetry?.status_code);
  out.processingMs = num(telemetry?.processing_time_ms);
  out.lcpMs = num(page?.page_load_metrics?.largest_contentful_paint);
  out.interactions = page ? (Array.isArray(page.user_interactions) ? page.user_interactions.length : 0) : null;
  const markets = bc?.tenant_metadata?.geographic_markets;
  if (Array.isArray(markets)) {
    const codes = markets.filter((m): m is string => typeof m === 'string' && m !== '');
    if (codes.length > 0) out.markets = codes;
  }
  return out;
}

/**
 * The view of an event the speed layer read from its ingestion header only (no JSON.parse): ids,
 * times, type, amount, geo without coordinates, page load. Detectors needing the rest stay quiet.
 */
export function signalsFromSpeedRecord({ input, entities }: SpeedRecord): FraudEvent {
  const out = emptyFraudEvent(input.tenant_id, input.event_id, input.event_time_us);
  out.type = input.event_type;
  out.subtype = input.event_subtype;
  out.source = input.source_system;
  out.userId = input.user_id;
  out.sessionId = input.session_id;
  out.device = entities.device;
  out.card = entities.card;
  out.country = input.country;
  out.city = entities.city;
  out.browser = input.browser_name;
  out.deviceType = input.device_type;
  out.amount = input.final_total;
  out.lcpMs = input.lcp_ms;
  return out;
}

/** The record header in which the ingestion API hands the speed layer the fraud view's other fields. */
export const FRAUD_HEADER = 'x-rtap-f';
export const FRAUD_HEADER_VERSION = 1;

/**
 * The fraud header of an event's view: a JSON array of the fields the speed record does not carry,
 * `[1, ingestUs, anonymousId, sessionSeq, lat, lon, subtotal, discountTotal, discountIds,
 * payment, shipping, products, profile, security, statusCode, processingMs, interactions, markets]`,
 * the objects as arrays of their fields in FraudEvent's order (null when absent); ~150–300 bytes.
 */
export function encodeFraudHeader(v: FraudEvent): string {
  const p = v.payment;
  const s = v.shipping;
  const r = v.profile;
  const q = v.security;
  return JSON.stringify([
    FRAUD_HEADER_VERSION,
    v.ingestUs,
    v.anonymousId,
    v.sessionSeq,
    v.lat,
    v.lon,
    v.subtotal,
    v.discountTotal,
    v.discountIds,
    p && [p.methodType, p.provider, p.declined, p.declineCode, p.firstTime, p.geoMismatch, p.billingCountry, p.billingAddressType],
    s && [s.addressKey, s.country, s.postalCode, s.addressType, s.sameAsBilling, s.serviceLevel],
    v.products.map((x) => [x.id, x.listPrice, x.salePrice, x.costBasis, x.quantity, x.available]),
    r && [r.accountType, r.registrationUs, r.verification, r.creditRating],
    [q.suspiciousUa, q.tor, q.knownBot, q.geoBlocked, q.rateLimitRemaining],
    v.statusCode,
    v.processingMs,
    v.interactions,
    v.markets,
  ]);
}

/** A header value that is not what encodeFraudHeader writes (the caller then parses the event). */
class NotAFraudHeader extends Error {}

const fail = (): never => {
  throw new NotAFraudHeader();
};
const hNum = (v: unknown): number | null => (v === null || (typeof v === 'number' && Number.isFinite(v)) ? v : fail());
const hStr = (v: unknown): string | null => (v === null || (typeof v === 'string' && v !== '') ? v : fail());
const hBool = (v: unknown): boolean => (typeof v === 'boolean' ? v : fail());
const hBoolOrNull = (v: unknown): boolean | null => (v === null ? null : hBool(v));
const hArray = (v: unknown, length?: number): unknown[] => (Array.isArray(v) && (length === undefined || v.length === length) ? v : fail());
const hStrings = (v: unknown): string[] => hArray(v).map((x) => hStr(x) ?? fail());

/**
 * The fraud view of an event the speed layer read from its headers: the speed record's fields (its
 * reading of ids, time, entities and amount is what it counted, so the scorer sees the same) and
 * the fraud header's. undefined when the header is not a well-formed one of a known version: the
 * caller then parses the value (events produced by others, or by an older API).
 */
export function fraudEventFromHeader(rec: SpeedRecord, header: string): FraudEvent | undefined {
  let a: unknown;
  try {
    a = JSON.parse(header);
  } catch {
    return undefined;
  }
  if (!Array.isArray(a) || a.length !== 18 || a[0] !== FRAUD_HEADER_VERSION) return undefined;
  const out = signalsFromSpeedRecord(rec);
  // as signalsFromEvent reads them: an empty string is no value
  out.type ||= null;
  out.subtype ||= null;
  out.source ||= null;
  out.userId ||= null;
  out.sessionId ||= null;
  out.country ||= null;
  try {
    out.ingestUs = hNum(a[1]);
    out.anonymousId = hStr(a[2]);
    out.sessionSeq = hNum(a[3]);
    out.lat = hNum(a[4]);
    out.lon = hNum(a[5]);
    out.subtotal = hNum(a[6]);
    out.discountTotal = hNum(a[7]) ?? fail();
    out.discountIds = hStrings(a[8]);
    if (a[9] !== null) {
      const p = hArray(a[9], 8);
      out.payment = { methodType: hStr(p[0]), provider: hStr(p[1]), declined: hBool(p[2]), declineCode: hStr(p[3]), firstTime: hBool(p[4]), geoMismatch: hBool(p[5]), billingCountry: hStr(p[6]), billingAddressType: hStr(p[7]) };
    }
    if (a[10] !== null) {
      const s = hArray(a[10], 6);
      out.shipping = { addressKey: hStr(s[0]), country: hStr(s[1]), postalCode: hStr(s[2]), addressType: hStr(s[3]), sameAsBilling: hBoolOrNull(s[4]), serviceLevel: hStr(s[5]) };
    }
    out.products = hArray(a[11]).map((x) => {
      const p = hArray(x, 6);
      return { id: typeof p[0] === 'string' ? p[0] : fail(), listPrice: hNum(p[1]), salePrice: hNum(p[2]), costBasis: hNum(p[3]), quantity: hNum(p[4]) ?? fail(), available: hNum(p[5]) };
    });
    if (a[12] !== null) {
      const r = hArray(a[12], 4);
      out.profile = { accountType: hStr(r[0]), registrationUs: hNum(r[1]), verification: hStr(r[2]), creditRating: hStr(r[3]) };
    }
    const q = hArray(a[13], 5);
    out.security = { suspiciousUa: hBool(q[0]), tor: hBool(q[1]), knownBot: hBool(q[2]), geoBlocked: hBool(q[3]), rateLimitRemaining: hNum(q[4]) };
    out.statusCode = hNum(a[14]);
    out.processingMs = hNum(a[15]);
    out.interactions = hNum(a[16]);
    out.markets = a[17] === null ? null : hStrings(a[17]);
  } catch (err) {
    if (err instanceof NotAFraudHeader) return undefined;
    throw err;
  }
  return out;
}
