// Reads a whole topic back (from the beginning, with a fresh group) for assertions.
import type { IHeaders, Kafka } from 'kafkajs';
import { uniqueName, type SpeedTopics } from './helpers';

export interface ReadMessage {
  partition: number;
  offset: string;
  key: string | null;
  value: string;
  headers: IHeaders;
}

/** Consumes `topic` until `expected` messages arrived (or, with `settleMs`, until it has been quiet that long). */
export async function readTopic(kafka: Kafka, topic: string, expected: number, opts: { timeoutMs?: number; settleMs?: number } = {}): Promise<ReadMessage[]> {
  const consumer = kafka.consumer({ groupId: uniqueName('reader'), maxWaitTimeInMs: 200 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const seen: ReadMessage[] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      const deadline = setTimeout(
        () => (opts.settleMs ? resolve() : reject(new Error(`read ${seen.length}/${expected} messages from ${topic} before the timeout`))),
        opts.timeoutMs ?? 60000,
      );
      let quiet: NodeJS.Timeout | undefined;
      const arm = () => {
        if (!opts.settleMs) return;
        clearTimeout(quiet);
        quiet = setTimeout(() => {
          clearTimeout(deadline);
          resolve();
        }, opts.settleMs);
      };
      arm();
      consumer
        .run({
          eachMessage: async ({ partition, message }) => {
            seen.push({ partition, offset: message.offset, key: message.key?.toString() ?? null, value: message.value?.toString() ?? '', headers: message.headers ?? {} });
            arm();
            if (!opts.settleMs && seen.length >= expected) {
              clearTimeout(deadline);
              resolve();
            }
          },
        })
        .catch(reject);
    });
  } finally {
    await consumer.disconnect();
  }
  return seen;
}

export async function createTopics(kafka: Kafka, topics: { topic: string; numPartitions: number; configEntries?: { name: string; value: string }[] }[]): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.createTopics({ topics, waitForLeaders: true });
  } finally {
    await admin.disconnect();
  }
}

/** The topics a speed layer of a test reads and writes: events, changelog and results on `partitions`, anomalies and control on one. */
export async function createSpeedTopics(kafka: Kafka, t: SpeedTopics, partitions: number): Promise<void> {
  const compact = [{ name: 'cleanup.policy', value: 'compact' }];
  await createTopics(kafka, [
    { topic: t.events, numPartitions: partitions },
    { topic: t.changelog, numPartitions: partitions, configEntries: compact },
    { topic: t.results, numPartitions: partitions },
    { topic: t.anomalies, numPartitions: 1 },
    { topic: t.control, numPartitions: 1, configEntries: compact },
  ]);
}
