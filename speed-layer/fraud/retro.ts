// Retroactive flagging for impossible travel. When the account is seen somewhere it could not have
// reached from where it was seen last, either end of that pair may be the impostor: the session at
// the other end — typically the few events just before the jump (a login, a page view), which
// looked like anybody's when they arrived — is implicated too. The engine remembers, per tenant and
// account (tokenized ids only), the account's last few located events; when `impossible_travel`
// fires on an event whose verdict is at least `minScore`, the events of the latest session at each
// other place are implicated, each only if it makes an impossible pair with the trigger itself
// (same test as the detector: ≥ `minKm` apart faster than `maxKmh`, or another country within
// `countryWithinMin` without coordinates), within `lookbackUs` before the trigger, at most
// `maxImplicated` per trigger. Each implication carries the trigger's score; the speed layer turns
// the ones that lift an event over its anomaly threshold into `retroactive: true` anomaly records
// (processor.ts), the evaluation counts them beside the on-arrival verdicts (eval.ts).
//
// Bounds: `perUser` events per account, `maxUsers` accounts (past it the oldest tenth is dropped),
// entries older than `lookbackUs` (event time) forgotten, idle accounts swept.
import { createIncrementalSweep } from '../../core/sweep';
import { fmt, HOUR_US } from './detector';
import { haversineKm } from './detectors/financial';
import type { FraudEvent } from '../../core/fraud-signals';

export interface RetroOptions {
  /** How far before the trigger (event time) an implicated event may be. Default 1 h. */
  lookbackUs?: number;
  /** Located events remembered per account. Default 8. */
  perUser?: number;
  /** Accounts remembered. Default 100,000. */
  maxUsers?: number;
  /** Events implicated by one trigger at most. Default 8. */
  maxImplicated?: number;
  /** The impossible_travel detector's score from which it implicates the other end. Default 0.5. */
  minDetectorScore?: number;
  /** The idle sweep examines every account at least once per this many updates (a few per update). Default 16,384. */
  sweepEvery?: number;
}

/** The impossible_travel detector's parameters the pair test uses (the tenant's). */
export interface TravelParams {
  maxKmh: number;
  minKm: number;
  countryWithinMin: number;
}

export interface Implication {
  /** The implicated (earlier) event. */
  eventId: string;
  timeUs: number;
  /** The event whose impossible travel implicated it. */
  implicatedBy: string;
  triggerUs: number;
  /** The trigger's verdict score: the implicated event's score from now on. */
  score: number;
  /** The event's best score before (its own on arrival, or an earlier implication). */
  previousScore: number;
  explanation: string;
  evidence: { km: number | null; minutes: number; kmh: number | null; from: string; to: string };
}

interface Remembered {
  eventId: string;
  us: number;
  place: string;
  lat: number | null;
  lon: number | null;
  country: string | null;
  city: string | null;
  session: string | null;
  subtype: string | null;
  /** Best score so far: its own verdict's, raised by implications. */
  score: number;
}

interface Account {
  events: Remembered[];
  lastUs: number;
}

export interface RetroTracker {
  /** Remembers a scored (or replayed) event of an account; `score` its verdict's. */
  remember(e: FraudEvent, score: number): void;
  /** The earlier events the trigger implicates (call after remember(trigger)). */
  implicate(e: FraudEvent, score: number, detectorScore: number, p: TravelParams): Implication[];
  /** Accounts and events held. */
  readonly size: { accounts: number; events: number };
}

const placeOf = (country: string | null, city: string | null) => `${country ?? ''}/${city ?? ''}`;
const label = (country: string | null, city: string | null) => (city ? `${city}, ${country ?? '?'}` : (country ?? '?'));
const hhmm = (us: number) => new Date(us / 1000).toISOString().slice(11, 16);

export function createRetroTracker(opts: RetroOptions = {}): RetroTracker {
  const lookbackUs = opts.lookbackUs ?? HOUR_US;
  const perUser = opts.perUser ?? 8;
  const maxUsers = opts.maxUsers ?? 100_000;
  const maxImplicated = opts.maxImplicated ?? 8;
  const minDetectorScore = opts.minDetectorScore ?? 0.5;
  const sweepEvery = opts.sweepEvery ?? 16_384;
  const accounts = new Map<string, Account>();
  let events = 0;
  let nowUs = -Infinity;

  const keyOf = (e: FraudEvent): string | null => {
    const account = e.userId ?? e.anonymousId;
    return account ? `${e.tenant}\u0000${account}` : null;
  };

  function drop(key: string): void {
    const a = accounts.get(key);
    if (!a) return;
    events -= a.events.length;
    accounts.delete(key);
  }

  /** Accounts idle past the look-back, dropped a few examined per event (core/sweep.ts). */
  const idle = createIncrementalSweep({
    items: () => accounts.entries(),
    size: () => accounts.size,
    every: sweepEvery,
    visit: ([k, a]) => {
      if (nowUs - a.lastUs > lookbackUs) drop(k);
    },
  });

  return {
    remember(e, score) {
      if (!e.country && (e.lat === null || e.lon === null)) return;
      const key = keyOf(e);
      if (!key) return;
      if (e.timeUs > nowUs) nowUs = e.timeUs;
      let a = accounts.get(key);
      if (!a) {
        if (accounts.size >= maxUsers) {
          let n = Math.ceil(maxUsers / 10);
          for (const k of accounts.keys()) {
            if (n-- <= 0) break;
            drop(k);
          }
        }
        accounts.set(key, (a = { events: [], lastUs: e.timeUs }));
      }
      // forget what is past the look-back, then the oldest beyond the cap
      while (a.events.length > 0 && (a.events.length >= perUser || e.timeUs - a.events[0].us > lookbackUs)) {
        a.events.shift();
        events--;
      }
      a.events.push({ eventId: e.eventId, us: e.timeUs, place: placeOf(e.country, e.city), lat: e.lat, lon: e.lon, country: e.country, city: e.city, session: e.sessionId, subtype: e.subtype, score });
      events++;
      if (e.timeUs > a.lastUs) a.lastUs = e.timeUs;
      idle.step();
    },
    implicate(e, score, detectorScore, p) {
      if (!(detectorScore >= minDetectorScore)) return [];
      const key = keyOf(e);
      const a = key ? accounts.get(key) : undefined;
      if (!a) return [];
      const here = placeOf(e.country, e.city);
      // the latest session seen at each other place within the look-back: the other end of the pair
      const latest = new Map<string, Remembered>();
      for (const r of a.events) {
        if (r.place === here || r.us > e.timeUs || e.timeUs - r.us > lookbackUs) continue;
        const l = latest.get(r.place);
        if (!l || r.us >= l.us) latest.set(r.place, r);
      }
      const out: Implication[] = [];
      for (let i = a.events.length - 1; i >= 0 && out.length < maxImplicated; i--) {
        const r = a.events[i];
        const l = latest.get(r.place);
        if (!l || r.eventId === e.eventId || r.us > e.timeUs || e.timeUs - r.us > lookbackUs) continue;
        // only the latest session there (an event with no session: only the latest event)
        if (l.session === null ? r !== l : r.session !== l.session) continue;
        if (!(score > r.score)) continue;
        const minutes = Math.max((e.timeUs - r.us) / 60e6, 1 / 60);
        const from = label(r.country, r.city);
        const to = label(e.country, e.city);
        const what = `${r.subtype ?? 'event'} from ${from} at ${hhmm(r.us)} UTC and ${e.subtype ?? 'event'} from ${to} at ${hhmm(e.timeUs)} UTC on the same account`;
        let evidence: Implication['evidence'] | null = null;
        let why = '';
        if (r.lat !== null && r.lon !== null && e.lat !== null && e.lon !== null) {
          const km = haversineKm(r.lat, r.lon, e.lat, e.lon);
          const kmh = km / (minutes / 60);
          if (km >= p.minKm && kmh > p.maxKmh) {
            evidence = { km: Math.round(km), minutes: Math.round(minutes * 10) / 10, kmh: Math.round(kmh), from, to };
            why = `${fmt(Math.round(km))} km in ${fmt(Math.round(minutes * 10) / 10)} min (${fmt(Math.round(kmh))} km/h; an airliner does ${p.maxKmh})`;
          }
        } else if (r.country && e.country && r.country !== e.country && minutes <= p.countryWithinMin) {
          evidence = { km: null, minutes: Math.round(minutes * 10) / 10, kmh: null, from, to };
          why = `two countries ${fmt(Math.round(minutes * 10) / 10)} min apart (no coordinates to measure the distance)`;
        }
        if (!evidence) continue;
        out.push({
          eventId: r.eventId,
          timeUs: r.us,
          implicatedBy: e.eventId,
          triggerUs: e.timeUs,
          score,
          previousScore: r.score,
          explanation: `retroactive, impossible travel: ${what}: ${why}; either end may be the impostor (flagged when ${e.eventId} arrived)`,
          evidence,
        });
        r.score = score;
      }
      return out;
    },
    get size() {
      return { accounts: accounts.size, events };
    },
  };
}
