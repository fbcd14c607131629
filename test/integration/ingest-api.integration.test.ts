// The ingestion API on real Kafka: HTTP batches → `events` / `events.dlq`, every error case with
// its precise status and field, and `rtap dlq replay` after a fix. Each run uses its own topics.
import { logLevel, type Kafka } from 'kafkajs';
import { keyIdOf, type ControlPlane } from '../../core/control';
import { DLQ_HEADERS } from '../../core/dlq';
import { createIngestStep, kafkaKeyOf } from '../../core/ingest-step';
import { createKafka, headerString } from '../../core/kafka';
import { createLogger } from '../../core/logger';
import { TOKEN_PATTERN, createKeyring } from '../../core/pii';
import type { RtapEvent } from '../../core/schema';
import { EventGenerator } from '../../generator/generator';
import { replayDlq, senderResolver } from '../../ingest/dlq-replay';
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
  tenantKey = (await control.createApiKey(tenantOfKey, ['ingest', 'viewer', 'analyst'], 'test tenant')).apiKey;
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
    // The server keys by tenant and (tokenized) user, whatever partition_key the client sent.
    expect(messages[i].key).toBe(kafkaKeyOf(e));
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
  // A tenant's key writing another tenant's event is a mismatch whether that tenant exists or not.
  expect(r3).toMatchObject({ status: 'rejected', error: 'tenant_mismatch', details: [expect.objectContaining({ path: '$.tenant_id' })] });
  expect(r4).toMatchObject({ status: 'rejected', error: 'tenant_mismatch', details: [expect.objectContaining({ path: '$.tenant_id' })] });

  const letters = await readTopic(kafka, topics.dlq, 4);
  const reasons = letters.map((m) => headerString(m.headers, DLQ_HEADERS.reason)).sort();
  expect(reasons).toEqual(['schema_invalid', 'tenant_mismatch', 'tenant_mismatch', 'unknown_version']);
  // Every dead letter keeps the payload exactly as sent, filed and keyed under the tenant whose key
  // sent it — whatever tenant the payload claims.
  const mismatch = letters.find((m) => JSON.parse(m.value).event_metadata?.event_id === foreign.event_metadata.event_id)!;
  expect(JSON.parse(mismatch.value)).toEqual(foreign);
  for (const letter of letters) {
    expect(headerString(letter.headers, DLQ_HEADERS.tenant)).toBe(tenantOfKey);
    expect(letter.key).toBe(tenantOfKey);
  }
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
  const readOnly = (await control.createApiKey(tenantOfKey, ['viewer', 'analyst'], 'read only')).apiKey;
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

test('hostile payloads are precise 4xx answers within a second, and their letters are keyed by the sender, never by the payload', async () => {
  // letters are filed under the sender's public key id, never its hash
  const platformHash = keyIdOf(control.state.authenticate(platformKey)!);
  const base = pool.find(registered)!;
  const timed = async (fn: () => Promise<{ status: number; body: Record<string, any> }>) => { // eslint-disable-line @typescript-eslint/no-explicit-any
    const started = performance.now();
    const res = await fn();
    expect(performance.now() - started).toBeLessThan(1000);
    return res;
  };
  const before = (await readTopic(kafka, topics.dlq, 0, { settleMs: 1500 })).length;

  // A 1.1 MB tenant_id and a 200,000-character partition_key: rejected per event, nothing keyed by them.
  const hugeTenant = { ...structuredClone(base), tenant_id: 't'.repeat(1_100_000) };
  const hugeKey = { ...structuredClone(base), partition_key: 'k'.repeat(200_000) };
  const longKey = { ...structuredClone(base), partition_key: 'k'.repeat(5000) };
  const huge = await timed(() => post('/api/v2/events/batch', { events: [hugeTenant, hugeKey, longKey] }));
  expect(huge.status).toBe(422);
  expect(huge.body.results.map((r: { error: string }) => r.error)).toEqual(['structure_invalid', 'structure_invalid', 'schema_invalid']);
  expect(huge.body.results.map((r: { details: { path: string }[] }) => r.details[0].path)).toEqual(['$.tenant_id', '$.partition_key', '$.partition_key']);

  // 1e400 is an overflow, not null.
  const overflow = JSON.stringify({ events: [base] }).replace(/"final_total":\s*[0-9.]+/, '"final_total": 1e400').replace(/^\{"events":\[\{/, '{"events":[{"amount": 1e400,');
  const inf = await timed(() => post('/api/v2/events/batch', undefined, platformKey, overflow));
  expect(inf.status).toBe(422);
  expect(inf.body.results[0]).toMatchObject({ error: 'schema_invalid', details: [expect.objectContaining({ reason: expect.stringContaining('1e400') })] });

  // 10,000 levels deep: a 400 naming the path, the body kept in the DLQ.
  const deep = `{"events": [{"schema_version": "2.1", "x": ${'{"y": '.repeat(10_000)}1${'}'.repeat(10_000)}}]}`;
  const tooDeep = await timed(() => post('/api/v2/events/batch', undefined, platformKey, deep));
  expect(tooDeep.status).toBe(400);
  expect(tooDeep.body).toMatchObject({ error: 'structure_invalid', details: [{ path: `$.events[0].x${'.y'.repeat(63)}` }] });

  // Broken and unknown encodings, non-JSON types.
  const send = (headers: Record<string, string>, body: string | Buffer) =>
    fetch(`${api.base}/api/v2/events/batch`, { method: 'POST', headers: { 'x-api-key': platformKey, ...headers }, body }).then(async (r) => ({ status: r.status, body: (await r.json()) as Record<string, any> })); // eslint-disable-line @typescript-eslint/no-explicit-any
  expect((await timed(() => send({ 'content-type': 'application/json', 'content-encoding': 'gzip' }, 'not gzip'))).body.error).toBe('invalid_content_encoding');
  expect((await timed(() => send({ 'content-type': 'application/json', 'content-encoding': 'zstd2' }, '{}'))).status).toBe(415);
  expect((await timed(() => send({ 'content-type': 'text/plain' }, JSON.stringify({ events: [base] })))).body.error).toBe('unsupported_media_type');

  const letters = (await readTopic(kafka, topics.dlq, before + 5)).slice(before);
  expect(letters).toHaveLength(5);
  for (const letter of letters) {
    expect(letter.key).toBe(`*:${platformHash.slice(0, 16)}`);
    expect(headerString(letter.headers, DLQ_HEADERS.tenant)).toBe('*');
    expect(headerString(letter.headers, DLQ_HEADERS.senderKey)).toBe(platformHash);
  }
  // The letters keep the exact bytes: the overflowing number is still written 1e400.
  expect(letters.some((m) => m.value.includes('"amount": 1e400'))).toBe(true);
  expect(letters.some((m) => m.value === deep)).toBe(true);
});

test('dlq replay acts as the sender each letter was filed under: a tenant cannot plant data in another tenant, revoked keys and legacy letters are not replayed', async () => {
  const fresh = (e: RtapEvent, id: string): RtapEvent => ({ ...structuredClone(e), event_metadata: { ...structuredClone(e.event_metadata), event_id: id } });
  const lateEvents = pool.filter((e) => e.tenant_id === lateTenant).slice(0, 5);
  expect(lateEvents.length).toBeGreaterThan(0);
  // The platform key sends the late tenant's events before it is registered: unknown_tenant.
  const res = await post('/api/v2/events/batch', { events: lateEvents });
  expect(res.status).toBe(422);
  expect(res.body.results.every((r: { error: string }) => r.error === 'unknown_tenant')).toBe(true);
  // Tenant A's key sends an event claiming tenant B (not registered yet): filed under A.
  const planted = fresh(lateEvents[0], 'a1a1a1a1-0000-4000-8000-000000000001');
  expect((await post('/api/v2/events/batch', { events: [planted] }, tenantKey)).body.results[0].error).toBe('tenant_mismatch');
  // A second platform key sends one, then is revoked.
  const revoked = await control.createApiKey('*', ['ingest'], 'revoked later');
  const fromRevoked = fresh(lateEvents[0], 'a1a1a1a1-0000-4000-8000-000000000002');
  expect((await post('/api/v2/events/batch', { events: [fromRevoked] }, revoked.apiKey)).body.results[0].error).toBe('unknown_tenant');
  await control.write([{ key: `apikey/${revoked.record.key_hash}`, value: null }]);
  // A letter in the old format, filed under the tenant its payload claimed.
  const legacy = fresh(lateEvents[0], 'a1a1a1a1-0000-4000-8000-000000000003');
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({
    topic: topics.dlq,
    messages: [{ key: lateTenant, value: JSON.stringify(legacy), headers: { [DLQ_HEADERS.reason]: 'unknown_tenant', [DLQ_HEADERS.tenant]: lateTenant, [DLQ_HEADERS.source]: 'api' } }],
  });
  await producer.disconnect();

  await control.putTenants([{ tenant_id: lateTenant }]);
  const step = createIngestStep({ keyring, isActiveTenant: (id) => control.state.activeTenant(id) !== undefined, source: 'replay' });
  const groupId = uniqueName('replay');
  const opts = { dlqTopic: topics.dlq, eventsTopic: topics.events, groupId, dryRun: false, resolveSender: senderResolver(control.state) };
  const stats = await replayDlq(kafka, step, opts, log);
  // Only the platform key's unknown_tenant letters become valid.
  expect(stats.replayed).toBe(lateEvents.length);
  expect(stats.legacy).toBe(1);
  expect(stats.byReason.sender_revoked).toBe(1);
  expect(stats.byReason.tenant_mismatch).toBeGreaterThanOrEqual(3);
  expect(stats.stillInvalid).toBe(stats.scanned - stats.replayed - stats.skipped);

  const written = (await readTopic(kafka, topics.events, 0, { settleMs: 2000 })).map((m) => JSON.parse(m.value) as RtapEvent);
  const ids = new Set(written.map((e) => e.event_metadata.event_id));
  for (const e of lateEvents) expect(ids.has(e.event_metadata.event_id)).toBe(true);
  for (const e of [planted, fromRevoked, legacy]) expect(ids.has(e.event_metadata.event_id)).toBe(false);
  // The planted letter is re-appended, still filed under its sender.
  const letters = await readTopic(kafka, topics.dlq, 0, { settleMs: 1500 });
  const replanted = letters.filter((m) => headerString(m.headers, DLQ_HEADERS.source) === 'replay' && m.value.includes(planted.event_metadata.event_id));
  expect(replanted.length).toBe(1);
  expect(headerString(replanted[0].headers, DLQ_HEADERS.reason)).toBe('tenant_mismatch');
  expect(headerString(replanted[0].headers, DLQ_HEADERS.tenant)).toBe(tenantOfKey);
  expect(replanted[0].key).toBe(tenantOfKey);

  // A second replay finds only the re-appended still-invalid letters, and none becomes valid.
  const again = await replayDlq(kafka, step, opts, log);
  expect(again.replayed).toBe(0);
  expect(again.scanned).toBe(stats.stillInvalid);
});
