// The trained model's input: one fixed-order vector per event — every detector's score (0 when it
// said nothing), then the feature store's entity features and a few of the engine's session/account
// memory values (what the detectors saw, before their thresholds). Counts go through log1p so a
// tree's split learned on one tenant mix carries over to busier or quieter tenants; tenant-level
// volumes are left out on purpose (they measure the tenant's size, not the event's risk).
import type { DetectorFeatures } from '../detector';
import { DETECTORS } from '../detectors';
import type { DetectorScore } from '../ensemble';
import { BROWSE_SUBTYPES } from '../memory';
import type { FraudEvent } from '../../../core/fraud-signals';

const log1p = (x: number | null | undefined) => (x === null || x === undefined || !(x > 0) ? 0 : Math.log1p(x));
const clampZ = (z: number | null | undefined) => (z === null || z === undefined || !Number.isFinite(z) ? 0 : Math.max(-10, Math.min(10, z)));

type Extractor = (e: FraudEvent, f: DetectorFeatures) => number;

const ACCOUNT_CHANGES: ReadonlySet<string> = new Set(['password_change', 'address_change', 'account_created']);
const ORDERS: ReadonlySet<string> = new Set(['checkout', 'payment_attempt', 'purchase']);
const is = (e: FraudEvent, set: ReadonlySet<string>) => (e.subtype !== null && set.has(e.subtype) ? 1 : 0);

/** The non-detector features, by name, in vector order. */
const EXTRACTORS: readonly (readonly [string, Extractor])[] = [
  ['event.transaction', (e) => (e.type === 'transaction' ? 1 : 0)],
  ['event.log_amount', (e) => log1p(e.amount)],
  ['event.has_user', (e) => (e.userId ? 1 : 0)],
  // what kind of step the event is: a linear model weighs a signal differently on a login than on an order only through these
  ['event.login', (e) => (e.subtype === 'login' ? 1 : 0)],
  ['event.account_change', (e) => is(e, ACCOUNT_CHANGES)],
  ['event.browse', (e) => is(e, BROWSE_SUBTYPES)],
  ['event.add_to_cart', (e) => (e.subtype === 'add_to_cart' ? 1 : 0)],
  ['event.order', (e) => is(e, ORDERS)],
  ['event.refund', (e) => (e.subtype === 'refund' ? 1 : 0)],
  ['user.w1h.count', (_, f) => log1p(f.user?.w1h.count)],
  ['user.w24h.count', (_, f) => log1p(f.user?.w24h.count)],
  ['user.w24h.log_sum', (_, f) => log1p(f.user?.w24h.sum)],
  ['user.amount.z', (_, f) => clampZ(f.user?.amount.lastZ)],
  ['user.distinct.cards', (_, f) => log1p(f.user?.distinct.cards)],
  ['user.distinct.devices', (_, f) => log1p(f.user?.distinct.devices)],
  ['user.distinct.countries', (_, f) => log1p(f.user?.distinct.countries)],
  ['user.log_since_last_s', (_, f) => log1p(f.user ? f.user.sinceLastUs / 1e6 : 0)],
  ['user.log_age_s', (_, f) => log1p(f.user ? (f.user.asOfUs - f.user.firstSeenUs) / 1e6 : 0)],
  ['card.w1h.count', (_, f) => log1p(f.card?.w1h.count)],
  ['card.w24h.count', (_, f) => log1p(f.card?.w24h.count)],
  ['card.distinct.users', (_, f) => log1p(f.card?.distinct.users)],
  ['card.distinct.devices', (_, f) => log1p(f.card?.distinct.devices)],
  ['card.distinct.countries', (_, f) => log1p(f.card?.distinct.countries)],
  ['device.w1h.count', (_, f) => log1p(f.device?.w1h.count)],
  ['device.w24h.count', (_, f) => log1p(f.device?.w24h.count)],
  ['device.distinct.users', (_, f) => log1p(f.device?.distinct.users)],
  ['device.distinct.cards', (_, f) => log1p(f.device?.distinct.cards)],
  ['geo.log_since_last_s', (_, f) => log1p(f.geo ? f.geo.sinceLastUs / 1e6 : 0)],
  ['session.events', (_, f) => log1p(f.context.session?.events)],
  ['session.silent_share', (_, f) => (f.context.session && f.context.session.pages > 0 ? f.context.session.silentPages / f.context.session.pages : 0)],
  ['session.declines', (_, f) => log1p(f.context.session?.declines)],
  ['session.cards', (_, f) => log1p(f.context.session?.cards.length)],
  // logins beyond the first (people log in once; a single login says nothing)
  ['session.repeat_logins', (_, f) => log1p(Math.max(0, (f.context.session?.logins ?? 0) - 1))],
  ['session.browsed', (_, f) => log1p(f.context.session?.browsed)],
  ['session.log_max_amount', (_, f) => log1p(f.context.session?.maxAmount)],
  ['account.purchases', (_, f) => log1p(f.context.user?.purchases)],
  ['account.refunds', (_, f) => log1p(f.context.user?.refunds)],
  ['account.refund_share', (_, f) => (f.context.user && f.context.user.purchases > 0 ? Math.min(2, f.context.user.refunds / f.context.user.purchases) : 0)],
  ['shared.address_accounts', (_, f) => log1p(f.context.addressAccounts)],
  ['shared.promo_device_accounts', (_, f) => log1p(f.context.promoDeviceAccounts)],
  ['shared.promo_postal_accounts', (_, f) => log1p(f.context.promoPostalAccounts)],
];

const DETECTOR_IDS = DETECTORS.map((d) => d.id);

/** The model's feature names, in vector order: `detector.<id>` then the extractors'. */
export const FEATURE_NAMES: readonly string[] = [...DETECTOR_IDS.map((id) => `detector.${id}`), ...EXTRACTORS.map(([n]) => n)];

const detectorIndex = new Map(DETECTOR_IDS.map((id, i) => [id, i]));

/** The vector of one scored event (scores: the detectors that said something; the rest count 0). */
export function featureVector(e: FraudEvent, f: DetectorFeatures, scores: readonly DetectorScore[]): number[] {
  const v = new Array<number>(FEATURE_NAMES.length).fill(0);
  for (const s of scores) {
    const i = detectorIndex.get(s.id);
    if (i !== undefined) v[i] = s.score;
  }
  let j = DETECTOR_IDS.length;
  for (const [, x] of EXTRACTORS) v[j++] = x(e, f);
  return v;
}
