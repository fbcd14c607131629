// All activities of the batch layer, built from their dependencies in the worker.
import type { DuckDBInstance } from '@duckdb/node-api';
import type { BatchActivities } from '../core/batch-run';
import { createCompactionActivities } from './compaction';
import { createFraudTrainingActivities, type FraudTrainingDeps } from './fraud-training';
import { createGdprActivities, type GdprDeps } from './gdpr';
import { createProbeActivities, type ProbeDeps } from './probe';
import { createViewsActivities } from './views';

export interface ActivityDeps extends ProbeDeps {
  /** The worker's DuckDB with httpfs and the lake's S3 secret (core/duckdb.ts openLakeDuckDb); one connection per activity call. */
  lake: DuckDBInstance;
  /** B of the speed layer's offset buckets: every cut is a multiple of it (default 10,000 on both sides). */
  offsetBucketSize?: number;
  /** Tenant → retention days from the control plane, for scheduled retention runs (activities/gdpr.ts). */
  retentionPolicies?: GdprDeps['retentionPolicies'];
  /** Analyst feedback from the control topic, for fraud-model training runs (activities/fraud-training.ts). */
  fraudFeedback?: FraudTrainingDeps['fraudFeedback'];
}

export function createActivities(deps: ActivityDeps) {
  return {
    ...createProbeActivities(deps),
    ...createViewsActivities(deps),
    ...createCompactionActivities(deps),
    ...createGdprActivities(deps),
    ...createFraudTrainingActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;

/** workflows/batch.ts is written against BatchActivities: this stops compiling when the two drift. */
export const asBatchActivities = (a: Activities): BatchActivities => a;
