// Smoke tests of the real Kafka broker through kafkajs: plain and idempotent produce/consume in a
// consumer group, and a transactional consume-transform-produce with sendOffsets.
import { logLevel, type Kafka } from 'kafkajs';
import { createKafka } from '../../core/kafka';
import { cfg, uniqueName } from './helpers';
import { createTopics, readTopic } from './kafka-read';

let kafka: Kafka;

beforeAll(() => {
  kafka = createKafka(cfg.kafka, { logLevel: logLevel.NOTHING });
});

async function createTopic(partitions: number): Promise<string> {
  const topic = uniqueName('smoke');
  await createTopics(kafka, [{ topic, numPartitions: partitions }]);
  return topic;
}

test('idempotent produce with acks=all is consumed once per message by a consumer group', async () => {
  const topic = await createTopic(3);
  const producer = kafka.producer({ idempotent: true });
  await producer.connect();
  const messages = Array.from({ length: 300 }, (_, i) => ({ key: `tenant-${i % 7}:user-${i}`, value: JSON.stringify({ i }) }));
  const acks = await producer.send({ topic, acks: -1, messages });
  await producer.disconnect();
  expect(acks.every((a) => a.errorCode === 0)).toBe(true);

  const seen = await readTopic(kafka, topic, messages.length);
  expect(seen).toHaveLength(messages.length);
  expect(new Set(seen.map((m) => JSON.parse(m.value).i)).size).toBe(messages.length);
  // Same key, same partition: the ordering guarantee the speed layer relies on.
  const partitionOfKey = new Map<string, number>();
  for (const m of seen) {
    expect(partitionOfKey.get(m.key!) ?? m.partition).toBe(m.partition);
    partitionOfKey.set(m.key!, m.partition);
  }
});

test('transactional consume-transform-produce commits output and input offsets atomically', async () => {
  const input = await createTopic(2);
  const output = await createTopic(1);
  const groupId = uniqueName('tx-group');

  const producer = kafka.producer({ idempotent: true });
  await producer.connect();
  await producer.send({ topic: input, acks: -1, messages: Array.from({ length: 40 }, (_, i) => ({ key: `k${i}`, value: String(i) })) });
  await producer.disconnect();

  const txProducer = kafka.producer({ transactionalId: uniqueName('tx'), idempotent: true, maxInFlightRequests: 1 });
  await txProducer.connect();
  const consumer = kafka.consumer({ groupId });
  await consumer.connect();
  await consumer.subscribe({ topic: input, fromBeginning: true });

  // One aborted transaction first: its output must stay invisible to read_committed readers.
  const aborted = await txProducer.transaction();
  await aborted.send({ topic: output, messages: [{ key: 'aborted', value: '-1' }] });
  await aborted.abort();

  let processed = 0;
  await new Promise<void>((resolve, reject) => {
    consumer
      .run({
        autoCommit: false,
        eachBatch: async ({ batch }) => {
          const tx = await txProducer.transaction();
          try {
            await tx.send({ topic: output, messages: batch.messages.map((m) => ({ key: m.key, value: String(Number(m.value!.toString()) * 10) })) });
            await tx.sendOffsets({
              consumerGroupId: groupId,
              topics: [{ topic: batch.topic, partitions: [{ partition: batch.partition, offset: String(Number(batch.lastOffset()) + 1) }] }],
            });
            await tx.commit();
          } catch (err) {
            await tx.abort();
            throw err;
          }
          processed += batch.messages.length;
          if (processed >= 40) resolve();
        },
      })
      .catch(reject);
  });
  await consumer.disconnect();
  await txProducer.disconnect();

  const admin = kafka.admin();
  await admin.connect();
  const committed = await admin.fetchOffsets({ groupId, topics: [input] });
  const endOffsets = await admin.fetchTopicOffsets(input);
  await admin.disconnect();
  const committedByPartition = Object.fromEntries(committed[0].partitions.map((p) => [p.partition, p.offset]));
  for (const end of endOffsets) expect(committedByPartition[end.partition]).toBe(end.high);

  // readTopic reads committed data only (kafkajs default isolation), so aborted output stays invisible.
  const out = await readTopic(kafka, output, 40);
  expect(out.map((m) => Number(m.value)).sort((a, b) => a - b)).toEqual(Array.from({ length: 40 }, (_, i) => i * 10));
  expect(out.some((m) => m.key === 'aborted')).toBe(false);
});
