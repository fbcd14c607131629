// The fraud-model training run's contract between the workflow (workflows/fraud-training.ts), its
// activities (activities/fraud-training.ts) and who starts it (`rtap fraud train`, the daily
// schedule). Pure types and constants: workflow code imports it.

export const FRAUD_TRAINING_WORKFLOW = 'fraudTraining';
export const FRAUD_TRAINING_PROGRESS_QUERY = 'fraudTrainingProgress';
/** Days of events a scheduled run trains on (ending at the run's start). */
export const DEFAULT_TRAINING_DAYS = 7;

export interface FraudTrainingInput {
  prefix?: string;
  /** Event-time range [fromMs, toMs) to train on; default the last `days` days before the run. */
  range?: { fromMs: number; toMs: number };
  days?: number;
  algorithm?: 'logistic' | 'forest';
  /** Skip promotion even when the new model wins (it stays challenger). */
  noPromote?: boolean;
  /** At most this many events (the newest of the range) are replayed and kept. Default DEFAULT_MAX_TRAINING_EVENTS. */
  maxEvents?: number;
}

/** Each kept event holds its feature vector (~0.5 KB) until training ends: this bounds the activity's memory. */
export const DEFAULT_MAX_TRAINING_EVENTS = 300_000;

export interface TrainModelInput {
  prefix: string;
  fromMs: number;
  toMs: number;
  algorithm: 'logistic' | 'forest';
  maxEvents: number;
  version: string;
  /** ISO time of the run (the workflow's, deterministic). */
  trainedAt: string;
}

export interface TrainModelResult {
  version: string;
  events: number;
  /** The range actually used: its start moves later when the range held more than maxEvents. */
  fromMs: number;
  fraud: number;
  /** Labels used: from lake label files, from analyst feedback (which override). */
  labels: { lake: number; feedback: number };
  heldOut: { auc: number; precision: number; recall: number; fprTransactions: number; threshold: number };
  /** The champion at training time graded on the same held-out slice (null: there was none). */
  champion: { version: string; auc: number } | null;
  trainingMs: number;
}

export interface PublishModelInput {
  prefix: string;
  version: string;
  /** Promote to champion (the new model beat `comparedWith` on the held-out slice). */
  promote: boolean;
  /** The champion the decision was made against; if the pointer moved meanwhile, no promotion. */
  comparedWith: string | null;
  reason: string;
  at: string;
}

export interface PublishModelResult {
  champion: string;
  challenger: string | null;
  promoted: boolean;
  note: string;
}

export type FraudTrainingPhase = 'training' | 'publishing' | 'done' | 'failed';

export interface FraudTrainingProgress {
  phase: FraudTrainingPhase;
  version: string;
  range: { fromMs: number; toMs: number };
  result?: TrainModelResult;
  published?: PublishModelResult;
  error?: string;
}

export interface FraudTrainingActivities {
  trainFraudModel(input: TrainModelInput): Promise<TrainModelResult>;
  publishFraudModel(input: PublishModelInput): Promise<PublishModelResult>;
}
