// Builds what the analytics routes read: the speed layer's committed state (core/speed-reader.ts,
// materialized from the changelog), the published batch views with a local file cache, and a
// small DuckDB for view scans and Parquet results.
import * as path from 'node:path';
import type { Kafka } from 'kafkajs';
import type { RtapConfig } from '../../core/config';
import type { ControlState } from '../../core/control';
import { openDuckDb } from '../../core/duckdb';
import type { Logger } from '../../core/logger';
import { createS3 } from '../../core/s3';
import { createSpeedReader } from '../../core/speed-reader';
import { createBatchViews } from './batch-views';
import type { AnalyticsRouteDeps } from './routes';

export interface AnalyticsOptions {
  cfg: RtapConfig;
  kafka: Kafka;
  control: ControlState;
  log: Logger;
  /** The speed layer's changelog topic (a test's own, or `speed-windows`). */
  speedWindowsTopic?: string;
  /** Lake root prefix the batch views are published under. */
  lakePrefix?: string;
  /** B of the speed layer's offset buckets (its --offset-bucket-size; default 10,000). */
  offsetBucketSize?: number;
}

export async function startAnalytics(o: AnalyticsOptions): Promise<{ deps: AnalyticsRouteDeps; ready: Promise<void>; close: () => Promise<void> }> {
  const s3 = createS3(o.cfg.s3);
  // View scans are small and many: one thread each, so the API's event loop keeps its core.
  const duck = await openDuckDb({ threads: 1, memoryLimit: '512MB' });
  const speed = createSpeedReader({ kafka: o.kafka, logger: o.log }, { ...(o.speedWindowsTopic ? { topic: o.speedWindowsTopic } : {}), ...(o.offsetBucketSize ? { offsetBucketSize: o.offsetBucketSize } : {}) });
  const batch = createBatchViews({ s3, bucket: o.cfg.s3.bucket, prefix: o.lakePrefix ?? '', duck: duck.instance, cacheDir: path.join(o.cfg.dataDir, 'view-cache', String(process.pid)) });
  // The reader catches up in the background; until then answers reflect fewer live offsets, and
  // meta.live_offsets says exactly which.
  const ready = speed.start().catch((err: unknown) => o.log.error({ err }, 'speed reader failed to start; live cells unavailable'));
  return {
    deps: { control: o.control, duck: duck.instance, batch, speed },
    ready,
    close: async () => {
      await speed.stop();
      duck.close();
      s3.destroy();
    },
  };
}
