// The fraud engine's short memory: what detectors need that the feature store's per-entity windows
// do not hold — a session's sequence (declines, logins, password/address changes, silent pages,
// timing, device changes), a user's previous location and known devices, and which accounts share
// a shipping address or farm one promotion from one device. Kept per tenant (keys start with it),
// in event time, bounded: idle entries expire (`sessionTtlUs`, `ttlUs`) and past `maxEntries` per
// map the oldest tenth is dropped; the account graph (graph.ts) likewise. Rebuilt after a restart
// by replaying recent events (docs/fraud.md, "In the speed layer").
import { createIncrementalSweep, type IncrementalSweep } from '../../core/sweep';
import { DAY_US, HOUR_US } from './detector';
import { createAccountGraph, type AccountGraphOptions, type RingView } from './graph';
import type { FraudEvent } from '../../core/fraud-signals';

export interface SessionMemory {
  events: number;
  firstUs: number;
  lastUs: number;
  /** Gaps between consecutive events (seconds): count, mean and M2 (Welford) — bot regularity. */
  gapN: number;
  gapMean: number;
  gapM2: number;
  /** Events on a page, and those with no user interaction at all. */
  pages: number;
  silentPages: number;
  payments: number;
  declines: number;
  /** Distinct cards tried in the session (at most 32 kept). */
  cards: string[];
  logins: number;
  passwordChangeUs: number | null;
  addressChangeUs: number | null;
  rateLimitHits: number;
  firstDevice: string | null;
  firstCountry: string | null;
  /** Devices / countries seen after the session's first one differed. */
  deviceChanged: boolean;
  countryChanged: boolean;
  /** The latest user profile the session carried (purchases do not carry one). */
  profile: FraudEvent['profile'];
  /** Amount of the largest order event of the session. */
  maxAmount: number;
  /** The order's shipping (checkout and purchase carry it, payment attempts do not). */
  shipping: FraudEvent['shipping'];
  /** Most accounts seen at the session's shipping address. */
  addressAccounts: number;
  /** Browsing events (product pages, searches, category pages, recommendation clicks) seen in the session. */
  browsed: number;
  /** The country the session was counted under in its tenant's country mix (its first event's), and the weight it added. */
  mixCountry: string | null;
  mixWeight: number;
}

/** Where an account was seen, by city: its last event there. */
export interface SeenAt {
  lat: number | null;
  lon: number | null;
  country: string | null;
  city: string | null;
  us: number;
}

export interface UserMemory {
  /** The other places (cities) the account was seen at recently, before this event, latest last (at most 4). */
  elsewhere: SeenAt[];
  /** Whether this event's device had been seen for the user before (null: no device). */
  knownDevice: boolean | null;
  devicesSeen: number;
  purchases: number;
  refunds: number;
  refundAmount: number;
}

export interface FraudContext {
  session: SessionMemory | null;
  user: UserMemory | null;
  /** Distinct accounts that shipped to this event's address in the last day (this one included). */
  addressAccounts: number;
  /** Distinct accounts that used this event's promotion from its device in the last day. */
  promoDeviceAccounts: number;
  /** Distinct accounts that used this event's promotion shipping to its postal code in the last day. */
  promoPostalAccounts: number;
  /** The account's component in the account graph (speed-layer/fraud/graph.ts). */
  ring: RingView;
  /** Where this tenant's visits come from: the share of its recent sessions from the event's country (the event's own session left out). */
  countryMix: CountryMix | null;
}

/** The tenant's recent sessions from one country, against all of its recent sessions (decayed, event time). */
export interface CountryMix {
  country: string;
  /** Share in [0, 1] of the tenant's recent sessions that came from this country (the event's own session left out). */
  share: number;
  /** The tenant's sessions counted (not decayed): how much the share can be trusted. */
  sessions: number;
}

export interface MemoryOptions {
  /** Entries per map (sessions, users, shared keys). Default 200,000. */
  maxEntries?: number;
  /** A session idle this long (event time) is forgotten. Default 1 h. */
  sessionTtlUs?: number;
  /** Users and shared keys idle this long are forgotten. Default 25 h. */
  ttlUs?: number;
  /** The idle sweeps examine every entry at least once per this many updates (a few per update). Default 16,384. */
  sweepEvery?: number;
  /** The account graph's bounds. */
  graph?: AccountGraphOptions;
  /** Half-life of a session's weight in its tenant's country mix (event time). Default 24 h. */
  countryHalfLifeUs?: number;
}

export interface FraudMemory {
  /** Folds the event in and returns what detectors see (session/user state after it, the user's previous location before it). */
  update(e: FraudEvent): FraudContext;
  readonly size: number;
}

interface UserState {
  places: SeenAt[];
  devices: string[];
  purchases: number;
  refunds: number;
  refundAmount: number;
  lastUs: number;
}

interface Shared {
  accounts: string[];
  lastUs: number;
}

const MAX_SESSION_CARDS = 32;
const MAX_USER_DEVICES = 8;
const MAX_USER_PLACES = 4;
const MAX_SHARED_ACCOUNTS = 32;
const ORDER_SUBTYPES = new Set(['checkout', 'payment_attempt', 'purchase']);
/** What a shopper does before putting something in a cart: look at products, search, browse a category. */
export const BROWSE_SUBTYPES: ReadonlySet<string> = new Set(['page_view', 'product_view', 'search', 'category_view', 'recommendation_click']);
/** Countries kept per tenant in its country mix (the least seen dropped beyond). */
const MAX_MIX_COUNTRIES = 256;

/** Per tenant: sessions by country, each weighted 2^(t / half-life) so older ones fade (renormalized before overflow). */
interface Mix {
  byCountry: Map<string, number>;
  total: number;
  sessions: number;
  /** Event time the weights are relative to. */
  originUs: number;
}

/**
 * A Map bounded by event-time idleness and size (insertion order approximates age: entries are not
 * reordered on touch). Idle entries are dropped by a sweep spread over the updates (core/sweep.ts).
 */
class Bounded<V extends { lastUs: number }> {
  readonly map = new Map<string, V>();
  private nowUs = -Infinity;
  private readonly idle: IncrementalSweep;
  constructor(
    private readonly max: number,
    ttlUs: number,
    sweepEvery: number,
  ) {
    this.idle = createIncrementalSweep({
      items: () => this.map.entries(),
      size: () => this.map.size,
      every: sweepEvery,
      visit: ([k, v]) => {
        if (this.nowUs - v.lastUs > ttlUs) this.map.delete(k);
      },
    });
  }
  get(k: string): V | undefined {
    return this.map.get(k);
  }
  set(k: string, v: V): void {
    if (this.map.size >= this.max) {
      let drop = Math.ceil(this.max / 10);
      for (const key of this.map.keys()) {
        if (drop-- <= 0) break;
        this.map.delete(key);
      }
    }
    this.map.set(k, v);
  }
  /** This update's share of the idle sweep, as of event time nowUs. */
  sweep(nowUs: number): void {
    this.nowUs = nowUs;
    this.idle.step();
  }
}

function addBounded(list: string[], v: string, cap: number): boolean {
  if (list.includes(v)) return false;
  if (list.length >= cap) list.shift();
  list.push(v);
  return true;
}

export function createFraudMemory(opts: MemoryOptions = {}): FraudMemory {
  const max = opts.maxEntries ?? 200_000;
  const sessionTtl = opts.sessionTtlUs ?? HOUR_US;
  const ttl = opts.ttlUs ?? 25 * HOUR_US;
  const sweepEvery = opts.sweepEvery ?? 16_384;
  const sessions = new Bounded<SessionMemory>(max, sessionTtl, sweepEvery);
  const users = new Bounded<UserState>(max, ttl, sweepEvery);
  const shared = new Bounded<Shared>(max, ttl, sweepEvery);
  const graph = createAccountGraph(opts.graph);
  const halfLife = opts.countryHalfLifeUs ?? DAY_US;
  const mixes = new Map<string, Mix>();
  let nowUs = -Infinity;

  /** Adds the account to a shared key and returns how many distinct accounts it has in the last day. */
  function share(key: string, account: string, us: number): number {
    let s = shared.get(key);
    if (!s || us - s.lastUs > DAY_US) shared.set(key, (s = { accounts: [], lastUs: us }));
    addBounded(s.accounts, account, MAX_SHARED_ACCOUNTS);
    if (us > s.lastUs) s.lastUs = us;
    return s.accounts.length;
  }

  /**
   * The tenant's country mix as this event sees it: the session is counted once, under its first
   * country, when first seen; the share leaves the event's own session out (an attacker's session
   * does not make its own country familiar).
   */
  function countryMix(e: FraudEvent, t: string, s: SessionMemory | null): CountryMix | null {
    let m = mixes.get(t);
    if (!m) mixes.set(t, (m = { byCountry: new Map(), total: 0, sessions: 0, originUs: nowUs }));
    if (s && e.country && s.mixCountry === null) {
      // weights grow with event time instead of old ones shrinking: a share is a ratio, so the same
      let w = 2 ** ((nowUs - m.originUs) / halfLife);
      if (w > 1e12) {
        for (const [k, v] of m.byCountry) m.byCountry.set(k, v / w);
        m.total /= w;
        m.originUs = nowUs;
        w = 1;
      }
      if (!m.byCountry.has(e.country) && m.byCountry.size >= MAX_MIX_COUNTRIES) {
        let least: string | undefined;
        for (const [k, v] of m.byCountry) if (least === undefined || v < m.byCountry.get(least)!) least = k;
        m.total -= m.byCountry.get(least!)!;
        m.byCountry.delete(least!);
      }
      m.byCountry.set(e.country, (m.byCountry.get(e.country) ?? 0) + w);
      m.total += w;
      m.sessions++;
      s.mixCountry = e.country;
      s.mixWeight = w;
    }
    if (!e.country) return null;
    const own = s && s.mixCountry !== null ? s.mixWeight : 0;
    const mine = Math.max(0, (m.byCountry.get(e.country) ?? 0) - (s?.mixCountry === e.country ? own : 0));
    const total = m.total - own;
    const sessions = m.sessions - (own > 0 ? 1 : 0);
    return { country: e.country, share: total > 0 ? Math.min(1, mine / total) : 0, sessions };
  }

  function updateSession(e: FraudEvent, t: string): SessionMemory | null {
    if (!e.sessionId) return null;
    const key = `${t}\u0000${e.sessionId}`;
    let s = sessions.get(key);
    if (!s) {
      s = {
        events: 0,
        firstUs: e.timeUs,
        lastUs: e.timeUs,
        gapN: 0,
        gapMean: 0,
        gapM2: 0,
        pages: 0,
        silentPages: 0,
        payments: 0,
        declines: 0,
        cards: [],
        logins: 0,
        passwordChangeUs: null,
        addressChangeUs: null,
        rateLimitHits: 0,
        firstDevice: e.device,
        firstCountry: e.country,
        deviceChanged: false,
        countryChanged: false,
        profile: null,
        maxAmount: 0,
        shipping: null,
        addressAccounts: 0,
        browsed: 0,
        mixCountry: null,
        mixWeight: 0,
      };
      sessions.set(key, s);
    } else {
      // late events (event time before the last) give no gap
      const gap = (e.timeUs - s.lastUs) / 1e6;
      if (gap >= 0) {
        s.gapN++;
        const d = gap - s.gapMean;
        s.gapMean += d / s.gapN;
        s.gapM2 += d * (gap - s.gapMean);
      }
    }
    s.events++;
    if (e.timeUs > s.lastUs) s.lastUs = e.timeUs;
    if (e.timeUs < s.firstUs) s.firstUs = e.timeUs;
    if (e.interactions !== null) {
      s.pages++;
      if (e.interactions === 0) s.silentPages++;
    }
    if (e.payment && e.subtype === 'payment_attempt') {
      s.payments++;
      if (e.payment.declined) s.declines++;
    }
    if (e.card) addBounded(s.cards, e.card, MAX_SESSION_CARDS);
    if (e.subtype !== null && BROWSE_SUBTYPES.has(e.subtype)) s.browsed++;
    if (e.subtype === 'login') s.logins++;
    if (e.subtype === 'password_change') s.passwordChangeUs = e.timeUs;
    if (e.subtype === 'address_change') s.addressChangeUs = e.timeUs;
    if (e.subtype === 'rate_limit_hit' || e.statusCode === 429) s.rateLimitHits++;
    if (e.device && s.firstDevice && e.device !== s.firstDevice) s.deviceChanged = true;
    if (e.country && s.firstCountry && e.country !== s.firstCountry) s.countryChanged = true;
    if (!s.firstDevice) s.firstDevice = e.device;
    if (!s.firstCountry) s.firstCountry = e.country;
    if (e.profile) s.profile = e.profile;
    if (e.shipping) s.shipping = e.shipping;
    if (e.amount !== null && e.subtype !== null && ORDER_SUBTYPES.has(e.subtype) && e.amount > s.maxAmount) s.maxAmount = e.amount;
    return s;
  }

  function updateUser(e: FraudEvent, t: string, account: string): UserMemory {
    const key = `${t}\u0000${account}`;
    let u = users.get(key);
    const fresh = !u;
    if (!u) {
      u = { places: [], devices: [], purchases: 0, refunds: 0, refundAmount: 0, lastUs: e.timeUs };
      users.set(key, u);
    }
    const here = `${e.country ?? ''}/${e.city ?? ''}`;
    const elsewhere = u.places.filter((p) => `${p.country ?? ''}/${p.city ?? ''}` !== here);
    const knownDevice = e.device === null ? null : fresh ? false : u.devices.includes(e.device);
    if (e.device) addBounded(u.devices, e.device, MAX_USER_DEVICES);
    if (e.country || e.lat !== null) {
      // one entry per place, its latest time; the few most recent places kept
      const i = u.places.findIndex((p) => `${p.country ?? ''}/${p.city ?? ''}` === here);
      if (i >= 0 && u.places[i].us > e.timeUs) {
        // a late event from a place seen since: nothing new
      } else {
        if (i >= 0) u.places.splice(i, 1);
        u.places.push({ lat: e.lat, lon: e.lon, country: e.country, city: e.city, us: e.timeUs });
        if (u.places.length > MAX_USER_PLACES) u.places.shift();
      }
    }
    if (e.subtype === 'purchase') u.purchases++;
    if (e.subtype === 'refund') {
      u.refunds++;
      u.refundAmount += e.amount ?? 0;
    }
    if (e.timeUs > u.lastUs) u.lastUs = e.timeUs;
    return { elsewhere, knownDevice, devicesSeen: u.devices.length, purchases: u.purchases, refunds: u.refunds, refundAmount: u.refundAmount };
  }

  return {
    update(e) {
      if (e.timeUs > nowUs) nowUs = e.timeUs;
      const t = e.tenant;
      const account = e.userId ?? e.anonymousId;
      const session = updateSession(e, t);
      const user = account ? updateUser(e, t, account) : null;
      let addressAccounts = 0;
      let promoDeviceAccounts = 0;
      let promoPostalAccounts = 0;
      if (account && e.shipping?.addressKey) addressAccounts = share(`${t}\u0000a\u0000${e.shipping.addressKey}`, account, e.timeUs);
      if (session && addressAccounts > session.addressAccounts) session.addressAccounts = addressAccounts;
      if (account) {
        for (const promo of e.discountIds) {
          if (e.device) promoDeviceAccounts = Math.max(promoDeviceAccounts, share(`${t}\u0000p\u0000${promo}\u0000${e.device}`, account, e.timeUs));
          if (e.shipping?.postalCode) promoPostalAccounts = Math.max(promoPostalAccounts, share(`${t}\u0000z\u0000${promo}\u0000${e.shipping.country ?? ''}\u0000${e.shipping.postalCode}`, account, e.timeUs));
        }
      }
      sessions.sweep(nowUs);
      users.sweep(nowUs);
      shared.sweep(nowUs);
      const ring = graph.update(e);
      const mix = countryMix(e, t, session);
      return { session, user, addressAccounts, promoDeviceAccounts, promoPostalAccounts, ring, countryMix: mix };
    },
    get size() {
      return sessions.map.size + users.map.size + shared.map.size + graph.size + mixes.size;
    },
  };
}
