// The API in cluster mode (API_WORKERS=2), run as a separate process exactly as `rtap api` runs
// it, on this test's own topics: both workers serve one port, /metrics on any worker counts every
// worker's requests, a killed worker is replaced, SIGTERM drains every worker before exit, and
// what the workers produced through rtap's kafkajs fast path reads back intact.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { Partitioners, logLevel, type Kafka } from 'kafkajs';
import { REPO_ROOT } from '../../core/config';
import { ControlPlane } from '../../core/control';
import { createKafka, headerString } from '../../core/kafka';
import { createLogger } from '../../core/logger';
import { waitUntil } from '../../core/retry';
import type { RtapEvent } from '../../core/schema';
import { EventGenerator } from '../../generator/generator';
import { cfg, uniqueName } from './helpers';
import { createTopics, readTopic } from './kafka-read';

const topics = { events: uniqueName('events'), dlq: uniqueName('dlq'), control: uniqueName('control') };
const gen = new EventGenerator({ seed: 11, tenants: 5, users: 200, fraudRate: 0, defectRate: 0, lateRate: 0 });
const EVENTS_PER_REQUEST = 20;

let kafka: Kafka;
let api: ChildProcess;
let port: number;
let apiKey: string;

/** One request on a connection of its own, so the primary's round-robin reaches every worker. */
function postOnce(body: string, timeoutMs: number): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port, path: '/api/v2/events/batch', method: 'POST', agent: false, timeout: timeoutMs, headers: { 'content-type': 'application/json', 'x-api-key': apiKey } },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * A batch request as a well-behaved client sends it: with a timeout, retried on failure. node:cluster
 * loses a connection the primary hands to a worker at the instant it dies (no answer ever comes),
 * so clients need both; retrying is safe (events are deduplicated by event_id).
 */
async function post(body: string): Promise<{ status: number; body: string }> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await postOnce(body, 10_000);
    } catch (err) {
      if (attempt === 3) throw err;
    }
  }
}

async function metrics(): Promise<string> {
  return (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
}

/** The value of one sample in Prometheus text, e.g. `rtap_ingest_requests_total{status="200"}`. */
function sample(text: string, name: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.slice(name.length + 1));
}

/** The primary's worker processes (its other children, e.g. tsx's esbuild service, are not). */
function workerPids(): number[] {
  try {
    const children = execFileSync('ps', ['-o', 'pid=,args=', '--ppid', String(api.pid)], { encoding: 'utf8' });
    return children
      .split('\n')
      .filter((line) => line.includes('api-process.cjs'))
      .map((line) => Number(line.trim().split(/\s+/)[0]));
  } catch {
    return []; // ps exits 1 when there are none
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function freePort(): Promise<number> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port: p } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return p;
}

function batchBody(): string {
  return JSON.stringify({ events: Array.from({ length: EVENTS_PER_REQUEST }, () => gen.next().event) });
}

beforeAll(async () => {
  kafka = createKafka(cfg.kafka, { logLevel: logLevel.NOTHING });
  await createTopics(kafka, [
    { topic: topics.events, numPartitions: 3 },
    { topic: topics.dlq, numPartitions: 1 },
    { topic: topics.control, numPartitions: 1 },
  ]);
  const control = new ControlPlane(kafka, createLogger('test'), topics.control);
  await control.start();
  await control.putTenants(gen.world.tenants.map((t) => ({ tenant_id: t.id })));
  apiKey = (await control.createApiKey('*', ['ingest'], 'cluster test')).apiKey;
  await control.stop();

  port = await freePort();
  // The benchmark's runner: `runApi` on given topics, as `rtap api` runs it.
  api = spawn(process.execPath, [path.join(REPO_ROOT, 'bench', 'ingest', 'api-process.cjs'), JSON.stringify(topics)], {
    env: { ...process.env, API_PORT: String(port), API_WORKERS: '2', LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const ready = async () => sample(await metrics(), 'rtap_api_workers') === 2;
  expect(await waitUntil(() => ready().catch(() => false), 90_000, 250)).toBe(true);
});

afterAll(async () => {
  if (api.exitCode === null && api.signalCode === null) api.kill('SIGKILL');
});

test('two workers serve one port and /metrics on any of them counts every worker', async () => {
  expect(workerPids()).toHaveLength(2);
  const requests = 8;
  for (let i = 0; i < requests; i++) expect((await post(batchBody())).status).toBe(200);
  // Round-robin gave each worker half of the connections; a worker's own registry would say 4.
  const text = await metrics();
  expect(sample(text, 'rtap_ingest_requests_total{status="200"}')).toBe(requests);
  expect(sample(text, 'rtap_ingest_events_total{outcome="accepted"}')).toBe(requests * EVENTS_PER_REQUEST);
  expect(sample(text, 'rtap_api_workers')).toBe(2);
});

test('a worker that dies is replaced, and the API keeps serving meanwhile', async () => {
  const [victim, survivor] = workerPids();
  process.kill(victim, 'SIGKILL');
  // Once the primary has reaped it (a zombie still takes signal 0), new connections go to the survivor.
  expect(await waitUntil(async () => !isAlive(victim), 10_000, 50)).toBe(true);
  for (let i = 0; i < 4; i++) expect((await post(batchBody())).status).toBe(200);
  const replaced = async () => {
    const pids = workerPids();
    return pids.length === 2 && pids.includes(survivor) && !pids.includes(victim) && sample(await metrics(), 'rtap_api_workers') === 2;
  };
  expect(await waitUntil(replaced, 60_000, 250)).toBe(true);
  expect(sample(await metrics(), 'rtap_api_worker_restarts_total')).toBe(1);
  for (let i = 0; i < 4; i++) expect((await post(batchBody())).status).toBe(200);
});

test('SIGTERM stops every worker cleanly; every acknowledged event is in the topic', async () => {
  const accepted = sample(await metrics(), 'rtap_ingest_events_total{outcome="accepted"}') ?? 0;
  const exited = new Promise<number | null>((resolve) => api.once('exit', (code) => resolve(code)));
  api.kill('SIGTERM');
  expect(await exited).toBe(0);
  expect(workerPids()).toEqual([]);

  const admin = kafka.admin();
  await admin.connect();
  const offsets = await admin.fetchTopicOffsets(topics.events);
  await admin.disconnect();
  // The replaced worker's counters died with it, so the topic holds at least what /metrics still counts.
  const inTopic = offsets.reduce((sum, p) => sum + Number(p.high), 0);
  expect(inTopic).toBe(16 * EVENTS_PER_REQUEST);
  expect(inTopic).toBeGreaterThanOrEqual(accepted);
});

test('what the workers produced (rtap’s own record and batch encoders, murmur2) reads back intact, each key on kafkajs’ partition for it', async () => {
  const messages = await readTopic(kafka, topics.events, 16 * EVENTS_PER_REQUEST);
  const partitioner = Partitioners.DefaultPartitioner();
  const partitionMetadata = [0, 1, 2].map((partitionId) => ({ partitionId, leader: 1, partitionErrorCode: 0, replicas: [1], isr: [1] }));
  for (const m of messages) {
    const event = JSON.parse(m.value) as RtapEvent;
    expect(event.tenant_id).toBe(m.key!.split(':')[0]);
    expect(headerString(m.headers, 'schema_version')).toBe('2.1');
    expect(m.partition).toBe(partitioner({ topic: topics.events, partitionMetadata, message: { key: m.key, value: null } }));
  }
  expect(new Set(messages.map((m) => JSON.parse(m.value).event_metadata.event_id)).size).toBe(messages.length);
});
