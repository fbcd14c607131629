// What a fraud/anomaly detector is: a small pure function of one event, the feature store's view
// of its entities, the engine's short memory of sessions/users/shared addresses, and the tenant's
// baselines, that returns a score in [0, 1] with the evidence it used and one sentence an analyst
// can check ("7 cards tried from one device in 24 h; this tenant's median is 1"). Each declares the
// features it reads and its parameters (defaults, overridden per tenant at run time by the engine).
import type { FeatureSnapshot } from '../features/store';
import type { BaselineStats, BaselineView } from './baseline';
import type { FraudContext } from './memory';
import type { FraudEvent } from '../../core/fraud-signals';

export type DetectorFamily = 'financial' | 'behavioural' | 'business_logic' | 'technical';
export const DETECTOR_FAMILIES: readonly DetectorFamily[] = ['financial', 'behavioural', 'business_logic', 'technical'];

/** The feature store's snapshots of the event's entities (as of the event, the event included). */
export interface EntityFeatures {
  user?: FeatureSnapshot;
  card?: FeatureSnapshot;
  device?: FeatureSnapshot;
  geo?: FeatureSnapshot;
  tenant?: FeatureSnapshot;
}

/** Everything a detector reads besides the event: entity features and the engine's memory. */
export interface DetectorFeatures extends EntityFeatures {
  context: FraudContext;
}

export type Evidence = Record<string, number | string | boolean | null>;

export interface DetectorResult {
  /** 0 = nothing unusual, 1 = certain. */
  score: number;
  evidence: Evidence;
  /** One sentence with the numbers behind the score. */
  explanation: string;
}

export type Params = Record<string, number>;

/** A value to fold into the tenant's baselines after the event is scored. */
export interface BaselineSample {
  metric: string;
  value: number;
  /** Per-entity baselines (e.g. one product's price); omitted = the tenant's. */
  entity?: string;
}

export interface Detector<P extends Params = Params> {
  id: string;
  family: DetectorFamily;
  /** What it catches, for docs/fraud.md and the API. */
  description: string;
  /** Features it reads: `event.<field>`, `<entity>.<feature>` (feature store), `session.*`, `user.*`, `shared.*` (memory), `baseline.<metric>`. */
  reads: readonly string[];
  defaults: Readonly<P>;
  /** null: not applicable to this event (scored 0, no explanation). */
  score(event: FraudEvent, features: DetectorFeatures, baseline: BaselineView, params: P): DetectorResult | null;
  /** Values this event adds to the tenant's baselines (after scoring, so a score never sees its own event in the baseline). */
  observe?(event: FraudEvent, features: DetectorFeatures): BaselineSample[];
}

/** Declares a detector with its parameter names inferred from its defaults (values widened to number). */
export function defineDetector<K extends string>(d: Detector<Record<K, number>>): Detector<Record<K, number>> {
  return d;
}

/** 0 at or below `lo`, 1 at or above `hi`, linear between: scores stay explainable ("past the bar by half"). */
export function ramp(x: number, lo: number, hi: number): number {
  if (!(x > lo)) return 0;
  if (x >= hi) return 1;
  return (x - lo) / (hi - lo);
}

/** A number as an analyst reads it: integers plain, others with at most 2 decimals. */
export function fmt(x: number): string {
  // not toLocaleString: Intl costs tens of µs per call, and every scored detector formats a few
  const text = Number.isInteger(x) ? String(x) : x.toFixed(Math.abs(x) < 10 ? 2 : 1).replace(/\.?0+$/, '');
  const [int, frac] = text.split('.');
  const grouped = int.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return frac === undefined ? grouped : `${grouped}.${frac}`;
}

/** "this tenant's median is 1" — or that there is no baseline yet. */
export function usual(stats: BaselineStats | undefined, what = 'median', warmup = 8): string {
  if (!stats || stats.n < warmup) return 'no baseline for this tenant yet';
  return `this tenant's ${what} is ${fmt(Math.round(stats.median * 100) / 100)}`;
}

/**
 * The tenant-adaptive bar of a count-like metric: at least `floor`, and at least `k` robust
 * deviations above the tenant's median once its baseline is warm (a tenant whose devices normally
 * see 3 cards gets a higher bar than one whose devices see 1).
 */
export function adaptiveBar(stats: BaselineStats | undefined, floor: number, k: number, minScale = 1, warmup = 8): number {
  if (!stats || stats.n < warmup) return floor;
  return Math.max(floor, stats.median + k * Math.max(1.4826 * stats.mad, minScale));
}

export const MINUTE_US = 60_000_000;
export const HOUR_US = 60 * MINUTE_US;
export const DAY_US = 24 * HOUR_US;
