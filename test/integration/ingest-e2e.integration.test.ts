// End to end on the real stack: generated traffic (with data-quality defects) over HTTP → the
// ingestion API → Kafka → the lake sink → Parquet on MinIO → DuckDB. The lake must hold exactly
// the events the API accepted: same ids, once each, with the content Kafka holds.
import { logLevel, type Kafka } from 'kafkajs';
import { createKafka } from '../../core/kafka';
import { createS3 } from '../../core/s3';
import type { RtapEvent } from '../../core/schema';
import { EventGenerator } from '../../generator/generator';
import { cfg, uniqueName } from './helpers';
import { startIngestApi, type ApiHarness } from './api-harness';
import { readTopic } from './kafka-read';
import { drainToLake, readLake, topicEnds } from './lake-read';

const topics = { events: uniqueName('e2e-events'), dlq: uniqueName('e2e-dlq'), control: uniqueName('e2e-control') };
const prefix = uniqueName('e2e-lake');
const s3 = createS3(cfg.s3);
let kafka: Kafka;
let api: ApiHarness;

beforeAll(async () => {
  kafka = createKafka(cfg.kafka, { logLevel: logLevel.NOTHING });
  api = await startIngestApi({ kafka, cfg, topics });
});

afterAll(async () => {
  await api.close();
  s3.destroy();
});

test('exactly the accepted events reach the lake, once each, with the content Kafka holds', async () => {
  // Fraud and defects on: defects must be rejected, fraud is ordinary data at this stage.
  const gen = new EventGenerator({ seed: 21, tenants: 40, users: 3000, fraudRate: 0.05, defectRate: 0.05 });
  await api.control.putTenants(gen.world.tenants.map((t) => ({ tenant_id: t.id })));
  const { apiKey } = await api.control.createApiKey('*', ['ingest'], 'e2e');

  const accepted = new Set<string>();
  let rejected = 0;
  for (let batch = 0; batch < 8; batch++) {
    const events = Array.from({ length: 250 }, () => JSON.parse(JSON.stringify(gen.next().event)) as RtapEvent);
    const res = await fetch(`${api.base}/api/v2/events/batch`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': apiKey },
      body: JSON.stringify({ events }),
    });
    expect([200, 207]).toContain(res.status);
    const body = (await res.json()) as { results: { status: string; event_id?: string }[] };
    for (const r of body.results) {
      if (r.status === 'accepted') accepted.add(r.event_id!);
      else rejected += 1;
    }
  }
  expect(rejected).toBeGreaterThan(0);

  // What Kafka holds is the reference for content; the generator's duplicates (same event_id
  // sent twice) are both accepted by the API and must both be in Kafka.
  const ends = await topicEnds(kafka, topics.events);
  const total = Object.values(ends).reduce((a, b) => a + b, 0);
  const inKafka = await readTopic(kafka, topics.events, total);
  const kafkaById = new Map(inKafka.map((m) => [(JSON.parse(m.value) as RtapEvent).event_metadata.event_id, m]));
  expect(new Set(kafkaById.keys())).toEqual(accepted);

  const drained = await drainToLake(kafka, s3, topics, prefix);
  expect(drained.ends).toEqual(ends);
  expect(drained.covered).toBe(true);

  const { rows } = await readLake(s3, prefix);
  // One row per Kafka record (the raw layer keeps duplicates; compaction dedups by event_id).
  expect(rows).toHaveLength(total);
  expect(new Set(rows.map((r) => r.event_id))).toEqual(accepted);
  for (const row of rows) {
    const message = inKafka.find((m) => m.partition === row._partition && m.offset === String(row._offset))!;
    expect(message).toBeDefined();
    expect(JSON.parse(row.event_json)).toEqual(JSON.parse(message.value));
  }
});
