// Rate limits and the audit trail wired into the app (serving/security/limits.ts, audit.ts,
// serving/admin/usage.ts) over HTTP, with a fake clock and an in-memory control state: 429 with
// Retry-After and X-RateLimit-*, a limits record taking effect at the next request, usage and
// limits routes by role, one budget shared by cluster workers over (simulated) IPC, and an audit
// entry for every /api request, refused ones included.
import request from 'supertest';
import type { AuditEntry } from '../../core/audit';
import { loadConfig } from '../../core/config';
import { ControlState, hashApiKey, type ApiKeyRecord, type ControlPlane, type Role } from '../../core/control';
import { LimitEngine, limitsRecordKey, type EffectiveLimits, type LimitDecision } from '../../core/limits';
import { createApp } from '../../serving/app';
import type { AuditSink } from '../../serving/security/audit';
import { LimitsView, createLimitsHost, limitCounterFromPrimary, localLimitCounter, type LimitCounter } from '../../serving/security/limits';

const cfg = loadConfig({});
const DEFAULTS: EffectiveLimits = { requests_per_second: 1, burst: 3, key_requests_per_second: 100, key_burst: 100, events_per_day: 1000, query_cost_per_minute: 6000 };

function setup(counterFor?: (view: LimitsView) => LimitCounter) {
  const control = new ControlState();
  for (const tenant_id of ['acme', 'globex']) control.apply(`tenant/${tenant_id}`, Buffer.from(JSON.stringify({ tenant_id, name: tenant_id, status: 'active', created_at: '' })));
  const addKey = (key: string, tenant_id: string, roles: Role[]) => {
    const record: ApiKeyRecord = { key_hash: hashApiKey(key), key_id: `key_${key}`, tenant_id, roles, label: key, created_at: '' };
    control.apply(`apikey/${record.key_hash}`, Buffer.from(JSON.stringify(record)));
  };
  addKey('acme-admin', 'acme', ['admin']);
  addKey('globex-admin', 'globex', ['admin']);
  addKey('platform', '*', ['platform-admin']);
  const plane = {
    state: control,
    write: async (records: { key: string; value: object | null }[]) => {
      for (const r of records) control.apply(r.key, r.value === null ? null : Buffer.from(JSON.stringify(r.value)));
    },
  } as unknown as ControlPlane;
  let now = Date.UTC(2026, 10, 27, 12);
  const view = new LimitsView(control, DEFAULTS);
  const counter = counterFor ? counterFor(view) : localLimitCounter(new LimitEngine(), () => now);
  const entries: AuditEntry[] = [];
  const audit: AuditSink = { append: (e) => entries.push(e), backlogged: false };
  const app = createApp({ cfg, checks: {}, control, limits: { view, counter, plane }, audit });
  return { app, control, entries, tick: (ms: number) => (now += ms) };
}

const usage = (app: ReturnType<typeof setup>['app'], key: string, tenant = 'acme') => request(app).get(`/api/v2/admin/tenants/${tenant}/usage`).set('x-api-key', key);

describe('rate limits over HTTP', () => {
  it('answers 429 with Retry-After and X-RateLimit-* once the tenant bucket is spent, and admits again after a refill', async () => {
    const { app, tick } = setup();
    const ok = await usage(app, 'acme-admin');
    expect(ok.status).toBe(200);
    expect(ok.headers).toMatchObject({ 'x-ratelimit-limit': '3', 'x-ratelimit-remaining': '2', 'x-ratelimit-scope': 'tenant_requests' });
    await usage(app, 'acme-admin');
    await usage(app, 'acme-admin');
    const refused = await usage(app, 'acme-admin');
    expect(refused.status).toBe(429);
    expect(refused.headers).toMatchObject({ 'retry-after': '1', 'x-ratelimit-limit': '3', 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': '3' });
    expect(refused.body).toMatchObject({ error: 'rate_limited', details: [{ path: '/limits/requests_per_second' }] });
    expect(refused.body.message).toMatch(/tenant acme exceeded its rate of 1 requests\/s \(burst 3\)/);
    // another tenant has its own budget
    expect((await usage(app, 'globex-admin', 'globex')).status).toBe(200);
    tick(1000);
    expect((await usage(app, 'acme-admin')).status).toBe(200);
  });

  it('applies a limits record of the control topic at the next request, no restart', async () => {
    const { app, control } = setup();
    control.apply(limitsRecordKey('acme'), Buffer.from(JSON.stringify({ tenant_id: 'acme', burst: 1, updated_at: '' })));
    expect((await usage(app, 'acme-admin')).headers['x-ratelimit-limit']).toBe('1');
    expect((await usage(app, 'acme-admin')).status).toBe(429);
    control.apply(limitsRecordKey('acme'), null);
    const back = await usage(app, 'acme-admin');
    expect(back.headers['x-ratelimit-limit']).toBe('3');
  });

  it("shows a tenant's usage to its admin and to platform-admin, not to another tenant", async () => {
    const { app } = setup();
    const res = await usage(app, 'acme-admin');
    expect(res.body).toMatchObject({ tenant_id: 'acme', limits: DEFAULTS, overrides: {}, counted_in: 'process', usage: { events: { used: 0, limit: 1000 }, totals: { requests: 1 } } });
    expect((await usage(app, 'platform')).status).toBe(200);
    expect((await usage(app, 'globex-admin')).status).toBe(403);
  });

  it('lets platform-admin change limits (validated), and not a tenant admin', async () => {
    const { app } = setup();
    const put = (key: string, body: object) => request(app).put('/api/v2/admin/tenants/acme/limits').set('x-api-key', key).send(body);
    const res = await put('platform', { events_per_day: 5, burst: null });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ tenant_id: 'acme', overrides: { events_per_day: 5 }, limits: { ...DEFAULTS, events_per_day: 5 } });
    expect((await usage(app, 'acme-admin')).body.limits.events_per_day).toBe(5);
    expect((await put('platform', { requests_per_second: 0 })).body).toMatchObject({ error: 'invalid_request', details: [{ path: '/requests_per_second' }] });
    expect((await put('platform', { nonsense: 1 })).status).toBe(400);
    expect((await put('acme-admin', { events_per_day: 1e9 })).status).toBe(403);
  });
});

describe('limits across cluster workers', () => {
  it('counts two workers against one budget in the primary', async () => {
    const host = createLimitsHost(new LimitEngine(), () => Date.UTC(2026, 10, 27, 12));
    const workers = [0, 1].map(() => {
      const received: unknown[] = [];
      const client = limitCounterFromPrimary(1000, (m) => {
        // the primary answers on the worker's channel, asynchronously as IPC does
        host({ send: (reply) => setImmediate(() => client.receive(reply)), isConnected: () => true }, m);
      });
      return { client, received };
    });
    const check = (w: number) => workers[w].client.check({ tenant: 'acme', key: `k${w}`, limits: DEFAULTS });
    const decisions: LimitDecision[] = [];
    for (const w of [0, 1, 0, 1]) decisions.push(await check(w));
    expect(decisions.map((d) => d.allowed)).toEqual([true, true, true, false]);
    workers[0].client.recordEvents([
      { tenant: 'acme', n: 7, limits: DEFAULTS },
      { tenant: 'globex', n: 3, limits: DEFAULTS },
    ]);
    expect((await workers[1].client.usage('acme', DEFAULTS)).events.used).toBe(7);
    expect((await workers[1].client.usage('globex', DEFAULTS)).events.used).toBe(3);
  });

  it('admits (fail open) when the primary does not answer in time', async () => {
    const silent = limitCounterFromPrimary(20, () => undefined);
    expect(await silent.check({ tenant: 'acme', key: 'k', limits: DEFAULTS })).toMatchObject({ allowed: true });
  });
});

describe('audit trail', () => {
  it('records every /api request with actor, tenant, route and status, refused ones included', async () => {
    const { app, entries } = setup();
    await usage(app, 'acme-admin');
    await usage(app, 'platform');
    await usage(app, 'rtap_not-a-key');
    await request(app).get('/api/v2/admin/tenants/acme/usage');
    await request(app).get('/healthz');
    await new Promise((r) => setImmediate(r));
    expect(entries).toHaveLength(4);
    expect(entries[0]).toMatchObject({ source: 'api', actor: { kind: 'api_key', id: 'key_acme-admin' }, tenant: 'acme', cross_tenant: false, action: 'GET /api/v2/admin/tenants/{id}/usage', method: 'GET', status: 200, target: '/api/v2/admin/tenants/acme/usage' });
    expect(entries[1]).toMatchObject({ actor: { id: 'key_platform' }, tenant: 'acme', cross_tenant: true, status: 200 });
    expect(entries[2]).toMatchObject({ actor: { kind: 'anonymous', id: null }, tenant: null, status: 401, credential_fp: expect.stringMatching(/^[0-9a-f]{12}$/) });
    expect(entries[3]).toMatchObject({ actor: { kind: 'anonymous' }, status: 401 });
    expect(entries[3].credential_fp).toBeUndefined();
  });

  it('refuses requests with 503 while the audit log cannot keep records', async () => {
    const control = new ControlState();
    const app = createApp({ cfg, checks: {}, control, audit: { append: () => undefined, backlogged: true } });
    const res = await request(app).get('/api/v2/admin/tenants/acme/usage');
    expect(res.status).toBe(503);
    expect(res.body.error).toBe('audit_unavailable');
  });
});
