// Builds what the analytics routes read: the speed layer's committed state (core/speed-reader.ts,
// materialized from the changelog), the published batch views with a local file cache, a small
// DuckDB for view scans and Parquet results, a lake DuckDB (httpfs) for what only the raw lake
// holds (lineage, touchpoint times), the tail of the anomalies topic, and the async job table.
import type { Serializable } from 'node:child_process';
import cluster from 'node:cluster';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Kafka } from 'kafkajs';
import type { RtapConfig } from '../../core/config';
import type { ControlState } from '../../core/control';
import { openDuckDb, openLakeDuckDb, type OpenDuckDb } from '../../core/duckdb';
import type { Logger } from '../../core/logger';
import { createS3 } from '../../core/s3';
import { createSpeedReader } from '../../core/speed-reader';
import { createAnomalyTail } from '../anomalies/tail';
import { createBatchViews } from './batch-views';
import { serveJobLookups } from './job-relay';
import { DEFAULT_JOB_LIMITS, JobTable } from './jobs';
import type { AnalyticsRouteDeps } from './routes';

export interface AnalyticsOptions {
  cfg: RtapConfig;
  kafka: Kafka;
  control: ControlState;
  log: Logger;
  /** The speed layer's changelog topic (a test's own, or `speed-windows`). */
  speedWindowsTopic?: string;
  /** The anomalies topic to tail (a test's own, or `anomalies`). */
  anomaliesTopic?: string;
  /** Lake root prefix the batch views are published under. */
  lakePrefix?: string;
  /** B of the speed layer's offset buckets (its --offset-bucket-size; default 10,000). */
  offsetBucketSize?: number;
}

export async function startAnalytics(o: AnalyticsOptions): Promise<{ deps: AnalyticsRouteDeps; ready: Promise<void>; close: () => Promise<void> }> {
  const s3 = createS3(o.cfg.s3);
  // View scans are small and many: one thread each, so the API's event loop keeps its core.
  const duck = await openDuckDb({ threads: 1, memoryLimit: '512MB' });
  // The API serves everything else without it: lineage and time-decay attribution answer 503.
  const lake: OpenDuckDb | undefined = await openLakeDuckDb({ threads: 1, memoryLimit: '512MB', s3: o.cfg.s3, cacheDir: o.cfg.cacheDir }).catch((err: unknown) => {
    o.log.warn({ err }, 'no lake DuckDB (httpfs): lineage and time-decay attribution are unavailable');
    return undefined;
  });
  const speed = createSpeedReader({ kafka: o.kafka, logger: o.log }, { ...(o.speedWindowsTopic ? { topic: o.speedWindowsTopic } : {}), ...(o.offsetBucketSize ? { offsetBucketSize: o.offsetBucketSize } : {}) });
  const anomalies = createAnomalyTail({ kafka: o.kafka, logger: o.log }, o.anomaliesTopic ? { topic: o.anomaliesTopic } : {});
  // Per process, and removed on close: view files are immutable, so nothing is lost but a download.
  const viewCache = path.join(o.cfg.dataDir, 'view-cache', String(process.pid));
  const batch = createBatchViews({
    s3,
    bucket: o.cfg.s3.bucket,
    prefix: o.lakePrefix ?? '',
    duck: duck.instance,
    cacheDir: viewCache,
    onResidentError: (err, view) => o.log.warn({ err, view }, 'resident batch view table failed to load; its queries keep scanning the Parquet files'),
  });
  const api = o.cfg.api;
  const jobs = new JobTable({ ...DEFAULT_JOB_LIMITS, budgetMs: api.queryBudgetMs, maxFiles: api.jobMaxFiles, maxJobs: api.maxJobs, ttlMs: api.jobTtlMs }, Date.now, cluster.worker?.id);
  // a clustered worker finds the other workers' jobs through the primary
  const remoteJobs = cluster.isWorker ? serveJobLookups({ send: (m) => process.send?.(m as Serializable), on: (l) => process.on('message', l) }, jobs) : undefined;
  // The readers catch up in the background; until then answers reflect fewer live offsets (and
  // meta.live_offsets says exactly which), or fewer anomalies (meta.caught_up).
  const ready = speed.start().catch((err: unknown) => o.log.error({ err }, 'speed reader failed to start; live cells unavailable'));
  anomalies.start().catch((err: unknown) => o.log.error({ err }, 'anomaly tail failed to start; /anomalies/active stays empty'));
  return {
    deps: { control: o.control, duck: duck.instance, batch, speed, jobs, remoteJobs, anomalies, lake: { s3, bucket: o.cfg.s3.bucket, prefix: o.lakePrefix ?? '', duck: lake?.instance } },
    ready,
    close: async () => {
      await Promise.all([speed.stop(), anomalies.stop()]);
      batch.close();
      duck.close();
      lake?.close();
      s3.destroy();
      fs.rmSync(viewCache, { recursive: true, force: true });
    },
  };
}
