// The access table: every operation of the OpenAPI document has its row (fail closed), lookups
// match templates exactly, and the gate in front of the routers applies roles and the tenant scope.
import request from 'supertest';
import { loadConfig } from '../../core/config';
import { ControlState, hashApiKey, type ApiKeyRecord } from '../../core/control';
import { createApp } from '../../serving/app';
import { OPENAPI } from '../../serving/openapi';
import { ACCESS, accessLookup } from '../../serving/security/access';
import { decideTenant } from '../../serving/tenant-scope';
import type { Principal } from '../../serving/security/identity';

const METHODS = ['get', 'post', 'put', 'delete', 'patch'] as const;
const operations = Object.entries(OPENAPI.paths).flatMap(([template, item]) => METHODS.filter((m) => item?.[m]).map((m) => `${m.toUpperCase()} ${template}`));

describe('the access table', () => {
  it('has a row for every /api operation of the OpenAPI document', () => {
    const missing = operations.filter((op) => op.split(' ')[1].startsWith('/api/') && !(op in ACCESS));
    expect(missing).toEqual([]);
    expect(operations.length).toBeGreaterThan(20);
  });

  it('protects every documented operation that declares security, and only documents public routes as public', () => {
    for (const op of operations.filter((o) => o.split(' ')[1].startsWith('/api/'))) {
      const [method, template] = op.split(' ');
      const declared = OPENAPI.paths[template]![method.toLowerCase() as (typeof METHODS)[number]]!.security;
      expect([op, ACCESS[op].public === true]).toEqual([op, declared === undefined]);
    }
  });

  it('matches templates exactly, literal paths before parameters, and nothing else', () => {
    const lookup = accessLookup();
    expect(lookup('GET', '/api/v2/analytics/cohort')?.route).toBe('GET /api/v2/analytics/cohort');
    expect(lookup('GET', '/api/v2/analytics/cohort/2026-W47')).toMatchObject({ route: 'GET /api/v2/analytics/cohort/{cohort_id}', params: { cohort_id: '2026-W47' } });
    expect(lookup('HEAD', '/api/v2/analytics/realtime/metrics')?.route).toBe('GET /api/v2/analytics/realtime/metrics');
    expect(lookup('GET', '/api/v2/admin/tenants/acme/usage')).toMatchObject({ params: { id: 'acme' } });
    expect(lookup('DELETE', '/api/v2/analytics/query')).toBeUndefined();
    expect(lookup('GET', '/api/v2/analytics/cohort/a/b')).toBeUndefined();
    expect(lookup('GET', '/api/v2/analytics/cohort/%E0%A4%A')).toBeUndefined();
    expect(lookup('GET', '/api/v2/analytics/realtime/metrics.json')).toBeUndefined();
    expect(accessLookup({})('GET', '/api/v2/analytics/realtime/metrics')).toBeUndefined();
  });
});

describe('the tenant decision', () => {
  const control = new ControlState();
  for (const [tenant_id, status] of [['acme', 'active'], ['globex', 'active'], ['frozen', 'suspended']]) {
    control.apply(`tenant/${tenant_id}`, Buffer.from(JSON.stringify({ tenant_id, name: tenant_id, status, created_at: '' })));
  }
  const p = (tenant_id: string): Principal => ({ kind: 'jwt', id: 'u', tenant_id, roles: ['viewer'], label: 'u' });

  it.each([
    ['own tenant, none named', p('acme'), undefined, 'tenant', { ok: true, tenant: 'acme', crossTenant: false }],
    ['own tenant, named', p('acme'), 'acme', 'tenant', { ok: true, tenant: 'acme', crossTenant: false }],
    ['another tenant named', p('acme'), 'globex', 'tenant', { ok: false, status: 403 }],
    ['* named by a tenant credential', p('acme'), '*', 'tenant-or-platform', { ok: false, status: 403 }],
    ['suspended own tenant', p('frozen'), undefined, 'tenant', { ok: false, status: 403, error: 'tenant_inactive' }],
    ['platform naming a tenant', p('*'), 'globex', 'tenant', { ok: true, tenant: 'globex', crossTenant: true }],
    ['platform naming none on a tenant route', p('*'), undefined, 'tenant', { ok: false, status: 400 }],
    ['platform naming none on a platform route', p('*'), undefined, 'tenant-or-platform', { ok: true, tenant: '*', crossTenant: true }],
    ['platform naming an unknown tenant', p('*'), 'nobody', 'tenant', { ok: false, status: 404 }],
    ['platform naming a suspended tenant', p('*'), 'frozen', 'tenant', { ok: false, status: 404 }],
  ] as const)('%s', (_name, principal, asked, scope, expected) => {
    expect(decideTenant(control, principal, asked, scope)).toMatchObject(expected);
  });
});

describe('the gate', () => {
  const control = new ControlState();
  for (const tenant_id of ['acme', 'globex']) control.apply(`tenant/${tenant_id}`, Buffer.from(JSON.stringify({ tenant_id, name: tenant_id, status: 'active', created_at: '' })));
  const addKey = (secret: string, tenant_id: string, roles: ApiKeyRecord['roles']) => {
    const record: ApiKeyRecord = { key_hash: hashApiKey(secret), tenant_id, roles, label: secret, created_at: '' };
    control.apply(`apikey/${record.key_hash}`, Buffer.from(JSON.stringify(record)));
  };
  addKey('rtap_viewer', 'acme', ['viewer']);
  addKey('rtap_ingest', 'acme', ['ingest']);
  addKey('rtap_legacy', 'acme', ['read']);
  const app = createApp({ cfg: loadConfig({}), checks: {}, fraud: { control } });
  const score = (key?: string, query = '') => {
    const r = request(app).post(`/api/v2/ml/fraud/score${query}`).send({});
    return key ? r.set('x-api-key', key) : r;
  };

  it('answers 401 with WWW-Authenticate without a credential, 401 for an unknown key or a JWT nobody issues', async () => {
    const none = await score();
    expect(none.status).toBe(401);
    expect(none.headers['www-authenticate']).toMatch(/^Bearer/);
    expect((await score('rtap_unknown')).status).toBe(401);
    expect((await request(app).post('/api/v2/ml/fraud/score').set('authorization', 'Bearer eyJhbGciOiJub25lIn0.e30.').send({})).status).toBe(401);
  });

  it('answers 403 to a role the table does not allow (viewer and ingest on an analyst route)', async () => {
    for (const key of ['rtap_viewer', 'rtap_ingest']) {
      const res = await score(key);
      expect(res.status).toBe(403);
      expect(res.body.message).toMatch(/analyst/);
    }
  });

  it('lets an old `read` key through as analyst, and refuses its naming another tenant', async () => {
    expect((await score('rtap_legacy')).status).toBe(400); // past the gate: the empty event is invalid
    expect((await score('rtap_legacy', '?tenant=globex')).status).toBe(403);
  });

  it('fails closed: an /api path without a row is a 404 even with a good key, and never reaches a router', async () => {
    const res = await request(app).get('/api/v2/ml/fraud/score').set('x-api-key', 'rtap_legacy');
    expect([404, 405]).toContain(res.status);
    expect((await request(app).get('/api/v2/secret/admin').set('x-api-key', 'rtap_legacy')).status).toBe(404);
    // express routes paths case-insensitively and with a trailing slash: neither gets past the gate
    expect((await request(app).post('/API/V2/ML/FRAUD/SCORE').set('x-api-key', 'rtap_viewer').send({})).status).toBe(404);
    expect((await request(app).post('/api/v2/ml/fraud/score/').set('x-api-key', 'rtap_viewer').send({})).status).toBe(403);
    expect((await request(app).post('/api/v2/ml/fraud/score/').send({})).status).toBe(401);
  });
});
