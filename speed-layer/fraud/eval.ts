// `rtap eval fraud`: labelled traffic from the generator, scored in-process exactly as the speed
// layer would (schema registry → dedup → feature store update → detectors + ensemble, event by
// event), then precision / recall / F1 per scenario and overall at each severity threshold, the
// false-positive rate on legitimate events and legitimate transactions, and ROC AUC. Run on the
// seed the weights were looked at with, then on a different seed with a different tenant mix:
// the second is the honest figure (nothing is trained yet, but the parameters were read off the
// first).
import { measureInputFromEvent } from '../../core/measures';
import { readEvent } from '../../core/schema';
import { entityIdsFromEvent } from '../../core/speed-record';
import { FRAUD_SCENARIOS, type FraudScenario } from '../../generator/events';
import { EventGenerator } from '../../generator/generator';
import { createFeatureStore } from '../features/store';
import { createFraudEngine, entityFeatures, type FraudEngineOptions } from './engine';
import { SEVERITIES, SEVERITY_THRESHOLDS, type Severity } from './ensemble';
import { signalsFromEvent } from './signals';

export interface EvalOptions {
  seed: number;
  /** Generated events (before dead letters and duplicates are dropped). */
  events: number;
  tenants: number;
  users: number;
  /** Nominal events per second of event time (sets how far apart a campaign's events are). */
  rate: number;
  fraudRate: number;
  engine?: FraudEngineOptions;
}

export const DEFAULT_EVAL: Omit<EvalOptions, 'seed'> = { events: 120_000, tenants: 60, users: 30_000, rate: 200, fraudRate: 0.02 };

export interface Confusion {
  threshold: number;
  tp: number;
  fp: number;
  fn: number;
  precision: number;
  recall: number;
  f1: number;
}

export interface ScenarioFigures {
  scenario: FraudScenario;
  events: number;
  campaigns: number;
  /** Per severity: the scenario against all legitimate traffic (its precision counts every false positive). */
  at: Record<Severity, Confusion & { campaignRecall: number }>;
  /** ROC AUC of the scenario's events against legitimate events. */
  auc: number;
}

export interface EvalReport {
  options: Omit<EvalOptions, 'engine'>;
  scored: number;
  deadLettered: number;
  duplicates: number;
  legit: number;
  legitTransactions: number;
  fraud: number;
  overall: Record<Severity, Confusion & { fpr: number; fprTransactions: number }>;
  auc: number;
  scenarios: ScenarioFigures[];
  /** Per detector: events it scored ≥ 0.5 among fraud / legitimate events. */
  detectors: { id: string; fraud: number; legit: number }[];
  /** Legitimate events at or above medium, by their strongest reason: what the false positives are. */
  falsePositiveReasons: Record<string, number>;
  /** Scoring cost per event (memory + detectors + ensemble), µs; and the whole loop per event. */
  scoreUsPerEvent: number;
  loopUsPerEvent: number;
}

/** ROC AUC by the rank-sum (Mann–Whitney U), ties counted half. */
export function rocAuc(positives: readonly number[], negatives: readonly number[]): number {
  if (positives.length === 0 || negatives.length === 0) return NaN;
  const all = [...positives.map((s) => [s, 1] as const), ...negatives.map((s) => [s, 0] as const)].sort((a, b) => a[0] - b[0]);
  let rankSum = 0;
  for (let i = 0; i < all.length; ) {
    let j = i;
    while (j < all.length && all[j][0] === all[i][0]) j++;
    const avg = (i + 1 + j) / 2;
    for (let k = i; k < j; k++) if (all[k][1] === 1) rankSum += avg;
    i = j;
  }
  return (rankSum - (positives.length * (positives.length + 1)) / 2) / (positives.length * negatives.length);
}

function confusion(threshold: number, tp: number, fp: number, fn: number): Confusion {
  const precision = tp + fp === 0 ? 1 : tp / (tp + fp);
  const recall = tp + fn === 0 ? 1 : tp / (tp + fn);
  return { threshold, tp, fp, fn, precision, recall, f1: precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall) };
}

interface Scored {
  score: number;
  scenario: FraudScenario | null;
  campaign: string | null;
  transaction: boolean;
}

export function evaluate(o: EvalOptions): EvalReport {
  const gen = new EventGenerator({ seed: o.seed, tenants: o.tenants, users: o.users, rate: o.rate, fraudRate: o.fraudRate });
  const store = createFeatureStore();
  const engine = createFraudEngine(o.engine);
  const get = store.get.bind(store);
  const seen = new Set<string>();
  const rows: Scored[] = [];
  const fired = new Map<string, { fraud: number; legit: number }>(engine.detectors.map((d) => [d.id, { fraud: 0, legit: 0 }]));
  const fpReasons: Record<string, number> = {};
  let deadLettered = 0;
  let duplicates = 0;
  let scoreNs = 0n;
  const started = process.hrtime.bigint();
  for (let i = 0; i < o.events; i++) {
    const g = gen.next();
    const read = readEvent(g.event);
    if (!read.ok) {
      deadLettered++;
      continue;
    }
    const input = measureInputFromEvent(read.event, { partition: 0, offset: i });
    if (!input.ok) {
      deadLettered++;
      continue;
    }
    if (seen.has(input.input.event_id)) {
      duplicates++;
      continue;
    }
    seen.add(input.input.event_id);
    store.update({ input: input.input, entities: entityIdsFromEvent(read.event) });
    const t0 = process.hrtime.bigint();
    const fe = signalsFromEvent(read.event);
    const v = engine.score(fe, entityFeatures(fe, get));
    scoreNs += process.hrtime.bigint() - t0;
    const fraud = g.label.fraud && g.label.scenario !== undefined;
    rows.push({ score: v.score, scenario: fraud ? g.label.scenario! : null, campaign: g.label.campaign ?? null, transaction: fe.type === 'transaction' });
    for (const d of v.detectors) if (d.score >= 0.5) fired.get(d.id)![fraud ? 'fraud' : 'legit']++;
    if (!fraud && v.score >= SEVERITY_THRESHOLDS.medium) {
      const why = v.reasons.map((x) => x.id).join('+');
      fpReasons[why] = (fpReasons[why] ?? 0) + 1;
    }
  }
  const loopNs = process.hrtime.bigint() - started;

  const legit = rows.filter((r) => r.scenario === null);
  const legitTx = legit.filter((r) => r.transaction);
  const fraudRows = rows.filter((r) => r.scenario !== null);
  const legitScores = legit.map((r) => r.score);
  const overall = {} as EvalReport['overall'];
  for (const sev of SEVERITIES) {
    const thr = SEVERITY_THRESHOLDS[sev];
    const fp = legit.filter((r) => r.score >= thr).length;
    const tp = fraudRows.filter((r) => r.score >= thr).length;
    overall[sev] = { ...confusion(thr, tp, fp, fraudRows.length - tp), fpr: legit.length ? fp / legit.length : 0, fprTransactions: legitTx.length ? legitTx.filter((r) => r.score >= thr).length / legitTx.length : 0 };
  }
  const scenarios: ScenarioFigures[] = [];
  for (const sc of FRAUD_SCENARIOS) {
    const mine = fraudRows.filter((r) => r.scenario === sc);
    if (mine.length === 0) continue;
    const campaigns = new Map<string, number>();
    for (const r of mine) campaigns.set(r.campaign ?? '', Math.max(campaigns.get(r.campaign ?? '') ?? 0, r.score));
    const at = {} as ScenarioFigures['at'];
    for (const sev of SEVERITIES) {
      const thr = SEVERITY_THRESHOLDS[sev];
      const tp = mine.filter((r) => r.score >= thr).length;
      const caught = [...campaigns.values()].filter((s) => s >= thr).length;
      at[sev] = { ...confusion(thr, tp, overall[sev].fp, mine.length - tp), campaignRecall: caught / campaigns.size };
    }
    scenarios.push({ scenario: sc, events: mine.length, campaigns: campaigns.size, at, auc: rocAuc(mine.map((r) => r.score), legitScores) });
  }
  const n = rows.length || 1;
  const { engine: _engine, ...options } = o;
  return {
    options,
    scored: rows.length,
    deadLettered,
    duplicates,
    legit: legit.length,
    legitTransactions: legitTx.length,
    fraud: fraudRows.length,
    overall,
    auc: rocAuc(fraudRows.map((r) => r.score), legitScores),
    scenarios,
    detectors: [...fired].map(([id, c]) => ({ id, ...c })),
    falsePositiveReasons: fpReasons,
    scoreUsPerEvent: Number(scoreNs / 1000n) / n,
    loopUsPerEvent: Number(loopNs / 1000n) / n,
  };
}

const pct = (x: number) => (Number.isNaN(x) ? '   n/a' : `${(x * 100).toFixed(1).padStart(5)}%`);

/** The report as the tables `rtap eval fraud` prints (and docs/fraud.md quotes). */
export function formatReport(r: EvalReport, title: string): string {
  const o = r.options;
  const lines = [
    `## ${title}: seed ${o.seed}, ${o.tenants} tenants, ${o.users} users, ${o.events} generated events at ${o.rate}/s, fraud share ${o.fraudRate}`,
    `scored ${r.scored} (dead-lettered ${r.deadLettered}, duplicates ${r.duplicates}): ${r.legit} legitimate (${r.legitTransactions} transactions), ${r.fraud} fraud; ROC AUC ${r.auc.toFixed(3)}; scoring ${r.scoreUsPerEvent.toFixed(1)} µs/event (whole loop ${r.loopUsPerEvent.toFixed(1)})`,
    '',
    '| threshold | precision | recall | F1 | FP rate (legit events) | FP rate (legit transactions) |',
    '|---|---:|---:|---:|---:|---:|',
    ...SEVERITIES.map((s) => {
      const c = r.overall[s];
      return `| ${s} ≥ ${c.threshold} | ${pct(c.precision)} | ${pct(c.recall)} | ${pct(c.f1)} | ${(c.fpr * 100).toFixed(2)}% | ${(c.fprTransactions * 100).toFixed(2)}% |`;
    }),
    '',
    '| scenario | events | campaigns | AUC | recall ≥ medium | campaigns caught ≥ medium | precision ≥ medium | F1 ≥ medium | recall ≥ high | campaigns ≥ high |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...r.scenarios.map((s) => `| ${s.scenario} | ${s.events} | ${s.campaigns} | ${s.auc.toFixed(3)} | ${pct(s.at.medium.recall)} | ${pct(s.at.medium.campaignRecall)} | ${pct(s.at.medium.precision)} | ${pct(s.at.medium.f1)} | ${pct(s.at.high.recall)} | ${pct(s.at.high.campaignRecall)} |`),
  ];
  return lines.join('\n');
}
