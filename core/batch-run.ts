// The batch pipeline's contract between the workflow (workflows/batch.ts) and whoever starts or
// watches it (core/batch-control.ts, the CLI, the admin API). Pure types: workflow code imports it.

export const BATCH_WORKFLOW = 'batchRun';
export const PROGRESS_QUERY = 'progress';

export interface BatchRunInput {
  /** Lake root prefix inside the bucket ('' = bucket root). */
  prefix?: string;
  /** Event hours to recompute even if their input did not change: [from, to) in epoch ms. */
  range?: { fromMs: number; toMs: number };
  /**
   * Event hours to recompute even if their input did not change, named one by one (with `range`:
   * both). For jobs that rewrite raw objects in place (GDPR erase, retention): the rewrite changes
   * no offset, so the views' planner would not see those hours.
   */
  hours?: { dt: string; hour: number }[];
  /**
   * The tenant the backfill is for (validated and reported). Units stay whole hours of all
   * tenants: rewriting one tenant of a changed hour would leave the others stale under a manifest
   * that claims the new inputs (activities/compaction.ts).
   */
  tenant?: string;
  /** Recompute the views of every hour in the lake, not only the changed ones. */
  full?: boolean;
  /** Units in flight at once (default 2: DuckDB is capped per activity, the machine is shared). */
  concurrency?: number;
  /** Hours per child run of a long range (default and most MAX_HOURS_PER_RUN). */
  sliceHours?: number;
}

export type BatchPhase = 'planning' | 'compacting' | 'computing views' | 'publishing' | 'running slices' | 'done' | 'failed';

/**
 * Hours one run takes on before it splits a long range into child runs of this many hours each
 * (a month): every unit adds events to the run's history, and Temporal caps a history at 51,200
 * events, which a year of hours would pass.
 */
export const MAX_HOURS_PER_RUN = 720;

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
  /**
   * A range longer than MAX_HOURS_PER_RUN runs as child runs one after the other (each its own
   * workflow, with its own progress, in the Temporal UI); compaction and views count the finished ones.
   */
  slices?: { total: number; done: number; running?: string };
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

/** A unit's hour as activities take it. */
export interface HourInput {
  prefix: string;
  dt: string;
  hour: number;
}

/**
 * What the pipeline needs of the activities (activities/index.ts checks the real ones fit).
 * Results are read only where the workflow decides something from them.
 */
export interface BatchActivities {
  planCompaction(input: { prefix: string }): Promise<{ hours: { dt: string; hour: number }[] }>;
  compactHour(input: HourInput & { tenant?: string }): Promise<unknown>;
  chooseCut(input: { prefix: string }): Promise<{ cut: Record<string, number> }>;
  planViews(input: { prefix: string; cut: Record<string, number>; full: boolean }): Promise<{ hours: { dt: string; hour: number }[] }>;
  computeViewsHour(input: HourInput & { version: string; cut: Record<string, number> }): Promise<unknown>;
  /** Day views and cohorts, which span hours: after every hour of the version, before publishing. */
  computeViewsDays(input: { prefix: string; version: string; cut: Record<string, number>; hours: { dt: string; hour: number }[] }): Promise<unknown>;
  /** Deletes compacted files superseded longer than graceMs ago (readers of the previous manifest are done by then). */
  sweepSuperseded(input: { prefix: string; graceMs: number }): Promise<unknown>;
  /** Deletes view files no version published within graceMs (or current when it began) references. */
  sweepViews(input: { prefix: string; graceMs: number }): Promise<unknown>;
  publishViews(input: { prefix: string; version: string; cut: Record<string, number>; hours: { dt: string; hour: number }[] }): Promise<{ published: boolean; reason?: string }>;
}
