// The ingestion API wired as serving/main.ts wires it, on a random port and on a test's own
// topics, for integration specs that need to drive it over HTTP.
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Kafka, Producer } from 'kafkajs';
import { BatchingProducer, type BatchingProducerOptions } from '../../core/batching-producer';
import type { IngestConfig, RtapConfig } from '../../core/config';
import { ControlPlane } from '../../core/control';
import { createIngestStep } from '../../core/ingest-step';
import { EVENT_TOPIC_MAX_MESSAGE_BYTES, IDEMPOTENT_RETRY } from '../../core/kafka';
import { createLogger } from '../../core/logger';
import { createKeyring, type PiiKeyring } from '../../core/pii';
import { createApp } from '../../serving/app';
import { createTopics } from './kafka-read';

export interface HarnessOptions {
  kafka: Kafka;
  cfg: RtapConfig;
  /** The harness creates these topics (the test's own, so runs never collide). */
  topics: { events: string; dlq: string; control: string };
  /** Partitions of the events topic (default 3). */
  eventsPartitions?: number;
  ingest?: Partial<IngestConfig>;
  producer?: Partial<BatchingProducerOptions>;
  keyring?: PiiKeyring;
}

export interface ApiHarness {
  base: string;
  control: ControlPlane;
  keyring: PiiKeyring;
  close(): Promise<void>;
}

export async function startIngestApi(opts: HarnessOptions): Promise<ApiHarness> {
  const keyring = opts.keyring ?? createKeyring({ v1: 'integration-test-secret-01' }, 'v1');
  // Event topics as `rtap up` makes them (16 MiB records), so a test sees production limits.
  const maxBytes = [{ name: 'max.message.bytes', value: String(EVENT_TOPIC_MAX_MESSAGE_BYTES) }];
  await createTopics(opts.kafka, [
    { topic: opts.topics.events, numPartitions: opts.eventsPartitions ?? 3, configEntries: maxBytes },
    { topic: opts.topics.dlq, numPartitions: 1, configEntries: maxBytes },
    { topic: opts.topics.control, numPartitions: 1 },
  ]);
  const control = new ControlPlane(opts.kafka, createLogger('test'), opts.topics.control);
  await control.start();
  const rawProducer: Producer = opts.kafka.producer({ idempotent: true, maxInFlightRequests: 1, retry: IDEMPOTENT_RETRY });
  await rawProducer.connect();
  const producer = new BatchingProducer(rawProducer, {
    maxQueuedBytes: 32 << 20,
    maxSendBytes: 4 << 20,
    enqueueTimeoutMs: 2000,
    ackTimeoutMs: 10000,
    ...opts.producer,
  });
  const step = createIngestStep({ keyring, isActiveTenant: (id) => control.state.activeTenant(id) !== undefined });
  const app = createApp({
    cfg: opts.cfg,
    checks: {},
    ingest: { cfg: { ...opts.cfg.ingest, ...opts.ingest }, control: control.state, step, producer, topics: opts.topics },
  });
  const server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  return {
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    control,
    keyring,
    async close() {
      await new Promise((r) => server.close(r));
      await producer.close();
      await rawProducer.disconnect().catch(() => undefined);
      await control.stop().catch(() => undefined);
    },
  };
}
