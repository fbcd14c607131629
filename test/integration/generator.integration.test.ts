// Generated events to a random Kafka topic and back, with labels in headers.
import type { Kafka } from 'kafkajs';
import { createKafka } from '../../core/kafka';
import { DEFAULT_OPTIONS, EventGenerator } from '../../generator/generator';
import { runGenerator, toMessage } from '../../generator/run';
import { KafkaSink, LABEL_HEADER, SCHEMA_VERSION_HEADER } from '../../generator/sinks';
import { runGeneratorInWorker } from '../../generator/worker';
import { headerString } from '../../core/kafka';
import { cfg, uniqueName } from './helpers';
import { readTopic } from './kafka-read';

/** Reads `n` generated messages back with the key, label and schema-version headers. */
async function readGenerated(kafka: Kafka, topic: string, n: number) {
  return (await readTopic(kafka, topic, n)).map((m) => ({
    key: m.key!,
    value: m.value,
    label: String(headerString(m.headers, LABEL_HEADER)),
    version: String(headerString(m.headers, SCHEMA_VERSION_HEADER)),
  }));
}

test('rtap generate → Kafka: every event arrives with key, schema_version and x-rtap-label headers', async () => {
  const kafka = createKafka(cfg.kafka);
  const topic = uniqueName('gen-it');
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 3 }], waitForLeaders: true });
  const n = 3000;
  const opts = { seed: 5, rate: 5000, fraudRate: 0.1, defectRate: 0.02 };
  try {
    const summary = await runGenerator(new EventGenerator(opts), new KafkaSink(kafka, topic), { count: n, rate: 5000, batchSize: 400, fast: true, maxInFlight: 4 });
    expect(summary).toMatchObject({ generated: n, sent: n, errors: 0 });

    const received = await readGenerated(kafka, topic, n);

    expect(received).toHaveLength(n);
    // Same seed → the same messages (Kafka reorders across partitions, so compare as multisets).
    const expected = new EventGenerator(opts);
    const want = Array.from({ length: n }, () => toMessage(expected.next()));
    const fmt = (m: { key: string; value: string; label: string }) => `${m.key}\u0000${m.label}\u0000${m.value}`;
    expect(received.map(fmt).sort()).toEqual(want.map(fmt).sort());

    expect(new Set(received.map((m) => m.version))).toEqual(new Set(['2.1']));
    const labels = received.map((m) => JSON.parse(m.label) as { fraud: boolean; scenario?: string });
    const fraud = labels.filter((l) => l.fraud);
    expect(fraud.length).toBeGreaterThan(n * 0.05);
    expect(fraud.every((l) => typeof l.scenario === 'string')).toBe(true);
    for (const m of received) {
      expect(m.key).toMatch(/^t_\d{5}:(u_\d+_\d+|anon_[0-9a-f]{20}|api-node-\d+)$/); // platform events: the server instance
      expect(m.value).not.toContain('"scenario"');
    }
  } finally {
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect();
  }
});

test('rtap generate → Kafka through the worker thread: the same messages, in the same order per key, as the single-threaded path', async () => {
  const kafka = createKafka(cfg.kafka);
  const topic = uniqueName('gen-worker-it');
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 3 }], waitForLeaders: true });
  const n = 3000;
  const opts = { ...DEFAULT_OPTIONS, seed: 9, rate: 5000, fraudRate: 0.1, defectRate: 0.02 };
  try {
    const summary = await runGeneratorInWorker(opts, new KafkaSink(kafka, topic), { count: n, rate: 5000, batchSize: 400, fast: true, maxInFlight: 4 });
    expect(summary).toMatchObject({ generated: n, sent: n, errors: 0, interrupted: false });

    const received = await readGenerated(kafka, topic, n);

    const expected = new EventGenerator(opts);
    const want = Array.from({ length: n }, () => toMessage(expected.next()));
    const fmt = (m: { key: string; value: string; label: string }) => `${m.key}\u0000${m.label}\u0000${m.value}`;
    expect(received.map(fmt).sort()).toEqual(want.map(fmt).sort());
    // A key lives on one partition, so its messages come back in production order.
    const byKey = (ms: { key: string; value: string; label: string }[]) => {
      const m = new Map<string, string[]>();
      for (const x of ms) m.set(x.key, [...(m.get(x.key) ?? []), fmt(x)]);
      return m;
    };
    expect(byKey(received)).toEqual(byKey(want));
    expect(new Set(received.map((m) => m.version))).toEqual(new Set(['2.1']));
    const fraud = Object.values(summary.fraudByScenario).reduce((a, b) => a + b, 0);
    expect(fraud).toBe(want.filter((m) => m.label.includes('"fraud":true')).length);
  } finally {
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect();
  }
});
