// The API process: connects to Kafka, materializes the control plane, then serves. With
// API_WORKERS > 1 `runApi` makes this process a cluster primary that runs that many of them
// (serving/cluster.ts).
import cluster from 'node:cluster';
import type { Server } from 'node:http';
import { BatchingProducer } from '../core/batching-producer';
import { config, type RtapConfig } from '../core/config';
import { ControlPlane } from '../core/control';
import { IDEMPOTENT_RETRY, TOPICS, createKafka } from '../core/kafka';
import { JavaCompatiblePartitioner } from '../core/kafka-partitioner';
import { createLogger } from '../core/logger';
import { registry } from '../core/metrics';
import type { Client } from '@temporalio/client';
import { connectTemporal, type TemporalClient } from '../core/batch-control';
import { startAnalytics } from './analytics/start';
import { attachStream } from './analytics/stream';
import { createApp } from './app';
import { identityFor } from './auth';
import { createServer } from './security/hardening';
import { metricsFromPrimary, runPrimary, serveMetricsToPrimary, type MetricsText } from './cluster';
import { createIngestStep, resolvePiiKeyring } from '../core/ingest-step';
import { startApiGuards, workerLimitCounter } from './security/audit-start';
import type { LimitCounter } from './security/limits';
import { createFraudModelProvider, lakeModelLoader } from '../speed-layer/fraud/model/provider';

export interface RunningApi {
  server: Server;
  close: () => Promise<void>;
  /** Resolves once the speed reader has caught up with the changelog. */
  analyticsReady: Promise<void>;
}

export interface ApiTopics {
  events: string;
  dlq: string;
  control: string;
  /** The speed layer's changelog the analytics routes read (default `speed-windows`). */
  speedWindows?: string;
  /** The anomalies topic GET /api/v2/anomalies/active tails (default `anomalies`). */
  anomalies?: string;
  /** The audit chain's topic (default `audit`). */
  audit?: string;
}

const DEFAULT_TOPICS: ApiTopics = { events: TOPICS.events, dlq: TOPICS.eventsDlq, control: TOPICS.control };

/** Starts one API process; `topics` lets a benchmark or test run it against its own topics. */
export async function startApi(
  cfg: RtapConfig = config(),
  topics: ApiTopics = DEFAULT_TOPICS,
  opts: { metrics?: () => Promise<MetricsText>; lakePrefix?: string; port?: number; offsetBucketSize?: number; limits?: LimitCounter } = {},
): Promise<RunningApi> {
  const log = createLogger('api');
  const keyring = resolvePiiKeyring(cfg, log);
  const kafka = createKafka(cfg.kafka);
  const control = new ControlPlane(kafka, log, topics.control);
  await control.start();
  // an API on another lake root archives only an audit topic of its own (see startApiGuards)
  const archive = topics.audit !== undefined || !opts.lakePrefix;
  const guards = await startApiGuards({ cfg, kafka, control, log, auditTopic: topics.audit, lakePrefix: opts.lakePrefix, counter: opts.limits, archive });
  // Same partitions as kafkajs' default partitioner, without its BigInt murmur2 (core/kafka-partitioner.ts).
  const createPartitioner = cfg.kafka.fastPath ? JavaCompatiblePartitioner : undefined;
  const kafkaProducer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, retry: IDEMPOTENT_RETRY, createPartitioner });
  await kafkaProducer.connect();
  const producer = new BatchingProducer(kafkaProducer, {
    maxQueuedBytes: cfg.ingest.maxQueuedBytes,
    maxSendBytes: 4 * 1024 * 1024,
    enqueueTimeoutMs: cfg.ingest.enqueueTimeoutMs,
    ackTimeoutMs: cfg.ingest.ackTimeoutMs,
  });
  const step = createIngestStep({
    keyring,
    isActiveTenant: (id) => control.state.activeTenant(id) !== undefined,
    maxEventBytes: cfg.ingest.maxEventBytes,
    lakeHeader: cfg.ingest.lakeHeader,
  });
  const temporal = lazyTemporal(cfg);
  const analytics = await startAnalytics({ cfg, kafka, control: control.state, log, speedWindowsTopic: topics.speedWindows, anomaliesTopic: topics.anomalies, lakePrefix: opts.lakePrefix, offsetBucketSize: opts.offsetBucketSize });
  // The speed layer's published fraud models, for on-demand scoring and inference; polled like there.
  const fraudModels = createFraudModelProvider({
    load: lakeModelLoader(analytics.deps.lake.s3, cfg.s3.bucket, opts.lakePrefix ?? ''),
    onError: (err) => log.warn({ err: (err as Error).message }, 'fraud model poll failed; keeping the models in use'),
  });
  await fraudModels.start();
  // One identity for the HTTP gate and the WebSocket stream (API keys, JWTs per cfg.auth).
  const identity = identityFor(cfg, control.state);
  const app = createApp({
    cfg,
    control: control.state,
    identity,
    keys: { plane: control, graceMs: cfg.auth.keyRotationGraceMs },
    ingest: { cfg: cfg.ingest, control: control.state, step, producer, topics },
    admin: { temporal: cfg.temporal, control: control.state, client: temporal.client, prefix: opts.lakePrefix ?? '' },
    gdpr: { temporal: cfg.temporal, control: control.state, client: temporal.client, keyring, prefix: opts.lakePrefix ?? '' },
    fraud: { control: control.state, models: fraudModels },
    analytics: analytics.deps,
    anomalies: { control: control.state, write: (records) => control.write(records), anomalies: analytics.deps.anomalies },
    limits: guards.limits,
    audit: guards.audit,
    metrics: opts.metrics,
  });
  const server = await new Promise<Server>((resolve, reject) => {
    const s = createServer(app, cfg.api);
    s.listen(opts.port ?? cfg.api.port, cfg.api.host, () => resolve(s));
    s.once('error', reject);
  });
  const closeStream = attachStream(server, { ...analytics.deps, identity, audit: guards.audit });
  const bound = server.address();
  log.info({ url: `${cfg.api.tls ? 'https' : 'http'}://${cfg.api.host}:${typeof bound === 'object' && bound ? bound.port : cfg.api.port}` }, 'api listening');
  // Shutdown order: stop taking requests, let queued events reach Kafka, then disconnect.
  const close = async () => {
    await closeStream();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await producer.close();
    await kafkaProducer.disconnect();
    await guards.close();
    await control.stop();
    await temporal.close();
    fraudModels.stop();
    await analytics.close();
  };
  return { server, close, analyticsReady: analytics.ready };
}

/** A Temporal client connected on first use, so the API serves ingestion while Temporal is down. */
function lazyTemporal(cfg: RtapConfig): { client: () => Promise<Client>; close: () => Promise<void> } {
  let connecting: Promise<TemporalClient> | undefined;
  return {
    client: async () => {
      connecting ??= connectTemporal(cfg.temporal).catch((err: unknown) => {
        connecting = undefined;
        throw err;
      });
      return (await connecting).client;
    },
    close: async () => {
      const open = await connecting?.catch(() => undefined);
      await open?.close();
    },
  };
}

/**
 * `rtap api`: API_WORKERS processes behind one port (a cluster primary supervising them), or this
 * process alone when API_WORKERS=1. Each worker re-runs the same script and lands here as a worker.
 */
export async function runApi(topics: ApiTopics = DEFAULT_TOPICS): Promise<void> {
  const cfg = config();
  const log = createLogger('api');
  if (cluster.isPrimary && cfg.api.workers > 1) {
    process.exit(await runPrimary({ workers: cfg.api.workers, log }));
  }
  let metrics: (() => Promise<MetricsText>) | undefined;
  let limits: LimitCounter | undefined;
  if (cluster.isWorker) {
    serveMetricsToPrimary(registry);
    metrics = metricsFromPrimary();
    limits = workerLimitCounter(cfg.limits.ipcTimeoutMs);
  }
  const api = await startApi(cfg, topics, { metrics, limits });
  let stopping = false;
  const shutdown = () => {
    // A cluster worker can get both the terminal's SIGINT and the primary's SIGTERM.
    if (stopping) return;
    stopping = true;
    log.info('api shutting down');
    setTimeout(() => process.exit(1), 15000).unref();
    api.close().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error({ err }, 'unclean shutdown');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
}
