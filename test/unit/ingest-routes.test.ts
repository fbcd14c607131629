// The ingestion routes over HTTP with Kafka faked: media types and encodings, structural limits
// before parsing, dead letters filed under the sender with the exact bytes, warnings in results and
// metrics, bounded metric labels, and no internal detail in any error.
import { gzipSync } from 'node:zlib';
import type { Message, Producer } from 'kafkajs';
import request from 'supertest';
import { BatchingProducer } from '../../core/batching-producer';
import { loadConfig } from '../../core/config';
import { ControlState, hashApiKey, keyIdOf, type ApiKeyRecord } from '../../core/control';
import { DLQ_HEADERS } from '../../core/dlq';
import { createIngestStep, type IngestStep } from '../../core/ingest-step';
import { headerString } from '../../core/kafka';
import { registry } from '../../core/metrics';
import { createKeyring } from '../../core/pii';
import type { RtapEvent } from '../../core/schema';
import { EventGenerator } from '../../generator/generator';
import { createApp } from '../../serving/app';

const cfg = loadConfig({});
const keyring = createKeyring({ v1: 'unit-test-secret-0123456789' }, 'v1');
const gen = new EventGenerator({ seed: 21, tenants: 5, users: 100, fraudRate: 0, defectRate: 0, lateRate: 0 });
const events: RtapEvent[] = Array.from({ length: 40 }, () => structuredClone(gen.next().event));
const tenantA = events[0].tenant_id;
const ofA = events.filter((e) => e.tenant_id === tenantA);

const control = new ControlState();
for (const tenant_id of new Set(events.map((e) => e.tenant_id))) {
  control.apply(`tenant/${tenant_id}`, Buffer.from(JSON.stringify({ tenant_id, name: tenant_id, status: 'active', created_at: '' })));
}
function addKey(key: string, tenant_id: string): ApiKeyRecord {
  const record: ApiKeyRecord = { key_hash: hashApiKey(key), tenant_id, roles: ['ingest'], label: key, created_at: '' };
  control.apply(`apikey/${record.key_hash}`, Buffer.from(JSON.stringify(record)));
  return record;
}
addKey('platform-key', '*');
const keyA = addKey('tenant-a-key', tenantA);

/** Every message "sent to Kafka", and a switch to make the next sends fail. */
const sent: { topic: string; message: Message }[] = [];
let failWith: Error | undefined;
const fakeKafka = {
  sendBatch: async ({ topicMessages }: { topicMessages: { topic: string; messages: Message[] }[] }) => {
    if (failWith) throw failWith;
    for (const t of topicMessages) for (const message of t.messages) sent.push({ topic: t.topic, message });
    return [];
  },
} as unknown as Producer;
const producer = new BatchingProducer(fakeKafka, { maxQueuedBytes: 64 << 20, maxSendBytes: 4 << 20, enqueueTimeoutMs: 1000, ackTimeoutMs: 2000 });
const realStep = createIngestStep({ keyring, isActiveTenant: (id) => control.activeTenant(id) !== undefined });
let step: IngestStep = realStep;
const topics = { events: 'ev', dlq: 'dlq' };
const app = createApp({
  cfg,
  checks: {},
  ingest: { cfg: { ...cfg.ingest, maxRequestBytes: 4 << 20 }, control, step: (...args) => step(...args), producer, topics },
});

afterEach(() => {
  step = realStep;
  failWith = undefined;
});
afterAll(() => producer.close());

const batch = (body: string | Buffer, headers: Record<string, string> = {}, key = 'platform-key') => {
  const req = request(app).post('/api/v2/events/batch').set('x-api-key', key);
  for (const [k, v] of Object.entries({ 'content-type': 'application/json', ...headers })) req.set(k, v);
  // Bytes as they are: superagent would otherwise serialize a Buffer as JSON.
  return req.serialize((b: unknown) => b as string).send(body);
};
const lettersSince = (n: number) => sent.slice(n).filter((m) => m.topic === 'dlq');

describe('media types', () => {
  test.each(['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/jsonx', 'application/xml', 'json', ';;;', 'application/json/x'])(
    'Content-Type %s → 415 unsupported_media_type',
    async (type) => {
      const res = await batch(JSON.stringify({ events: [events[0]] }), { 'content-type': type });
      expect(res.status).toBe(415);
      expect(res.body.error).toBe('unsupported_media_type');
    },
  );

  test('a JSON type in another charset → 415 unsupported_charset', async () => {
    const res = await batch(JSON.stringify({ events: [events[0]] }), { 'content-type': 'application/json; charset=utf-16' });
    expect(res.status).toBe(415);
    expect(res.body.error).toBe('unsupported_charset');
  });

  test.each(['application/json', 'Application/JSON; charset="UTF-8"', 'application/vnd.rtap.events+json', 'application/json;charset=utf-8'])('Content-Type %s is accepted', async (type) => {
    const res = await batch(JSON.stringify({ events: [events[0]] }), { 'content-type': type });
    expect(res.status).toBe(200);
  });

  test('no Content-Type: the body is read as JSON', async () => {
    const res = await request(app)
      .post('/api/v2/events/batch')
      .set('x-api-key', 'platform-key')
      .send(Buffer.from(JSON.stringify({ events: [events[0]] })))
      .unset('content-type');
    expect(res.status).toBe(200);
  });
});

describe('content encodings', () => {
  const body = JSON.stringify({ events: [events[1]] });
  test('gzip is decoded', async () => {
    const res = await batch(gzipSync(body), { 'content-encoding': 'gzip' });
    expect(res.body).toMatchObject({ accepted: 1 });
  });
  test.each([
    ['gzip', Buffer.from('not gzip at all')],
    ['gzip', gzipSync(body).subarray(0, 20)],
    ['deflate', Buffer.from('zz')],
    ['br', Buffer.from('xx')],
  ])('a broken %s body → 400 invalid_content_encoding', async (encoding, bytes) => {
    const res = await batch(bytes, { 'content-encoding': encoding });
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('invalid_content_encoding');
  });
  test.each(['compress', 'gzip, gzip', 'x\u0001y'.replace('\u0001', '')])('an unknown encoding %s → 415 unsupported_encoding', async (encoding) => {
    const res = await batch(body, { 'content-encoding': encoding });
    expect(res.status).toBe(415);
    expect(res.body.error).toBe('unsupported_encoding');
  });
});

describe('structure', () => {
  test('an event nested 10,000 deep → 400 naming the path; the body is kept in the DLQ under the sender, without recursion', async () => {
    const deep = `{"events": [${JSON.stringify(events[0])}, {"schema_version": "2.1", "x": ${'['.repeat(10_000)}${']'.repeat(10_000)}}]}`;
    const before = sent.length;
    const res = await batch(deep, {}, 'tenant-a-key');
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('structure_invalid');
    expect(res.body.details[0].path).toBe(`$.events[1].x${'[0]'.repeat(63)}`);
    const [letter] = lettersSince(before);
    expect(letter.message.value!.toString()).toBe(deep);
    expect(headerString(letter.message.headers, DLQ_HEADERS.reason)).toBe('structure_invalid');
    expect(headerString(letter.message.headers, DLQ_HEADERS.tenant)).toBe(tenantA);
    expect(headerString(letter.message.headers, DLQ_HEADERS.senderKey)).toBe(keyIdOf(keyA));
    expect(letter.message.key).toBe(tenantA);
  });

  test('a body 1,000,000 deep is answered at once (the parser never sees it)', async () => {
    const started = performance.now();
    const res = await batch(`{"events": [${'['.repeat(1_000_000)}${']'.repeat(1_000_000)}]}`);
    expect(res.status).toBe(400);
    expect(performance.now() - started).toBeLessThan(1000);
  });

  test('rejected events are dead-lettered as the exact bytes sent; the other events go through', async () => {
    const odd = `{ "amount" : 1e400 ,\n "schema_version": "2.1" }`;
    const body = `{"events": [ ${JSON.stringify(ofA[0])} ,${odd}, ${JSON.stringify(ofA[1] ?? ofA[0])} ]}`;
    const before = sent.length;
    const res = await batch(body, {}, 'tenant-a-key');
    expect(res.status).toBe(207);
    expect(res.body.results.map((r: { status: string }) => r.status)).toEqual(['accepted', 'rejected', 'accepted']);
    expect(res.body.results[1]).toMatchObject({ error: 'schema_invalid', details: [{ path: '$.amount' }] });
    const [letter] = lettersSince(before);
    expect(letter.message.value!.toString()).toBe(odd);
  });
});

describe('warnings and metrics', () => {
  const warning = { field: 'account_type', path: '$.event_data.user_context.user_profile.account_type', value: 'vip', reason: 'not a known account_type' };

  test('an accepted event carries its warnings in the result and in /data/quality/validate, and they are counted by field and tenant', async () => {
    step = (...args) => {
      const out = realStep(...args);
      return out.kind === 'ok' ? { ...out, warnings: [warning] } : out;
    };
    const res = await batch(JSON.stringify({ events: [ofA[0]] }), {}, 'tenant-a-key');
    expect(res.status).toBe(200);
    expect(res.body.results[0]).toEqual({ index: 0, event_id: ofA[0].event_metadata.event_id, status: 'accepted', warnings: [warning] });
    const validate = await request(app).post('/api/v2/data/quality/validate').set('x-api-key', 'tenant-a-key').send({ events: [ofA[0]] });
    expect(validate.body.results[0]).toMatchObject({ status: 'valid', warnings: [warning] });
    const metric = await registry.getSingleMetricAsString('rtap_ingest_warnings_total');
    expect(metric).toContain(`rtap_ingest_warnings_total{field="account_type",tenant="${tenantA}"} 1`);
  });

  test('without warnings the result has no warnings key', async () => {
    const res = await batch(JSON.stringify({ events: [ofA[0]] }), {}, 'tenant-a-key');
    expect(res.body.results[0].warnings).toBeUndefined();
  });

  test('rejection labels take only registered tenants: 100,000-character and NUL-laden claims are not labels', async () => {
    const claims = ['t'.repeat(100_000), 'nul\u0000tenant', 'not-registered'];
    for (const key of ['platform-key', 'tenant-a-key']) {
      const res = await batch(JSON.stringify({ events: claims.map((tenant_id) => ({ ...ofA[0], tenant_id })) }), {}, key);
      expect(res.status).toBe(422);
    }
    const metric = await registry.getSingleMetricAsString('rtap_ingest_rejected_total');
    const labels = [...metric.matchAll(/tenant="([^"]*)"/g)].map((m) => m[1]);
    expect(labels.length).toBeGreaterThan(0);
    for (const label of labels) expect(label === '*' || control.activeTenant(label) !== undefined).toBe(true);
    expect(metric.length).toBeLessThan(10_000);
  });
});

describe('errors never leak', () => {
  test('a failed Kafka send is a 503 with Retry-After that says nothing of the internal error', async () => {
    failWith = new Error('secret detail at /srv/rtap/core/kafka.ts:42');
    const res = await batch(JSON.stringify({ events: [events[2]] }));
    expect(res.status).toBe(503);
    expect(res.headers['retry-after']).toBeDefined();
    expect(res.text).not.toMatch(/secret|\/srv|\.ts/);
  });

  test('a step that throws anyway (a bug) is a generic 500, never a stack trace', async () => {
    step = () => {
      throw new Error('bug in /work/main/core/x.ts');
    };
    const res = await batch(JSON.stringify({ events: [events[2]] }));
    expect(res.status).toBe(500);
    expect(res.body).toEqual({ error: 'internal', message: 'internal error; it has been logged' });
    expect(res.text).not.toMatch(/\/work|\.ts|at /);
  });

  test('a Content-Length that does not match the body → 400, not 500', async () => {
    const res = await batch('{"events": []}', { 'content-length': '3' });
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
  });
});
