// One speed layer as `rtap speed` runs it: Kafka and S3 clients, the published batch cut, the
// trained fraud models, live scoring (feature store + fraud processor + detector rules from the
// control topic) and the runtime — one definition for the CLI, its stream threads
// (./threads.ts) and the benches. Everything in SpeedLaunchOptions is plain data, so the same
// options cross a worker-thread boundary unchanged.
import type { RtapConfig } from '../core/config';
import { createKafka } from '../core/kafka';
import { createLogger, type Logger } from '../core/logger';
import { createS3 } from '../core/s3';
import { createCutReader } from './cut';
import { createFeatureProcessor, type FeatureProcessor } from './features';
import { startLiveScoring, type LiveScoring } from './fraud/live';
import { fraudMetrics } from './fraud/metrics';
import { createFraudModelProvider, lakeModelLoader, type FraudModelProvider } from './fraud/model/provider';
import { speedMetrics } from './metrics';
import { createSpeedLayer, type SpeedLayer, type SpeedLayerOptions, type SpeedObserver } from './runtime';

export interface FraudLaunchOptions {
  controlTopic: string;
  /** Lowest ensemble score that makes an anomaly record (undefined: the processor's default). */
  threshold?: number;
  warmupOffsets?: number;
  /** Hot-load the trained champion/challenger from the lake (false: the hand-set weights). */
  models: boolean;
}

export interface SpeedLaunchOptions {
  /** Runtime options; the window settings default to the configuration's. */
  layer: Partial<SpeedLayerOptions>;
  /** Lake root prefix inside the bucket (published batch cut, fraud models); '' = bucket root. */
  prefix: string;
  /** Follow the published batch cut (false: benches, whose topics no batch run covers). */
  readCut: boolean;
  /** Fraud scoring after the feature store; false: windows and features only. */
  fraud: FraudLaunchOptions | false;
  /** Kafka client id suffix (logs, broker metrics). */
  clientSuffix: string;
  /** Logger namespace. */
  logName?: string;
}

/** Instrumentation that cannot cross a thread boundary: set only where the layer runs. */
export interface SpeedLaunchHooks {
  observer?: SpeedObserver;
  /** Wall-clock cost of scoring each event, ms (fraud only). */
  onScored?: (ms: number) => void;
  /** Events are processed once this settles (SpeedLayerDeps.startGate). */
  startGate?: Promise<void>;
}

/** A layer's figures from its (process- or thread-local) metrics, for benches and stream threads. */
export interface SpeedLayerFigures {
  transactions: number;
  transactionMsSum: number;
  changelogRecords: number;
  cells: number;
  entities: number;
  anomalies: number;
}

export interface LaunchedSpeedLayer {
  speed: SpeedLayer;
  features: FeatureProcessor;
  live?: LiveScoring;
  logger: Logger;
  /** Stops the layer (commits the open interval, leaves the group), then what was started with it. */
  stop(): Promise<void>;
  /** Releases what was started with the layer once it has stopped or failed (idempotent). */
  close(): Promise<void>;
  figures(): Promise<SpeedLayerFigures>;
}

/** The window settings every launch takes from the configuration unless its options say otherwise. */
export function windowSettings(cfg: RtapConfig): Partial<SpeedLayerOptions> {
  return {
    allowedLatenessMs: cfg.speed.allowedLatenessMs,
    commitIntervalMs: cfg.speed.commitIntervalMs,
    sessionGapMs: cfg.speed.sessionGapMs,
    dedupHorizonOffsets: cfg.speed.dedupHorizonOffsets,
  };
}

/** Builds and starts one speed layer; `stop()` or a failure (`speed.done` rejects) ends it. */
export async function launchSpeedLayer(cfg: RtapConfig, o: SpeedLaunchOptions, hooks: SpeedLaunchHooks = {}): Promise<LaunchedSpeedLayer> {
  const logger = createLogger(o.logName ?? 'speed');
  const kafka = createKafka(cfg.kafka, { clientId: `${cfg.kafka.clientId}-speed-${o.clientSuffix}` });
  const s3 = o.readCut || (o.fraud && o.fraud.models) ? createS3(cfg.s3) : undefined;
  const readCut = o.readCut && s3 ? createCutReader(s3, cfg.s3.bucket, o.prefix) : undefined;
  let models: FraudModelProvider | undefined;
  let live: LiveScoring | undefined;
  if (o.fraud) {
    if (o.fraud.models && s3) {
      models = createFraudModelProvider({ load: lakeModelLoader(s3, cfg.s3.bucket, o.prefix), onError: (err) => logger.warn({ err: (err as Error).message }, 'fraud model poll failed; keeping the models in use') });
      await models.start();
    }
    // The feature store rides in the same transactions as the windows (checkpointed with them);
    // the fraud processor after it reads the features holding the event.
    live = await startLiveScoring(
      { kafka, logger },
      { controlTopic: o.fraud.controlTopic, threshold: o.fraud.threshold, warmupOffsets: o.fraud.warmupOffsets, models, onScored: hooks.onScored },
    );
  }
  const features = live?.features ?? createFeatureProcessor();
  const speed = createSpeedLayer({ kafka, logger, readCut, processors: live?.processors ?? [features], observer: hooks.observer, startGate: hooks.startGate }, { ...windowSettings(cfg), ...o.layer });
  let closed: Promise<void> | undefined;
  const close = () =>
    (closed ??= (async () => {
      await live?.stop().catch(() => undefined);
      models?.stop();
    })());
  try {
    await speed.start();
  } catch (err) {
    await close();
    throw err;
  }
  return {
    speed,
    features,
    live,
    logger,
    close,
    async figures() {
      const tx = (await speedMetrics.transaction.get()).values;
      return {
        transactions: tx.find((v) => v.metricName === 'rtap_speed_transaction_ms_count')?.value ?? 0,
        transactionMsSum: tx.find((v) => v.metricName === 'rtap_speed_transaction_ms_sum')?.value ?? 0,
        changelogRecords: (await speedMetrics.changelogRecords.get()).values[0]?.value ?? 0,
        cells: speed.state().aggregator.size,
        entities: features.size,
        anomalies: (await fraudMetrics.anomalies.get()).values.reduce((sum, v) => sum + v.value, 0),
      };
    },
    async stop() {
      try {
        await speed.stop();
      } finally {
        await close();
      }
    },
  };
}
