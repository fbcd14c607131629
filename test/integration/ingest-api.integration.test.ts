// The ingestion API on real Kafka: HTTP batches → `events` / `events.dlq`, every error case with
// its precise status and field, and `rtap dlq replay` after a fix. Each run uses its own topics.
import { logLevel, type Kafka } from 'kafkajs';
import type { ControlPlane } from '../../core/control';
import { DLQ_HEADERS } from '../../core/dlq';
import { createIngestStep } from '../../core/ingest-step';
import { createKafka, headerString } from '../../core/kafka';
import { createLogger } from '../../core/logger';
import { TOKEN_PATTERN, createKeyring } from '../../core/pii';
import type { RtapEvent } from '../../core/schema';
import { EventGenerator } from '../../generator/generator';
import { replayDlq } from '../../ingest/dlq-replay';
import { cfg, uniqueName } from './helpers';
import { startIngestApi, type ApiHarness } from './api-harness';
import { readTopic } from './kafka-read';

const topics = { events: uniqueName('events'), dlq: uniqueName('dlq'), control: uniqueName('control') };
const keyring = createKeyring({ v1: 'integration-test-secret-01' }, 'v1');
const log = createLogger('test');
const gen = new EventGenerator({ seed: 5, tenants: 30, users: 2000, fraudRate: 0, defectRate: 0, lateRate: 0 });
const pool: RtapEvent[] = Array.from({ length: 400 }, () => structuredClone(gen.next().event));
// Every tenant but the last one is registered; the last one is "unknown" until the replay test.
const allTenants = [...new Set(pool.map((e) => e.tenant_id))].sort();
const lateTenant = allTenants[allTenants.length - 1];

let kafka: Kafka;
let api: ApiHarness;
let control: ControlPlane;
let platformKey: string;
let tenantKey: string;
let tenantOfKey: string;

async function post(path: string, body: unknown, key: string | null = platformKey, raw?: string) {
  const res = await fetch(`${api.base}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(key ? { 'x-api-key': key } : {}) },
    body: raw ?? JSON.stringify(body),
  });
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- response bodies are checked field by field below
  return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, any> };
}

beforeAll(async () => {
  kafka = createKafka(cfg.kafka, { logLevel: logLevel.NOTHING });
  api = await startIngestApi({ kafka, cfg, topics, keyring, ingest: { maxEventsPerRequest: 200, maxRequestBytes: 2 << 20 } });
  control = api.control;
  await control.putTenants(allTenants.filter((t) => t !== lateTenant).map((tenant_id) => ({ tenant_id })));
  platformKey = (await control.createApiKey('*', ['ingest'], 'test platform')).apiKey;
  tenantOfKey = allTenants[0];
  tenantKey = (await control.createApiKey(tenantOfKey, ['ingest', 'read'], 'test tenant')).apiKey;
});

afterAll(async () => {
  await api.close();
});

const registered = (e: RtapEvent) => e.tenant_id !== lateTenant;

test('a valid batch is accepted only after Kafka acknowledged it, and exactly those events are in the topic, tokenized', async () => {
  const batch = pool.filter(registered).slice(0, 150);
  const res = await post('/api/v2/events/batch', { events: batch });
  expect(res.status).toBe(200);
  expect(res.body.accepted).toBe(150);
  expect(res.body.results.every((r: { status: string }) => r.status === 'accepted')).toBe(true);

  const messages = await readTopic(kafka, topics.events, 150);
  const written = messages.map((m) => JSON.parse(m.value) as RtapEvent);
  expect(written.map((e) => e.event_metadata.event_id).sort()).toEqual(batch.map((e) => e.event_metadata.event_id).sort());
  for (const [i, e] of written.entries()) {
    const userId = e.event_data.user_context.user_id;
    if (userId !== undefined) expect(userId).toMatch(TOKEN_PATTERN);
    expect(messages[i].key).toBe(e.partition_key);
    expect(headerString(messages[i].headers, 'schema_version')).toBe('2.1');
  }
  // Same key, same partition: what keeps one user's events (and one event's duplicates) together.
  const partitionOfKey = new Map<string, number>();
  for (const m of messages) {
    expect(partitionOfKey.get(m.key!) ?? m.partition).toBe(m.partition);
    partitionOfKey.set(m.key!, m.partition);
  }
});

test('a mixed batch answers per event: wrong types, unknown version, unknown and foreign tenants, each with path and reason, each dead-lettered', async () => {
  const good = pool.filter((e) => e.tenant_id === tenantOfKey)[0] ?? pool[0];
  const wrongType = structuredClone(good) as unknown as { event_metadata: Record<string, unknown>; event_data: { user_context: { session_data: Record<string, unknown> } } };
  wrongType.event_metadata.event_id = '11111111-1111-4111-8111-111111111111';
  wrongType.event_data.user_context.session_data.session_sequence = 'seven';
  const unknownVersion = { ...structuredClone(good), schema_version: '7.3' };
  const unknownTenant = pool.find((e) => e.tenant_id === lateTenant)!;
  const foreign = pool.find((e) => registered(e) && e.tenant_id !== tenantOfKey)!;

  const res = await post('/api/v2/events/batch', { events: [good, wrongType, unknownVersion, unknownTenant, foreign] }, tenantKey);
  expect(res.status).toBe(207);
  expect(res.body.accepted).toBe(1);
  const [r0, r1, r2, r3, r4] = res.body.results;
  expect(r0.status).toBe('accepted');
  expect(r1).toMatchObject({ status: 'rejected', error: 'schema_invalid' });
  expect(r1.details).toContainEqual(expect.objectContaining({ path: '$.event_data.user_context.session_data.session_sequence' }));
  expect(r2).toMatchObject({ status: 'rejected', error: 'unknown_version' });
  expect(r2.details[0].path).toBe('$.schema_version');
  expect(r3).toMatchObject({ status: 'rejected', error: 'unknown_tenant', details: [expect.objectContaining({ path: '$.tenant_id' })] });
  expect(r4).toMatchObject({ status: 'rejected', error: 'tenant_mismatch', details: [expect.objectContaining({ path: '$.tenant_id' })] });

  const letters = await readTopic(kafka, topics.dlq, 4);
  const reasons = letters.map((m) => headerString(m.headers, DLQ_HEADERS.reason)).sort();
  expect(reasons).toEqual(['schema_invalid', 'tenant_mismatch', 'unknown_tenant', 'unknown_version']);
  // A dead letter keeps the payload exactly as sent, filed under the tenant whose key sent it.
  const mismatch = letters.find((m) => headerString(m.headers, DLQ_HEADERS.reason) === 'tenant_mismatch')!;
  expect(JSON.parse(mismatch.value)).toEqual(foreign);
  expect(headerString(mismatch.headers, DLQ_HEADERS.tenant)).toBe(tenantOfKey);
});

test('malformed JSON is a 400 naming the problem, and the body is kept in the DLQ', async () => {
  const before = (await readTopic(kafka, topics.dlq, 0, { settleMs: 1500 })).length;
  const res = await post('/api/v2/events/batch', undefined, platformKey, '{"events": [ {"tenant_id": "x", ');
  expect(res.status).toBe(400);
  expect(res.body.error).toBe('malformed_json');
  expect(res.body.details[0].path).toBe('$');
  const letters = await readTopic(kafka, topics.dlq, before + 1);
  const last = letters.find((m) => headerString(m.headers, DLQ_HEADERS.reason) === 'malformed_json')!;
  expect(last.value).toBe('{"events": [ {"tenant_id": "x", ');
});

test('envelope and limit errors: missing events, too many events, too many bytes', async () => {
  const missing = await post('/api/v2/events/batch', { records: [] });
  expect(missing.status).toBe(400);
  expect(missing.body.details).toEqual([{ path: '$.events', reason: 'is required' }]);

  const tooMany = await post('/api/v2/events/batch', { events: pool.slice(0, 201) });
  expect(tooMany.status).toBe(413);
  expect(tooMany.body.error).toBe('too_many_events');
  expect(tooMany.body.details[0].path).toBe('$.events');

  const huge = await post('/api/v2/events/batch', { events: [{ blob: 'x'.repeat(3 << 20) }] });
  expect(huge.status).toBe(413);
  expect(huge.body.error).toBe('payload_too_large');
});

test('authentication: no key and an unknown key are 401; a key without the role is 403', async () => {
  const none = await post('/api/v2/events/batch', { events: [pool[0]] }, null);
  expect(none.status).toBe(401);
  expect(none.body.error).toBe('missing_api_key');
  const unknown = await post('/api/v2/events/batch', { events: [pool[0]] }, 'rtap_not-a-real-key');
  expect(unknown.status).toBe(401);
  expect(unknown.body.error).toBe('invalid_api_key');
  const readOnly = (await control.createApiKey(tenantOfKey, ['read'], 'read only')).apiKey;
  const forbidden = await post('/api/v2/events/batch', { events: [pool[0]] }, readOnly);
  expect(forbidden.status).toBe(403);
});

test('quality/validate reports per event and writes nothing', async () => {
  const before = (await readTopic(kafka, topics.events, 0, { settleMs: 1500 })).length;
  const bad = { ...structuredClone(pool[0]), tenant_id: 42 };
  const res = await post('/api/v2/data/quality/validate', { events: [pool[0], bad] });
  expect(res.status).toBe(200);
  expect(res.body).toMatchObject({ valid: 1, invalid: 1 });
  expect(res.body.results[1].details).toContainEqual(expect.objectContaining({ path: '$.tenant_id' }));
  const after = (await readTopic(kafka, topics.events, 0, { settleMs: 1500 })).length;
  expect(after).toBe(before);
});

test('dlq replay: after the unknown tenant is registered its letters reach `events`; the rest stay dead letters', async () => {
  const lateEvents = pool.filter((e) => e.tenant_id === lateTenant).slice(0, 5);
  expect(lateEvents.length).toBeGreaterThan(0);
  const res = await post('/api/v2/events/batch', { events: lateEvents });
  expect(res.status).toBe(422);
  expect(res.body.results.every((r: { error: string }) => r.error === 'unknown_tenant')).toBe(true);

  await control.putTenants([{ tenant_id: lateTenant }]);
  const step = createIngestStep({ keyring, isActiveTenant: (id) => control.state.activeTenant(id) !== undefined, source: 'replay' });
  const groupId = uniqueName('replay');
  const stats = await replayDlq(kafka, step, { dlqTopic: topics.dlq, eventsTopic: topics.events, groupId, dryRun: false }, log);
  // 1 unknown_tenant letter from the mixed batch + the late tenant's letters become valid.
  expect(stats.replayed).toBe(lateEvents.length + 1);
  expect(stats.stillInvalid).toBe(stats.scanned - stats.replayed);

  const written = (await readTopic(kafka, topics.events, 0, { settleMs: 2000 })).map((m) => JSON.parse(m.value) as RtapEvent);
  const ids = new Set(written.map((e) => e.event_metadata.event_id));
  for (const e of lateEvents) expect(ids.has(e.event_metadata.event_id)).toBe(true);

  // A second replay finds only the re-appended still-invalid letters, and none becomes valid.
  const again = await replayDlq(kafka, step, { dlqTopic: topics.dlq, eventsTopic: topics.events, groupId, dryRun: false }, log);
  expect(again.replayed).toBe(0);
  expect(again.scanned).toBe(stats.stillInvalid);
});
