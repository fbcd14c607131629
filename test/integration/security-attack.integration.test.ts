// The attack suite, on the real stack: the API as `rtap api` starts it (its own topics, JWTs from a
// JWKS file of a key generated here), `rtap speed` counting what two tenants ingest through the
// API, and anomaly records of both. For EVERY operation of the OpenAPI document it serves:
//   - no, forged, expired, wrong-audience, wrong-issuer, alg `none`, HS/RS-confused JWTs and
//     revoked or expired API keys → 401;
//   - role escalation (viewer on analyst/admin routes, ingest on read routes, analyst on admin
//     routes, a tenant admin on platform powers) → 403;
//   - the other tenant named in the query, the body or by its ids in the path → 403/404;
//   - injection strings (SQL, JSONPath, traversal, prototype keys) in every parameter and body
//     field → a 4xx, never a 5xx;
// and no response to tenant A's credentials ever holds tenant B's id, event ids, key ids or
// anomaly ids (unless the request itself carried them).
import type { ChildProcess } from 'node:child_process';
import { createHmac, generateKeyPairSync, randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { exportJWK, SignJWT } from 'jose';
import type { OpenAPIV3 } from 'openapi-types';
import WebSocket from 'ws';
import { REPO_ROOT, type RtapConfig } from '../../core/config';
import { ControlPlane, hashApiKey, type ApiKeyRecord } from '../../core/control';
import { createKafka } from '../../core/kafka';
import { createLogger } from '../../core/logger';
import { startApi, type RunningApi } from '../../serving/main';
import { cfg, spawnSpeed, uniqueName } from './helpers';
import { createTopics } from './kafka-read';
import { OpenApiRequests, type Op, type Req } from './openapi-requests';

jest.setTimeout(300_000);

const FIXTURE = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'test', 'fixtures', 'event-2.1-full.json'), 'utf8')) as Record<string, unknown>;
const EVENTS_PER_TENANT = 12;
const INJECTIONS = ["' OR '1'='1' --", '1; DROP TABLE events; --', '$..*', "$[?(@.tenant_id != '')]", '__proto__', 'constructor', '../../../etc/passwd', '%00*'];
const ISSUER = 'https://idp.attack.test';
const AUDIENCE = 'rtap-attack';

interface Res {
  status: number;
  text: string;
}

describe('security attack suite, every operation of /openapi.json', () => {
  const kafka = createKafka(cfg.kafka, { clientId: uniqueName('attack-it') });
  const topics = {
    events: uniqueName('attack-events'),
    dlq: uniqueName('attack-dlq'),
    control: uniqueName('attack-control'),
    speedWindows: uniqueName('attack-windows'),
    anomalies: uniqueName('attack-anomalies'),
  };
  const results = uniqueName('attack-results');
  const prefix = `${uniqueName('attack-it')}/`;
  const tenantA = uniqueName('atk-a').toLowerCase();
  const tenantB = uniqueName('atk-b').toLowerCase();
  const control = new ControlPlane(kafka, createLogger('test'), topics.control);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rtap-attack-'));
  const issuerKey = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const strangerKey = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const children = new Set<ChildProcess>();
  const keys: Record<string, string> = {};
  const keyIds: Record<string, string> = {};
  const jwts: Record<string, string> = {};
  /** What tenant B owns: none of it may reach tenant A. */
  const markersB = new Set<string>([tenantB]);
  const eventIdsB: string[] = [];
  /** Every answer given to tenant A's credentials, with the request that got it. */
  const seenByA: { request: string; body: string }[] = [];
  let api: RunningApi;
  let base: string;
  let spec: OpenApiRequests;

  const event = (tenant: string) => {
    const e = structuredClone(FIXTURE) as { tenant_id: string; event_metadata: Record<string, string> };
    e.tenant_id = tenant;
    e.event_metadata.event_id = randomUUID();
    const now = new Date().toISOString().replace('Z', '000Z');
    e.event_metadata.timestamp = now;
    e.event_metadata.ingestion_timestamp = now;
    return e;
  };

  async function call(req: Req, auth: { key?: string; jwt?: string; headers?: Record<string, string> } = {}, raw?: string): Promise<Res> {
    const qs = new URLSearchParams(req.query).toString();
    const body = raw ?? (req.body === undefined ? undefined : JSON.stringify(req.body));
    const res = await fetch(`${base}${req.path}${qs ? `?${qs}` : ''}`, {
      method: req.method,
      headers: {
        ...(auth.key ? { 'x-api-key': auth.key } : {}),
        ...(auth.jwt ? { authorization: `Bearer ${auth.jwt}` } : {}),
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...auth.headers,
      },
      body,
    });
    const text = await res.text();
    const credential = auth.key ?? auth.jwt;
    if (credential && ACTING_FOR_A.has(credential)) seenByA.push({ request: `${req.path}?${qs} ${body ?? ''}`, body: text });
    return { status: res.status, text };
  }
  const ACTING_FOR_A = new Set<string>();

  const sec = (ms: number) => Math.floor(ms / 1000);
  async function jwt(claims: Record<string, unknown>, opts: { key?: typeof issuerKey; kid?: string; iss?: string; aud?: string; exp?: number } = {}) {
    return new SignJWT(claims)
      .setProtectedHeader({ alg: 'RS256', kid: opts.kid ?? 'k1' })
      .setSubject(String(claims.sub ?? 'attack-user'))
      .setIssuer(opts.iss ?? ISSUER)
      .setAudience(opts.aud ?? AUDIENCE)
      .setIssuedAt()
      .setExpirationTime(opts.exp ?? sec(Date.now()) + 3600)
      .sign((opts.key ?? issuerKey).privateKey);
  }
  const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');

  beforeAll(async () => {
    await createTopics(kafka, [
      { topic: topics.events, numPartitions: 2 },
      { topic: topics.dlq, numPartitions: 1 },
      { topic: topics.control, numPartitions: 1 },
      { topic: topics.speedWindows, numPartitions: 2, configEntries: [{ name: 'cleanup.policy', value: 'compact' }] },
      { topic: topics.anomalies, numPartitions: 1 },
      { topic: results, numPartitions: 2 },
    ]);
    await control.start();
    await control.putTenants([{ tenant_id: tenantA }, { tenant_id: tenantB }]);
    const make = async (name: string, tenant: string, roles: Parameters<ControlPlane['createApiKey']>[1], opts: { expiresAt?: Date } = {}) => {
      const { apiKey, record } = await control.createApiKey(tenant, roles, `attack ${name}`, opts);
      keys[name] = apiKey;
      keyIds[name] = record.key_id!;
    };
    await make('viewerA', tenantA, ['viewer']);
    await make('analystA', tenantA, ['analyst']);
    await make('adminA', tenantA, ['admin']);
    await make('ingestA', tenantA, ['ingest']);
    await make('adminB', tenantB, ['admin']);
    await make('ingestB', tenantB, ['ingest']);
    await make('platform', '*', ['platform-admin']);
    // the key id synthesized requests name: the injection run may rotate or revoke it
    await make('sampleA', tenantA, ['viewer']);
    await make('revoked', tenantA, ['admin']);
    await control.revokeApiKey(keyIds.revoked);
    await make('expiring', tenantA, ['admin'], { expiresAt: new Date(Date.now() + 60_000) });
    // an expired key and an old `read` key, written as records of those kinds are stored
    const stored = (name: string, record: Omit<ApiKeyRecord, 'key_hash'>) => {
      keys[name] = `rtap_${name}_${randomUUID()}`;
      return { key: `apikey/${hashApiKey(keys[name])}`, value: { ...record, key_hash: hashApiKey(keys[name]) } };
    };
    await control.write([
      stored('expired', { key_id: 'key_00000000000e0001', tenant_id: tenantA, roles: ['admin'], label: 'expired', created_at: '2026-01-01T00:00:00Z', expires_at: '2026-01-02T00:00:00Z' }),
      stored('legacyA', { tenant_id: tenantA, roles: ['read'], label: 'legacy read', created_at: '2026-01-01T00:00:00Z' }),
    ]);
    for (const id of [keyIds.adminB, keyIds.ingestB]) markersB.add(id);

    // JWTs: an issuer key in a JWKS file; tokens for A and for the platform
    const jwksFile = path.join(dir, 'jwks.json');
    fs.writeFileSync(jwksFile, JSON.stringify({ keys: [{ ...(await exportJWK(issuerKey.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' }] }));
    jwts.analystA = await jwt({ sub: 'alice', rtap_tenant: tenantA, rtap_roles: ['analyst'] });
    jwts.platform = await jwt({ sub: 'ops', rtap_tenant: '*', rtap_roles: ['platform-admin'] });
    const attackClaims = { sub: 'mallory', rtap_tenant: '*', rtap_roles: ['platform-admin'] };
    jwts.forged = await jwt(attackClaims, { key: strangerKey });
    jwts.expired = await jwt(attackClaims, { exp: sec(Date.now()) - 120 });
    jwts.wrongAudience = await jwt(attackClaims, { aud: 'another-api' });
    jwts.wrongIssuer = await jwt(attackClaims, { iss: 'https://evil.test' });
    jwts.starWithoutPlatformRole = await jwt({ sub: 'mallory', rtap_tenant: '*', rtap_roles: ['admin'] });
    const payload = b64({ ...attackClaims, iss: ISSUER, aud: AUDIENCE, exp: sec(Date.now()) + 3600 });
    jwts.algNone = `${b64({ alg: 'none', typ: 'JWT' })}.${payload}.`;
    const hsHeader = b64({ alg: 'HS256', typ: 'JWT', kid: 'k1' });
    const pem = issuerKey.publicKey.export({ type: 'spki', format: 'pem' });
    jwts.hsConfusion = `${hsHeader}.${payload}.${createHmac('sha256', pem).update(`${hsHeader}.${payload}`).digest('base64url')}`;
    for (const c of [keys.viewerA, keys.analystA, keys.adminA, keys.ingestA, keys.legacyA, jwts.analystA]) ACTING_FOR_A.add(c);

    const apiCfg: RtapConfig = {
      ...cfg,
      auth: { jwt: { keys: { kind: 'jwks-file', path: jwksFile }, issuer: ISSUER, audience: AUDIENCE, algorithms: ['RS256', 'ES256'], tenantClaim: 'rtap_tenant', rolesClaim: 'rtap_roles', clockToleranceSec: 5 }, keyRotationGraceMs: 3_600_000 },
      // workflows an attack manages to start wait on a queue no worker polls
      temporal: { ...cfg.temporal, taskQueue: uniqueName('attack-nobody') },
    };
    api = await startApi(apiCfg, topics, { lakePrefix: prefix, port: 0 });
    base = `http://127.0.0.1:${(api.server.address() as AddressInfo).port}`;

    spawnSpeed(children, {
      topics: { events: topics.events, changelog: topics.speedWindows, results, anomalies: topics.anomalies, control: topics.control },
      group: uniqueName('attack-speed'),
      instance: uniqueName('i'),
      prefix,
      args: ['--cut-poll-ms', '1000'],
    });

    // both tenants ingest through the API
    for (const [tenant, key] of [
      [tenantA, keys.ingestA],
      [tenantB, keys.ingestB],
    ] as const) {
      const batch = Array.from({ length: EVENTS_PER_TENANT }, () => event(tenant));
      if (tenant === tenantB) for (const e of batch) eventIdsB.push(e.event_metadata.event_id);
      const res = await call({ method: 'POST', path: '/api/v2/events/batch', query: {} }, { key }, JSON.stringify({ events: batch }));
      expect([res.status, JSON.parse(res.text).accepted]).toEqual([200, EVENTS_PER_TENANT]);
    }
    for (const id of eventIdsB) markersB.add(id);

    // the live layer has counted both tenants
    const deadline = Date.now() + 120_000;
    const window = () => ({ from: new Date(Date.now() - 3_600_000).toISOString(), to: new Date(Date.now() + 3_600_000).toISOString() });
    for (const tenant of [tenantA, tenantB]) {
      for (;;) {
        const r = await call({ method: 'POST', path: '/api/v2/analytics/realtime/query', query: { tenant }, body: { measures: ['events'], time_range: window(), grain: 'all' } }, { key: keys.platform });
        const rows = r.status === 200 ? (JSON.parse(r.text).data as { events: number }[]) : [];
        if ((rows[0]?.events ?? 0) >= EVENTS_PER_TENANT) break;
        if (Date.now() > deadline) throw new Error(`speed layer has not counted ${tenant}: ${r.status} ${r.text.slice(0, 300)}`);
        await new Promise((res) => setTimeout(res, 500));
      }
    }

    const doc = JSON.parse((await call({ method: 'GET', path: '/openapi.json', query: {} })).text) as OpenAPIV3.Document;
    spec = new OpenApiRequests(doc, () => [tenantA, keyIds.sampleA]);
  });

  afterAll(async () => {
    for (const c of children) c.kill('SIGKILL');
    await api?.close();
    await control.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const apiOps = () => spec.ops.filter((o) => o.template.startsWith('/api/'));
  const securedOps = () => apiOps().filter((o) => spec.isSecured(o));
  const isIngest = (o: Op) => /^\/api\/v2\/(events\/batch|data\/quality\/validate)$/.test(o.template);
  const isAdmin = (o: Op) => o.template.startsWith('/api/v2/admin/') || o.template.includes('/gdpr');
  const isAnalysis = (o: Op) => /funnel|attribution|lineage|fraud|anomalies\/feedback\/|anomalies\/rules\//.test(o.template);
  const isPlatformOnly = (o: Op) => /\/limits$/.test(o.template);
  /** A request the document accepts, acting for tenant A. */
  const valid = (o: Op): Req => spec.synthesize(o, tenantA);

  it('refuses every secured operation without a credential, with bad credentials and with dead keys: 401', async () => {
    const bad: [string, { key?: string; jwt?: string; headers?: Record<string, string> }][] = [
      ['none', {}],
      ['unknown key', { key: 'rtap_not_a_key_at_all' }],
      ['revoked key', { key: keys.revoked }],
      ['expired key', { key: keys.expired }],
      ['bearer revoked key', { headers: { authorization: `Bearer ${keys.revoked}` } }],
      ['forged JWT', { jwt: jwts.forged }],
      ['expired JWT', { jwt: jwts.expired }],
      ['wrong-audience JWT', { jwt: jwts.wrongAudience }],
      ['wrong-issuer JWT', { jwt: jwts.wrongIssuer }],
      ['alg none JWT', { jwt: jwts.algNone }],
      ['HS256 signed with the public key', { jwt: jwts.hsConfusion }],
      ['* without platform-admin', { jwt: jwts.starWithoutPlatformRole }],
      ['garbage bearer', { headers: { authorization: 'Bearer {"alg":"none"}' } }],
    ];
    const wrong: string[] = [];
    for (const o of securedOps()) {
      for (const [name, auth] of bad) {
        const res = await call(valid(o), auth);
        if (res.status !== 401) wrong.push(`${o.method} ${o.template} with ${name}: ${res.status} ${res.text.slice(0, 120)}`);
      }
      // express matches routes case-insensitively and with a trailing slash: the same route, the same gate
      const req = valid(o);
      const upper = await call({ ...req, path: req.path.replace(/^\/api\/v2\//, '/API/V2/') });
      if (upper.status !== 404) wrong.push(`${o.method} ${req.path} in capitals without a credential: ${upper.status}`);
      const slash = await call({ ...req, path: `${req.path}/` });
      if (slash.status !== 401 && slash.status !== 404) wrong.push(`${o.method} ${req.path}/ without a credential: ${slash.status}`);
    }
    expect(wrong).toEqual([]);
    expect(securedOps().length).toBeGreaterThan(20);
  });

  it('lets the good credentials in: a tenant JWT, a platform JWT for a named tenant, an old `read` key, a key before its expiry', async () => {
    const metrics = { method: 'GET', path: '/api/v2/analytics/realtime/metrics', query: {} };
    const a = await call(metrics, { jwt: jwts.analystA });
    expect([a.status, JSON.parse(a.text).data.events]).toEqual([200, EVENTS_PER_TENANT]);
    const p = await call({ ...metrics, query: { tenant: tenantB } }, { jwt: jwts.platform });
    expect([p.status, JSON.parse(p.text).data.events]).toEqual([200, EVENTS_PER_TENANT]);
    expect((await call(metrics, { key: keys.legacyA })).status).toBe(200);
    expect((await call(metrics, { key: keys.expiring })).status).toBe(200);
    expect((await call(metrics, { headers: { authorization: `Bearer ${keys.viewerA}` } })).status).toBe(200);
  });

  it('refuses role escalation on every operation with 403, and lets each role do what it is for', async () => {
    const wrong: string[] = [];
    const expect403 = async (o: Op, who: string, auth: { key?: string; jwt?: string }) => {
      const res = await call(valid(o), auth);
      if (res.status !== 403) wrong.push(`${who} on ${o.method} ${o.template}: ${res.status} ${res.text.slice(0, 120)}`);
    };
    const expectIn = async (o: Op, who: string, auth: { key?: string }) => {
      const res = await call(valid(o), auth);
      if (res.status === 401 || res.status === 403 || res.status >= 500) wrong.push(`${who} refused on ${o.method} ${o.template}: ${res.status} ${res.text.slice(0, 120)}`);
    };
    for (const o of securedOps()) {
      if (isIngest(o)) {
        for (const who of ['viewerA', 'analystA', 'adminA'] as const) await expect403(o, who, { key: keys[who] });
        await expect403(o, 'platform-admin JWT', { jwt: jwts.platform });
        continue;
      }
      await expect403(o, 'ingestA', { key: keys.ingestA });
      if (isAdmin(o) || isAnalysis(o)) await expect403(o, 'viewerA', { key: keys.viewerA });
      if (isAdmin(o)) await expect403(o, 'analystA', { key: keys.analystA });
      if (isAdmin(o)) await expect403(o, 'analyst JWT', { jwt: jwts.analystA });
      if (isPlatformOnly(o)) await expect403(o, 'adminA', { key: keys.adminA });
      if (!isAdmin(o) && !isAnalysis(o) && !o.template.endsWith('/stream')) await expectIn(o, 'viewerA', { key: keys.viewerA });
    }
    // a tenant admin's platform powers: platform keys, the platform-admin role, another tenant's keys
    const create = (query: Record<string, string>, roles: string[]) => call({ method: 'POST', path: '/api/v2/admin/keys', query, body: { roles, label: 'escalation' } }, { key: keys.adminA });
    const statusOf = async (r: Promise<Res>) => {
      const res = await r;
      return `${res.status} ${res.status === 201 ? '' : (JSON.parse(res.text) as { error: string }).error}`;
    };
    expect(await statusOf(create({}, ['platform-admin']))).toBe('403 forbidden');
    expect(await statusOf(create({ tenant: '*' }, ['viewer']))).toBe('400 invalid_request'); // not a tenant id
    expect(await statusOf(create({ tenant: tenantB }, ['viewer']))).toBe('403 forbidden');
    expect(wrong).toEqual([]);
  });

  it("refuses tenant B's tenant and ids to tenant A everywhere: query, body, path", async () => {
    const wrong: string[] = [];
    for (const o of securedOps()) {
      const params = spec.params(o.op);
      const keyFor = isIngest(o) ? keys.ingestA : keys.adminA;
      if (params.some((p) => p.in === 'query' && p.name === 'tenant')) {
        for (const auth of [{ key: keyFor }, { key: keys.analystA }, { jwt: jwts.analystA }]) {
          const res = await call({ ...valid(o), query: { ...valid(o).query, tenant: tenantB } }, auth);
          if (res.status !== 403) wrong.push(`?tenant=B on ${o.method} ${o.template}: ${res.status}`);
        }
      }
      const body = spec.bodySchema(o.op);
      for (const field of ['tenant', 'tenant_id']) {
        if (!body?.properties?.[field]) continue;
        const res = await call({ ...valid(o), body: { ...(valid(o).body as object), [field]: tenantB } }, { key: keyFor });
        if (res.status !== 403) wrong.push(`body ${field}=B on ${o.method} ${o.template}: ${res.status}`);
      }
    }
    // B's ids in paths: its events (lineage), its keys; B's events in bodies: scoring, ingestion
    for (const id of eventIdsB.slice(0, 3)) {
      const res = await call({ method: 'GET', path: `/api/v2/data/lineage/${id}`, query: {} }, { key: keys.analystA });
      if (res.status !== 404) wrong.push(`lineage of B's event ${id}: ${res.status} ${res.text.slice(0, 160)}`);
    }
    for (const [method, suffix] of [['POST', '/rotate'], ['DELETE', '']] as const) {
      const res = await call({ method, path: `/api/v2/admin/keys/${keyIds.adminB}${suffix}`, query: {} }, { key: keys.adminA });
      if (res.status !== 404) wrong.push(`${method} B's key: ${res.status}`);
    }
    const score = await call({ method: 'POST', path: '/api/v2/ml/fraud/score', query: {}, body: event(tenantB) }, { key: keys.analystA });
    if (score.status !== 403) wrong.push(`fraud score of B's event: ${score.status}`);
    const ingest = await call({ method: 'POST', path: '/api/v2/events/batch', query: {} }, { key: keys.ingestA }, JSON.stringify({ events: [event(tenantB)] }));
    const outcome = JSON.parse(ingest.text) as { accepted: number; results: { status: string; error?: string }[] };
    if (outcome.accepted !== 0) wrong.push(`A ingested an event for B: ${ingest.text.slice(0, 200)}`);
    // B's key list holds B's keys; A's holds none of them
    const listA = await call({ method: 'GET', path: '/api/v2/admin/keys', query: {} }, { key: keys.adminA });
    expect(listA.status).toBe(200);
    expect((JSON.parse(listA.text).data as { tenant_id: string }[]).every((k) => k.tenant_id === tenantA)).toBe(true);
    expect(wrong).toEqual([]);
  });

  it('refuses tenant B over the WebSocket stream, and a forged token', async () => {
    const upgrade = (query: string, headers: Record<string, string>) =>
      new Promise<number>((resolve) => {
        const ws = new WebSocket(`${base.replace('http', 'ws')}/api/v2/analytics/realtime/stream${query}`, { headers });
        ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
        ws.on('open', () => {
          ws.close();
          resolve(101);
        });
        ws.on('error', () => resolve(-1));
      });
    expect(await upgrade(`?tenant=${tenantB}`, { 'x-api-key': keys.viewerA })).toBe(403);
    expect(await upgrade('', { authorization: `Bearer ${jwts.forged}` })).toBe(401);
    expect(await upgrade('', { authorization: `Bearer ${jwts.hsConfusion}` })).toBe(401);
    expect(await upgrade('', { 'x-api-key': keys.ingestA })).toBe(403);
    expect(await upgrade('', { authorization: `Bearer ${jwts.analystA}` })).toBe(101);
  });

  it('answers injection strings in every parameter and body field with a 4xx, never a 5xx, and pollutes no prototype', async () => {
    const wrong: string[] = [];
    let sent = 0;
    const check = (what: string, res: Res, constrained: boolean) => {
      sent++;
      if (res.status >= 500) wrong.push(`${what}: ${res.status} ${res.text.slice(0, 160)}`);
      else if (constrained && (res.status < 400 || res.status >= 500)) wrong.push(`${what}: ${res.status} (expected a 4xx)`);
    };
    const constrainedSchema = (s: OpenAPIV3.SchemaObject) => Boolean(s.enum || s.pattern || s.format || (s.type && s.type !== 'string'));
    for (const o of apiOps()) {
      const auth = { key: isIngest(o) ? keys.ingestA : keys.adminA };
      const req = valid(o);
      for (const p of spec.params(o.op)) {
        const schema = spec.deref(p.schema!) as OpenAPIV3.SchemaObject;
        for (const inj of INJECTIONS) {
          const attempt = p.in === 'path' ? { ...req, path: spec.withPath(o, { [p.name]: inj }) } : { ...req, query: { ...req.query, [p.name]: inj } };
          check(`${o.method} ${o.template} ${p.in} ${p.name}=${inj}`, await call(attempt, auth), constrainedSchema(schema) || p.name === 'tenant');
        }
      }
      const body = spec.bodySchema(o.op);
      if (!body) continue;
      for (const f of spec.fields(body).filter((x) => x.schema.type === 'string' || x.schema.type === undefined)) {
        for (const inj of INJECTIONS) {
          check(`${o.method} ${o.template} body ${f.pointer}=${inj}`, await call({ ...req, body: spec.setAt(req.body, body, f.pointer, inj) }, auth), constrainedSchema(f.schema));
        }
      }
      // prototype keys, raw (JSON.stringify would drop a literal __proto__)
      const sample = JSON.stringify(req.body ?? {}).slice(1, -1);
      for (const raw of [
        `{"__proto__":{"tenant":"${tenantB}","polluted":true}${sample ? `,${sample}` : ''}}`,
        `{"constructor":{"prototype":{"polluted":true}}${sample ? `,${sample}` : ''}}`,
      ]) {
        const res = await call(req, auth, raw);
        sent++;
        if (res.status >= 500) wrong.push(`${o.method} ${o.template} prototype body: ${res.status}`);
      }
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(wrong).toEqual([]);
    expect(sent).toBeGreaterThan(300);
  });

  it('manages keys: create with expiry, rotate with a grace period, revoke, all within the tenant', async () => {
    const created = await call({ method: 'POST', path: '/api/v2/admin/keys', query: {}, body: { roles: ['viewer'], label: 'rotation', expires_in: '30d' } }, { key: keys.adminA });
    expect(created.status).toBe(201);
    const k = JSON.parse(created.text) as { api_key: string; key_id: string; tenant_id: string; expires_at: string };
    expect(k).toMatchObject({ tenant_id: tenantA, key_id: expect.stringMatching(/^key_[0-9a-f]{16}$/) });
    expect(Date.parse(k.expires_at)).toBeGreaterThan(Date.now() + 29 * 86_400_000);
    const metrics = { method: 'GET', path: '/api/v2/analytics/realtime/metrics', query: {} };
    expect((await call(metrics, { key: k.api_key })).status).toBe(200);
    const rotated = await call({ method: 'POST', path: `/api/v2/admin/keys/${k.key_id}/rotate`, query: {} }, { key: keys.adminA });
    expect(rotated.status).toBe(201);
    const r = JSON.parse(rotated.text) as { api_key: string; key_id: string; usable_secrets: number };
    expect([r.key_id, r.usable_secrets]).toEqual([k.key_id, 2]);
    // both secrets work during the grace period
    expect((await call(metrics, { key: r.api_key })).status).toBe(200);
    expect((await call(metrics, { key: k.api_key })).status).toBe(200);
    const revoked = await call({ method: 'DELETE', path: `/api/v2/admin/keys/${k.key_id}`, query: {} }, { key: keys.adminA });
    expect([revoked.status, JSON.parse(revoked.text).status]).toEqual([200, 'revoked']);
    expect((await call(metrics, { key: r.api_key })).status).toBe(401);
    expect((await call(metrics, { key: k.api_key })).status).toBe(401);
    // the platform sees B's keys when it asks for B
    const listB = await call({ method: 'GET', path: '/api/v2/admin/keys', query: { tenant: tenantB } }, { jwt: jwts.platform });
    expect((JSON.parse(listB.text).data as { key_id: string }[]).map((x) => x.key_id)).toEqual(expect.arrayContaining([keyIds.adminB, keyIds.ingestB]));
  });

  it("never showed tenant A anything of tenant B's", () => {
    expect(seenByA.length).toBeGreaterThan(500);
    const leaks = seenByA.flatMap(({ request, body }) => [...markersB].filter((m) => body.includes(m) && !request.includes(m)).map((m) => `${m} in the answer to ${request.slice(0, 120)}: ${body.slice(0, 200)}`));
    expect(leaks).toEqual([]);
  });
});
