// The Temporal worker process: runs the batch layer's workflows and activities.
import { NativeConnection, Worker } from '@temporalio/worker';
import { config, type RtapConfig } from '../core/config';
import { openDuckDb } from '../core/duckdb';
import { createLogger } from '../core/logger';
import { createS3 } from '../core/s3';
import { createActivities } from './index';

export async function createWorker(cfg: RtapConfig): Promise<{ worker: Worker; close: () => Promise<void> }> {
  const connection = await NativeConnection.connect({ address: cfg.temporal.address });
  const s3 = createS3(cfg.s3);
  const { instance, connection: duckdb } = await openDuckDb(cfg.duckdb);
  const worker = await Worker.create({
    connection,
    namespace: cfg.temporal.namespace,
    taskQueue: cfg.temporal.taskQueue,
    workflowsPath: require.resolve('../workflows'),
    activities: createActivities({ s3, bucket: cfg.s3.bucket, duckdb }),
    // Batch activities are heavy (DuckDB over Parquet): a few at a time per worker.
    maxConcurrentActivityTaskExecutions: 4,
  });
  const close = async () => {
    duckdb.closeSync();
    instance.closeSync();
    s3.destroy();
    await connection.close();
  };
  return { worker, close };
}

export async function runWorker(): Promise<void> {
  const cfg = config();
  const log = createLogger('worker');
  const { worker, close } = await createWorker(cfg);
  log.info({ taskQueue: cfg.temporal.taskQueue, namespace: cfg.temporal.namespace }, 'worker started');
  // worker.run() resolves after SIGINT/SIGTERM once in-flight tasks finish (the SDK installs the handlers).
  await worker.run();
  await close();
  log.info('worker stopped');
}
