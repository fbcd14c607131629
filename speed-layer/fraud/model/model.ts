// A trained fraud model as the scorer sees it: a JSON document (what `models/fraud/<version>/model.json`
// holds) and the function it compiles to. Two kinds, both trained with a maintained library and
// then copied into flat arrays so that scoring one event is a few hundred array reads, not a
// library call building matrices (docs/fraud.md, "The trained model"):
// - `forest`: ml-random-forest classification trees (a leaf's value is the share of fraud among
//   its training rows; the forest averages them — smoother than the library's majority votes);
// - `logistic`: ml-logistic-regression's weights over standardized features.
// Every model carries the feature names it was trained on (a scorer refuses a model whose list
// differs from its own) and its operating threshold, chosen on validation data: `scoreOf` maps the
// probability so that the threshold lands on 0.5, the `medium` severity the speed layer acts on.
import { InputError } from '../../../core/errors';
import { FEATURE_NAMES } from './features';

export const MODEL_FORMAT = 1;

/** One decision tree as parallel arrays: node i splits on feature[i] < split[i] → left[i], else right[i]; a leaf has feature −1 and its value. */
export interface TreeDoc {
  feature: number[];
  split: number[];
  left: number[];
  right: number[];
  value: number[];
}

interface ModelDocBase {
  format: typeof MODEL_FORMAT;
  version: string;
  features: string[];
  /** Probability at which an event becomes an anomaly (maps to score 0.5). */
  threshold: number;
  trainedAt: string;
}

export interface ForestDoc extends ModelDocBase {
  kind: 'forest';
  trees: TreeDoc[];
}

export interface LogisticDoc extends ModelDocBase {
  kind: 'logistic';
  /** Standardization: x' = (x − mean) / scale. */
  mean: number[];
  scale: number[];
  /** Bias first, then one weight per feature. */
  weights: number[];
}

export type FraudModelDoc = ForestDoc | LogisticDoc;

export interface FraudModel {
  readonly version: string;
  readonly kind: FraudModelDoc['kind'];
  readonly threshold: number;
  readonly doc: FraudModelDoc;
  /** P(fraud) of one feature vector (FEATURE_NAMES order). */
  probability(x: readonly number[]): number;
}

/** The ensemble score of a probability: piecewise linear with the model's threshold at 0.5 (monotone, so AUC is unchanged). */
export function scoreOf(p: number, threshold: number): number {
  const t = Math.min(0.999, Math.max(0.001, threshold));
  return p < t ? (0.5 * p) / t : 0.5 + (0.5 * (p - t)) / (1 - t);
}

function forestProbability(trees: readonly TreeDoc[]): (x: readonly number[]) => number {
  const n = trees.length;
  return (x) => {
    let sum = 0;
    for (let t = 0; t < n; t++) {
      const tr = trees[t];
      let i = 0;
      while (tr.feature[i] >= 0) i = x[tr.feature[i]] < tr.split[i] ? tr.left[i] : tr.right[i];
      sum += tr.value[i];
    }
    return sum / n;
  };
}

function logisticProbability(d: LogisticDoc): (x: readonly number[]) => number {
  return (x) => {
    let z = d.weights[0];
    for (let j = 0; j < d.mean.length; j++) z += d.weights[j + 1] * ((x[j] - d.mean[j]) / d.scale[j]);
    return 1 / (1 + Math.exp(-z));
  };
}

const isNumArray = (a: unknown, len?: number): a is number[] => Array.isArray(a) && (len === undefined || a.length === len) && a.every((v) => typeof v === 'number' && Number.isFinite(v));

/** Checks a parsed model.json; throws InputError naming what is wrong. */
export function validateModelDoc(doc: unknown, expectedFeatures: readonly string[] = FEATURE_NAMES): FraudModelDoc {
  const bad = (why: string): never => {
    throw new InputError(`fraud model: ${why}`);
  };
  if (!doc || typeof doc !== 'object') bad('not an object');
  const d = doc as Partial<FraudModelDoc> & Record<string, unknown>;
  if (d.format !== MODEL_FORMAT) bad(`format ${String(d.format)}, expected ${MODEL_FORMAT}`);
  if (typeof d.version !== 'string' || d.version === '') bad('no version');
  if (!Array.isArray(d.features) || d.features.join('\n') !== expectedFeatures.join('\n')) bad(`feature list differs from this scorer's (${expectedFeatures.length} features)`);
  if (typeof d.threshold !== 'number' || !(d.threshold > 0 && d.threshold < 1)) bad('threshold not in (0, 1)');
  const nf = expectedFeatures.length;
  if (d.kind === 'forest') {
    if (!Array.isArray(d.trees) || d.trees.length === 0) bad('no trees');
    for (const t of d.trees!) {
      const n = t?.feature?.length;
      if (!n || ![t.split, t.left, t.right, t.value].every((a) => isNumArray(a, n)) || !isNumArray(t.feature, n)) bad('a tree is malformed');
      for (let i = 0; i < n!; i++) {
        if (t.feature[i] >= nf) bad('a tree reads a feature out of range');
        if (t.feature[i] >= 0 && !(t.left[i] > i && t.right[i] > i && t.left[i] < n! && t.right[i] < n!)) bad('a tree node points backwards or outside');
      }
    }
  } else if (d.kind === 'logistic') {
    if (!isNumArray(d.mean, nf) || !isNumArray(d.scale, nf) || !isNumArray(d.weights, nf + 1) || d.scale!.some((s) => s <= 0)) bad('logistic arrays malformed');
  } else bad(`unknown kind ${JSON.stringify(d.kind)}`);
  return d as FraudModelDoc;
}

/** Compiles a (validated) document into a scorer. */
export function compileModel(doc: FraudModelDoc): FraudModel {
  const probability = doc.kind === 'forest' ? forestProbability(doc.trees) : logisticProbability(doc);
  return { version: doc.version, kind: doc.kind, threshold: doc.threshold, doc, probability };
}

/** model.json text → scorer (validated). */
export function parseModel(text: string): FraudModel {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new InputError(`fraud model: not JSON (${(err as Error).message})`);
  }
  return compileModel(validateModelDoc(doc));
}
