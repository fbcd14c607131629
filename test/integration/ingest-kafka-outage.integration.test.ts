// Fault injection: Kafka stops during ingestion. The test runs its own broker (shifted ports, its
// own data dir) so stopping it never disturbs the shared stack. While Kafka is down the API
// answers 503 with Retry-After; after the restart it recovers, and every event it ever
// acknowledged with a 2xx is in the topic.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { logLevel, type Kafka } from 'kafkajs';
import { loadConfig } from '../../core/config';
import { createKafka } from '../../core/kafka';
import { sleep, waitUntil } from '../../core/retry';
import type { RtapEvent } from '../../core/schema';
import { EventGenerator } from '../../generator/generator';
import { processPaths, spawnDetached, stopProcess } from '../../stack/process';
import { serviceDefs } from '../../stack/services';
import { cfg as sharedCfg } from './helpers';
import { startIngestApi, type ApiHarness } from './api-harness';
import { readTopic } from './kafka-read';

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'rtap-outage-'));
// Ports 30092/30093: below Linux's ephemeral range (32768+), where any outgoing connection of a
// busy test run could hold them the moment the broker binds; and apart from a second stack (+20000).
const cfg = loadConfig({ RTAP_PORT_OFFSET: '21000', RTAP_DATA_DIR: dataDir, RTAP_CACHE_DIR: sharedCfg.cacheDir });
const kafkaService = serviceDefs(cfg).find((s) => s.name === 'kafka')!;
const brokerPaths = processPaths(dataDir, 'kafka');

let kafka: Kafka;
let api: ApiHarness | undefined;
let apiKey: string;

async function startBroker(): Promise<void> {
  spawnDetached(await kafkaService.prepare(), brokerPaths);
  const healthy = await waitUntil(async () => (await kafkaService.health()).healthy, 120000, 500);
  if (!healthy) throw new Error(`test broker did not start; see ${brokerPaths.logFile}`);
}

beforeAll(async () => {
  await kafkaService.provision(() => undefined);
  await startBroker();
  kafka = createKafka(cfg.kafka, { logLevel: logLevel.NOTHING });
  api = await startIngestApi({
    kafka,
    cfg,
    topics: { events: 'events', dlq: 'events.dlq', control: 'control' },
    eventsPartitions: 2,
    producer: { maxQueuedBytes: 8 << 20, maxSendBytes: 1 << 20, enqueueTimeoutMs: 1000, ackTimeoutMs: 3000 },
  });
  await api.control.putTenants(gen.world.tenants.map((t) => ({ tenant_id: t.id })));
  apiKey = (await api.control.createApiKey('*', ['ingest'], 'outage test')).apiKey;
});

afterAll(async () => {
  await api?.close();
  await stopProcess(brokerPaths, 30000);
  fs.rmSync(dataDir, { recursive: true, force: true });
});

const gen = new EventGenerator({ seed: 99, tenants: 10, users: 500, fraudRate: 0, defectRate: 0, lateRate: 0 });
const nextBatch = (n: number): RtapEvent[] => Array.from({ length: n }, () => structuredClone(gen.next().event));

async function postBatch(events: RtapEvent[]) {
  const res = await fetch(`${api!.base}/api/v2/events/batch`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': apiKey },
    body: JSON.stringify({ events }),
  });
  return { status: res.status, retryAfter: res.headers.get('retry-after'), body: (await res.json()) as { error?: string } };
}

test('Kafka down → 503 with Retry-After; back up → recovery; no acknowledged event lost', async () => {
  const acknowledged = new Set<string>();
  const sent = new Set<string>();
  const send = async (events: RtapEvent[]) => {
    for (const e of events) sent.add(e.event_metadata.event_id);
    const res = await postBatch(events);
    if (res.status === 200) for (const e of events) acknowledged.add(e.event_metadata.event_id);
    return res;
  };

  for (let i = 0; i < 5; i++) expect((await send(nextBatch(20))).status).toBe(200);

  expect(await stopProcess(brokerPaths, 30000)).toBe(true);
  const duringOutage = [];
  for (let i = 0; i < 3; i++) duringOutage.push(await send(nextBatch(20)));
  for (const res of duringOutage) {
    expect(res.status).toBe(503);
    expect(res.body.error).toBe('kafka_unavailable');
    expect(Number(res.retryAfter)).toBeGreaterThan(0);
  }

  await startBroker();
  // A client that honours Retry-After: the same batch again until it is accepted.
  const retried = nextBatch(20);
  let recovered = false;
  for (let attempt = 0; attempt < 30 && !recovered; attempt++) {
    const res = await send(retried);
    recovered = res.status === 200;
    if (!recovered) await sleep(1000);
  }
  expect(recovered).toBe(true);
  for (let i = 0; i < 5; i++) expect((await send(nextBatch(20))).status).toBe(200);

  const inTopic = (await readTopic(kafka, 'events', acknowledged.size, { timeoutMs: 60000 })).map(
    (m) => (JSON.parse(m.value) as RtapEvent).event_metadata.event_id,
  );
  const present = new Set(inTopic);
  const lost = [...acknowledged].filter((id) => !present.has(id));
  expect(lost).toEqual([]);
  // Nothing appears that was never sent; 503'd events may appear (a retry then dedups by event_id).
  expect(inTopic.every((id) => sent.has(id))).toBe(true);
  expect(acknowledged.size).toBe(11 * 20);
});
