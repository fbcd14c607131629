// A backfill survives its worker: `rtap worker` runs as a child process, is SIGKILLed once some
// hour units have finished, and is started again. The backfill must then finish with the same
// published views as an uninterrupted run over the same lake, and the workflow's history must
// show that no unit finished before the kill was run again.
import { spawn, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { queryProgress, startBackfill } from '../../core/batch-control';
import type { BatchProgress, BatchRunResult } from '../../core/batch-run';
import { REPO_ROOT } from '../../core/config';
import { openLakeDuckDb, s3Url } from '../../core/duckdb';
import { parseVersionManifest, viewFileKeys } from '../../core/lake-views';
import { waitUntil } from '../../core/retry';
import { createS3, getText } from '../../core/s3';
import { EventGenerator } from '../../generator/generator';
import { generatedMessages, layDown } from '../../ingest/lay-down';
import { cfg, uniqueName } from './helpers';

jest.setTimeout(600_000);

const taskQueue = uniqueName('resume-queue');
const prefix = `${uniqueName('resume-it')}/`;
const s3 = createS3(cfg.s3);
let connection: Connection;
let client: Client;
const children = new Set<ChildProcess>();
let firstMs = Infinity;
let lastMs = -Infinity;

function startWorker(): ChildProcess {
  const child = spawn(process.execPath, [path.join(REPO_ROOT, 'bin', 'rtap'), 'worker', '--no-schedules', '--prefix', prefix, '--offset-bucket-size', '100'], {
    env: { ...process.env, TEMPORAL_TASK_QUEUE: taskQueue, LOG_LEVEL: 'warn', WORKER_METRICS_PORT: '0' },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  children.add(child);
  child.on('exit', () => children.delete(child));
  return child;
}

beforeAll(async () => {
  connection = await Connection.connect({ address: cfg.temporal.address });
  client = new Client({ connection, namespace: cfg.temporal.namespace });
  // ~10 hours of event time over 3 partitions
  const lake = await openLakeDuckDb({ threads: 1, memoryLimit: '1GB', s3: cfg.s3, cacheDir: cfg.cacheDir });
  try {
    const gen = new EventGenerator({ seed: 17, tenants: 4, users: 200, rate: 0.1, lateRate: 0.05, defectRate: 0.02, fraudRate: 0.01 });
    const messages = [...generatedMessages(gen, 3600)];
    for (const m of messages) {
      const t = Date.parse((JSON.parse(m.value) as { event_metadata?: { timestamp?: string } }).event_metadata?.timestamp ?? '');
      if (Number.isFinite(t)) [firstMs, lastMs] = [Math.min(firstMs, t), Math.max(lastMs, t)];
    }
    await layDown({ s3, bucket: cfg.s3.bucket, duckdb: lake.connection }, messages, { prefix, partitions: 3, maxRows: 1200 });
  } finally {
    lake.close();
  }
});

afterAll(async () => {
  for (const c of children) c.kill('SIGKILL');
  await connection.close();
  s3.destroy();
});

/** Every view of the published version, as sorted rows (the content, whatever the version's name). */
async function publishedContent(): Promise<Record<string, unknown[]>> {
  const pointer = JSON.parse((await getText(s3, cfg.s3.bucket, `${prefix}manifests/views/current.json`))!) as { manifest: string };
  const manifest = parseVersionManifest((await getText(s3, cfg.s3.bucket, `${prefix}${pointer.manifest}`))!)!;
  const lake = await openLakeDuckDb({ threads: 1, memoryLimit: '1GB', s3: cfg.s3, cacheDir: cfg.cacheDir });
  try {
    const out: Record<string, unknown[]> = { cut: [manifest.cut] };
    for (const view of ['event_type_1m', 'country_1h', 'totals_1d', 'funnel_1d', 'cohorts_weekly']) {
      const files = viewFileKeys(prefix, manifest, view).map((k) => `'${s3Url(cfg.s3.bucket, k)}'`);
      if (files.length === 0) {
        out[view] = [];
        continue;
      }
      const reader = await lake.connection.runAndReadAll(`SELECT * FROM read_parquet([${files.join(', ')}], hive_partitioning = false) ORDER BY ALL`);
      // sums of doubles may differ in their last bits with the order DuckDB adds them in
      out[view] = reader.getRowObjectsJson().map((row) => Object.fromEntries(Object.entries(row).map(([k, v]) => [k, typeof v === 'number' && !Number.isInteger(v) ? Number(v.toPrecision(12)) : v])));
    }
    return out;
  } finally {
    lake.close();
  }
}

test('a worker SIGKILLed mid-backfill resumes without redoing finished units, and the result equals an uninterrupted run', async () => {
  // the event hours of the laid-down traffic (about ten), as a backfill range
  const from = new Date(firstMs).toISOString().slice(0, 13);
  const to = new Date(lastMs + 3_600_000).toISOString().slice(0, 13);
  const first = startWorker();
  const { handle, workflowId } = await startBackfill(client, taskQueue, { from, to: `${to}`, prefix, concurrency: 1 });
  // the range is mostly empty hours; the lake's own hours are planned as changed too
  let progress: BatchProgress | undefined;
  const midway = await waitUntil(
    async () => {
      progress = await queryProgress(handle).catch(() => undefined);
      return (progress?.compaction.done ?? 0) >= 3;
    },
    240_000,
    100,
  );
  expect(midway).toBe(true);
  first.kill('SIGKILL');
  await new Promise((r) => setTimeout(r, 500));
  const doneBeforeKill = progress!.compaction.done;
  expect(doneBeforeKill).toBeLessThan(progress!.compaction.total);

  startWorker();
  const result = (await handle.result()) as BatchRunResult;
  expect(result.published).toBe(true);

  // no unit that had completed was scheduled again: each activity's (type, hour) is scheduled once,
  // except the ones in flight at the kill, which time out and are retried by Temporal itself
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  const scheduled = new Map<string, number>();
  for (const e of history.events ?? []) {
    if (!e.activityTaskScheduledEventAttributes) continue;
    const a = e.activityTaskScheduledEventAttributes!;
    const input = JSON.parse(Buffer.from(a.input!.payloads![0].data!).toString()) as { dt?: string; hour?: number };
    const k = `${a.activityType!.name}:${input.dt ?? ''}T${input.hour ?? ''}`;
    scheduled.set(k, (scheduled.get(k) ?? 0) + 1);
  }
  expect([...scheduled.values()].every((n) => n === 1)).toBe(true);
  const afterKill = await publishedContent();

  // the same backfill again, uninterrupted, over the same lake: the same content
  const again = await startBackfill(client, taskQueue, { from, to, prefix, concurrency: 2 });
  expect(again.workflowId).toBe(workflowId);
  expect(((await again.handle.result()) as BatchRunResult).published).toBe(true);
  expect(await publishedContent()).toEqual(afterKill);
  expect(afterKill.event_type_1m.length).toBeGreaterThan(100);
});
