// The speed layer's start gate on the real broker: a layer whose gate is closed joins its group
// and keeps its membership (it heartbeats while it holds a batch) but processes nothing; a second
// member joining meanwhile gets its share without the first having worked it; once the gates
// open, every event is processed exactly once between the two.
import { createKafka, IDEMPOTENT_RETRY } from '../../core/kafka';
import { kafkaKeyOf } from '../../core/ingest-step';
import { createLogger } from '../../core/logger';
import { sleep, waitUntil } from '../../core/retry';
import { EventGenerator } from '../../generator/generator';
import { speedMetrics } from '../../speed-layer/metrics';
import { createSpeedLayer, type SpeedLayer } from '../../speed-layer/runtime';
import { createSpeedTopics } from './kafka-read';
import { cfg, uniqueName, uniqueSpeedTopics } from './helpers';

jest.setTimeout(120_000);

const PARTITIONS = 4;
const EVENTS = 300;

describe('speed layer start gate (real stack)', () => {
  const kafka = createKafka(cfg.kafka, { clientId: uniqueName('gate-it') });
  const topics = uniqueSpeedTopics('gate');
  const layers: SpeedLayer[] = [];

  afterAll(async () => {
    await Promise.all(layers.map((l) => l.stop().catch(() => undefined)));
  });

  it('holds processing until the gate opens, keeps the member in the group, and splits before any work', async () => {
    await createSpeedTopics(kafka, topics, PARTITIONS);
    const gen = new EventGenerator({ seed: 9, tenants: 3, users: 100, rate: 200, fraudRate: 0, defectRate: 0, lateRate: 0, startUs: Date.now() * 1000 });
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, retry: IDEMPOTENT_RETRY });
    await producer.connect();
    const events = Array.from({ length: EVENTS }, () => gen.next().event);
    await producer.send({ topic: topics.events, messages: events.map((event) => ({ key: kafkaKeyOf(event), value: JSON.stringify(event) })) });
    await producer.disconnect();
    // what the layers count: each event once (the generator may send one again, as clients retry)
    const unique = new Set(events.map((e) => `${e.tenant_id}\u0000${e.event_metadata.event_id}`)).size;

    const group = uniqueName('gate-group');
    const open: (() => void)[] = [];
    const updated = [0, 0];
    const assigned: number[][] = [[], []];
    const start = (i: number) => {
      const gate = new Promise<void>((resolve) => open.push(resolve));
      const layer = createSpeedLayer(
        {
          kafka,
          logger: createLogger('gate-it'),
          startGate: gate,
          observer: { joined: (p) => void (assigned[i] = [...p]), updated: () => void updated[i]++ },
        },
        { topic: topics.events, groupId: group, changelogTopic: topics.changelog, resultsTopic: topics.results, instanceId: `gate-${i}`, sessionTimeoutMs: 6000, commitIntervalMs: 100 },
      );
      layers.push(layer);
      return layer.start();
    };

    await start(0);
    // alone, gate closed: it holds every partition, processes nothing, and stays a member for
    // longer than its session timeout (it heartbeats while it waits)
    await waitUntil(async () => assigned[0].length === PARTITIONS, 30_000, 100);
    expect(assigned[0].sort()).toEqual([0, 1, 2, 3]);
    await sleep(7000);
    expect(updated[0]).toBe(0);

    // a second member joins: the first learns of it while still held, and they split
    await start(1);
    await waitUntil(async () => assigned[0].length + assigned[1].length === PARTITIONS && assigned[1].length > 0, 30_000, 100);
    expect(new Set([...assigned[0], ...assigned[1]]).size).toBe(PARTITIONS);
    expect(assigned[0].length).toBeGreaterThan(0);
    expect(assigned[1].length).toBeGreaterThan(0);
    expect(updated).toEqual([0, 0]);

    for (const go of open) go();
    await waitUntil(async () => updated[0] + updated[1] >= unique, 60_000, 100);
    await sleep(500);
    // every event once, by the member holding its partition; no partition was worked and then
    // rebuilt from the changelog by the other member
    expect(updated[0] + updated[1]).toBe(unique);
    expect(updated[0]).toBeGreaterThan(0);
    expect(updated[1]).toBeGreaterThan(0);
    const restored = (await speedMetrics.restoredRecords.get()).values.reduce((n, v) => n + v.value, 0);
    expect(restored).toBe(0);
  });
});
