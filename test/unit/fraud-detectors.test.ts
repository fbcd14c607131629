// Every detector on a hand-built sequence that shows its pattern (it fires, and its explanation
// names the evidence) and on a near-miss (it stays quiet); plus the catalogue's shape and per-tenant
// overrides taking effect on the next event.
import * as D from '../../speed-layer/fraud/detectors';
import { DETECTORS } from '../../speed-layer/fraud/detectors';
import { DETECTOR_FAMILIES, type Detector } from '../../speed-layer/fraud/detector';
import { DEFAULT_WEIGHTS } from '../../speed-layer/fraud/ensemble';
import { createFraudEngine } from '../../speed-layer/fraud/engine';
import type { FraudEvent } from '../../core/fraud-signals';
import { ev, lastScore, MIN, payment, profile, run, S, shipping, T0 } from './fraud-helpers';

const times = <T>(n: number, f: (i: number) => T): T[] => Array.from({ length: n }, (_, i) => f(i));
const pay = (o: Parameters<typeof ev>[0] = {}) => ev({ type: 'transaction', subtype: 'payment_attempt', card: 'c1', amount: 50, payment: payment(), interactions: 1, ...o });

interface Case {
  d: Detector;
  fires: () => FraudEvent[];
  /** Words the explanation must contain (its evidence). */
  says: (string | RegExp)[];
  quiet: () => FraudEvent[];
}

const cases: Case[] = [
  {
    d: D.velocity,
    // the tenant's other cards make its baseline (one transaction each), then one card bursts
    fires: () => [...times(20, (i) => pay({ at: i * S, card: `other${i}`, userId: `u${i}`, sessionId: `s${i}` })), ...times(14, (i) => pay({ at: i * MIN }))],
    says: ['14 transactions on this card', "this tenant's median is 1"],
    quiet: () => [...times(20, (i) => pay({ at: i * S, card: `other${i}`, userId: `u${i}`, sessionId: `s${i}` })), ...times(3, (i) => pay({ at: i * MIN }))],
  },
  {
    d: D.amountOutlier,
    fires: () => [...[45, 55, 50, 48, 52, 50].map((a, i) => ev({ at: i * MIN, type: 'transaction', subtype: 'purchase', amount: a })), ev({ at: 10 * MIN, type: 'transaction', subtype: 'purchase', amount: 500 })],
    says: ['order of 500', "this user's usual"],
    quiet: () => [...[45, 55, 50, 48, 52, 50].map((a, i) => ev({ at: i * MIN, type: 'transaction', subtype: 'purchase', amount: a })), ev({ at: 10 * MIN, type: 'transaction', subtype: 'purchase', amount: 51 })],
  },
  {
    d: D.impossibleTravel,
    fires: () => [ev(), ev({ at: 10 * MIN, sessionId: 's2', country: 'JP', city: 'Tokyo', lat: 35.68, lon: 139.69 })],
    says: ['Tokyo, JP', 'Berlin, DE', /km\/h/],
    quiet: () => [ev(), ev({ at: 180 * MIN, city: 'Hamburg', lat: 53.55, lon: 9.99 })],
  },
  { d: D.cardSharing, fires: () => times(6, (i) => pay({ at: i * MIN, userId: `u${i}`, sessionId: `s${i}`, device: `d${i}` })), says: ['card used by 6 accounts'], quiet: () => times(2, (i) => pay({ at: i * MIN })) },
  {
    d: D.cardTesting,
    fires: () => times(8, (i) => pay({ at: i * 5 * S, userId: null, anonymousId: 'anon1', card: `c${i}`, amount: 1.5, payment: payment({ declined: i < 7 }) })),
    says: ['8 cards tried from one device', '7 of 8 attempts declined'],
    quiet: () => [pay({ card: 'c1', payment: payment({ declined: true }) }), pay({ at: MIN, card: 'c2' })],
  },
  { d: D.declineBurst, fires: () => times(5, (i) => pay({ at: i * S, payment: payment({ declined: true, declineCode: 'do_not_honor' }) })), says: ['5 of 5 payment attempts declined', 'do_not_honor'], quiet: () => [pay({ payment: payment({ declined: true }) }), pay({ at: MIN })] },
  { d: D.paymentGeoMismatch, fires: () => [pay({ payment: payment({ billingCountry: 'US' }), shipping: shipping({ country: 'FR' }) })], says: ['billing country US', 'DE', 'shipping to FR'], quiet: () => [pay()] },
  { d: D.sessionHijack, fires: () => [ev(), ev({ at: MIN, device: 'd2' })], says: ['device changed mid-session'], quiet: () => [ev(), ev({ at: MIN })] },
  { d: D.botUserAgent, fires: () => [ev({ browser: 'HeadlessChrome' })], says: ['HeadlessChrome'], quiet: () => [ev({ browser: 'Chrome' })] },
  { d: D.noHumanInput, fires: () => times(8, (i) => ev({ at: i * 10 * S, interactions: 0 })), says: ['8 of 8 pages'], quiet: () => times(8, (i) => ev({ at: i * 10 * S, interactions: i === 3 ? 0 : 2 })) },
  {
    d: D.botTiming,
    fires: () => times(30, (i) => ev({ at: i * S })),
    says: ['30 events in'],
    quiet: () => times(12, (i) => ev({ at: [0, 20, 95, 110, 200, 260, 300, 420, 450, 520, 600, 700][i] * S })),
  },
  {
    d: D.accountTakeover,
    fires: () => [ev({ subtype: 'login' }), ev({ at: MIN, subtype: 'password_change' }), ev({ at: 2 * MIN, subtype: 'address_change' }), ev({ at: 5 * MIN, type: 'transaction', subtype: 'purchase', amount: 900 })],
    says: ['password and shipping address changed', 'then a purchase'],
    quiet: () => [ev({ subtype: 'login' }), ev({ at: MIN }), ev({ at: 5 * MIN, type: 'transaction', subtype: 'purchase', amount: 90 })],
  },
  { d: D.loginBurst, fires: () => times(5, (i) => ev({ at: i * 10 * S, subtype: 'login' })), says: ['5 logins in this session'], quiet: () => [ev({ subtype: 'login' }), ev({ at: MIN })] },
  { d: D.coordinatedAccounts, fires: () => times(5, (i) => ev({ at: i * MIN, userId: `u${i}`, sessionId: `s${i}` })), says: ['5 accounts on this device'], quiet: () => [ev(), ev({ at: MIN })] },
  {
    d: D.accountRing,
    // eight accounts chained through devices and cards they share in pairs: one component
    fires: () => times(8, (i) => ev({ at: i * MIN, userId: `u${i}`, sessionId: `s${i}`, device: `d${i >> 1}`, card: `c${(i + 1) >> 1}` })),
    says: ['linked to 7 other accounts', 'shared devices, cards or addresses', 'under an hour old'],
    // a household: two accounts on one device
    quiet: () => [ev({ userId: 'u0' }), ev({ at: MIN, userId: 'u1', sessionId: 's1' })],
  },
  {
    d: D.syntheticIdentity,
    fires: () => [pay({ profile: profile({ registrationUs: T0 - 60 * MIN, verification: 'unverified', creditRating: 'A' }), payment: payment({ methodType: 'bnpl', billingAddressType: 'po_box', billingCountry: 'BR' }) })],
    says: ['h old', 'unverified', 'PO-box billing'],
    quiet: () => [pay({ profile: profile() })],
  },
  {
    d: D.noBrowsing,
    // straight to the cart: no product page, search or category first
    fires: () => [ev({ subtype: 'login', sessionSeq: 0 }), ev({ at: 5 * S, subtype: 'add_to_cart', sessionSeq: 1 }), ev({ at: 9 * S, type: 'transaction', subtype: 'checkout', amount: 900, sessionSeq: 2 })],
    says: ['checkout as event 3 of a session', 'viewed no product'],
    // a shopper looked at the product first
    quiet: () => [ev({ subtype: 'page_view', sessionSeq: 0 }), ev({ at: 5 * S, subtype: 'add_to_cart', sessionSeq: 1 }), ev({ at: 9 * S, type: 'transaction', subtype: 'checkout', amount: 900, sessionSeq: 2 })],
  },
  {
    d: D.rareCountry,
    // 60 sessions of a DE/FR merchant from DE, then a login from Nigeria
    fires: () => [...times(60, (i) => ev({ at: i * S, sessionId: `s${i}`, userId: `u${i}`, markets: ['DE', 'FR'] })), ev({ at: 2 * MIN, subtype: 'login', sessionId: 'x', userId: 'victim', country: 'NG', city: 'Lagos', markets: ['DE', 'FR'] })],
    says: ["visit from NG, outside the merchant's markets (DE, FR)", "0% of this tenant's recent sessions (60 counted)"],
    // a visit from the merchant's other declared market, not rare in its traffic
    quiet: () => [...times(60, (i) => ev({ at: i * S, sessionId: `s${i}`, userId: `u${i}`, markets: ['DE', 'FR'], country: i % 4 === 0 ? 'FR' : 'DE' })), ev({ at: 2 * MIN, subtype: 'login', sessionId: 'x', userId: 'v', country: 'FR', city: 'Paris', markets: ['DE', 'FR'] })],
  },
  {
    d: D.promoAbuse,
    fires: () => times(4, (i) => ev({ at: i * MIN, userId: `u${i}`, sessionId: `s${i}`, type: 'transaction', subtype: 'checkout', discountIds: ['promo_welcome10'], shipping: shipping({ addressKey: `a${i}` }) })),
    says: ['promo_welcome10', '4 accounts from this device'],
    quiet: () => [ev({ type: 'transaction', subtype: 'checkout', discountIds: ['promo_welcome10'], profile: profile() })],
  },
  {
    d: D.priceManipulation,
    fires: () => [ev({ subtype: 'add_to_cart', products: [{ id: 'sku1', listPrice: 100, salePrice: 5, costBasis: 40, quantity: 1, available: 50 }] })],
    says: ['sku1 at 5', '5% of its list price 100', 'below its cost 40'],
    quiet: () => [ev({ subtype: 'add_to_cart', products: [{ id: 'sku1', listPrice: 100, salePrice: 80, costBasis: 40, quantity: 1, available: 50 }] })],
  },
  {
    d: D.inventoryManipulation,
    fires: () => [ev({ subtype: 'add_to_cart', products: [{ id: 'sku1', listPrice: 10, salePrice: 10, costBasis: 5, quantity: 200, available: 7 }] })],
    says: ['200 units of sku1', '7 in stock'],
    quiet: () => [ev({ subtype: 'add_to_cart', products: [{ id: 'sku1', listPrice: 10, salePrice: 10, costBasis: 5, quantity: 2, available: 100 }] })],
  },
  {
    d: D.shippingFraud,
    fires: () =>
      times(4, (i) => ev({ at: i * MIN, userId: `u${i}`, sessionId: `s${i}`, type: 'transaction', subtype: 'purchase', amount: 800, payment: payment(), shipping: shipping({ addressKey: 'fwd1', country: 'US', addressType: 'commercial', sameAsBilling: false, serviceLevel: 'overnight' }) })),
    says: ['commercial address', 'overnight', '4 accounts ship to this address'],
    quiet: () => [ev({ type: 'transaction', subtype: 'purchase', amount: 80, payment: payment(), shipping: shipping() })],
  },
  {
    d: D.returnFraud,
    fires: () => [...times(3, (i) => ev({ at: i * MIN, type: 'transaction', subtype: 'purchase', amount: 700 })), ...times(3, (i) => ev({ at: (10 + i) * MIN, type: 'transaction', subtype: 'refund', amount: 700 }))],
    says: ['3 refunds for 3 purchases'],
    quiet: () => [...times(3, (i) => ev({ at: i * MIN, type: 'transaction', subtype: 'purchase', amount: 70 })), ev({ at: 10 * MIN, type: 'transaction', subtype: 'refund', amount: 70 })],
  },
  {
    d: D.apiAbuse,
    fires: () => [...times(10, (i) => ev({ at: i * S, sessionId: `s${i}`, security: { ...ev().security, rateLimitRemaining: 750 + i * 10 } })), ev({ at: 20 * S, security: { ...ev().security, rateLimitRemaining: 10 } })],
    says: ['rate-limit headroom 10', "this tenant's median"],
    quiet: () => [...times(10, (i) => ev({ at: i * S, sessionId: `s${i}`, security: { ...ev().security, rateLimitRemaining: 750 + i * 10 } })), ev({ at: 20 * S, security: { ...ev().security, rateLimitRemaining: 700 } })],
  },
  { d: D.rateViolation, fires: () => times(3, (i) => ev({ at: i * S, type: 'system_event', subtype: 'rate_limit_hit', statusCode: 429, interactions: null })), says: ['3 requests refused'], quiet: () => [ev({ statusCode: 200 })] },
  {
    d: D.trafficSpike,
    fires: () => [...times(40, (i) => ev({ at: i * MIN, sessionId: `s${i}` })), ...times(60, (i) => ev({ at: 41 * MIN + i * 500_000, sessionId: `b${i}` }))],
    says: [/events for this tenant in the last minute/],
    quiet: () => times(40, (i) => ev({ at: i * MIN, sessionId: `s${i}` })),
  },
  {
    d: D.latencyDegradation,
    fires: () => [...times(20, (i) => ev({ at: i * S, processingMs: 15 + (i % 10) })), ev({ at: 30 * S, processingMs: 2000 })],
    says: ['server processing took 2,000 ms'],
    quiet: () => [...times(20, (i) => ev({ at: i * S, processingMs: 15 + (i % 10) })), ev({ at: 30 * S, processingMs: 22 })],
  },
  { d: D.dataQuality, fires: () => [ev({ ingestUs: T0 - 10 * MIN })], says: ['10 min after it was received'], quiet: () => [ev({ ingestUs: T0 + 100_000, sessionSeq: 3 })] },
];

describe('fraud detectors', () => {
  it('the catalogue: 20+ detectors over the four families, unique ids, declared features, defaults and a weight each', () => {
    expect(DETECTORS.length).toBeGreaterThanOrEqual(20);
    expect(new Set(DETECTORS.map((d) => d.id)).size).toBe(DETECTORS.length);
    for (const f of DETECTOR_FAMILIES) expect(DETECTORS.filter((d) => d.family === f).length).toBeGreaterThanOrEqual(4);
    for (const d of DETECTORS) {
      expect(d.reads.length).toBeGreaterThan(0);
      expect(Object.keys(d.defaults).length).toBeGreaterThan(0);
      expect(DEFAULT_WEIGHTS[d.id]).toBeGreaterThan(0);
    }
    // every detector has its hand-built case below
    expect(cases.map((c) => c.d.id).sort()).toEqual(DETECTORS.map((d) => d.id).sort());
  });

  describe.each(cases.map((c) => [c.d.id, c] as const))('%s', (_id, c) => {
    it('fires on its pattern, and the explanation names the evidence', () => {
      const r = lastScore(c.d, c.fires());
      expect(r.score).toBeGreaterThanOrEqual(0.5);
      for (const w of c.says) expect(r.explanation).toMatch(typeof w === 'string' ? new RegExp(w.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')) : w);
    });
    it('stays quiet on a near-miss', () => {
      expect(lastScore(c.d, c.quiet()).score).toBeLessThan(0.25);
    });
  });

  it("a tenant's override changes a detector's parameters, weight or enables it on the next event, for that tenant only", () => {
    const engine = createFraudEngine({ detectors: [D.declineBurst] });
    const declines = (tenant: string, n: number) => times(n, (i) => ({ ...pay({ at: i * S, sessionId: `s-${tenant}`, payment: payment({ declined: true }) }), tenant }));
    expect(run(declines('t1', 3), undefined, engine).at(-1)!.detectors[0].score).toBeCloseTo(0.5);
    engine.setOverride('t1', 'decline_burst', { params: { full: 3 } });
    const t1 = run(declines('t1', 1), undefined, engine).at(-1)!; // the 4th decline of t1's session
    expect(t1.detectors[0].score).toBe(1);
    expect(engine.paramsFor('t2', 'decline_burst').full).toBe(5);
    engine.setOverride('t1', 'decline_burst', { weight: 0.1 });
    expect(run(declines('t1', 1), undefined, engine).at(-1)!.score).toBeCloseTo(0.1 * 1, 5);
    engine.setOverride('t1', 'decline_burst', { enabled: false });
    expect(run(declines('t1', 1), undefined, engine).at(-1)!.detectors).toHaveLength(0);
    engine.setOverride('t1', 'decline_burst', null);
    expect(() => engine.setOverride('t1', 'nope', { enabled: false })).toThrow(/unknown detector/);
  });
});

describe('no_browsing and rare_country: the evidence they need', () => {
  it('no_browsing gives no verdict when earlier events of the session were not seen (late, lost or refused): what it browsed is unknown', () => {
    // sequence 3 with only this event seen: events 0–2 may have been product pages
    expect(lastScore(D.noBrowsing, [ev({ subtype: 'add_to_cart', sessionSeq: 3 })]).score).toBe(0);
    // every earlier event seen, none of them browsing
    expect(lastScore(D.noBrowsing, [ev({ subtype: 'login', sessionSeq: 0 }), ev({ at: S, subtype: 'add_to_cart', sessionSeq: 1 })]).score).toBe(0.5);
    // a page without a sequence number: no verdict either
    expect(lastScore(D.noBrowsing, [ev({ subtype: 'add_to_cart', sessionSeq: null })]).score).toBe(0);
    // refunds are not judged (customer service issues them outside any shopping session)
    expect(lastScore(D.noBrowsing, [ev({ type: 'transaction', subtype: 'refund', sessionSeq: 0 })]).score).toBe(0);
  });

  it("rare_country: a minor declared market is not a stranger, a merchant without declared markets is judged on its traffic mix alone, and a tenant's first sessions give no share", () => {
    const home = (n: number, markets: string[] | null) => times(n, (i) => ev({ at: i * S, sessionId: `s${i}`, userId: `u${i}`, markets }));
    const visit = (country: string, markets: string[] | null) => ev({ at: 2 * MIN, subtype: 'login', sessionId: 'x', userId: 'v', country, city: 'c', markets });
    // inside the declared markets but never seen in the traffic: a minor market, not judged by default…
    expect(lastScore(D.rareCountry, [...home(60, ['DE', 'NG']), visit('NG', ['DE', 'NG'])]).score).toBe(0);
    // …unless the tenant's rule weighs rarity there too (insideFactor)
    const engine = createFraudEngine({ detectors: [D.rareCountry] });
    engine.setOverride('t1', 'rare_country', { params: { insideFactor: 0.3 } });
    expect(run([...home(60, ['DE', 'NG']), visit('NG', ['DE', 'NG'])], undefined, engine).at(-1)!.detectors[0].score).toBeCloseTo(0.3);
    // no declared markets: the traffic mix alone
    expect(lastScore(D.rareCountry, [...home(60, null), visit('NG', null)]).score).toBe(1);
    // too few sessions to know the mix, inside the markets: nothing
    expect(lastScore(D.rareCountry, [...home(10, ['DE', 'NG']), visit('NG', ['DE', 'NG'])]).score).toBe(0);
    // outside the declared markets, whatever the traffic: at least the `outside` score
    expect(lastScore(D.rareCountry, [...home(10, ['DE']), visit('NG', ['DE'])]).score).toBeCloseTo(0.6);
    // the visitor's own session does not make its country familiar: its 30 events still score
    const own = times(30, (i) => ev({ at: 2 * MIN + i * S, subtype: 'page_view', sessionId: 'x', userId: 'v', country: 'NG', city: 'Lagos', markets: null }));
    expect(lastScore(D.rareCountry, [...home(60, null), ...own]).score).toBe(1);
  });
});
