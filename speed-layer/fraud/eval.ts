// `rtap eval fraud`: labelled traffic from the generator, scored in-process exactly as the speed
// layer would (schema registry → dedup → feature store update → detectors + ensemble, event by
// event), then precision / recall / F1 per scenario and overall at each severity threshold, the
// false-positive rate on legitimate events and legitimate transactions, and ROC AUC. Run on the
// seed the weights were looked at with, then on a different seed with a different tenant mix:
// the second is the honest figure. With a trained model (evaluateTrained): train on the first
// seed's traffic, pick the threshold on its held-out last quarter, grade on the second seed.
import { FRAUD_SCENARIOS, type FraudScenario } from '../../generator/events';
import { EventGenerator } from '../../generator/generator';
import type { FraudEngineOptions } from './engine';
import { SEVERITIES, SEVERITY_THRESHOLDS, type Severity } from './ensemble';
import { DEFAULT_TARGETS, fitModel, type ModelMetrics } from './model/fit';
import { compileModel, type FraudModelDoc } from './model/model';
import { createScoringReplay } from './model/replay';
import { rocAuc } from './model/roc';
import type { TrainOptions } from './model/train';

export { rocAuc };

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
  /**
   * Events flagged only retroactively (impossible travel implicating the other end, retro.ts) at
   * medium: an event counts as flagged above when its own verdict or any implication names it at
   * or above the threshold; these are the ones its own verdict missed, and the delay from the
   * event's time to the trigger's (detected_at − event time). null when graded without them.
   */
  retroactive: RetroFigures | null;
  /** Scoring cost per event (memory + detectors + ensemble), µs; and the whole loop per event. */
  scoreUsPerEvent: number;
  loopUsPerEvent: number;
}


export interface RetroFigures {
  /** Fraud events caught only retroactively at medium, in all and per scenario. */
  fraud: number;
  byScenario: Partial<Record<FraudScenario, number>>;
  /** Legitimate events (and transactions) flagged only retroactively at medium: false positives. */
  legit: number;
  legitTransactions: number;
  /** detected_at − event time of the retroactive-only flags (fraud and legitimate), seconds. */
  delaySeconds: { n: number; p50: number; p90: number; max: number };
  /** The same traffic graded on the on-arrival verdicts alone, at medium (what it was without them). */
  onArrival: { precision: number; recall: number; fprTransactions: number; recallByScenario: Partial<Record<FraudScenario, number>> };
}

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

function confusion(threshold: number, tp: number, fp: number, fn: number): Confusion {
  const precision = tp + fp === 0 ? 1 : tp / (tp + fp);
  const recall = tp + fn === 0 ? 1 : tp / (tp + fn);
  return { threshold, tp, fp, fn, precision, recall, f1: precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall) };
}

export interface ScoredRow {
  score: number;
  /** The hand-set weights' noisy-OR of the same event (equals score when no model is loaded). */
  fallbackScore: number;
  /** The challenger's score, when one is loaded. */
  challengerScore: number | null;
  scenario: FraudScenario | null;
  campaign: string | null;
  transaction: boolean;
  timeUs: number;
  /** The model's feature vector (with keepFeatures). */
  features?: number[];
  /** Implications of this event by later events (impossible travel, retroactive): their scores and event times. */
  retro?: { score: number; atUs: number }[];
}

export interface ScoredTraffic {
  rows: ScoredRow[];
  deadLettered: number;
  duplicates: number;
  fired: Map<string, { fraud: number; legit: number }>;
  fpReasons: Record<string, number>;
  scoreNs: bigint;
  loopNs: bigint;
}

/** One seed's traffic, scored event by event as the speed layer does (the rows feed training or a report). */
export function scoreTraffic(o: EvalOptions): ScoredTraffic {
  const gen = new EventGenerator({ seed: o.seed, tenants: o.tenants, users: o.users, rate: o.rate, fraudRate: o.fraudRate });
  const replay = createScoringReplay(o.engine);
  const rows: ScoredRow[] = [];
  /** event id → row, for implications of earlier events */
  const rowOf = new Map<string, ScoredRow>();
  const fired = new Map<string, { fraud: number; legit: number }>(replay.engine.detectors.map((d) => [d.id, { fraud: 0, legit: 0 }]));
  const fpReasons: Record<string, number> = {};
  let deadLettered = 0;
  let duplicates = 0;
  let scoreNs = 0n;
  const started = process.hrtime.bigint();
  for (let i = 0; i < o.events; i++) {
    const g = gen.next();
    const out = replay.next(g.event, i);
    if (out.kind === 'dead') deadLettered++;
    if (out.kind === 'duplicate') duplicates++;
    if (out.kind !== 'scored') continue;
    const { verdict: v, view: fe } = out;
    scoreNs += out.scoreNs;
    const fraud = g.label.fraud && g.label.scenario !== undefined;
    rows.push({
      score: v.score,
      fallbackScore: v.fallbackScore,
      challengerScore: v.challenger?.score ?? null,
      scenario: fraud ? g.label.scenario! : null,
      campaign: g.label.campaign ?? null,
      transaction: fe.type === 'transaction',
      timeUs: fe.timeUs,
      ...(v.features ? { features: v.features } : {}),
    });
    rowOf.set(v.eventId, rows[rows.length - 1]);
    for (const i of v.retroactive ?? []) {
      const r = rowOf.get(i.eventId);
      if (r) (r.retro ??= []).push({ score: i.score, atUs: i.triggerUs });
    }
    for (const d of v.detectors) if (d.score >= 0.5) fired.get(d.id)![fraud ? 'fraud' : 'legit']++;
    if (!fraud && v.score >= SEVERITY_THRESHOLDS.medium) {
      const why = v.reasons.map((x) => x.id).join('+');
      fpReasons[why] = (fpReasons[why] ?? 0) + 1;
    }
  }
  return { rows, deadLettered, duplicates, fired, fpReasons, scoreNs, loopNs: process.hrtime.bigint() - started };
}

export function evaluate(o: EvalOptions): EvalReport {
  return report(o, scoreTraffic(o));
}

/**
 * The figures of scored traffic; `scoreOf` picks which score to grade (default the verdict's).
 * `retroactive`: an event's score is the best of its own and of the implications naming it (the
 * triggers' verdict scores), so an event counts as flagged at a threshold when any anomaly, on
 * arrival or retroactive, names it there.
 */
export function report(o: EvalOptions, t: ScoredTraffic, scoreOfRow: (r: ScoredRow) => number = (r) => r.score, retroactive = true): EvalReport {
  const best = (r: ScoredRow) => (r.retro ?? []).reduce((m, x) => Math.max(m, x.score), 0);
  const rows = t.rows.map((r) => ({ ...r, own: scoreOfRow(r), score: retroactive ? Math.max(scoreOfRow(r), best(r)) : scoreOfRow(r) }));
  const { deadLettered, duplicates, fired, fpReasons, scoreNs, loopNs } = t;

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
  let retro: RetroFigures | null = null;
  if (retroactive) {
    const thr = SEVERITY_THRESHOLDS.medium;
    const only = rows.filter((r) => r.own < thr && r.score >= thr);
    const byScenario: RetroFigures['byScenario'] = {};
    for (const r of only) if (r.scenario !== null) byScenario[r.scenario] = (byScenario[r.scenario] ?? 0) + 1;
    const delays = only.map((r) => (Math.min(...r.retro!.filter((x) => x.score >= thr).map((x) => x.atUs)) - r.timeUs) / 1e6).sort((a, b) => a - b);
    const legitOnly = only.filter((r) => r.scenario === null);
    const tp = fraudRows.filter((r) => r.own >= thr).length;
    const fp = legit.filter((r) => r.own >= thr).length;
    const recallByScenario: RetroFigures['onArrival']['recallByScenario'] = {};
    for (const sc of scenarios) {
      const mine = fraudRows.filter((r) => r.scenario === sc.scenario);
      recallByScenario[sc.scenario] = mine.filter((r) => r.own >= thr).length / mine.length;
    }
    retro = {
      onArrival: { ...confusion(thr, tp, fp, fraudRows.length - tp), fprTransactions: legitTx.length ? legitTx.filter((r) => r.own >= thr).length / legitTx.length : 0, recallByScenario },
      fraud: only.length - legitOnly.length,
      byScenario,
      legit: legitOnly.length,
      legitTransactions: legitOnly.filter((r) => r.transaction).length,
      delaySeconds: { n: delays.length, p50: quantile(delays, 0.5), p90: quantile(delays, 0.9), max: delays.length ? delays[delays.length - 1] : NaN },
    };
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
    retroactive: retro,
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
    '| scenario | events | campaigns | AUC | recall ≥ medium | of which only retroactive | campaigns caught ≥ medium | precision ≥ medium | F1 ≥ medium | recall ≥ high | campaigns ≥ high |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...r.scenarios.map((s) => `| ${s.scenario} | ${s.events} | ${s.campaigns} | ${s.auc.toFixed(3)} | ${pct(s.at.medium.recall)} | ${r.retroactive ? (r.retroactive.byScenario[s.scenario] ?? 0) : 'n/a'} | ${pct(s.at.medium.campaignRecall)} | ${pct(s.at.medium.precision)} | ${pct(s.at.medium.f1)} | ${pct(s.at.high.recall)} | ${pct(s.at.high.campaignRecall)} |`),
  ];
  const rr = r.retroactive;
  if (rr) {
    const d = rr.delaySeconds;
    const sec = (x: number) => (Number.isNaN(x) ? 'n/a' : `${x.toFixed(1)} s`);
    lines.push(
      '',
      `retroactive (impossible travel implicating the other end; counted above when any anomaly names the event): ${rr.fraud} fraud events flagged ≥ medium only retroactively, ${rr.legit} legitimate (${rr.legitTransactions} transactions) — false positives, included above; delay detected_at − event time over the ${d.n}: p50 ${sec(d.p50)}, p90 ${sec(d.p90)}, max ${sec(d.max)}`,
      `on-arrival verdicts alone at medium: precision ${pct(rr.onArrival.precision)}, recall ${pct(rr.onArrival.recall)}, FP ${(rr.onArrival.fprTransactions * 100).toFixed(2)}% of legitimate transactions; recall by scenario: ${Object.entries(rr.onArrival.recallByScenario).map(([k, v]) => `${k} ${pct(v!).trim()}`).join(', ')}`,
    );
  }
  return lines.join('\n');
}

export interface TrainedEvalReport {
  model: FraudModelDoc;
  /** Training on the first seed: rows, held-out slice (its last quarter by event time), threshold. */
  metrics: ModelMetrics;
  /** The unseen seed scored with the trained model. */
  unseen: EvalReport;
  /** The same unseen events graded by the hand-set weights (the fallback), for comparison. */
  fallback: EvalReport;
}

/**
 * `rtap eval fraud`: score the first seed's traffic with the detectors, train the model on its
 * first three quarters (by event time), pick the threshold on the last quarter, then score a
 * different seed with a different tenant mix with that model. Nothing of the unseen run is looked
 * at before its figures are printed.
 */
export function evaluateTrained(seen: EvalOptions, unseen: EvalOptions, train: TrainOptions, progress: (msg: string) => void = () => {}): TrainedEvalReport {
  progress(`scoring seed ${seen.seed} (${seen.events} events) for training`);
  const traffic = scoreTraffic({ ...seen, engine: { ...seen.engine, keepFeatures: true } });
  const rows = traffic.rows.map((r) => ({ x: r.features!, fraud: r.scenario !== null, transaction: r.transaction, timeUs: r.timeUs }));
  progress(`training ${train.algorithm} on ${rows.length} events`);
  const { doc, metrics } = fitModel(rows, {
    train,
    targets: DEFAULT_TARGETS,
    version: `eval-seed${seen.seed}`,
    source: { generator_seed: seen.seed, events: seen.events, tenants: seen.tenants, users: seen.users },
    trainedAt: new Date().toISOString(),
  });
  const model = compileModel(doc);
  progress(`scoring unseen seed ${unseen.seed} (${unseen.events} events) with the model`);
  const t = scoreTraffic({ ...unseen, engine: { ...unseen.engine, models: { current: () => ({ champion: model, challenger: null }) } } });
  // the fallback is graded on its own verdicts: the implications came from the model's scores
  return { model: doc, metrics, unseen: report(unseen, t), fallback: report(unseen, t, (r) => r.fallbackScore, false) };
}

/** The training summary and the unseen run's tables, as `rtap eval fraud` prints them. */
export function formatTrainedReport(r: TrainedEvalReport): string {
  const m = r.metrics;
  const v = m.validation;
  const f = r.fallback.overall.medium;
  return [
    `## Trained model: ${m.algorithm}, ${m.features.length} features, trained on seed ${m.source.generator_seed} in ${(m.trainingMs / 1000).toFixed(1)} s`,
    `rows: ${m.rows.train} training (${m.rows.trainFraud} fraud), ${m.rows.validation} held out (${m.rows.validationFraud} fraud, the last quarter by event time); threshold ${m.threshold.toFixed(3)} (picked on the held-out slice: precision ≥ ${DEFAULT_TARGETS.minPrecision}, FP ≤ ${DEFAULT_TARGETS.maxFprTransactions * 100}% of legitimate transactions, most recall)`,
    `held out: AUC ${v.auc.toFixed(3)}, precision ${pct(v.precision)}, recall ${pct(v.recall)}, FP ${(v.fprTransactions * 100).toFixed(2)}% of legitimate transactions`,
    '',
    formatReport(r.unseen, 'Unseen seed, different tenant mix, scored by the trained model (the honest figure)'),
    '',
    `hand-set weights on the same unseen events (the fallback): AUC ${r.fallback.auc.toFixed(3)}, at medium precision ${pct(f.precision)}, recall ${pct(f.recall)}, FP ${(f.fprTransactions * 100).toFixed(2)}% of legitimate transactions`,
  ].join('\n');
}
