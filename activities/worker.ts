// The Temporal worker process: runs the batch layer's workflows and activities, and keeps the
// batch layer's schedules in Temporal (core/batch-control.ts).
import { NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { batchSchedules, connectTemporal, ensureSchedules } from '../core/batch-control';
import { config, type RtapConfig } from '../core/config';
import { readRetentionPolicies } from '../core/control';
import { readFraudFeedback } from '../core/fraud-feedback';
import { openLakeDuckDb } from '../core/duckdb';
import { createKafka } from '../core/kafka';
import { createLogger, type Logger } from '../core/logger';
import { createS3 } from '../core/s3';
import { createActivities } from './index';

export interface WorkerOptions {
  /** Create or update the batch schedules at start (default true). */
  schedules?: boolean;
  /** Lake root prefix the scheduled runs work on. */
  prefix?: string;
  /** Task queue; the configured one unless a test isolates itself. */
  taskQueue?: string;
  /** B of the offset buckets (the speed layer's --offset-bucket-size); cuts are multiples of it. */
  offsetBucketSize?: number;
}

export async function createWorker(cfg: RtapConfig, opts: WorkerOptions = {}): Promise<{ worker: Worker; close: () => Promise<void> }> {
  const connection = await NativeConnection.connect({ address: cfg.temporal.address });
  const s3 = createS3(cfg.s3);
  // One DuckDB for every activity of this worker (each takes its own connection), with httpfs so
  // activities read and write s3:// directly; threads and memory capped by DUCKDB_THREADS / _MEMORY_LIMIT.
  const lake = await openLakeDuckDb({ ...cfg.duckdb, s3: cfg.s3, cacheDir: cfg.cacheDir });
  const worker = await Worker.create({
    connection,
    namespace: cfg.temporal.namespace,
    taskQueue: opts.taskQueue ?? cfg.temporal.taskQueue,
    workflowsPath: require.resolve('../workflows'),
    activities: createActivities({
      s3,
      bucket: cfg.s3.bucket,
      duckdb: lake.connection,
      lake: lake.instance,
      offsetBucketSize: opts.offsetBucketSize,
      // Scheduled retention runs read the tenants' policies from the control topic when they start.
      retentionPolicies: () => readRetentionPolicies(createKafka(cfg.kafka), createLogger('retention')),
      // Training runs read the analysts' feedback from the control topic when they start.
      fraudFeedback: () => readFraudFeedback(createKafka(cfg.kafka), createLogger('fraud-training')),
    }),
    // Batch activities are heavy (DuckDB over Parquet): a few at a time per worker.
    maxConcurrentActivityTaskExecutions: 4,
  });
  const close = async () => {
    lake.close();
    s3.destroy();
    await connection.close();
  };
  return { worker, close };
}

/**
 * The batch layer's metrics: the Temporal SDK's own (workflow and activity task latencies, polls,
 * slots, schedule-to-start, failures; `rtap_temporal_*`) from its Prometheus exporter. Installed
 * once per process, before any connection; a port that cannot be bound (in use: a second worker on
 * the host) is logged and the worker runs without it.
 */
export function installWorkerMetrics(cfg: RtapConfig, log: Logger): void {
  const { metricsHost, metricsPort } = cfg.worker;
  if (metricsPort === 0) return;
  const bindAddress = `${metricsHost}:${metricsPort}`;
  try {
    Runtime.install({ telemetryOptions: { metrics: { metricPrefix: 'rtap_temporal_', prometheus: { bindAddress, countersTotalSuffix: true } } } });
    log.info({ url: `http://${bindAddress}/metrics` }, 'worker metrics served');
  } catch (err) {
    // the runtime was not created: the first connection creates it with the defaults, no exporter
    log.error({ bindAddress, err: (err as Error).message }, 'cannot serve the worker metrics (WORKER_METRICS_PORT; 0 turns it off); running without them');
  }
}

export async function runWorker(opts: WorkerOptions = {}): Promise<void> {
  const cfg = config();
  const log = createLogger('worker');
  installWorkerMetrics(cfg, log);
  const taskQueue = opts.taskQueue ?? cfg.temporal.taskQueue;
  const { worker, close } = await createWorker(cfg, opts);
  if (opts.schedules ?? true) {
    const temporal = await connectTemporal(cfg.temporal);
    try {
      const { created, updated } = await ensureSchedules(temporal.client, taskQueue, batchSchedules(opts.prefix ?? ''));
      log.info({ created, updated, ui: `${cfg.temporal.uiUrl}/namespaces/${cfg.temporal.namespace}/schedules` }, 'batch schedules in place');
    } finally {
      await temporal.close();
    }
  }
  log.info({ taskQueue, namespace: cfg.temporal.namespace }, 'worker started');
  // worker.run() resolves after SIGINT/SIGTERM once in-flight tasks finish (the SDK installs the handlers).
  await worker.run();
  await close();
  log.info('worker stopped');
}
