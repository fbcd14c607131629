// One score per event from the detectors' scores: a weighted noisy-OR,
//   score = 1 − Π_i (1 − w_i · s_i),
// i.e. each detector is an independent witness that is right with probability w_i · s_i. Chosen
// over a sum or a max because it (1) stays in [0, 1] without clipping, (2) lets one strong witness
// alone reach a high score (a tampered price is fraud whatever else is seen), (3) lets several weak
// ones add up, and (4) is explainable: each detector's share is its own term.
//
// THE WEIGHTS ARE HAND-SET, and this noisy-OR is the FALLBACK: when a trained model is loaded
// (model/, docs/fraud.md "The trained model") its probability is the score and this combination
// only orders the reasons and is reported as `fallbackScore`. An instance with no model yet (no
// champion in the lake) scores with it. The weights encode how specific each signal is — high for
// signals a legitimate shopper almost never shows (tampered prices, dozens of cards from one
// device), low for tenant-level anomalies that are rarely fraud by themselves (traffic spikes,
// slow pages, late events). They were set by reading what each detector measures, then checked
// once on the training seed of `rtap eval fraud --hand-set`.
export type Severity = 'low' | 'medium' | 'high' | 'critical';
export const SEVERITIES: readonly Severity[] = ['low', 'medium', 'high', 'critical'];

/** Lower bound of each severity's score range; below `low` an event is not an anomaly at all. */
export const SEVERITY_THRESHOLDS: Readonly<Record<Severity, number>> = { low: 0.25, medium: 0.5, high: 0.75, critical: 0.9 };

/** Hand-set weights (see above); a detector missing here weighs DEFAULT_WEIGHT. */
export const DEFAULT_WEIGHTS: Readonly<Record<string, number>> = {
  velocity: 0.6,
  amount_outlier: 0.45,
  impossible_travel: 0.9,
  card_sharing: 0.8,
  card_testing: 0.95,
  decline_burst: 0.7,
  payment_geo_mismatch: 0.5,
  session_hijack: 0.8,
  bot_user_agent: 0.85,
  no_human_input: 0.8,
  bot_timing: 0.6,
  account_takeover: 0.9,
  login_burst: 0.6,
  coordinated_accounts: 0.85,
  account_ring: 0.75,
  synthetic_identity: 0.85,
  no_browsing: 0.45,
  rare_country: 0.4,
  promo_abuse: 0.85,
  price_manipulation: 0.95,
  inventory_manipulation: 0.9,
  shipping_fraud: 0.7,
  return_fraud: 0.8,
  api_abuse: 0.7,
  rate_violation: 0.45,
  traffic_spike: 0.3,
  latency_degradation: 0.25,
  data_quality: 0.2,
};
export const DEFAULT_WEIGHT = 0.5;

export interface DetectorScore {
  id: string;
  family: string;
  score: number;
  weight: number;
  explanation: string;
  evidence: Record<string, number | string | boolean | null>;
}

export interface EnsembleResult {
  score: number;
  severity: Severity | null;
  /** The detectors that contributed most (weight × score), strongest first. */
  reasons: DetectorScore[];
}

export function severityOf(score: number, thresholds: Readonly<Record<Severity, number>> = SEVERITY_THRESHOLDS): Severity | null {
  for (let i = SEVERITIES.length - 1; i >= 0; i--) if (score >= thresholds[SEVERITIES[i]]) return SEVERITIES[i];
  return null;
}

/** Noisy-OR of the scored detectors; `top` reasons with a non-zero contribution. */
export function combine(scores: readonly DetectorScore[], top = 3, thresholds: Readonly<Record<Severity, number>> = SEVERITY_THRESHOLDS): EnsembleResult {
  let miss = 1;
  for (const s of scores) miss *= 1 - Math.min(1, Math.max(0, s.weight)) * Math.min(1, Math.max(0, s.score));
  const score = 1 - miss;
  const reasons = scores
    .filter((s) => s.weight * s.score > 0)
    .sort((a, b) => b.weight * b.score - a.weight * a.score)
    .slice(0, top);
  return { score, severity: severityOf(score, thresholds), reasons };
}
