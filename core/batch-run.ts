// The batch pipeline's contract between the workflow (workflows/batch.ts) and whoever starts or
// watches it (core/batch-control.ts, the CLI, the admin API). Pure types: workflow code imports it.

export const BATCH_WORKFLOW = 'batchRun';
export const PROGRESS_QUERY = 'progress';

export interface BatchRunInput {
  /** Lake root prefix inside the bucket ('' = bucket root). */
  prefix?: string;
  /** Event hours to recompute even if their input did not change: [from, to) in epoch ms. */
  range?: { fromMs: number; toMs: number };
  /** Only this tenant's compacted files are rewritten for the range (views are per hour of all tenants). */
  tenant?: string;
  /** Recompute the views of every hour in the lake, not only the changed ones. */
  full?: boolean;
  /** Units in flight at once (default 2: DuckDB is capped per activity, the machine is shared). */
  concurrency?: number;
}

export type BatchPhase = 'planning' | 'compacting' | 'computing views' | 'publishing' | 'done' | 'failed';

export interface UnitFailure {
  unit: string;
  error: string;
}

export interface BatchProgress {
  phase: BatchPhase;
  compaction: { total: number; done: number; running: string[]; failed: UnitFailure[] };
  views: { total: number; done: number; running: string[]; failed: UnitFailure[] };
  /** The cut the views of this run cover, once chosen. */
  cut?: Record<string, number>;
  version?: string;
  startedAt: string;
}

export interface BatchRunResult {
  compactedHours: string[];
  viewHours: string[];
  version?: string;
  cut?: Record<string, number>;
  published: boolean;
  compactionFailures: UnitFailure[];
}
