// Shared by the fraud unit tests: hand-built FraudEvents fed through a real feature store and
// engine, as the speed layer does (store update, then scoring).
import type { MeasureInput } from '../../core/measures';
import type { SpeedRecord } from '../../core/speed-record';
import { createFeatureStore } from '../../speed-layer/features/store';
import type { Detector } from '../../speed-layer/fraud/detector';
import { createFraudEngine, entityFeatures, type FraudEngine, type FraudVerdict } from '../../speed-layer/fraud/engine';
import { emptyFraudEvent, type FraudEvent } from '../../core/fraud-signals';

export const S = 1_000_000;
export const MIN = 60 * S;
export const T0 = Date.UTC(2026, 10, 27, 12, 0, 0) * 1000;

let seq = 0;

/** An event with overrides; the defaults are an ordinary page view of user u1 in Berlin. */
export function ev(o: Partial<FraudEvent> & { at?: number } = {}): FraudEvent {
  const { at, ...rest } = o;
  const e = emptyFraudEvent('t1', `e${seq++}`, T0 + (at ?? 0));
  Object.assign(e, { type: 'user_interaction', subtype: 'page_view', source: 'web_app', userId: 'u1', sessionId: 's1', device: 'd1', country: 'DE', city: 'Berlin', lat: 52.52, lon: 13.4, interactions: 2 }, rest);
  return e;
}

export function speedRecord(e: FraudEvent, offset = 0): SpeedRecord {
  const input: MeasureInput = {
    tenant_id: e.tenant,
    event_id: e.eventId,
    event_time_us: e.timeUs,
    partition: 0,
    offset,
    event_type: e.type,
    event_subtype: e.subtype,
    source_system: e.source,
    country: e.country,
    device_type: e.deviceType,
    browser_name: e.browser,
    payment_provider: e.payment?.provider ?? null,
    category_l1: null,
    user_id: e.userId,
    session_id: e.sessionId,
    final_total: e.amount,
    lcp_ms: e.lcpMs,
  };
  return { input, entities: { card: e.card, device: e.device, city: e.city } };
}

/** Runs events through a store and an engine (optionally one detector only); returns every verdict. */
export function run(events: readonly FraudEvent[], detectors?: readonly Detector[], engine?: FraudEngine): FraudVerdict[] {
  const store = createFeatureStore();
  const eng = engine ?? createFraudEngine(detectors ? { detectors } : {});
  return events.map((e, i) => {
    store.update(speedRecord(e, i));
    return eng.score(e, entityFeatures(e, store.get.bind(store)));
  });
}

/** The detector's score on the last event of the sequence (0 when it had nothing to say). */
export function lastScore(d: Detector, events: readonly FraudEvent[]): { score: number; explanation: string } {
  const v = run(events, [d]).at(-1)!;
  const s = v.detectors.find((x) => x.id === d.id);
  return { score: s?.score ?? 0, explanation: s?.explanation ?? '' };
}

export const payment = (o: Partial<NonNullable<FraudEvent['payment']>> = {}): FraudEvent['payment'] => ({
  methodType: 'credit_card',
  provider: 'visa',
  declined: false,
  declineCode: null,
  firstTime: false,
  geoMismatch: false,
  billingCountry: 'DE',
  billingAddressType: 'residential',
  ...o,
});

export const shipping = (o: Partial<NonNullable<FraudEvent['shipping']>> = {}): FraudEvent['shipping'] => ({
  addressKey: 'addr1',
  country: 'DE',
  postalCode: '10115',
  addressType: 'residential',
  sameAsBilling: true,
  serviceLevel: 'ground',
  ...o,
});

export const profile = (o: Partial<NonNullable<FraudEvent['profile']>> = {}): FraudEvent['profile'] => ({
  accountType: 'standard',
  registrationUs: T0 - 400 * 24 * 60 * MIN,
  verification: 'verified',
  creditRating: 'B',
  ...o,
});
