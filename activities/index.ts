// All activities of the batch layer, built from their dependencies in the worker.
import type { DuckDBInstance } from '@duckdb/node-api';
import { createProbeActivities, type ProbeDeps } from './probe';

export interface ActivityDeps extends ProbeDeps {
  /** The worker's DuckDB with httpfs and the lake's S3 secret (core/duckdb.ts openLakeDuckDb); one connection per activity call. */
  lake: DuckDBInstance;
}

export function createActivities(deps: ActivityDeps) {
  return {
    ...createProbeActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
