// From labelled, scored events to a model and its metrics: split by event time (the last
// `validationShare` is held out — the newest traffic, as a daily retrain would meet it), train on
// the rest, pick the operating threshold on the held-out slice, grade it there. Shared by
// `rtap eval fraud` and the training workflow (activities/fraud-training.ts).
import { rocAuc } from './roc';
import { histogram } from './drift';
import { FEATURE_NAMES } from './features';
import { compileModel, type FraudModelDoc } from './model';
import { pickThreshold, trainModel, type ThresholdTargets, type TrainOptions } from './train';

export interface LabelledEvent {
  x: number[];
  fraud: boolean;
  transaction: boolean;
  timeUs: number;
}

/** What `models/fraud/<version>/metrics.json` holds. */
export interface ModelMetrics {
  version: string;
  algorithm: TrainOptions['algorithm'];
  trainedAt: string;
  /** Where the rows came from (a seed for `rtap eval`, a time range of the lake for the workflow). */
  source: Record<string, string | number>;
  rows: { train: number; trainFraud: number; validation: number; validationFraud: number };
  /** Held-out slice: [fromUs, toUs). */
  validationRange: { fromUs: number; toUs: number };
  threshold: number;
  validation: { auc: number; precision: number; recall: number; fpr: number; fprTransactions: number };
  trainingMs: number;
  /** The held-out slice's probability histogram (drift.ts bins): the drift monitor's reference. */
  scoreHistogram: number[];
  features: string[];
  options: TrainOptions;
}

export interface FitOptions {
  train: TrainOptions;
  targets: ThresholdTargets;
  validationShare?: number;
  version: string;
  source: Record<string, string | number>;
  /** ISO time the model was trained at (the workflow passes its own, deterministic). */
  trainedAt: string;
}

export const DEFAULT_TARGETS: ThresholdTargets = { maxFprTransactions: 0.004, minPrecision: 0.92 };

/** Precision, recall and FP rates of probabilities at a threshold. */
export function gradeAt(p: readonly number[], rows: readonly Pick<LabelledEvent, 'fraud' | 'transaction'>[], threshold: number) {
  let tp = 0;
  let fp = 0;
  let fpTx = 0;
  let fraud = 0;
  let legit = 0;
  let legitTx = 0;
  rows.forEach((r, i) => {
    const hit = p[i] >= threshold;
    if (r.fraud) {
      fraud++;
      if (hit) tp++;
    } else {
      legit++;
      if (r.transaction) legitTx++;
      if (hit) {
        fp++;
        if (r.transaction) fpTx++;
      }
    }
  });
  return { precision: tp + fp ? tp / (tp + fp) : 1, recall: fraud ? tp / fraud : 1, fpr: legit ? fp / legit : 0, fprTransactions: legitTx ? fpTx / legitTx : 0 };
}

export function fitModel(events: readonly LabelledEvent[], o: FitOptions): { doc: FraudModelDoc; metrics: ModelMetrics; heldOut: LabelledEvent[] } {
  const sorted = [...events].sort((a, b) => a.timeUs - b.timeUs);
  const cut = Math.floor(sorted.length * (1 - (o.validationShare ?? 0.25)));
  const train = sorted.slice(0, cut);
  const held = sorted.slice(cut);
  if (!train.some((r) => r.fraud) || !held.some((r) => r.fraud)) throw new RangeError('fit: the training and the held-out slice both need fraud rows');
  const t0 = process.hrtime.bigint();
  const doc = trainModel({ x: train.map((r) => r.x), y: train.map((r) => (r.fraud ? 1 : 0)) }, o.train, o.version, o.trainedAt);
  const trainingMs = Number((process.hrtime.bigint() - t0) / 1_000_000n);
  const model = compileModel(doc);
  const p = held.map((r) => model.probability(r.x));
  doc.threshold = pickThreshold(
    p,
    held.map((r) => (r.fraud ? 1 : 0)),
    held.map((r) => r.transaction),
    o.targets,
  );
  const metrics: ModelMetrics = {
    version: o.version,
    algorithm: o.train.algorithm,
    trainedAt: o.trainedAt,
    source: o.source,
    rows: { train: train.length, trainFraud: train.filter((r) => r.fraud).length, validation: held.length, validationFraud: held.filter((r) => r.fraud).length },
    validationRange: { fromUs: held[0].timeUs, toUs: held[held.length - 1].timeUs + 1 },
    threshold: doc.threshold,
    validation: {
      auc: rocAuc(
        p.filter((_, i) => held[i].fraud),
        p.filter((_, i) => !held[i].fraud),
      ),
      ...gradeAt(p, held, doc.threshold),
    },
    trainingMs,
    scoreHistogram: histogram(p),
    features: [...FEATURE_NAMES],
    options: o.train,
  };
  return { doc, metrics, heldOut: held };
}

/** ROC AUC of a model on labelled rows (how a challenger and the champion are compared). */
export function aucOf(probability: (x: readonly number[]) => number, rows: readonly LabelledEvent[]): number {
  const pos: number[] = [];
  const neg: number[] = [];
  for (const r of rows) (r.fraud ? pos : neg).push(probability(r.x));
  return rocAuc(pos, neg);
}
