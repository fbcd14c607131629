// Behavioural detectors: session hijack, bot signatures, no human input, machine timing, account
// takeover, login bursts, many accounts on one device or address, synthetic identities.
import { adaptiveBar, DAY_US, defineDetector, fmt, HOUR_US, ramp, usual } from '../detector';
import { ORDER_SUBTYPES } from './financial';

export const sessionHijack = defineDetector({
  id: 'session_hijack',
  family: 'behavioural',
  description: 'the device fingerprint or country changes in the middle of a session (a session token replayed elsewhere)',
  reads: ['session.firstDevice', 'session.firstCountry', 'event.device', 'event.country'],
  defaults: { device: 0.8, country: 0.6 },
  score(e, f, _b, p) {
    const s = f.context.session;
    if (!s || (!s.deviceChanged && !s.countryChanged)) return null;
    const parts: string[] = [];
    if (s.deviceChanged) parts.push(`device changed mid-session (started on ${s.firstDevice?.slice(0, 10) ?? '?'}…, now ${e.device?.slice(0, 10) ?? '?'}…)`);
    if (s.countryChanged) parts.push(`country changed mid-session (${s.firstCountry} → ${e.country ?? '?'})`);
    return {
      score: Math.min(1, (s.deviceChanged ? p.device : 0) + (s.countryChanged ? p.country : 0)),
      evidence: { device_changed: s.deviceChanged, country_changed: s.countryChanged, session_events: s.events },
      explanation: `${parts.join('; ')} after ${s.events - 1} events`,
    };
  },
});

const BOT_BROWSER = /headless|python|curl|wget|scrapy|phantom|selenium|puppeteer|bot|spider|crawl/i;

export const botUserAgent = defineDetector({
  id: 'bot_user_agent',
  family: 'behavioural',
  description: 'a known bot, a suspicious or headless user agent, or a Tor exit node',
  reads: ['event.security_flags', 'event.browser', 'event.device_type'],
  defaults: { knownBot: 0.95, suspicious: 0.85, headless: 0.85, tor: 0.5 },
  score(e, _f, _b, p) {
    const s = e.security;
    const parts: [number, string][] = [];
    if (s.knownBot) parts.push([p.knownBot, 'flagged as a known bot']);
    if (s.suspiciousUa) parts.push([p.suspicious, 'suspicious user agent']);
    if ((e.browser && BOT_BROWSER.test(e.browser)) || e.deviceType === 'bot') parts.push([p.headless, `automation client "${e.browser ?? e.deviceType}"`]);
    if (s.tor) parts.push([p.tor, 'from a Tor exit node']);
    if (parts.length === 0) return null;
    // noisy-OR of the signs: two independent signs are stronger than either
    const score = 1 - parts.reduce((q, [x]) => q * (1 - x), 1);
    return { score, evidence: { known_bot: s.knownBot, suspicious_ua: s.suspiciousUa, tor: s.tor, browser: e.browser }, explanation: parts.map((x) => x[1]).join('; ') };
  },
});

export const noHumanInput = defineDetector({
  id: 'no_human_input',
  family: 'behavioural',
  description: 'page after page with no click, scroll, hover or typing: a script, not a person',
  reads: ['session.pages', 'session.silentPages'],
  defaults: { minPages: 4, full: 8, share: 0.85 },
  score(_e, f, _b, p) {
    const s = f.context.session;
    if (!s || s.pages < p.minPages) return null;
    const share = s.silentPages / s.pages;
    if (share < p.share) return null;
    return {
      score: ramp(s.silentPages, p.minPages - 1, p.full),
      evidence: { pages: s.pages, silent_pages: s.silentPages },
      explanation: `${s.silentPages} of ${s.pages} pages in this session had no human interaction at all (people interact on ~85% of pages)`,
    };
  },
});

export const botTiming = defineDetector({
  id: 'bot_timing',
  family: 'behavioural',
  description: 'a session firing events faster than people browse, or at machine-regular intervals',
  reads: ['session.events', 'session.gap_mean', 'session.gap_cv', 'baseline.session_events_per_min'],
  defaults: { minEvents: 10, perMinute: 12, full: 3, cv: 0.2 },
  score(e, f, b, p) {
    const s = f.context.session;
    if (!s || s.events < p.minEvents) return null;
    const minutes = Math.max((s.lastUs - s.firstUs) / 60e6, 0.5);
    const rate = s.events / minutes;
    const stats = b.stats(e.tenant, 'session_events_per_min');
    const bar = adaptiveBar(stats, p.perMinute, 6, 1);
    const cv = s.gapN >= p.minEvents - 1 && s.gapMean > 0 ? Math.sqrt(s.gapM2 / s.gapN) / s.gapMean : null;
    const regular = cv === null ? 0 : ramp(p.cv - cv, 0, p.cv);
    const fast = ramp(rate, bar, bar * p.full);
    return {
      score: Math.max(fast, regular),
      evidence: { events: s.events, per_minute: Math.round(rate * 10) / 10, gap_cv: cv === null ? null : Math.round(cv * 100) / 100 },
      explanation: `${s.events} events in ${fmt(Math.round(minutes * 10) / 10)} min (${fmt(Math.round(rate * 10) / 10)}/min${cv === null ? '' : `, gap variation ${fmt(Math.round(cv * 100) / 100)}`}); ${usual(stats)}`,
    };
  },
  observe: (_e, f) => {
    const s = f.context.session;
    return s && s.events >= 3 ? [{ metric: 'session_events_per_min', value: s.events / Math.max((s.lastUs - s.firstUs) / 60e6, 0.5) }] : [];
  },
});

export const accountTakeover = defineDetector({
  id: 'account_takeover',
  family: 'behavioural',
  description: 'password and/or address changed in a session that then orders (worse from a device new to the account, after several logins)',
  reads: ['session.passwordChangeUs', 'session.addressChangeUs', 'session.logins', 'user.knownDevice', 'event.subtype'],
  defaults: { both: 0.6, bothThenOrder: 0.95, one: 0.2, oneThenOrder: 0.4, newDevice: 0.2, withinMin: 60 },
  score(e, f, _b, p) {
    const s = f.context.session;
    if (!s || (s.passwordChangeUs === null && s.addressChangeUs === null)) return null;
    const changes = [s.passwordChangeUs !== null ? 'password' : null, s.addressChangeUs !== null ? 'shipping address' : null].filter((x): x is string => x !== null);
    const lastChange = Math.max(s.passwordChangeUs ?? -Infinity, s.addressChangeUs ?? -Infinity);
    const ordering = e.subtype !== null && ORDER_SUBTYPES.has(e.subtype) && e.timeUs - lastChange <= p.withinMin * 60e6;
    let score = changes.length === 2 ? (ordering ? p.bothThenOrder : p.both) : ordering ? p.oneThenOrder : p.one;
    const user = f.context.user;
    const newDevice = user?.knownDevice === false && user.devicesSeen > 1;
    if (newDevice) score += p.newDevice;
    return {
      score: Math.min(1, score),
      evidence: { changed: changes.join('+'), ordering, logins: s.logins, new_device: newDevice },
      explanation: `${changes.join(' and ')} changed in this session${ordering ? `, then a ${e.subtype} ${fmt(Math.round((e.timeUs - lastChange) / 6e6) / 10)} min later` : ''}${s.logins > 1 ? ` after ${s.logins} logins` : ''}${newDevice ? ', from a device new to this account' : ''}`,
    };
  },
});

export const loginBurst = defineDetector({
  id: 'login_burst',
  family: 'behavioural',
  description: 'repeated logins in one session (credential stuffing, password guessing)',
  reads: ['session.logins'],
  defaults: { floor: 1, full: 5 },
  score(_e, f, _b, p) {
    const s = f.context.session;
    if (!s || s.logins <= p.floor) return null;
    return { score: ramp(s.logins, p.floor, p.full), evidence: { logins: s.logins }, explanation: `${s.logins} logins in this session (people log in once)` };
  },
});

export const coordinatedAccounts = defineDetector({
  id: 'coordinated_accounts',
  family: 'behavioural',
  description: "several accounts on one device, paying with one card, or shipping to one address within 24 h (a ring), above the tenant's usual",
  reads: ['device.distinct.users', 'card.distinct.users', 'shared.address_accounts', 'baseline.device_accounts'],
  defaults: { floor: 1, k: 1, span: 3 },
  score(e, f, b, p) {
    const onDevice = f.device?.distinct.users ?? 0;
    const onCard = f.card?.distinct.users ?? 0;
    const atAddress = f.context.addressAccounts;
    if (onDevice <= 1 && onCard <= 1 && atAddress <= 1) return null;
    const stats = b.stats(e.tenant, 'device_accounts');
    const bar = adaptiveBar(stats, p.floor, p.k);
    // independent links: each shared device, card or address is a witness of its own
    const links = [onDevice, onCard, atAddress].map((n) => ramp(n, bar, bar + p.span));
    const score = 1 - links.reduce((q, x) => q * (1 - x), 1);
    return {
      score,
      evidence: { accounts_on_device: onDevice, accounts_on_card: onCard, accounts_at_address: atAddress, bar: Math.round(bar) },
      explanation: `in 24 h: ${onDevice} accounts on this device, ${onCard} on this card, ${atAddress} shipping to this address; ${usual(stats)}`,
    };
  },
  observe: (_e, f) => (f.device ? [{ metric: 'device_accounts', value: f.device.distinct.users ?? 0 }] : []),
});

export const accountRing = defineDetector({
  id: 'account_ring',
  family: 'behavioural',
  description: 'the account belongs to a large component of the account graph (accounts joined through shared devices, cards and addresses within 24 h), or one that keeps gaining brand-new accounts',
  reads: ['shared.ring_accounts', 'shared.ring_shared', 'shared.ring_new_accounts'],
  defaults: { floor: 3, full: 10, newFloor: 2, newFull: 6 },
  score(_e, f, _b, p) {
    const r = f.context.ring;
    if (r.accounts <= p.floor && r.newAccounts <= p.newFloor) return null;
    const size = ramp(r.accounts, p.floor, p.full);
    const growth = ramp(r.newAccounts, p.newFloor, p.newFull);
    const score = 1 - (1 - size) * (1 - growth);
    const atLeast = r.capped ? 'at least ' : '';
    return {
      score,
      evidence: { ring_accounts: r.accounts, ring_shared: r.shared, ring_new_accounts: r.newAccounts, capped: r.capped },
      explanation: `linked to ${atLeast}${r.accounts - 1} other accounts through ${atLeast}${r.shared} shared devices, cards or addresses in 24 h; ${r.newAccounts} of the ring's accounts are under an hour old`,
    };
  },
});

export const syntheticIdentity = defineDetector({
  id: 'synthetic_identity',
  family: 'behavioural',
  description: 'a brand-new, unverified account with a suspiciously clean file (top credit rating) paying with PO-box or foreign billing, or buy-now-pay-later',
  reads: ['event.profile', 'session.profile', 'event.payment'],
  defaults: { maxAgeHours: 24, young: 0.3, unverified: 0.15, cleanFile: 0.2, poBox: 0.25, foreignBilling: 0.15, bnpl: 0.1, oldFactor: 0.3 },
  score(e, f, _b, p) {
    const pr = e.profile ?? f.context.session?.profile ?? null;
    if (!pr) return null;
    const ageH = pr.registrationUs === null ? null : (e.timeUs - pr.registrationUs) / HOUR_US;
    const young = ageH !== null && ageH < p.maxAgeHours;
    const parts: [number, string][] = [];
    if (young) parts.push([p.young, `account ${fmt(Math.max(0, Math.round(ageH * 10) / 10))} h old`]);
    if (pr.verification === 'unverified') parts.push([p.unverified, 'unverified']);
    if (young && pr.creditRating === 'A') parts.push([p.cleanFile, 'top credit rating on a day-old file']);
    const pay = e.payment;
    if (pay?.billingAddressType === 'po_box') parts.push([p.poBox, 'PO-box billing']);
    if (pay?.billingCountry && e.country && pay.billingCountry !== e.country) parts.push([p.foreignBilling, `billing in ${pay.billingCountry}`]);
    if (pay?.methodType === 'bnpl') parts.push([p.bnpl, 'buy-now-pay-later']);
    if (parts.length === 0) return null;
    const sum = parts.reduce((x, [w]) => x + w, 0);
    return {
      score: Math.min(1, young ? sum : sum * p.oldFactor),
      evidence: { age_hours: ageH === null ? null : Math.round(ageH * 10) / 10, verification: pr.verification, credit_rating: pr.creditRating, billing_type: pay?.billingAddressType ?? null, method: pay?.methodType ?? null },
      explanation: parts.map((x) => x[1]).join(', '),
    };
  },
});

/** Accounts younger than this count as new for the promo detector too. */
export const NEW_ACCOUNT_US = DAY_US;

/** Events that put goods in a cart or order them. */
const CART_SUBTYPES: ReadonlySet<string> = new Set(['add_to_cart', ...ORDER_SUBTYPES]);

export const noBrowsing = defineDetector({
  id: 'no_browsing',
  family: 'behavioural',
  description: 'goods put in a cart or ordered in a session that looked at no product, searched nothing and browsed no category first: a script or a replayed API call, not a shopper',
  reads: ['session.browsed', 'session.events', 'event.session_sequence', 'event.subtype'],
  defaults: { cart: 0.5, order: 0.7 },
  score(e, f, _b, p) {
    const s = f.context.session;
    if (!s || s.browsed > 0 || e.subtype === null || !CART_SUBTYPES.has(e.subtype)) return null;
    // earlier events of the session not seen (late, lost, refused at ingestion, or older than the
    // session memory): what it browsed is unknown, so no verdict
    if (e.sessionSeq === null || e.sessionSeq > s.events - 1) return null;
    const order = ORDER_SUBTYPES.has(e.subtype);
    return {
      score: order ? p.order : p.cart,
      evidence: { subtype: e.subtype, session_events: s.events, browsed: 0 },
      explanation: `${e.subtype} as event ${fmt(e.sessionSeq + 1)} of a session that viewed no product, searched nothing and browsed no category before`,
    };
  },
});

export const rareCountry = defineDetector({
  id: 'rare_country',
  family: 'behavioural',
  description: "a visit from outside the merchant's declared markets, or from a country this tenant's traffic almost never comes from (its share of the tenant's recent sessions, the visit's own session left out)",
  reads: ['event.geolocation.country', 'event.tenant_metadata.geographic_markets', 'tenant.country_mix'],
  defaults: { outside: 0.6, share: 0.02, minSessions: 50, insideFactor: 0 },
  score(e, f, _b, p) {
    const m = f.context.countryMix;
    if (!e.country || !m) return null;
    const outside = e.markets !== null && !e.markets.includes(e.country);
    const known = m.sessions >= p.minSessions;
    const rarity = known && m.share < p.share ? 1 - m.share / p.share : 0;
    // inside its declared markets, a country the traffic rarely shows is a minor market, not a stranger
    const score = outside ? p.outside + (1 - p.outside) * rarity : e.markets !== null ? p.insideFactor * rarity : rarity;
    if (!(score > 0)) return null;
    const pct = Math.round(m.share * 1000) / 10;
    const parts = [
      ...(outside ? [`visit from ${e.country}, outside the merchant's markets (${e.markets!.join(', ')})`] : [`visit from ${e.country}`]),
      ...(known ? [`${fmt(pct)}% of this tenant's recent sessions (${fmt(m.sessions)} counted) came from there`] : []),
    ];
    return {
      score: Math.min(1, score),
      evidence: { country: e.country, outside_markets: outside, share: known ? Math.round(m.share * 10_000) / 10_000 : null, sessions: m.sessions },
      explanation: parts.join('; '),
    };
  },
});
