// Financial detectors: velocity, amount against the user's and the tenant's usual, impossible
// travel, one card across many accounts, card testing, declines, billing/geo/shipping mismatch.
import { adaptiveBar, defineDetector, fmt, ramp, usual, type DetectorResult } from '../detector';

/** Subtypes that carry an order amount (final_total). */
export const ORDER_SUBTYPES: ReadonlySet<string> = new Set(['checkout', 'payment_attempt', 'purchase']);

export const velocity = defineDetector({
  id: 'velocity',
  family: 'financial',
  description: "transactions on one card in the last hour far above the tenant's usual and the card's own pace over the day",
  reads: ['card.w1h.count', 'card.w24h.count', 'baseline.card_tx_1h'],
  defaults: { floor: 6, k: 4, full: 2, ownK: 3 },
  score(e, f, b, p) {
    // every event carrying a card is a transaction (payment attempt, purchase, refund)
    if (!f.card || !e.card) return null;
    const n = f.card.w1h.count;
    const stats = b.stats(e.tenant, 'card_tx_1h');
    // a busy card's own pace over the rest of the day raises its bar: a burst is against its own usual too
    const ownPerHour = Math.max(0, f.card.w24h.count - n) / 23;
    const bar = Math.max(adaptiveBar(stats, p.floor, p.k), p.ownK * ownPerHour);
    return {
      score: ramp(n, bar, bar * p.full),
      evidence: { transactions_1h: n, own_per_hour: Math.round(ownPerHour * 10) / 10, bar: Math.round(bar) },
      explanation: `${n} transactions on this card in the last hour (its own pace ${fmt(Math.round(ownPerHour * 10) / 10)}/h, bar ${fmt(Math.round(bar))}); ${usual(stats)}`,
    };
  },
  observe: (e, f) => (f.card && e.card ? [{ metric: 'card_tx_1h', value: f.card.w1h.count }] : []),
});

export const amountOutlier = defineDetector({
  id: 'amount_outlier',
  family: 'financial',
  description: "an order amount far above the user's usual (EWMA z-score) or the tenant's (robust z of the log amount)",
  reads: ['event.amount', 'user.amount', 'baseline.log_amount'],
  defaults: { userZ: 4, userZFull: 8, tenantZ: 3.5, tenantZFull: 6, logFloor: 0.3 },
  score(e, f, b, p) {
    if (e.amount === null || !(e.amount > 0) || e.subtype === null || !ORDER_SUBTYPES.has(e.subtype)) return null;
    const a = f.user?.amount;
    // the store already folded a purchase in: its lastZ is against the usual before it
    const userZ = a && a.count >= 5 && a.std > 0 ? (e.subtype === 'purchase' && a.last === e.amount ? a.lastZ : (e.amount - a.mean) / a.std) : null;
    const tenantZ = b.robustZ(e.tenant, 'log_amount', Math.log(e.amount), p.logFloor);
    const su = userZ === null ? 0 : ramp(userZ, p.userZ, p.userZFull);
    const st = tenantZ === null ? 0 : ramp(tenantZ, p.tenantZ, p.tenantZFull);
    const median = b.stats(e.tenant, 'log_amount');
    const tenantText = median && tenantZ !== null ? `this tenant's median order is ${fmt(Math.round(Math.exp(median.median) * 100) / 100)}` : 'no baseline for this tenant yet';
    const userText = userZ !== null && a ? `, ${fmt(Math.round(userZ * 10) / 10)}σ from this user's usual ${fmt(Math.round(a.mean * 100) / 100)}` : '';
    return {
      score: Math.max(su, st),
      evidence: { amount: e.amount, user_z: userZ, tenant_robust_z: tenantZ === null ? null : Math.round(tenantZ * 100) / 100 },
      explanation: `order of ${fmt(e.amount)}${userText}; ${tenantText}`,
    };
  },
  observe: (e) => (e.amount !== null && e.amount > 0 && e.subtype !== null && ORDER_SUBTYPES.has(e.subtype) ? [{ metric: 'log_amount', value: Math.log(e.amount) }] : []),
});

/** Great-circle distance in km. */
export function haversineKm(lat1: number, lon1: number, lat2: number, lon2: number): number {
  const r = Math.PI / 180;
  const a = Math.sin(((lat2 - lat1) * r) / 2) ** 2 + Math.cos(lat1 * r) * Math.cos(lat2 * r) * Math.sin(((lon2 - lon1) * r) / 2) ** 2;
  return 2 * 6371 * Math.asin(Math.min(1, Math.sqrt(a)));
}

export const impossibleTravel = defineDetector({
  id: 'impossible_travel',
  family: 'financial',
  description: 'the account appears somewhere it could not have reached from where it was seen last (faster than an airliner), or in another country within minutes',
  reads: ['event.geolocation', 'user.elsewhere'],
  defaults: { maxKmh: 900, fullKmh: 3000, minKm: 500, countryWithinMin: 60, countryScore: 0.6 },
  score(e, f, _b, p) {
    // against every other place the account was seen at recently (not only the last): the events
    // after a jump keep the evidence, and a jump back home is one too
    let best: DetectorResult | null = null;
    for (const prev of f.context.user?.elsewhere ?? []) {
      const minutes = Math.max(Math.abs(e.timeUs - prev.us) / 60e6, 1 / 60);
      const from = `${prev.city ?? '?'}, ${prev.country ?? '?'}`;
      const to = `${e.city ?? '?'}, ${e.country ?? '?'}`;
      const when = e.timeUs >= prev.us ? 'after' : 'before';
      let r: DetectorResult | null = null;
      if (e.lat !== null && e.lon !== null && prev.lat !== null && prev.lon !== null) {
        const km = haversineKm(prev.lat, prev.lon, e.lat, e.lon);
        const kmh = km / (minutes / 60);
        if (km >= p.minKm) {
          r = {
            score: ramp(kmh, p.maxKmh, p.fullKmh),
            evidence: { km: Math.round(km), minutes: Math.round(minutes * 10) / 10, kmh: Math.round(kmh), from, to },
            explanation: `seen in ${to} ${fmt(Math.round(minutes * 10) / 10)} min ${when} ${from}: ${fmt(Math.round(km))} km at ${fmt(Math.round(kmh))} km/h (an airliner does ${p.maxKmh})`,
          };
        }
      } else if (e.country && prev.country && e.country !== prev.country && minutes <= p.countryWithinMin) {
        r = { score: p.countryScore, evidence: { km: null, minutes: Math.round(minutes * 10) / 10, kmh: null, from, to }, explanation: `seen in ${e.country} ${fmt(Math.round(minutes))} min ${when} ${prev.country} (no coordinates to measure the distance)` };
      }
      if (r && (!best || r.score > best.score)) best = r;
    }
    return best;
  },
});

export const cardSharing = defineDetector({
  id: 'card_sharing',
  family: 'financial',
  description: "one card token used by several accounts or devices in 24 h (payment-method correlation), above the tenant's usual",
  reads: ['card.distinct.users', 'card.distinct.devices', 'card.distinct.countries', 'baseline.card_accounts'],
  defaults: { floor: 2, k: 4, span: 4 },
  score(e, f, b, p) {
    if (!f.card || !e.card) return null;
    const users = f.card.distinct.users ?? 0;
    const devices = f.card.distinct.devices ?? 0;
    const countries = f.card.distinct.countries ?? 0;
    const stats = b.stats(e.tenant, 'card_accounts');
    const bar = adaptiveBar(stats, p.floor, p.k);
    const n = Math.max(users, devices);
    return {
      score: ramp(n, bar, bar + p.span),
      evidence: { accounts: users, devices, countries, bar: Math.round(bar) },
      explanation: `card used by ${users} accounts on ${devices} devices from ${countries} countries in 24 h; ${usual(stats)}`,
    };
  },
  observe: (e, f) => (f.card && e.subtype === 'payment_attempt' ? [{ metric: 'card_accounts', value: Math.max(f.card.distinct.users ?? 0, f.card.distinct.devices ?? 0) }] : []),
});

export const cardTesting = defineDetector({
  id: 'card_testing',
  family: 'financial',
  description: 'many different cards tried from one device or session, mostly small and declined',
  reads: ['device.distinct.cards', 'session.cards', 'session.declines', 'session.payments', 'event.amount', 'baseline.device_cards', 'baseline.log_amount'],
  defaults: { floor: 2, k: 4, span: 5, smallShare: 0.2 },
  score(e, f, b, p) {
    const s = f.context.session;
    if (e.subtype !== 'payment_attempt' || !s) return null;
    const cards = Math.max(f.device?.distinct.cards ?? 0, s.cards.length);
    const stats = b.stats(e.tenant, 'device_cards');
    const bar = adaptiveBar(stats, p.floor, p.k);
    const declineShare = s.payments > 0 ? s.declines / s.payments : 0;
    const amounts = b.stats(e.tenant, 'log_amount');
    const small = e.amount !== null && amounts !== undefined && amounts.n >= 8 && e.amount < Math.exp(amounts.median) * p.smallShare;
    const score = ramp(cards, bar, bar + p.span) * (0.5 + 0.3 * Math.min(1, declineShare * 1.5) + (small ? 0.2 : 0));
    return {
      score,
      evidence: { cards, declines: s.declines, payments: s.payments, small_amount: small, bar: Math.round(bar) },
      explanation: `${cards} cards tried from one device in 24 h, ${s.declines} of ${s.payments} attempts declined in this session${small ? `, amount ${fmt(e.amount ?? 0)} far below the usual order` : ''}; ${usual(stats)}`,
    };
  },
  observe: (e, f) => (e.subtype === 'payment_attempt' && f.device ? [{ metric: 'device_cards', value: f.device.distinct.cards ?? 0 }] : []),
});

export const declineBurst = defineDetector({
  id: 'decline_burst',
  family: 'financial',
  description: 'several declined payment attempts in one session',
  reads: ['session.declines', 'session.payments', 'event.payment.decline_code'],
  defaults: { floor: 1, full: 5 },
  score(e, f, _b, p) {
    const s = f.context.session;
    if (!s || s.declines === 0 || e.type !== 'transaction') return null;
    return {
      score: ramp(s.declines, p.floor, p.full),
      evidence: { declines: s.declines, payments: s.payments, last_code: e.payment?.declineCode ?? null },
      explanation: `${s.declines} of ${s.payments} payment attempts declined in this session${e.payment?.declineCode ? ` (last: ${e.payment.declineCode})` : ''}`,
    };
  },
});

export const paymentGeoMismatch = defineDetector({
  id: 'payment_geo_mismatch',
  family: 'financial',
  description: "the card's billing country differs from where the buyer is, and from where the goods ship; PO-box billing",
  reads: ['event.payment.billing_country', 'event.geolocation.country', 'event.shipping.country', 'session.firstCountry'],
  defaults: { geo: 0.45, ship: 0.3, poBox: 0.25 },
  score(e, f, _b, p) {
    const pay = e.payment;
    if (!pay?.billingCountry) return null;
    const here = e.country ?? f.context.session?.firstCountry ?? null;
    const parts: string[] = [];
    let score = 0;
    if (here && here !== pay.billingCountry) {
      score += p.geo;
      parts.push(`billing country ${pay.billingCountry} but the buyer is in ${here}`);
    }
    if (e.shipping?.country && e.shipping.country !== pay.billingCountry) {
      score += p.ship;
      parts.push(`shipping to ${e.shipping.country}`);
    }
    if (pay.billingAddressType === 'po_box') {
      score += p.poBox;
      parts.push('billing address is a PO box');
    }
    if (score === 0) return null;
    return { score: Math.min(1, score), evidence: { billing_country: pay.billingCountry, geo_country: here, ship_country: e.shipping?.country ?? null, billing_type: pay.billingAddressType }, explanation: parts.join('; ') };
  },
});
