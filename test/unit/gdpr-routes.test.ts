// POST /api/v2/data/{erase,export}/gdpr and GET …/gdpr/{id} over HTTP with Temporal faked: the
// admin role, the tenant decided by the credential only, the user id tokenized before anything
// leaves the API, the OpenAPI document enforcing the bodies, and another tenant's requests
// invisible.
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import request from 'supertest';
import { loadConfig } from '../../core/config';
import { ControlState, hashApiKey, type ApiKeyRecord, type Role } from '../../core/control';
import { GDPR_ERASE_WORKFLOW, GDPR_EXPORT_WORKFLOW, type GdprEraseInput, type GdprExportInput } from '../../core/gdpr';
import { createKeyring, tokensForAllVersions } from '../../core/pii';
import { createApp } from '../../serving/app';

const cfg = loadConfig({});
const keyring = createKeyring({ v1: 'unit-secret-v1-0123456789', v2: 'unit-secret-v2-0123456789' }, 'v2');
const control = new ControlState();
for (const tenant_id of ['acme', 'globex']) control.apply(`tenant/${tenant_id}`, Buffer.from(JSON.stringify({ tenant_id, name: tenant_id, status: 'active', created_at: '' })));
function addKey(key: string, tenant_id: string, roles: Role[]): ApiKeyRecord {
  const record: ApiKeyRecord = { key_hash: hashApiKey(key), tenant_id, roles, label: key, created_at: '' };
  control.apply(`apikey/${record.key_hash}`, Buffer.from(JSON.stringify(record)));
  return record;
}
addKey('acme-admin', 'acme', ['admin']);
addKey('acme-read', 'acme', ['viewer', 'analyst']);
addKey('platform-admin', '*', ['admin']);

interface Started {
  type: string;
  opts: { workflowId: string; args: [GdprEraseInput | GdprExportInput]; memo: Record<string, unknown> };
}
const started: Started[] = [];
let temporalDown = false;
const fakeClient = {
  workflow: {
    start: async (type: string, opts: Started['opts']) => {
      started.push({ type, opts });
      return { workflowId: opts.workflowId };
    },
    getHandle: (workflowId: string) => {
      const s = started.find((x) => x.opts.workflowId === workflowId);
      return {
        describe: async () => {
          if (!s) throw new WorkflowNotFoundError('not found', workflowId, undefined);
          return { memo: s.opts.memo, status: { name: 'COMPLETED' }, startTime: new Date('2026-11-27T10:00:00Z'), closeTime: new Date('2026-11-27T10:01:00Z') };
        },
        result: async () => ({ requestId: s?.opts.args[0].requestId, complete: true }),
        query: async () => undefined,
      };
    },
  },
} as unknown as Client;

const app = createApp({
  cfg,
  checks: {},
  gdpr: {
    temporal: cfg.temporal,
    control,
    keyring,
    client: async () => {
      if (temporalDown) throw new Error('connection refused');
      return fakeClient;
    },
    prefix: 'lake/',
  },
});

beforeEach(() => {
  started.length = 0;
  temporalDown = false;
});

const post = (path: string, key: string | undefined, body: unknown) => {
  const r = request(app).post(path).send(body as object);
  return key ? r.set('x-api-key', key) : r;
};

test('an admin key erases a user of its own tenant: 202 with a status URL; only tokens reach Temporal', async () => {
  const res = await post('/api/v2/data/erase/gdpr', 'acme-admin', { user_id: 'alice@example.com', anonymous_ids: ['anon_alice'], reason: 'ticket 42' });
  expect(res.status).toBe(202);
  expect(res.body).toMatchObject({ kind: 'erase', tenant: 'acme', status_url: `/api/v2/data/erase/gdpr/${res.body.request_id}` });
  expect(started).toHaveLength(1);
  const { type, opts } = started[0];
  expect(type).toBe(GDPR_ERASE_WORKFLOW);
  const input = opts.args[0] as GdprEraseInput;
  expect(input).toMatchObject({ prefix: 'lake/', requestId: res.body.request_id, reason: 'ticket 42', subject: { tenant: 'acme' } });
  expect(input.subject.userTokens.sort()).toEqual(tokensForAllVersions('alice@example.com', 'user', keyring).sort());
  expect(input.requestedBy).toMatch(/^api-key:acme-admin#key_[0-9a-f]{16}$/);
  expect(opts.memo).toEqual({ tenant: 'acme', kind: 'erase' });
  const everything = JSON.stringify(started);
  expect(everything).not.toContain('alice@example.com');
  expect(everything).not.toContain('anon_alice');
});

test('export: the URL lifetime is passed on; out of range it is a 400', async () => {
  const ok = await post('/api/v2/data/export/gdpr', 'acme-admin', { user_id: 'alice', url_ttl_seconds: 3600 });
  expect(ok.status).toBe(202);
  expect(started[0].type).toBe(GDPR_EXPORT_WORKFLOW);
  expect((started[0].opts.args[0] as GdprExportInput).urlTtlSeconds).toBe(3600);
  for (const ttl of [30, 8 * 24 * 3600]) expect((await post('/api/v2/data/export/gdpr', 'acme-admin', { user_id: 'alice', url_ttl_seconds: ttl })).status).toBe(400);
});

test('credentials: none is 401, a read key is 403, a tenant key naming another tenant is 403', async () => {
  expect((await post('/api/v2/data/erase/gdpr', undefined, { user_id: 'alice' })).status).toBe(401);
  expect((await post('/api/v2/data/export/gdpr', 'acme-read', { user_id: 'alice' })).status).toBe(403);
  expect((await post('/api/v2/data/erase/gdpr?tenant=globex', 'acme-admin', { user_id: 'alice' })).status).toBe(403);
  expect(started).toEqual([]);
});

test('a platform key must name the tenant, and erases within it', async () => {
  expect((await post('/api/v2/data/erase/gdpr', 'platform-admin', { user_id: 'alice' })).status).toBe(400);
  expect((await post('/api/v2/data/erase/gdpr?tenant=nobody', 'platform-admin', { user_id: 'alice' })).status).toBe(404);
  const res = await post('/api/v2/data/erase/gdpr?tenant=globex', 'platform-admin', { user_id: 'alice' });
  expect(res.status).toBe(202);
  expect(started[0].opts.args[0].subject.tenant).toBe('globex');
  expect(started[0].opts.args[0].requestedBy).toContain('(platform)');
});

test.each([
  [{}, '/user_id'],
  [{ user_id: '' }, '/user_id'],
  [{ user_id: 'alice', tenant: 'globex' }, ''],
  [{ user_id: 'alice', url_ttl_seconds: 600 }, ''],
  [{ user_id: 'alice', anonymous_ids: 'anon' }, '/anonymous_ids'],
])('erase body %j is a 400 naming the field', async (body, field) => {
  const res = await post('/api/v2/data/erase/gdpr', 'acme-admin', body);
  expect(res.status).toBe(400);
  expect(res.body.error).toBe('invalid_request');
  if (field) expect(JSON.stringify(res.body.details)).toContain(field);
  expect(started).toEqual([]);
});

test("status: the tenant's own request is shown; another tenant's does not exist; a bad id is a 400", async () => {
  const mine = await post('/api/v2/data/erase/gdpr', 'acme-admin', { user_id: 'alice' });
  const theirs = await post('/api/v2/data/erase/gdpr?tenant=globex', 'platform-admin', { user_id: 'bob' });
  const own = await request(app).get(mine.body.status_url).set('x-api-key', 'acme-admin');
  expect(own.status).toBe(200);
  expect(own.body).toMatchObject({ request_id: mine.body.request_id, kind: 'erase', status: 'COMPLETED', result: { complete: true } });
  expect((await request(app).get(theirs.body.status_url).set('x-api-key', 'acme-admin')).status).toBe(404);
  expect((await request(app).get(`/api/v2/data/export/gdpr/${mine.body.request_id}`).set('x-api-key', 'acme-admin')).status).toBe(404);
  expect((await request(app).get('/api/v2/data/erase/gdpr/not-an-id').set('x-api-key', 'acme-admin')).status).toBe(400);
});

test('Temporal unreachable: 503 with Retry-After', async () => {
  temporalDown = true;
  const res = await post('/api/v2/data/erase/gdpr', 'acme-admin', { user_id: 'alice' });
  expect(res.status).toBe(503);
  expect(res.headers['retry-after']).toBe('30');
});
