// The batch layer's one pipeline, run by the hourly schedule, by a schedule backfill from the
// Temporal UI, by `rtap backfill` and by POST /api/v2/admin/backfill:
//   1. choose a new offset cut, then compact every event hour touched since the last run (plus
//      the hours asked for);
//   2. recompute the views of every hour whose input changed at that cut (plus the hours asked
//      for), from the compacted files;
//   3. publish the views version and its cut atomically.
// Units are coarse — an hour of all tenants — and run with bounded concurrency. Finished units
// live in the workflow's history, so a worker killed mid-run resumes without redoing them.
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import {
  ApplicationFailure,
  defineQuery,
  executeChild,
  log,
  patched,
  proxyActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import { MAX_HOURS_PER_RUN, PROGRESS_QUERY, type BatchActivities, type BatchProgress, type BatchRunInput, type BatchRunResult, type UnitFailure } from '../core/batch-run';
import { hourLabel, hourOf, hourRefsOf, hoursInRange, uniqueHours, type HourRef } from '../core/hours';

export const progressQuery = defineQuery<BatchProgress>(PROGRESS_QUERY);

const activityDefaults = {
  // A unit is one event hour of all tenants: minutes on a big hour, heartbeating throughout.
  startToCloseTimeout: '30 minutes',
  heartbeatTimeout: '2 minutes',
  retry: { initialInterval: '5 seconds', backoffCoefficient: 2, maximumInterval: '2 minutes', maximumAttempts: 5 },
} as const;

const heavy = proxyActivities<BatchActivities>(activityDefaults);
// Planning and publishing read and write a few small manifests.
const light = proxyActivities<BatchActivities>({
  startToCloseTimeout: '2 minutes',
  retry: { initialInterval: '2 seconds', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 10 },
});

const sweep = proxyActivities<BatchActivities>({
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '2 minutes',
  retry: { initialInterval: '5 seconds', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 5 },
});
const SWEEP_GRACE_MS = 3_600_000;

/** Set by Temporal on every run a schedule starts, including those of a backfill. */
const SCHEDULED_START_TIME = defineSearchAttributeKey('TemporalScheduledStartTime', SearchAttributeType.DATETIME);
/** A run started by a schedule for a time this far in the past is a backfill of that hour. */
const BACKFILL_LAG_MS = 2 * 3_600_000;
/** Publishing retries when another run moved the cut meanwhile; this many times at most. */
const MAX_PUBLISH_ROUNDS = 3;

export async function batchRun(input: BatchRunInput = {}): Promise<BatchRunResult> {
  const prefix = input.prefix ?? '';
  const concurrency = input.concurrency ?? 2;
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 64) {
    throw ApplicationFailure.nonRetryable(`concurrency must be an integer in 1..64, got ${concurrency}`, 'InvalidInput');
  }
  const sliceHours = input.sliceHours ?? MAX_HOURS_PER_RUN;
  if (!Number.isInteger(sliceHours) || sliceHours < 1 || sliceHours > MAX_HOURS_PER_RUN) {
    throw ApplicationFailure.nonRetryable(`sliceHours must be an integer in 1..${MAX_HOURS_PER_RUN}, got ${sliceHours}`, 'InvalidInput');
  }
  const forced = forcedHours(input);
  // patched: runs recorded before slicing existed replay as one run
  if (forced.length > sliceHours && patched('backfill-slices')) return runInSlices(input, forced, sliceHours);
  const progress: BatchProgress = {
    phase: 'planning',
    compaction: { total: 0, done: 0, running: [], failed: [] },
    views: { total: 0, done: 0, running: [], failed: [] },
    startedAt: new Date(workflowInfo().startTime).toISOString(),
  };
  setHandler(progressQuery, () => progress);

  try {
    // The first round's cut is chosen before compaction (patched: runs recorded before replay
    // without): every raw chunk below it is then an input of the hours' new compacted files, so
    // the views of every compacted hour, the one still being written included, read those
    // (deduplicated already) instead of raw (activities/views.ts, compactedCoversHour). A cut
    // chosen after compaction is above chunks the sink wrote meanwhile, and the live hour read raw.
    const earlyCut = patched('cut-before-compaction') ? (await light.chooseCut({ prefix })).cut : undefined;

    // 1. compaction of touched hours + the hours asked for
    const planned = await light.planCompaction({ prefix });
    const compactHours = uniqueHours([...planned.hours, ...forced]);
    progress.phase = 'compacting';
    progress.compaction.total = compactHours.length;
    await pool(compactHours, concurrency, progress.compaction, async (h) => {
      await heavy.compactHour({ prefix, dt: h.dt, hour: h.hour, ...(input.tenant ? { tenant: input.tenant } : {}) });
    });

    // 2–3. views at a new cut, published; retried if another run published a later cut meanwhile
    progress.phase = 'computing views';
    let viewHours: HourRef[] = [];
    let published: { version: string; cut: Record<string, number> } | undefined;
    for (let round = 1; round <= MAX_PUBLISH_ROUNDS && !published; round++) {
      const cut = round === 1 && earlyCut ? earlyCut : (await light.chooseCut({ prefix })).cut;
      const version = versionName(round);
      progress.cut = cut;
      progress.version = version;
      const plan = await light.planViews({ prefix, cut, full: input.full ?? false });
      viewHours = uniqueHours([...plan.hours, ...forced]);
      progress.views = { total: viewHours.length, done: 0, running: [], failed: [] };
      await pool(viewHours, concurrency, progress.views, async (h) => {
        await heavy.computeViewsHour({ prefix, version, cut, dt: h.dt, hour: h.hour });
      });
      if (progress.views.failed.length > 0) {
        // Publishing with an hour missing would serve stale numbers for it as if current.
        throw ApplicationFailure.nonRetryable(
          `views of ${progress.views.failed.length} hour(s) failed; nothing published: ${describeFailures(progress.views.failed)}`,
          'ViewsFailed',
        );
      }
      await heavy.computeViewsDays({ prefix, version, cut, hours: viewHours });
      progress.phase = 'publishing';
      const outcome = await light.publishViews({ prefix, version, cut, hours: viewHours });
      if (outcome.published) published = { version, cut };
      else log.warn('cut moved while computing; recomputing at the newer cut', { round, reason: outcome.reason });
    }
    if (!published) throw ApplicationFailure.nonRetryable(`the cut kept moving; not published after ${MAX_PUBLISH_ROUNDS} rounds`, 'PublishContention');

    // Superseded compacted files and view versions outlive the readers of the manifests that
    // listed them by an hour.
    await sweep.sweepSuperseded({ prefix, graceMs: SWEEP_GRACE_MS });
    // patched: runs recorded before the views sweep existed replay without it
    if (patched('sweep-views')) await sweep.sweepViews({ prefix, graceMs: SWEEP_GRACE_MS });
    progress.phase = 'done';
    return {
      compactedHours: compactHours.map(hourLabel).filter((u) => !progress.compaction.failed.some((f) => f.unit === u)),
      viewHours: viewHours.map(hourLabel),
      version: published.version,
      cut: published.cut,
      published: true,
      compactionFailures: progress.compaction.failed,
    };
  } catch (err) {
    progress.phase = 'failed';
    throw err;
  }
}

/**
 * A long backfill as child runs of `sliceHours` hours each, one after the other, oldest
 * first: each compacts its hours and publishes a views version (each composed on the one before),
 * so the lake is consistent after every slice and a failed slice leaves the earlier ones done.
 * A child's units live in its own history; the parent's holds one child per slice.
 */
async function runInSlices(input: BatchRunInput, hours: HourRef[], sliceHours: number): Promise<BatchRunResult> {
  const slices: HourRef[][] = [];
  for (let i = 0; i < hours.length; i += sliceHours) slices.push(hours.slice(i, i + sliceHours));
  const progress: BatchProgress = {
    phase: 'running slices',
    compaction: { total: hours.length, done: 0, running: [], failed: [] },
    views: { total: hours.length, done: 0, running: [], failed: [] },
    slices: { total: slices.length, done: 0 },
    startedAt: new Date(workflowInfo().startTime).toISOString(),
  };
  setHandler(progressQuery, () => progress);
  const result: BatchRunResult = { compactedHours: [], viewHours: [], published: false, compactionFailures: [] };
  try {
    for (const [i, slice] of slices.entries()) {
      const workflowId = `${workflowInfo().workflowId}-slice-${i + 1}-of-${slices.length}`;
      progress.slices!.running = workflowId;
      // a full recompute covers every hour of the lake: once, with the last slice
      const { range: _range, hours: _hours, full, ...rest } = input;
      const last = i === slices.length - 1;
      const child = await executeChild(batchRun, { workflowId, args: [{ ...rest, hours: slice, ...(full && last ? { full } : {}) }] });
      result.compactedHours.push(...child.compactedHours);
      result.viewHours.push(...child.viewHours);
      result.compactionFailures.push(...child.compactionFailures);
      Object.assign(result, { version: child.version, cut: child.cut, published: child.published });
      progress.compaction.done += slice.length;
      progress.compaction.failed.push(...child.compactionFailures);
      progress.views.done += slice.length;
      progress.version = child.version;
      progress.cut = child.cut;
      progress.slices!.done = i + 1;
    }
    progress.slices!.running = undefined;
    progress.phase = 'done';
    return result;
  } catch (err) {
    progress.phase = 'failed';
    throw err;
  }
}

/**
 * The hours a run must recompute whatever changed: the range and hours it was given, or — when a schedule
 * started it for a time well in the past (a backfill from the Temporal UI) — the hour before
 * that scheduled time.
 */
function forcedHours(input: BatchRunInput): HourRef[] {
  if (input.range || input.hours) {
    try {
      const listed = input.hours ? hourRefsOf(input.hours) : [];
      return input.range ? uniqueHours([...hoursInRange(input.range.fromMs, input.range.toMs), ...listed]) : listed;
    } catch (err) {
      throw ApplicationFailure.nonRetryable((err as Error).message, 'InvalidInput');
    }
  }
  const scheduled = workflowInfo().typedSearchAttributes.get(SCHEDULED_START_TIME);
  if (scheduled && workflowInfo().startTime.getTime() - scheduled.getTime() > BACKFILL_LAG_MS) {
    return [hourOf(scheduled.getTime() - 3_600_000)];
  }
  return [];
}

/** Version names sort by time; the run id keeps two runs in the same second apart. */
function versionName(round: number): string {
  const iso = new Date(Date.now()).toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  return `${iso}-${workflowInfo().runId.slice(0, 8)}-${round}`;
}

/**
 * Runs `work` over the hours with at most `limit` in flight. A unit whose activity fails after
 * its retries is recorded and the others go on: one bad hour must not hold a backfill hostage.
 */
async function pool(
  hours: HourRef[],
  limit: number,
  counters: { done: number; running: string[]; failed: UnitFailure[] },
  work: (h: HourRef) => Promise<void>,
): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < hours.length) {
      const h = hours[next++];
      const unit = hourLabel(h);
      counters.running.push(unit);
      try {
        await work(h);
      } catch (err) {
        counters.failed.push({ unit, error: rootMessage(err) });
      } finally {
        counters.running.splice(counters.running.indexOf(unit), 1);
        counters.done += 1;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, hours.length) }, lane));
}

/** An activity failure wraps the activity's own error as its cause: report that one. */
function rootMessage(err: unknown): string {
  let e = err as { message?: string; cause?: unknown } | undefined;
  while (e && typeof e.cause === 'object' && e.cause !== null) e = e.cause as { message?: string; cause?: unknown };
  return e?.message ?? String(err);
}

function describeFailures(failed: UnitFailure[]): string {
  const shown = failed.slice(0, 5).map((f) => `${f.unit} (${f.error})`).join('; ');
  return failed.length > 5 ? `${shown}; and ${failed.length - 5} more` : shown;
}
