// Kafka client factory and the topic contract (see docs/data-contracts.md).
import { Kafka, logLevel, type IHeaders, type ITopicConfig, type KafkaConfig as KafkaJsConfig } from 'kafkajs';
import type { KafkaConfig } from './config';
import { kafkaLogCreator } from './kafka-log';
import { installKafkajsFastPath } from './kafkajs-fast-path';
import { withRetry } from './retry';

export const TOPICS = {
  events: 'events',
  eventsDlq: 'events.dlq',
  anomalies: 'anomalies',
  speedWindows: 'speed-windows',
  speedResults: 'speed-results',
  control: 'control',
  /** The audit chain (core/audit-log.ts), archived to `audit/` in the lake. */
  audit: 'audit',
} as const;

// We use kafkajs' default (Java-compatible murmur2) partitioner on purpose, so Java and
// kafkajs producers place a key on the same partition; its v2 migration notice is noise.
process.env.KAFKAJS_NO_PARTITIONER_WARNING ??= '1';

/** Retry settings for idempotent producers: unbounded, as kafkajs requires for its guarantees; callers bound the wait. */
export const IDEMPOTENT_RETRY = { retries: Number.MAX_SAFE_INTEGER, initialRetryTime: 200, maxRetryTime: 5000 };

export function createKafka(cfg: KafkaConfig, overrides: Partial<KafkaJsConfig> = {}): Kafka {
  // Producers then encode records and checksum batches with rtap's faster, byte-identical
  // drop-ins (core/kafkajs-fast-path.ts); KAFKA_FAST_PATH=false keeps kafkajs' own code.
  if (cfg.fastPath) installKafkajsFastPath();
  return new Kafka({
    clientId: cfg.clientId,
    brokers: cfg.brokers,
    logLevel: logLevel.WARN,
    logCreator: kafkaLogCreator,
    connectionTimeout: 3000,
    requestTimeout: 30000,
    retry: { retries: 8, initialRetryTime: 200, maxRetryTime: 5000 },
    ...overrides,
  });
}

/**
 * Fetch sizes of the speed layer's consumer of the events topic. With kafkajs' defaults (1 MB per
 * partition, 10 MB per response: ~6 MB responses of 3.6 KB events), the fetch buffers still in
 * flight at a scavenge get promoted, and their external bytes make V8 start a full mark of the
 * whole heap — the speed layer's state — every ~64 MB of them ("external memory pressure"). In 10
 * of 14 reads of a 300,000-event topic by the core loop that gave 27–28 mark-compacts and 58–66 µs
 * of CPU per event; with 128–512 KB per partition all 9 reads had 4–6 and 31–35 µs
 * (docs/speed-bench.md, "2026-11-29 12:00"). A record batch larger than this is still returned
 * whole (Fetch v3+), so no partition gets stuck behind one. 512 KB rather than 256: at 256 KB a
 * fetch held ~45 events per partition, and a layer behind after a stall caught up at barely more
 * than 10,000 events/s (docs/speed-bench.md, "2026-11-29 14:00"). The lake sink keeps kafkajs' defaults:
 * it holds its messages until a flush anyway, and 256 KB showed no difference in its bench.
 */
export const EVENT_FETCH = { maxBytesPerPartition: 512 * 1024, maxBytes: 2 * 1024 * 1024 } as const;

/**
 * Largest record batch the event topics take. kafkajs sends one batch per partition per request
 * and never splits it, so a hot partition (Zipf-sized tenants) can get a large one; the ingestion
 * limits (INGEST_MAX_BYTES, INGEST_MAX_EVENT_BYTES) stay below this.
 */
export const EVENT_TOPIC_MAX_MESSAGE_BYTES = 16 * 1024 * 1024;

/** The topics rtap needs, with their retention and compaction settings. */
export function topicSpecs(cfg: KafkaConfig): ITopicConfig[] {
  const p = cfg.eventsPartitions;
  const maxBytes = { name: 'max.message.bytes', value: String(EVENT_TOPIC_MAX_MESSAGE_BYTES) };
  return [
    { topic: TOPICS.events, numPartitions: p, configEntries: [{ name: 'retention.ms', value: String(7 * 24 * 3600 * 1000) }, maxBytes] },
    { topic: TOPICS.eventsDlq, numPartitions: 1, configEntries: [{ name: 'retention.ms', value: String(30 * 24 * 3600 * 1000) }, maxBytes] },
    { topic: TOPICS.anomalies, numPartitions: p },
    { topic: TOPICS.speedWindows, numPartitions: p, configEntries: [{ name: 'cleanup.policy', value: 'compact' }] },
    { topic: TOPICS.speedResults, numPartitions: p, configEntries: [{ name: 'retention.ms', value: String(7 * 24 * 3600 * 1000) }] },
    { topic: TOPICS.control, numPartitions: 1, configEntries: [{ name: 'cleanup.policy', value: 'compact' }] },
    // one partition: records of a chain stay in order; kept 90 days (the lake archive keeps them for good)
    { topic: TOPICS.audit, numPartitions: 1, configEntries: [{ name: 'retention.ms', value: String(90 * 24 * 3600 * 1000) }] },
  ];
}

/** Creates whatever topics are missing; existing topics are left as they are. Returns the created names. */
export async function ensureTopics(kafka: Kafka, specs: ITopicConfig[]): Promise<string[]> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const missing = specs.filter((s) => !existing.has(s.topic));
    if (missing.length > 0) await admin.createTopics({ topics: missing, waitForLeaders: true });
    return missing.map((s) => s.topic);
  } finally {
    await admin.disconnect();
  }
}

/** kafkajs marks transient protocol errors (coordinator loading or moved, leader elections) as retriable. */
export function isRetriableKafkaError(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { retriable?: unknown }).retriable === true;
}

/**
 * A consumer group's committed offsets for one topic. The admin client does not retry a group
 * coordinator that is still loading (a fresh broker) or has moved, so this does.
 */
export async function fetchCommittedOffsets(kafka: Kafka, groupId: string, topic: string): Promise<{ partition: number; offset: string }[]> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const [result] = await withRetry(() => admin.fetchOffsets({ groupId, topics: [topic] }), {
      retries: 10,
      initialDelayMs: 200,
      maxDelayMs: 2000,
      shouldRetry: isRetriableKafkaError,
    });
    return result?.partitions ?? [];
  } finally {
    await admin.disconnect();
  }
}

/** A header's value as a string (kafkajs gives Buffers, possibly repeated). */
export function headerString(headers: IHeaders | undefined, name: string): string | undefined {
  const value = headers?.[name];
  if (value === undefined) return undefined;
  const first = Array.isArray(value) ? value[0] : value;
  return first === undefined ? undefined : first.toString();
}
