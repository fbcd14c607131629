// A real workflow on a real worker against the Temporal dev server: the batch-layer probe runs
// DuckDB in an activity, uploads Parquet to MinIO and reads it back.
import { Client, Connection, WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import type { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import type { S3Client } from '@aws-sdk/client-s3';
import { createActivities } from '../../activities';
import { openDuckDb } from '../../core/duckdb';
import { createS3 } from '../../core/s3';
import { cfg, uniqueName } from './helpers';

const taskQueue = uniqueName('smoke-queue');
let nativeConnection: NativeConnection;
let connection: Connection;
let client: Client;
let worker: Worker;
let running: Promise<void>;
let s3: S3Client;
let duck: { instance: DuckDBInstance; connection: DuckDBConnection };

beforeAll(async () => {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  nativeConnection = await NativeConnection.connect({ address: cfg.temporal.address });
  connection = await Connection.connect({ address: cfg.temporal.address });
  client = new Client({ connection, namespace: cfg.temporal.namespace });
  s3 = createS3(cfg.s3);
  duck = await openDuckDb({ threads: 1, memoryLimit: '512MB' });
  worker = await Worker.create({
    connection: nativeConnection,
    namespace: cfg.temporal.namespace,
    taskQueue,
    workflowsPath: require.resolve('../../workflows'),
    activities: createActivities({ s3, bucket: cfg.s3.bucket, duckdb: duck.connection, lake: duck.instance }),
  });
  running = worker.run();
});

afterAll(async () => {
  worker.shutdown();
  await running;
  await connection.close();
  await nativeConnection.close();
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
