// A real workflow on a real worker against the Temporal dev server: the batch-layer probe runs
// DuckDB in an activity, uploads Parquet to MinIO and reads it back.
import { WorkflowFailedError, type Client } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import type { S3Client } from '@aws-sdk/client-s3';
import { createActivities } from '../../activities';
import { openDuckDb } from '../../core/duckdb';
import { createS3 } from '../../core/s3';
import { cfg, uniqueName } from './helpers';
import { startTestWorker, type TestWorker } from './temporal-worker';

const taskQueue = uniqueName('smoke-queue');
let worker: TestWorker;
let client: Client;
let s3: S3Client;
let duck: { instance: DuckDBInstance; connection: DuckDBConnection };

beforeAll(async () => {
  s3 = createS3(cfg.s3);
  duck = await openDuckDb({ threads: 1, memoryLimit: '512MB' });
  worker = await startTestWorker(taskQueue, createActivities({ s3, bucket: cfg.s3.bucket, duckdb: duck.connection, lake: duck.instance }));
  client = worker.client;
});

afterAll(async () => {
  await worker.stop();
  s3.destroy();
  duck.connection.closeSync();
  duck.instance.closeSync();
});

test('batchLayerProbe runs its activity on the worker and round-trips Parquet through the lake', async () => {
  const result = await client.workflow.execute('batchLayerProbe', {
    taskQueue,
    workflowId: uniqueName('probe'),
    args: [{ probeId: uniqueName('p'), rows: 2000 }],
  });
  expect(result.rowsWritten).toBe(2000);
  expect(result.rowsReadBack).toBe(2000);
  expect(result.checksumReadBack).toBe(result.checksumWritten);
  expect(result.bytes).toBeGreaterThan(0);
});

test('bad workflow input fails fast with a non-retryable ApplicationFailure', async () => {
  const run = client.workflow.execute('batchLayerProbe', {
    taskQueue,
    workflowId: uniqueName('probe-bad'),
    args: [{ probeId: '', rows: 0 }],
  });
  const err = await run.catch((e: unknown) => e);
  expect(err).toBeInstanceOf(WorkflowFailedError);
  const cause = (err as WorkflowFailedError).cause;
  expect(cause).toBeInstanceOf(ApplicationFailure);
  expect((cause as ApplicationFailure).type).toBe('InvalidInput');
  expect((cause as ApplicationFailure).nonRetryable).toBe(true);
});
