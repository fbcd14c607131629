// The API process: connects to Kafka, materializes the control plane, then serves.
import type { Server } from 'node:http';
import { BatchingProducer } from '../core/batching-producer';
import { config, type RtapConfig } from '../core/config';
import { ControlPlane } from '../core/control';
import { IDEMPOTENT_RETRY, TOPICS, createKafka } from '../core/kafka';
import { createLogger } from '../core/logger';
import { createApp } from './app';
import { createIngestStep, resolvePiiKeyring } from '../core/ingest-step';

export interface RunningApi {
  server: Server;
  close: () => Promise<void>;
}

export interface ApiTopics {
  events: string;
  dlq: string;
  control: string;
}

/** Starts the API; `topics` lets a benchmark run it against its own topics. */
export async function startApi(cfg: RtapConfig = config(), topics: ApiTopics = { events: TOPICS.events, dlq: TOPICS.eventsDlq, control: TOPICS.control }): Promise<RunningApi> {
  const log = createLogger('api');
  const keyring = resolvePiiKeyring(cfg, log);
  const kafka = createKafka(cfg.kafka);
  const control = new ControlPlane(kafka, log, topics.control);
  await control.start();
  const kafkaProducer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, retry: IDEMPOTENT_RETRY });
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
  });
  const app = createApp({ cfg, ingest: { cfg: cfg.ingest, control: control.state, step, producer, topics } });
  const server = await new Promise<Server>((resolve, reject) => {
    const s = app.listen(cfg.api.port, cfg.api.host, () => resolve(s));
    s.once('error', reject);
  });
  log.info({ url: `http://${cfg.api.host}:${cfg.api.port}` }, 'api listening');
  // Shutdown order: stop taking requests, let queued events reach Kafka, then disconnect.
  const close = async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await producer.close();
    await kafkaProducer.disconnect();
    await control.stop();
  };
  return { server, close };
}

export async function runApi(): Promise<void> {
  const log = createLogger('api');
  const api = await startApi();
  const shutdown = () => {
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
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
}
