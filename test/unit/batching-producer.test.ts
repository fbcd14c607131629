// The batching front of the Kafka producer, against a fake kafkajs producer we control.
import type { Producer, ProducerBatch } from 'kafkajs';
import { BackpressureError, BatchingProducer } from '../../core/batching-producer';

class FakeProducer {
  batches: ProducerBatch[] = [];
  inFlight = 0;
  maxInFlight = 0;
  private gates: { open: () => void; fail: (e: Error) => void }[] = [];
  auto = true;

  async sendBatch(batch: ProducerBatch) {
    this.batches.push(batch);
    this.inFlight += 1;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      if (!this.auto) await new Promise<void>((open, fail) => this.gates.push({ open, fail }));
      else await new Promise((r) => setImmediate(r));
    } finally {
      this.inFlight -= 1;
    }
    return [];
  }

  release() {
    for (const g of this.gates.splice(0)) g.open();
  }

  failAll(err: Error) {
    for (const g of this.gates.splice(0)) g.fail(err);
  }
}

const msg = (topic: string, value: string) => ({ topic, message: { key: 'k', value } });
const opts = { maxQueuedBytes: 10_000, maxSendBytes: 5_000, enqueueTimeoutMs: 50, ackTimeoutMs: 200 };

test('concurrent callers share few sends, never more than one in flight, grouped by topic', async () => {
  const fake = new FakeProducer();
  const producer = new BatchingProducer(fake as unknown as Producer, opts);
  await Promise.all(Array.from({ length: 20 }, (_, i) => producer.send([msg('events', `e${i}`), msg('events.dlq', `d${i}`)])));
  expect(fake.maxInFlight).toBe(1);
  expect(fake.batches.length).toBeLessThan(20);
  const values = fake.batches.flatMap((b) => b.topicMessages!.flatMap((t) => t.messages.map((m) => `${t.topic}:${m.value}`)));
  expect(values).toHaveLength(40);
  expect(new Set(values).size).toBe(40);
  expect(producer.bytesQueued).toBe(0);
});

test('a caller resolves only after the send carrying its messages is acknowledged', async () => {
  const fake = new FakeProducer();
  fake.auto = false;
  const producer = new BatchingProducer(fake as unknown as Producer, { ...opts, ackTimeoutMs: 5000 });
  let done = false;
  const sent = producer.send([msg('events', 'a')]).then(() => (done = true));
  await new Promise((r) => setTimeout(r, 20));
  expect(done).toBe(false);
  fake.release();
  await sent;
  expect(done).toBe(true);
});

test('a full queue turns into a retriable BackpressureError after the enqueue timeout', async () => {
  const fake = new FakeProducer();
  fake.auto = false;
  const producer = new BatchingProducer(fake as unknown as Producer, { ...opts, maxQueuedBytes: 1000, ackTimeoutMs: 5000 });
  const first = producer.send([msg('events', 'x'.repeat(900))]);
  const err = await producer.send([msg('events', 'y'.repeat(500))]).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(BackpressureError);
  expect((err as BackpressureError).retriable).toBe(true);
  expect((err as BackpressureError).maybeWritten).toBe(false);
  fake.release();
  await first;
});

test('when Kafka never acknowledges, queued callers time out and their messages are withdrawn, not sent later', async () => {
  const fake = new FakeProducer();
  fake.auto = false;
  const producer = new BatchingProducer(fake as unknown as Producer, { ...opts, ackTimeoutMs: 50 });
  const inFlight = producer.send([msg('events', 'first')]).catch((e: unknown) => e);
  await new Promise((r) => setTimeout(r, 5));
  const queued = producer.send([msg('events', 'second')]).catch((e: unknown) => e);
  const [a, b] = await Promise.all([inFlight, queued]);
  expect((a as BackpressureError).maybeWritten).toBe(true);
  expect((b as BackpressureError).maybeWritten).toBe(false);
  fake.release();
  await new Promise((r) => setTimeout(r, 20));
  const sentValues = fake.batches.flatMap((x) => x.topicMessages!.flatMap((t) => t.messages.map((m) => m.value)));
  expect(sentValues).toEqual(['first']);
  expect(producer.bytesQueued).toBe(0);
});

test('a failed send rejects its callers with BackpressureError and frees the queue', async () => {
  const fake = new FakeProducer();
  fake.auto = false;
  const producer = new BatchingProducer(fake as unknown as Producer, { ...opts, ackTimeoutMs: 5000 });
  const sent = producer.send([msg('events', 'a')]).catch((e: unknown) => e);
  await new Promise((r) => setTimeout(r, 5));
  fake.failAll(new Error('broker down'));
  const err = await sent;
  expect(err).toBeInstanceOf(BackpressureError);
  expect((err as Error).message).toContain('broker down');
  expect(producer.bytesQueued).toBe(0);
});
