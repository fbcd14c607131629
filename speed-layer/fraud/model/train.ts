// Training the fraud model from labelled feature vectors (features.ts), with a maintained library
// (ml-random-forest, ml-logistic-regression), then flattening what it learned into a
// FraudModelDoc (model.ts). The operating threshold is picked on a validation slice the model did
// not see (pickThreshold), never on the data a figure is reported on.
//
// Cost control: ml-cart evaluates every label change along each feature as a split candidate, so a
// tree costs O(rows × label changes) per node. Legitimate rows are subsampled (seeded) to at most
// `legitPerFraud` per fraud row — the forest sees every fraud row and a representative sample of
// the rest; the threshold, picked on the full validation slice, absorbs the changed base rate.
// ml-matrix: the matrices ml-logistic-regression trains on (installed as its dependency and ml-random-forest's)
import { Matrix } from 'ml-matrix';
import LogisticRegression from 'ml-logistic-regression';
import { RandomForestClassifier } from 'ml-random-forest';
import { FEATURE_NAMES } from './features';
import { MODEL_FORMAT, type FraudModelDoc, type LogisticDoc, type TreeDoc } from './model';
import { mulberry32 as rng } from '../../../core/random';

export interface LabelledRows {
  x: number[][];
  /** 1 fraud, 0 legitimate. */
  y: number[];
}

export type Algorithm = 'forest' | 'logistic';

export interface TrainOptions {
  algorithm: Algorithm;
  seed: number;
  /** Legitimate rows kept per fraud row (subsampled). Default 4. */
  legitPerFraud?: number;
  /** forest: trees, depth, smallest node split, share of features per tree. */
  trees?: number;
  maxDepth?: number;
  minNumSamples?: number;
  maxFeatures?: number;
  /** forest: rows each tree is grown on (bagged; bounds a tree's cost whatever the data's size). */
  maxSamples?: number;
  /** logistic: gradient steps and rate. */
  steps?: number;
  learningRate?: number;
}

export const DEFAULT_TRAIN: Required<Omit<TrainOptions, 'algorithm' | 'seed'>> = {
  legitPerFraud: 4,
  trees: 40,
  maxDepth: 10,
  minNumSamples: 4,
  maxFeatures: 0.6,
  maxSamples: 2000,
  steps: 1500,
  learningRate: 0.5,
};


/** Every fraud row and at most `legitPerFraud` legitimate rows per fraud row, seeded. */
export function balance(rows: LabelledRows, legitPerFraud: number, seed: number): LabelledRows {
  const fraud = rows.y.reduce((n, v) => n + v, 0);
  const legit = rows.y.length - fraud;
  const keep = Math.min(1, (fraud * legitPerFraud) / Math.max(1, legit));
  const r = rng(seed);
  const x: number[][] = [];
  const y: number[] = [];
  for (let i = 0; i < rows.y.length; i++) {
    if (rows.y[i] === 1 || r() < keep) {
      x.push(rows.x[i]);
      y.push(rows.y[i]);
    }
  }
  return { x, y };
}

interface CartNode {
  splitColumn?: number;
  splitValue?: number;
  left?: CartNode;
  right?: CartNode;
  /** A leaf's class shares (a 1 × classes ml-matrix row; class 1 = fraud, absent when the leaf saw none). */
  distribution?: { columns: number; get(row: number, column: number): number };
}

/** One ml-cart classification tree (its columns are the forest's feature subset `columns`) as flat arrays; a leaf's value is its share of fraud rows. */
function flattenTree(root: CartNode, columns: readonly number[]): TreeDoc {
  const t: TreeDoc = { feature: [], split: [], left: [], right: [], value: [] };
  const visit = (n: CartNode): number => {
    const i = t.feature.length;
    t.feature.push(-1);
    t.split.push(0);
    t.left.push(0);
    t.right.push(0);
    t.value.push(0);
    if (n.left && n.right && n.splitColumn !== undefined && n.splitValue !== undefined) {
      t.feature[i] = columns[n.splitColumn];
      t.split[i] = n.splitValue;
      t.left[i] = visit(n.left);
      t.right[i] = visit(n.right);
    } else t.value[i] = n.distribution && n.distribution.columns > 1 ? n.distribution.get(0, 1) : 0;
    return i;
  };
  visit(root);
  return t;
}

function trainForest(rows: LabelledRows, o: Required<Omit<TrainOptions, 'algorithm'>>): TreeDoc[] {
  const rf = new RandomForestClassifier({
    nEstimators: o.trees,
    maxFeatures: o.maxFeatures,
    replacement: false,
    useSampleBagging: true,
    seed: o.seed,
    noOOB: true,
    maxSamples: Math.min(o.maxSamples, rows.x.length),
    treeOptions: { maxDepth: o.maxDepth, minNumSamples: o.minNumSamples },
  } as ConstructorParameters<typeof RandomForestClassifier>[0]);
  rf.train(rows.x, rows.y);
  const internal = rf as unknown as { estimators: { root: CartNode }[]; indexes: number[][] };
  return internal.estimators.map((e, i) => flattenTree(e.root, internal.indexes[i]));
}

function trainLogistic(rows: LabelledRows, o: Required<Omit<TrainOptions, 'algorithm'>>): Pick<LogisticDoc, 'mean' | 'scale' | 'weights'> {
  const d = FEATURE_NAMES.length;
  const n = rows.x.length;
  const mean = new Array<number>(d).fill(0);
  const scale = new Array<number>(d).fill(0);
  for (const r of rows.x) for (let j = 0; j < d; j++) mean[j] += r[j] / n;
  for (const r of rows.x) for (let j = 0; j < d; j++) scale[j] += (r[j] - mean[j]) ** 2 / n;
  for (let j = 0; j < d; j++) scale[j] = Math.sqrt(scale[j]) || 1;
  // a bias column first; the library's gradient is a sum over rows, so the rate is divided by n
  const x = new Matrix(rows.x.map((r) => [1, ...r.map((v, j) => (v - mean[j]) / scale[j])]));
  const lr = new LogisticRegression({ numSteps: o.steps, learningRate: o.learningRate / n });
  lr.train(x, Matrix.columnVector(rows.y));
  // one-vs-all with classes {0, 1}: classifier 1 scores "is class 1" (the library labels the target class 0 internally, hence the sign)
  const w = (lr.classifiers[1] as unknown as { weights: Matrix }).weights.to1DArray();
  return { mean, scale, weights: w.map((v) => -v) };
}

/** Trains a model on `rows` and returns its document (threshold to be set by pickThreshold). */
export function trainModel(rows: LabelledRows, opts: TrainOptions, version: string, trainedAt: string): FraudModelDoc {
  if (rows.x.length !== rows.y.length) throw new RangeError('train: rows and labels differ in length');
  const fraud = rows.y.reduce((n, v) => n + v, 0);
  if (fraud === 0 || fraud === rows.y.length) throw new RangeError('train: need both fraud and legitimate rows');
  const o = { ...DEFAULT_TRAIN, ...opts };
  const sample = balance(rows, o.legitPerFraud, o.seed);
  const base = { format: MODEL_FORMAT as typeof MODEL_FORMAT, version, features: [...FEATURE_NAMES], threshold: 0.5, trainedAt };
  if (o.algorithm === 'forest') return { ...base, kind: 'forest', trees: trainForest(sample, o) };
  return { ...base, kind: 'logistic', ...trainLogistic(sample, o) };
}

export interface ThresholdTargets {
  /** Largest false-positive rate on legitimate transactions allowed. */
  maxFprTransactions: number;
  minPrecision: number;
}

/**
 * The operating threshold on a validation slice: the lowest probability at which precision ≥
 * minPrecision and the FP rate on legitimate transactions ≤ maxFprTransactions (most recall within
 * the targets); when no threshold meets both, the one with the best F1.
 */
export function pickThreshold(p: readonly number[], y: readonly number[], transaction: readonly boolean[], t: ThresholdTargets): number {
  const idx = p.map((_, i) => i).sort((a, b) => p[b] - p[a]);
  const fraudTotal = y.reduce((n, v) => n + v, 0);
  const legitTx = y.reduce((n, v, i) => n + (v === 0 && transaction[i] ? 1 : 0), 0);
  let tp = 0;
  let fp = 0;
  let fpTx = 0;
  let best: number | undefined;
  let bestF1 = -1;
  let bestF1At = 0.5;
  for (let k = 0; k < idx.length; k++) {
    const i = idx[k];
    if (y[i] === 1) tp++;
    else {
      fp++;
      if (transaction[i]) fpTx++;
    }
    // only cut between distinct probabilities
    if (k + 1 < idx.length && p[idx[k + 1]] === p[i]) continue;
    const precision = tp / (tp + fp);
    const recall = fraudTotal ? tp / fraudTotal : 0;
    const f1 = precision + recall ? (2 * precision * recall) / (precision + recall) : 0;
    const at = Math.min(0.999, Math.max(0.001, p[i]));
    if (f1 > bestF1) {
      bestF1 = f1;
      bestF1At = at;
    }
    if (precision >= t.minPrecision && (legitTx === 0 || fpTx / legitTx <= t.maxFprTransactions)) best = at;
  }
  return best ?? bestF1At;
}
