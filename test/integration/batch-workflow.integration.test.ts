// The batch pipeline's orchestration on the real Temporal dev server: units, bounded concurrency,
// failures of one unit, the publish retry when the cut moved, progress by query, and the
// schedule — created idempotently, visible through the Temporal UI's HTTP API, and backfilled
// there, each backfilled run recomputing its own past hour. The activities here are stand-ins
// that record their calls (the real ones are covered by compaction/batch-views/batch-e2e specs).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ScheduleOverlapPolicy, type Client } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { ensureSchedules, queryProgress } from '../../core/batch-control';
import { BATCH_WORKFLOW, type BatchProgress, type BatchRunResult } from '../../core/batch-run';
import { hourLabel, type HourRef } from '../../core/hours';
import { cfg, uniqueName } from './helpers';
import { startTestWorker, type TestWorker } from './temporal-worker';

interface Recorder {
  compacted: string[];
  viewed: { version: string; hour: string }[];
  published: string[];
  /** Versions whose day views were computed. */
  days: string[];
  inFlight: number;
  maxInFlight: number;
  /** Hours whose compaction always fails. */
  failCompaction: Set<string>;
  /** publishViews answers "cut moved" this many times first. */
  refusePublish: number;
  /** Released by the test to let computeViewsHour finish (to query progress meanwhile). */
  gate?: Promise<void>;
  /** chooseCut and compactHour calls, in order; each cut chosen is the one before plus one bucket. */
  order: string[];
}

const HISTORIES = path.join(__dirname, '..', 'fixtures', 'histories');
const h = (dt: string, hour: number): HourRef => ({ dt, hour });

function standInActivities(r: Recorder) {
  const track = async <T>(work: () => Promise<T>): Promise<T> => {
    r.inFlight++;
    r.maxInFlight = Math.max(r.maxInFlight, r.inFlight);
    try {
      return await work();
    } finally {
      r.inFlight--;
    }
  };
  return {
    planCompaction: async () => ({ hours: [h('2026-11-01', 1), h('2026-11-01', 2), h('2026-11-01', 3)] }),
    compactHour: async (i: { dt: string; hour: number }) =>
      track(async () => {
        const label = hourLabel(i);
        await new Promise((res) => setTimeout(res, 30));
        if (r.failCompaction.has(label)) throw ApplicationFailure.nonRetryable(`disk on fire for ${label}`);
        r.compacted.push(label);
        r.order.push('compact');
        return {};
      }),
    chooseCut: async () => {
      const n = r.order.filter((x) => x.startsWith('cut')).length;
      r.order.push(`cut ${n}`);
      return { cut: { '0': 10_000 * (n + 1), '1': 20_000 } };
    },
    planViews: async () => ({ hours: [h('2026-11-01', 2), h('2026-11-01', 4)] }),
    computeViewsHour: async (i: { version: string; dt: string; hour: number }) =>
      track(async () => {
        await r.gate;
        r.viewed.push({ version: i.version, hour: hourLabel(i) });
        return {};
      }),
    computeViewsDays: async (i: { version: string }) => {
      r.days.push(i.version);
      return {};
    },
    sweepSuperseded: async () => ({}),
    sweepViews: async () => ({}),
    publishViews: async (i: { version: string }) => {
      if (!r.days.includes(i.version)) throw ApplicationFailure.nonRetryable('published before its days were computed');
      if (r.refusePublish > 0) {
        r.refusePublish--;
        return { published: false, reason: 'a later cut was published meanwhile' };
      }
      r.published.push(i.version);
      return { published: true };
    },
  };
}

const taskQueue = uniqueName('batch-wf');
const recorder: Recorder = { compacted: [], viewed: [], published: [], days: [], inFlight: 0, maxInFlight: 0, failCompaction: new Set(), refusePublish: 0, order: [] };
let worker: TestWorker;
let client: Client;

beforeAll(async () => {
  worker = await startTestWorker(taskQueue, standInActivities(recorder));
  client = worker.client;
});

afterAll(async () => {
  await worker.stop();
});

beforeEach(() => {
  Object.assign(recorder, { compacted: [], viewed: [], published: [], days: [], inFlight: 0, maxInFlight: 0, failCompaction: new Set(), refusePublish: 0, gate: undefined, order: [] });
});

test('units run with bounded concurrency; a failed compaction unit is reported, the others and the views go on', async () => {
  recorder.failCompaction.add('2026-11-01T02');
  const workflowId = uniqueName('batch');
  const result: BatchRunResult = await client.workflow.execute(BATCH_WORKFLOW, {
    taskQueue,
    workflowId,
    args: [{ prefix: 'p/', range: { fromMs: Date.parse('2026-11-01T03:00:00Z'), toMs: Date.parse('2026-11-01T05:00:00Z') }, concurrency: 2 }],
  });
  // planned 01–03 + asked-for 03–04, each once, in order; 02 failed
  expect(result.compactedHours).toEqual(['2026-11-01T01', '2026-11-01T03', '2026-11-01T04']);
  expect(recorder.compacted.sort()).toEqual(['2026-11-01T01', '2026-11-01T03', '2026-11-01T04']);
  expect(result.compactionFailures).toEqual([{ unit: '2026-11-01T02', error: expect.stringContaining('disk on fire') }]);
  // views: changed 02, 04 + asked-for 03, 04
  expect(result.viewHours).toEqual(['2026-11-01T02', '2026-11-01T03', '2026-11-01T04']);
  expect(recorder.maxInFlight).toBe(2);
  expect(result.published).toBe(true);
  expect(recorder.published).toEqual([result.version]);
  // the cut is chosen once, before compaction (so every raw chunk below it is compacted and the views read the compacted files)
  expect(recorder.order).toEqual(['cut 0', 'compact', 'compact', 'compact']);
  expect(result.cut).toEqual({ '0': 10_000, '1': 20_000 });
  // RTAP_RECORD_HISTORIES=1 refreshes the history test/unit/batch-replay.test.ts replays against
  // today's workflow code (do it only when a workflow change is meant to be incompatible).
  if (process.env.RTAP_RECORD_HISTORIES === '1') {
    const history = await client.workflow.getHandle(workflowId).fetchHistory();
    fs.mkdirSync(HISTORIES, { recursive: true });
    fs.writeFileSync(path.join(HISTORIES, 'batchRun-failed-unit.json'), historyToJSON(history));
  }
});

test('when another run moved the cut, the views are recomputed under a new version before publishing', async () => {
  recorder.refusePublish = 1;
  const result: BatchRunResult = await client.workflow.execute(BATCH_WORKFLOW, { taskQueue, workflowId: uniqueName('batch'), args: [{ concurrency: 1 }] });
  const versions = [...new Set(recorder.viewed.map((v) => v.version))];
  expect(versions).toHaveLength(2);
  // the second round chose a new cut, after compaction
  expect(recorder.order).toEqual(['cut 0', 'compact', 'compact', 'compact', 'cut 1']);
  expect(result.cut).toEqual({ '0': 20_000, '1': 20_000 });
  expect(recorder.published).toEqual([versions[1]]);
  expect(result.version).toBe(versions[1]);
  expect(recorder.maxInFlight).toBe(1);
});

test('progress is answered by query while units run', async () => {
  let release!: () => void;
  recorder.gate = new Promise<void>((res) => (release = res));
  const handle = await client.workflow.start(BATCH_WORKFLOW, { taskQueue, workflowId: uniqueName('batch'), args: [{ concurrency: 1 }] });
  let seen: BatchProgress | undefined;
  const inViews = (p?: BatchProgress) => p?.phase === 'computing views' && p.views.running.length > 0;
  for (let i = 0; i < 100 && !inViews(seen); i++) {
    seen = await queryProgress(handle).catch(() => undefined);
    if (!inViews(seen)) await new Promise((res) => setTimeout(res, 100));
  }
  expect(seen).toMatchObject({ phase: 'computing views', compaction: { total: 3, done: 3 }, views: { total: 2, done: 0, running: ['2026-11-01T02'] } });
  release();
  await handle.result();
  expect((await queryProgress(handle)).phase).toBe('done');
});

test('a long range runs as child runs of sliceHours each, oldest first, each publishing; the parent sums them up', async () => {
  const workflowId = uniqueName('batch');
  const handle = await client.workflow.start(BATCH_WORKFLOW, {
    taskQueue,
    workflowId,
    args: [{ prefix: 'p/', range: { fromMs: Date.parse('2026-11-02T00:00:00Z'), toMs: Date.parse('2026-11-02T07:00:00Z') }, concurrency: 2, sliceHours: 3, full: true }],
  });
  const result: BatchRunResult = await handle.result();
  // three children: 00–02, 03–05, 06 (+ each child's planned hours 2026-11-01T01..03)
  const children: string[] = [];
  for await (const w of client.workflow.list({ query: `WorkflowId STARTS_WITH "${workflowId}-slice-"` })) children.push(w.workflowId);
  expect(children.sort()).toEqual([1, 2, 3].map((i) => `${workflowId}-slice-${i}-of-3`));
  const asked = Array.from({ length: 7 }, (_, i) => `2026-11-02T0${i}`);
  for (const hour of asked) expect(recorder.compacted.filter((x) => x === hour)).toHaveLength(1);
  expect(result.compactedHours.filter((x) => x.startsWith('2026-11-02'))).toEqual(asked);
  expect(recorder.published).toHaveLength(3);
  expect(result.version).toBe(recorder.published[2]);
  expect(result.published).toBe(true);
  const progress = await queryProgress(handle);
  expect(progress).toMatchObject({ phase: 'done', slices: { total: 3, done: 3 }, compaction: { total: 7, done: 7 } });
  // a slice runs as one ordinary run: the parent holds only its children, not their units
  const parentHistory = await handle.fetchHistory();
  const types = (parentHistory.events ?? []).map((e) => String(e.eventType));
  expect(types.filter((t) => /ACTIVITY_TASK_SCHEDULED/.test(t) || t === '10')).toHaveLength(0);
  await expect(client.workflow.execute(BATCH_WORKFLOW, { taskQueue, workflowId: uniqueName('batch'), args: [{ sliceHours: 0 }] })).rejects.toThrow();
});

test('bad input fails at once, without retrying', async () => {
  await expect(client.workflow.execute(BATCH_WORKFLOW, { taskQueue, workflowId: uniqueName('batch'), args: [{ concurrency: 0 }] })).rejects.toThrow();
  await expect(
    client.workflow.execute(BATCH_WORKFLOW, { taskQueue, workflowId: uniqueName('batch'), args: [{ range: { fromMs: 10, toMs: 5 } }] }),
  ).rejects.toThrow();
  expect(recorder.compacted).toEqual([]);
});

test('the schedule is created once, updated in place, visible in the Temporal UI, and a UI backfill recomputes each past hour', async () => {
  const id = uniqueName('sched');
  const defs = [{ id, note: 'test schedule', cron: '5 * * * *', workflowType: BATCH_WORKFLOW, args: [{ prefix: 'p/' }] }];
  try {
    expect(await ensureSchedules(client, taskQueue, defs)).toEqual({ created: [id], updated: [] });
    expect(await ensureSchedules(client, taskQueue, [{ ...defs[0], note: 'changed' }])).toEqual({ created: [], updated: [id] });
    const handle = client.schedule.getHandle(id);
    const described = await handle.describe();
    expect(described.spec.calendars?.length).toBe(1);
    expect(described.state.note).toBe('changed');

    // what the Temporal UI shows comes from its HTTP API
    const ui = await fetch(`${cfg.temporal.uiUrl}/api/v1/namespaces/${cfg.temporal.namespace}/schedules/${id}`);
    expect(ui.status).toBe(200);
    const body = (await ui.json()) as { schedule?: { action?: { startWorkflow?: { workflowType?: { name?: string } } } } };
    expect(body.schedule?.action?.startWorkflow?.workflowType?.name).toBe(BATCH_WORKFLOW);

    // a backfill over two past hours starts two runs, each for its own scheduled time
    const start = new Date(Date.parse('2026-10-01T10:00:00Z'));
    const end = new Date(Date.parse('2026-10-01T11:59:00Z'));
    await handle.backfill({ start, end, overlap: ScheduleOverlapPolicy.ALLOW_ALL });
    const deadline = Date.now() + 60_000;
    const viewed = () => recorder.viewed.map((v) => v.hour);
    while (Date.now() < deadline && !(viewed().includes('2026-10-01T09') && viewed().includes('2026-10-01T10'))) {
      await new Promise((res) => setTimeout(res, 250));
    }
    // runs scheduled at 10:05 and 11:05 recompute the hours that had just ended: 09 and 10
    expect(recorder.compacted).toEqual(expect.arrayContaining(['2026-10-01T09', '2026-10-01T10']));
    expect(recorder.viewed.map((v) => v.hour)).toEqual(expect.arrayContaining(['2026-10-01T09', '2026-10-01T10']));
  } finally {
    await client.schedule.getHandle(id).delete().catch(() => undefined);
  }
});
