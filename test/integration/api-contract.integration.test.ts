// The API's contract, driven by the OpenAPI document it serves, on the real stack: generator
// traffic in Kafka (with duplicates), drained to the lake by the sink, a batch run (the real
// `batchRun` workflow on a Temporal worker) publishing views, `rtap speed` counting what comes
// after the cut, anomaly records in the anomalies topic, and the API as `rtap api` starts it.
// For every documented operation:
//   (a) no credentials → 401;
//   (b) every documented parameter and body field, given an invalid value → 400 naming it;
//   (c) a valid request → a documented status, its body valid against the documented schema;
//   (d) every tabular result round-trips through JSON, CSV, Parquet (read back by DuckDB) and
//       Arrow IPC (apache-arrow) to the same rows;
//   (e) a tenant key never sees another tenant's rows: other tenants' ids are 403/404, and the
//       answers equal DuckDB over the tenant's own raw events.
import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import { tableFromIPC } from 'apache-arrow';
import type { OpenAPIV3 } from 'openapi-types';
import WebSocket from 'ws';
import type { Client } from '@temporalio/client';
import { createActivities } from '../../activities';
import { BATCH_WORKFLOW, type BatchRunResult } from '../../core/batch-run';
import { ControlPlane } from '../../core/control';
import { openDuckDb, openLakeDuckDb, sqlLiteral } from '../../core/duckdb';
import { createKafka, IDEMPOTENT_RETRY } from '../../core/kafka';
import { createLogger } from '../../core/logger';
import { createS3 } from '../../core/s3';
import { EventGenerator } from '../../generator/generator';
import { startApi, type RunningApi } from '../../serving/main';
import { cfg, produceWithResends, spawnSpeed, uniqueName } from './helpers';
import { startTestWorker, type TestWorker } from './temporal-worker';
import { createTopics } from './kafka-read';
import { drainToLake, queryLake, topicEnds } from './lake-read';
import { OpenApiRequests, type Op, type Req } from './openapi-requests';

jest.setTimeout(300_000);

const PARTITIONS = 3;
const B = 200;
// Sunday noon to Monday noon: two UTC days, two ISO weeks (cohorts with a week 1)
const START_MS = Date.parse('2026-11-22T12:00:00Z');
const EVENTS = 2400;
const DAYS = { from: '2026-11-22', to: '2026-11-24' };
// A query planned over this many files is a job at once: time-decay attribution and an unhinted
// lineage plan more here, everything else fewer (the hour files of a day or two)
const JOB_MAX_FILES = 60;

type Json = Record<string, unknown>;
interface Res {
  status: number;
  headers: Headers;
  buf: Buffer;
  json: () => Json;
}

describe('API contract, driven by /openapi.json', () => {
  const kafka = createKafka(cfg.kafka, { clientId: uniqueName('contract-it') });
  const topics = {
    events: uniqueName('contract-events'),
    dlq: uniqueName('contract-dlq'),
    control: uniqueName('contract-control'),
    speedWindows: uniqueName('contract-windows'),
    anomalies: uniqueName('contract-anomalies'),
  };
  const results = uniqueName('contract-results');
  const speedAnomalies = uniqueName('contract-speed-anomalies');
  const prefix = `${uniqueName('contract-it')}/`;
  const sinkGroup = uniqueName('contract-sink');
  const taskQueue = uniqueName('contract-batch');
  const s3 = createS3(cfg.s3);
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, retry: IDEMPOTENT_RETRY });
  const gen = new EventGenerator({ seed: 11, tenants: 3, users: 300, startUs: START_MS * 1000, rate: EVENTS / 86_400, lateRate: 0.04, defectRate: 0.02, fraudRate: 0.01 });
  const control = new ControlPlane(kafka, createLogger('test'), topics.control);
  const sent: { key: string; value: string }[] = [];
  const children = new Set<ChildProcess>();
  const keys = { platform: '', a: '', b: '', ingestA: '', admin: '' };
  let tenantA: string;
  let tenantB: string;
  let api: RunningApi;
  let base: string;
  let doc: OpenAPIV3.Document;
  let ops: Op[];
  let spec: OpenApiRequests;
  let worker: TestWorker | undefined;
  let lake: Awaited<ReturnType<typeof openLakeDuckDb>>;
  let cut: Record<string, number>;
  /** Event ids of tenant A sent twice before the cut, of A after it, and of B. */
  const ids = { duplicatedA: '', duplicatedATime: '', liveA: '', b: '' };
  const figures: Record<string, number | string> = {};
  const contractEventId = randomUUID();

  async function produce(n: number): Promise<void> {
    await produceWithResends(producer, topics.events, gen, n, sent, { every: 41, behind: 20 });
  }

  function startSpeed(): void {
    spawnSpeed(children, {
      // its anomalies on a topic of their own: the API's tail holds the records this test writes
      topics: { events: topics.events, changelog: topics.speedWindows, results, anomalies: speedAnomalies, control: topics.control },
      group: uniqueName('contract-speed'),
      instance: uniqueName('i'),
      prefix,
      offsetBucketSize: B,
      args: ['--cut-poll-ms', '1000'],
    });
  }

  const meta = (e: { event_metadata?: { event_id?: string; timestamp?: string } }) => e.event_metadata ?? {};
  const parsed = (m: { value: string }) => JSON.parse(m.value) as { tenant_id?: string; event_metadata?: { event_id?: string; timestamp?: string } };

  beforeAll(async () => {
    const started = Date.now();
    await createTopics(kafka, [
      { topic: topics.events, numPartitions: PARTITIONS },
      { topic: topics.dlq, numPartitions: 1 },
      { topic: topics.control, numPartitions: 1 },
      { topic: topics.speedWindows, numPartitions: PARTITIONS, configEntries: [{ name: 'cleanup.policy', value: 'compact' }] },
      { topic: topics.anomalies, numPartitions: 2 },
      { topic: results, numPartitions: PARTITIONS },
      { topic: speedAnomalies, numPartitions: 1 },
    ]);
    await producer.connect();
    await control.start();
    [tenantA, tenantB] = gen.world.tenants.map((t) => t.id);
    await control.putTenants(gen.world.tenants.map((t) => ({ tenant_id: t.id })));
    keys.platform = (await control.createApiKey('*', ['viewer', 'analyst'], 'contract platform')).apiKey;
    keys.a = (await control.createApiKey(tenantA, ['viewer', 'analyst'], 'contract tenant A')).apiKey;
    keys.b = (await control.createApiKey(tenantB, ['viewer', 'analyst'], 'contract tenant B')).apiKey;
    keys.ingestA = (await control.createApiKey(tenantA, ['ingest'], 'contract ingest A')).apiKey;
    keys.admin = (await control.createApiKey('*', ['admin'], 'contract admin')).apiKey;
    startSpeed();

    // traffic below the cut, drained, then a batch run publishes views
    await produce(EVENTS);
    expect((await drainToLake(kafka, s3, topics, prefix, sinkGroup)).covered).toBe(true);
    figures.drained_s = (Date.now() - started) / 1000;
    api = await startApi({ ...cfg, api: { ...cfg.api, jobMaxFiles: JOB_MAX_FILES } }, topics, { lakePrefix: prefix, port: 0, offsetBucketSize: B });
    base = `http://127.0.0.1:${(api.server.address() as AddressInfo).port}`;
    lake = await openLakeDuckDb({ threads: 1, memoryLimit: '1GB', s3: cfg.s3, cacheDir: cfg.cacheDir });
    worker = await startTestWorker(taskQueue, createActivities({ s3, bucket: cfg.s3.bucket, duckdb: lake.connection, lake: lake.instance, offsetBucketSize: B }));
    const batchStarted = Date.now();
    const client: Client = worker.client;
    const run: BatchRunResult = await client.workflow.execute(BATCH_WORKFLOW, { taskQueue, workflowId: uniqueName('contract-batch'), args: [{ prefix }] });
    expect(run.published).toBe(true);
    cut = run.cut!;
    figures.batch_run_s = (Date.now() - batchStarted) / 1000;
    figures.view_hours = run.viewHours.length;

    // traffic after the cut (live), in the lake too so lineage finds it
    const beforeLive = sent.length;
    await produce(300);
    expect((await drainToLake(kafka, s3, topics, prefix, sinkGroup)).covered).toBe(true);

    // anomaly records as a detector would write them (none exists yet), and junk it must skip
    const now = Date.now();
    const anomaly = (tenant: string, id: string, agoMin: number) => ({
      value: JSON.stringify({ tenant_id: tenant, anomaly_id: id, detected_at: new Date(now - agoMin * 60_000).toISOString(), anomaly_type: 'velocity', severity: 'high', score: 0.91, event_ids: ['e-1'], explanation: 'card used 9 times in 1 minute' }),
    });
    await producer.send({
      topic: topics.anomalies,
      messages: [anomaly(tenantA, 'a1', 1), anomaly(tenantA, 'a2', 5), anomaly(tenantA, 'a3', 30), anomaly(tenantA, 'a-old', 2 * 1440), anomaly(tenantB, 'b1', 2), { value: 'not json' }, { value: '{"no":"tenant"}' }],
    });

    // ids for lineage: a duplicated event of A below the cut, an event of A after it, one of B
    const below = new Set<string>();
    for (const m of sent.slice(0, beforeLive)) {
      const e = parsed(m);
      const id = meta(e).event_id ?? '';
      if (e.tenant_id === tenantA && below.has(id) && !ids.duplicatedA) {
        ids.duplicatedA = id;
        ids.duplicatedATime = meta(e).timestamp ?? '';
      }
      below.add(id);
      if (e.tenant_id === tenantB && !ids.b && /^[0-9a-f-]{36}$/.test(id)) ids.b = id;
    }
    ids.liveA = sent.slice(beforeLive).map(parsed).find((e) => e.tenant_id === tenantA && /^[0-9a-f-]{36}$/.test(meta(e).event_id ?? ''))?.event_metadata?.event_id ?? '';
    expect(ids).toEqual({ duplicatedA: expect.any(String), duplicatedATime: expect.any(String), liveA: expect.any(String), b: expect.any(String) });

    // the speed layer has counted everything in the topic
    const ends = await topicEnds(kafka, topics.events);
    const deadline = Date.now() + 90_000;
    for (;;) {
      const r = await call({ method: 'POST', path: '/api/v2/analytics/query', query: { tenant: tenantA }, body: { measures: ['events'], time_range: { from: '2026-11-22T00:00:00Z', to: '2026-11-24T00:00:00Z' }, grain: 'all' } }, keys.platform);
      const live = (r.json().meta as { live_offsets: Record<string, number> }).live_offsets;
      if (Object.entries(ends).every(([p, o]) => (live[p] ?? 0) >= o)) break;
      if (Date.now() > deadline) throw new Error(`speed layer at ${JSON.stringify(live)}, topic ends ${JSON.stringify(ends)}`);
      await new Promise((r) => setTimeout(r, 500));
    }
    doc = (await call({ method: 'GET', path: '/openapi.json', query: {} })).json() as unknown as OpenAPIV3.Document;
    spec = new OpenApiRequests(doc, () => [tenantA]);
    ops = spec.ops;
    figures.setup_s = (Date.now() - started) / 1000;
  });

  afterAll(async () => {
    for (const c of children) c.kill('SIGKILL');
    await worker?.stop();
    await api?.close();
    await control.stop();
    await producer.disconnect();
    lake?.close();
    s3.destroy();
    process.stderr.write(`[api-contract] ${JSON.stringify(figures)}\n`);
  });

  async function call(req: Req, key?: string, accept?: string, headers: Record<string, string> = {}): Promise<Res> {
    const qs = new URLSearchParams(req.query).toString();
    const res = await fetch(`${base}${req.path}${qs ? `?${qs}` : ''}`, {
      method: req.method,
      headers: { ...(key ? { 'x-api-key': key } : {}), ...(accept ? { accept } : {}), ...(req.body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
      body: req.body === undefined ? undefined : JSON.stringify(req.body),
    });
    const buf = Buffer.from(await res.arrayBuffer());
    return { status: res.status, headers: res.headers, buf, json: () => JSON.parse(buf.toString('utf8')) as Json };
  }

  // ---- the document as data (test/integration/openapi-requests.ts) ---------------------------

  const deref = <T>(x: T | OpenAPIV3.ReferenceObject): T => spec.deref(x);

  // ---- valid requests --------------------------------------------------------------------------

  const range = { from: '2026-11-22T00:00:00Z', to: '2026-11-24T00:00:00Z' };
  /** A request each known operation answers with data, by `METHOD template`. */
  function validRequests(): Record<string, { req: Req; key?: string }> {
    const asA = { tenant: tenantA };
    // a new event of A, dated after every range queried here, so no answer compared below moves
    const fresh = JSON.parse(sent.find((m) => parsed(m).tenant_id === tenantA)!.value) as { event_metadata: { event_id: string; timestamp: string } };
    fresh.event_metadata.event_id = contractEventId;
    fresh.event_metadata.timestamp = '2026-11-26T00:00:00.000000Z';
    const oneEvent = { events: [fresh] };
    return {
      'GET /healthz': { req: { method: 'GET', path: '/healthz', query: {} } },
      'GET /openapi.json': { req: { method: 'GET', path: '/openapi.json', query: {} } },
      'GET /metrics': { req: { method: 'GET', path: '/metrics', query: {} } },
      'GET /api/v2/ops/health/detailed': { req: { method: 'GET', path: '/api/v2/ops/health/detailed', query: {} } },
      'POST /api/v2/events/batch': { req: { method: 'POST', path: '/api/v2/events/batch', query: {}, body: oneEvent }, key: keys.ingestA },
      'POST /api/v2/data/quality/validate': { req: { method: 'POST', path: '/api/v2/data/quality/validate', query: {}, body: oneEvent }, key: keys.ingestA },
      'POST /api/v2/analytics/query': { req: { method: 'POST', path: '/api/v2/analytics/query', query: asA, body: { measures: ['events', 'revenue'], dimensions: ['country'], grain: 'day', time_range: range } }, key: keys.platform },
      'POST /api/v2/analytics/realtime/query': { req: { method: 'POST', path: '/api/v2/analytics/realtime/query', query: asA, body: { measures: ['events', 'orders'], grain: 'hour', time_range: { from: '2026-11-22T12:00:00Z', to: '2026-11-23T12:00:00Z' } } }, key: keys.platform },
      'GET /api/v2/analytics/realtime/metrics': { req: { method: 'GET', path: '/api/v2/analytics/realtime/metrics', query: { ...asA, minutes: '10' } }, key: keys.platform },
      'GET /api/v2/analytics/realtime/dashboard': { req: { method: 'GET', path: '/api/v2/analytics/realtime/dashboard', query: asA }, key: keys.platform },
      'GET /api/v2/admin/backfill/{id}': { req: { method: 'GET', path: '/api/v2/admin/backfill/rtap-backfill-contract-none', query: {} }, key: keys.admin },
      'POST /api/v2/analytics/funnel/analyze': { req: { method: 'POST', path: '/api/v2/analytics/funnel/analyze', query: asA, body: { time_range: DAYS, attribution: 'linear' } }, key: keys.platform },
      'POST /api/v2/analytics/attribution/model': { req: { method: 'POST', path: '/api/v2/analytics/attribution/model', query: asA, body: { time_range: DAYS, model: 'time_decay', half_life_hours: 24 } }, key: keys.platform },
      'GET /api/v2/analytics/cohort': { req: { method: 'GET', path: '/api/v2/analytics/cohort', query: asA }, key: keys.platform },
      'GET /api/v2/analytics/cohort/{cohort_id}': { req: { method: 'GET', path: '/api/v2/analytics/cohort/2026-W47', query: asA }, key: keys.platform },
      'GET /api/v2/analytics/geography': { req: { method: 'GET', path: '/api/v2/analytics/geography', query: { ...asA, ...range, measures: 'events,revenue,distinct_users' } }, key: keys.platform },
      'GET /api/v2/data/lineage/{event_id}': { req: { method: 'GET', path: `/api/v2/data/lineage/${ids.duplicatedA}`, query: { ...asA, event_time: ids.duplicatedATime } }, key: keys.platform },
      'GET /api/v2/anomalies/active': { req: { method: 'GET', path: '/api/v2/anomalies/active', query: asA }, key: keys.platform },
      'GET /api/v2/anomalies/rules': { req: { method: 'GET', path: '/api/v2/anomalies/rules', query: asA }, key: keys.platform },
      'GET /api/v2/anomalies/incidents': { req: { method: 'GET', path: '/api/v2/anomalies/incidents', query: asA }, key: keys.platform },
      'POST /api/v2/ml/fraud/score': { req: { method: 'POST', path: '/api/v2/ml/fraud/score', query: asA, body: fresh }, key: keys.platform },
      'GET /api/v2/metrics/sla': { req: { method: 'GET', path: '/api/v2/metrics/sla', query: {} }, key: keys.platform },
      'GET /api/v2/admin/keys': { req: { method: 'GET', path: '/api/v2/admin/keys', query: asA }, key: keys.admin },
      'GET /api/v2/admin/tenants/{id}/usage': { req: { method: 'GET', path: `/api/v2/admin/tenants/${tenantA}/usage`, query: {} }, key: keys.admin },
    };
  }
  /** Documented operations without a valid request here, and why. */
  const NOT_EXERCISED: Record<string, string> = {
    'POST /api/v2/admin/backfill': 'starts a backfill workflow on the shared Temporal server; covered by the batch-layer tests',
    'GET /api/v2/analytics/realtime/stream': 'a WebSocket: checked with a ws client below',
    'GET /api/v2/analytics/jobs/{id}': 'needs a job: checked with jobs the other requests start',
  };

  const documented = (o: Op | undefined, status: number) => o !== undefined && Object.keys(o.op.responses).includes(String(status));
  
  const ajv = new Ajv({ strict: false, allErrors: true });
  addFormats(ajv);
  ajv.addFormat('binary', true);
  /** The body's violations of the documented JSON schema of that status (none when no schema is documented). */
  function violations(o: Op, status: number, body: unknown): string[] {
    const response = o.op.responses[String(status)] && deref(o.op.responses[String(status)]);
    const schema = response?.content?.['application/json']?.schema;
    if (!schema) return [];
    const validate = ajv.compile({ ...(schema as object), components: doc.components });
    return validate(body) ? [] : (validate.errors ?? []).map((e) => `${o.method} ${o.template} ${status}: ${e.instancePath} ${e.message}`);
  }

  /** Polls a job to its end; returns the final status response (JSON). */
  async function awaitJob(statusUrl: string, key: string): Promise<Json> {
    const deadline = Date.now() + 120_000;
    for (;;) {
      const r = await call({ method: 'GET', path: statusUrl.split('?')[0], query: Object.fromEntries(new URLSearchParams(statusUrl.split('?')[1] ?? '')) }, key);
      expect(r.status).toBe(200);
      const body = r.json();
      if (body.status !== 'running') return body;
      if (Date.now() > deadline) throw new Error(`job ${statusUrl} still running`);
      await new Promise((res) => setTimeout(res, 300));
    }
  }

  /** A valid request's JSON answer, through its job when it became one; `figure` records its wall time. */
  async function answer(v: { req: Req; key?: string }, figure?: string): Promise<{ status: number; body: Json; jobUrl?: string }> {
    const t0 = performance.now();
    try {
      return await answerOnce(v);
    } finally {
      if (figure) figures[`${figure}_ms`] = Math.round(performance.now() - t0);
    }
  }

  async function answerOnce(v: { req: Req; key?: string }): Promise<{ status: number; body: Json; jobUrl?: string }> {
    const r = await call(v.req, v.key);
    if (r.status !== 202) return { status: r.status, body: r.status === 200 && /json/.test(r.headers.get('content-type') ?? '') ? r.json() : {} };
    const url = String(r.json().status_url);
    const done = await awaitJob(url, v.key!);
    expect(done.status).toBe('done');
    return { status: 202, body: 'result' in done ? (done.result as Json) : { data: done.data, meta: done.meta, ...(done.attribution ? { attribution: done.attribution } : {}) }, jobUrl: url };
  }

  // ---- the tests -------------------------------------------------------------------------------

  it('serves a document listing every endpoint of the issue, each secured data route behind a credential', () => {
    const listed = ops.map((o) => `${o.method} ${o.template}`);
    for (const k of [
      'POST /api/v2/analytics/funnel/analyze',
      'POST /api/v2/analytics/attribution/model',
      'GET /api/v2/analytics/cohort/{cohort_id}',
      'GET /api/v2/analytics/cohort',
      'GET /api/v2/analytics/geography',
      'GET /api/v2/data/lineage/{event_id}',
      'GET /api/v2/analytics/jobs/{id}',
      'GET /api/v2/anomalies/active',
      'POST /api/v2/analytics/query',
    ]) {
      expect(listed).toContain(k);
    }
    for (const o of ops.filter((x) => x.template.startsWith('/api/v2/') && x.template !== '/api/v2/ops/health/detailed')) expect([`${o.method} ${o.template}`, spec.isSecured(o)]).toEqual([`${o.method} ${o.template}`, true]);
  });

  it('(a) every secured operation refuses a request without credentials: 401', async () => {
    const wrong: string[] = [];
    for (const o of ops.filter((o) => spec.isSecured(o))) {
      const r = await call(spec.synthesize(o, tenantA));
      if (r.status !== 401) wrong.push(`${o.method} ${o.template}: ${r.status} ${r.buf.toString().slice(0, 200)}`);
      const bad = await call(spec.synthesize(o, tenantA), 'rtap_not-a-key');
      if (bad.status !== 401) wrong.push(`${o.method} ${o.template} with an unknown key: ${bad.status}`);
    }
    expect(wrong).toEqual([]);
    figures.secured_operations = ops.filter((o) => spec.isSecured(o)).length;
  });

  it('(b) every documented parameter and body field: an invalid value is a 400 naming it', async () => {
    const wrong: string[] = [];
    let cases = 0;
    const skipped: string[] = [];
    for (const o of ops) {
      const good = spec.synthesize(o, tenantA);
      for (const param of spec.params(o.op)) {
        const bad = spec.invalid(param.schema!, param.in as 'query' | 'path');
        if (bad === undefined) {
          skipped.push(`${o.method} ${o.template} ${param.in} ${param.name}`);
          continue;
        }
        const req: Req = param.in === 'path' ? { ...good, path: spec.withPath(o, { [param.name]: String(bad) }) } : { ...good, query: { ...good.query, [param.name]: String(bad) } };
        cases++;
        const r = await call(req, keys.a);
        const details = r.status === 400 ? ((r.json().details as { path: string }[]) ?? []) : [];
        if (r.status !== 400 || !details.some((d) => d.path === `/${param.name}` || d.path.startsWith(`/${param.name}/`))) {
          wrong.push(`${o.method} ${o.template} ${param.in} ${param.name}=${String(bad)}: ${r.status} ${r.buf.toString().slice(0, 300)}`);
        }
      }
      const schema = spec.bodySchema(o.op);
      if (!schema) continue;
      for (const f of spec.fields(schema)) {
        const bad = spec.invalid(f.schema, 'body');
        if (bad === undefined) continue;
        cases++;
        const r = await call({ ...good, body: spec.setAt(good.body, schema, f.pointer, bad) }, keys.a);
        const details = r.status === 400 ? ((r.json().details as { path: string }[]) ?? []) : [];
        if (r.status !== 400 || !details.some((d) => d.path === f.pointer || d.path.startsWith(`${f.pointer}/`))) {
          wrong.push(`${o.method} ${o.template} body ${f.pointer}=${JSON.stringify(bad)}: ${r.status} ${r.buf.toString().slice(0, 300)}`);
        }
      }
    }
    expect(wrong).toEqual([]);
    expect(cases).toBeGreaterThan(80);
    figures.invalid_value_cases = cases;
    figures.unconstrained_fields_skipped = skipped.length;
  });

  it('(c) a valid request gets a documented status and matches the documented schema', async () => {
    const valid = validRequests();
    const problems: string[] = [];
    const unexercised = ops.map((o) => `${o.method} ${o.template}`).filter((k) => !valid[k] && !NOT_EXERCISED[k]);
    // other developers' operations (documented here before this suite knows a valid request for them) are reported, not failed
    if (unexercised.length > 0) process.stderr.write(`[api-contract] (c) has no valid request for: ${unexercised.join(', ')}\n`);
    for (const [k, v] of Object.entries(valid)) {
      const o = spec.op(k);
      const r = await call(v.req, v.key);
      if (!documented(o, r.status)) {
        problems.push(`${k}: undocumented status ${r.status} ${r.buf.toString().slice(0, 300)}`);
        continue;
      }
      if (r.status >= 400 && k !== 'GET /api/v2/admin/backfill/{id}' && k !== 'GET /api/v2/ops/health/detailed') problems.push(`${k}: ${r.status} ${r.buf.toString().slice(0, 300)}`);
      if (/json/.test(r.headers.get('content-type') ?? '')) problems.push(...violations(o!, r.status, r.json()));
      if (r.status === 202) {
        const done = await awaitJob(String(r.json().status_url), v.key!);
        problems.push(...violations(spec.op('GET /api/v2/analytics/jobs/{id}')!, 200, done));
        if (done.status !== 'done') problems.push(`${k}: job ${JSON.stringify(done)}`);
        // the job's result is the operation's own 200 body
        const result = 'result' in done ? done.result : { data: done.data, meta: done.meta, ...(done.attribution ? { attribution: done.attribution } : {}) };
        problems.push(...violations(o!, 200, result));
      }
    }
    expect(problems).toEqual([]);
    figures.valid_requests = Object.keys(valid).length;
  });

  it('(c) the WebSocket stream upgrades for a key and greets with its tenant', async () => {
    const greeting = await new Promise<Json>((resolve, reject) => {
      const ws = new WebSocket(`${base.replace('http', 'ws')}/api/v2/analytics/realtime/stream?api_key=${keys.a}`);
      ws.once('message', (m: Buffer) => {
        resolve(JSON.parse(m.toString()) as Json);
        ws.close();
      });
      ws.once('error', reject);
    });
    expect(greeting).toMatchObject({ type: 'hello', tenant: tenantA });
  });

  it('async jobs: 202 with a status URL, the result in every format, and another tenant’s job is a 404', async () => {
    const body = { measures: ['events', 'orders'], dimensions: ['event_type'], grain: 'hour', time_range: range };
    const sync = await call({ method: 'POST', path: '/api/v2/analytics/query', query: {}, body }, keys.a);
    expect(sync.status).toBe(200);
    const r = await call({ method: 'POST', path: '/api/v2/analytics/query', query: { async: 'true' }, body }, keys.a);
    expect(r.status).toBe(202);
    const accepted = r.json();
    expect(accepted).toMatchObject({ status: 'running', reason: 'requested', status_url: `/api/v2/analytics/jobs/${String(accepted.job_id)}` });
    expect(r.headers.get('location')).toBe(accepted.status_url);
    const done = await awaitJob(String(accepted.status_url), keys.a);
    expect(done.data).toEqual(sync.json().data);
    // B cannot see A's job, even knowing its id; A's key cannot name B either
    expect((await call({ method: 'GET', path: String(accepted.status_url), query: {} }, keys.b)).status).toBe(404);
    expect((await call({ method: 'GET', path: String(accepted.status_url), query: { tenant: tenantB } }, keys.a)).status).toBe(403);
    expect((await call({ method: 'GET', path: '/api/v2/analytics/jobs/job_nonexistent00000000', query: {} }, keys.a)).status).toBe(404);

    // planned work over API_JOB_MAX_FILES: time-decay attribution and an unhinted lineage are jobs from the start
    const decay = await call({ method: 'POST', path: '/api/v2/analytics/attribution/model', query: {}, body: { time_range: DAYS, model: 'time_decay' } }, keys.a);
    expect(decay.status).toBe(202);
    expect(decay.json().reason).toBe('planned_work');
    const lineage = await call({ method: 'GET', path: `/api/v2/data/lineage/${ids.duplicatedA}`, query: {} }, keys.a);
    expect(lineage.status).toBe(202);
    const traced = await awaitJob(String(lineage.json().status_url), keys.a);
    expect(traced).toMatchObject({ status: 'done', kind: 'lineage', result: { event_id: ids.duplicatedA, tenant_id: tenantA } });
    // a document is JSON only
    expect((await call({ method: 'GET', path: String(lineage.json().status_url), query: {} }, keys.a, 'text/csv')).status).toBe(406);
  });

  it('(d) every tabular result round-trips in JSON, CSV, Parquet and Arrow IPC to the same rows', async () => {
    const valid = validRequests();
    const tabular = ops.filter((o) => {
      const ok = o.op.responses['200'] && deref(o.op.responses['200']);
      return ok?.content?.['text/csv'] !== undefined;
    });
    const checked: string[] = [];
    const db = await openDuckDb({ threads: 1, memoryLimit: '256MB' });
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'rtap-contract-'));
    try {
      for (const o of tabular) {
        const k = `${o.method} ${o.template}`;
        // the jobs endpoint serves a finished job's table: an async query's
        const v = k === 'GET /api/v2/analytics/jobs/{id}' ? await jobRequest() : valid[k];
        if (!v) continue;
        // a query that runs as a job is asked once; every format is then read from its result
        let source = v.req;
        const first = await call(v.req, v.key);
        const viaJob = first.status === 202;
        if (viaJob) {
          const url = String(first.json().status_url);
          await awaitJob(url, v.key!);
          source = { method: 'GET', path: url.split('?')[0], query: Object.fromEntries(new URLSearchParams(url.split('?')[1] ?? '')) };
        }
        const fetchAs = async (accept: string) => {
          const r = await call(source, v.key, accept);
          expect([k, accept, r.status]).toEqual([k, accept, 200]);
          return r;
        };
        const rows = (await fetchAs('application/json')).json().data as Json[];
        // CSV: text as written (NULL empty), header = the columns
        const csv = csvRows((await fetchAs('text/csv')).buf.toString('utf8'));
        const columns = csv[0];
        const want = rows.map((row) => columns.map((c) => norm(row[c])));
        expect([k, csv.slice(1)]).toEqual([k, rows.map((row) => columns.map((c) => (row[c] === null || row[c] === undefined ? '' : typeof row[c] === 'string' ? row[c] : JSON.stringify(row[c]))))]);
        // Parquet, read back by DuckDB
        const pq = await fetchAs('application/vnd.apache.parquet');
        const file = path.join(dir, `${checked.length}.parquet`);
        await fs.writeFile(file, pq.buf);
        const back = (await db.connection.runAndReadAll(`SELECT * FROM read_parquet(${sqlLiteral(file)})`)).getRowObjectsJson();
        expect([k, back.map((row) => columns.map((c) => norm(row[c])))]).toEqual([k, want]);
        // Arrow IPC stream, read back by apache-arrow
        const arrow = tableFromIPC((await fetchAs('application/vnd.apache.arrow.stream')).buf);
        expect([k, arrow.numRows]).toEqual([k, rows.length]);
        expect([k, arrow.toArray().map((row: { toJSON(): Json }) => columns.map((c) => norm(row.toJSON()[c])))]).toEqual([k, want]);
        // meta travels in a header for the binary formats
        expect(JSON.parse(pq.headers.get('x-rtap-meta') ?? 'null')).toBeTruthy();
        checked.push(`${k}${viaJob ? ' (job)' : ''}: ${rows.length} rows`);
      }
    } finally {
      db.close();
      await fs.rm(dir, { recursive: true, force: true });
    }
    const missing = tabular.map((o) => `${o.method} ${o.template}`).filter((k) => !checked.some((c) => c.startsWith(`${k}:`) || c.startsWith(`${k} (`)));
    expect(missing).toEqual([]);
    expect(checked.filter((c) => !/: 0 rows$/.test(c)).length).toBeGreaterThanOrEqual(tabular.length - 1);
    process.stderr.write(`[api-contract] formats round-tripped: ${checked.join('; ')}\n`);
  });

  /** A finished async job of a tabular query, as a request for its result. */
  async function jobRequest(): Promise<{ req: Req; key: string }> {
    const r = await call({ method: 'POST', path: '/api/v2/analytics/query', query: { async: 'true' }, body: { measures: ['events', 'revenue'], dimensions: ['country'], grain: 'all', time_range: range } }, keys.a);
    const url = String(r.json().status_url);
    await awaitJob(url, keys.a);
    return { req: { method: 'GET', path: url, query: {} }, key: keys.a };
  }

  it('(e) a tenant key never names another tenant, nor reads its rows', async () => {
    // every operation with a tenant parameter: A's key naming B is refused before any data is read
    const wrong: string[] = [];
    const valid = validRequests();
    for (const o of ops.filter((x) => spec.isSecured(x) && spec.params(x.op).some((p) => p.name === 'tenant'))) {
      const v = valid[`${o.method} ${o.template}`] ?? { req: spec.synthesize(o, tenantA) };
      const r = await call({ ...v.req, query: { ...v.req.query, tenant: tenantB } }, keys.a);
      if (r.status !== 403) wrong.push(`${o.method} ${o.template}: ${r.status}`);
    }
    expect(wrong).toEqual([]);

    // ids of B's data in the path: B's event is a 404 for A (the lake is read with A's rows only), found for B
    const lineageOfB = { method: 'GET', path: `/api/v2/data/lineage/${ids.b}`, query: {} };
    const forA = await call({ ...lineageOfB, query: { async: 'false' } }, keys.a);
    const asA = forA.status === 202 ? await awaitJob(String(forA.json().status_url), keys.a) : undefined;
    expect(asA ? (asA.error as Json).status : forA.status).toBe(404);
    const forB = await answer({ req: lineageOfB, key: keys.b });
    expect(forB.body).toMatchObject({ event_id: ids.b, tenant_id: tenantB });

    // anomalies: A's records in the window, none of B's, the old one and junk left out
    const anomalies = (await call({ method: 'GET', path: '/api/v2/anomalies/active', query: {} }, keys.a)).json();
    expect((anomalies.data as Json[]).map((a) => a.anomaly_id)).toEqual(['a1', 'a2', 'a3']);
    expect((await call({ method: 'GET', path: '/api/v2/anomalies/active', query: { minutes: '10080' } }, keys.b)).json().data).toEqual([expect.objectContaining({ anomaly_id: 'b1' })]);
  });

  it('(e) answers hold the tenant’s own rows only: they equal DuckDB over its raw events', async () => {
    const below = Object.entries(cut).map(([p, o]) => `(_partition = ${Number(p)} AND _offset < ${o})`).join(' OR ') || 'false';
    const firsts = (tenant: string, covered: string) => `SELECT * FROM __SRC__ WHERE tenant_id = ${sqlLiteral(tenant)} AND (${covered}) QUALIFY row_number() OVER (PARTITION BY tenant_id, event_id ORDER BY _offset) = 1`;
    const lakeQuery = (sql: string) => queryLake(s3, prefix, (src) => sql.replace(/__SRC__/g, src));
    const inDays = `event_time >= TIMESTAMP '2026-11-22' AND event_time < TIMESTAMP '2026-11-24'`;

    // funnel (batch only: events below the cut)
    const funnel = await answer({ req: { method: 'POST', path: '/api/v2/analytics/funnel/analyze', query: {}, body: { time_range: DAYS } }, key: keys.a }, 'funnel');
    const steps = ['page_view', 'add_to_cart', 'checkout', 'purchase'];
    const [f] = await lakeQuery(`WITH e AS (${firsts(tenantA, below)}), s AS (
        SELECT CAST(event_time AS DATE) AS d, session_id, ${steps.map((x) => `bool_or(event_subtype = '${x}') AS ${x}`).join(', ')}
        FROM e WHERE session_id IS NOT NULL AND ${inDays} GROUP BY ALL)
      SELECT ${steps.map((_, i) => `count(*) FILTER (WHERE ${steps.slice(0, i + 1).join(' AND ')})::INTEGER AS s${i + 1}`).join(', ')} FROM s`);
    expect((funnel.body.data as Json[]).map((r) => r.sessions)).toEqual(steps.map((_, i) => f[`s${i + 1}`]));
    expect(funnel.body.meta).toMatchObject({ batch_only: true, batch_cut: cut, view: 'funnel_1d' });
    expect(Number((funnel.body.data as Json[])[0].sessions)).toBeGreaterThan(20);
    // linear attribution in the funnel's answer: the purchases' revenue, attributed once
    const [p] = await lakeQuery(`SELECT count(*)::INTEGER AS n, coalesce(sum(final_total), 0)::DOUBLE AS revenue FROM (${firsts(tenantA, below)}) WHERE event_subtype = 'purchase' AND ${inDays}`);
    const withAttribution = await answer({ req: { method: 'POST', path: '/api/v2/analytics/funnel/analyze', query: {}, body: { time_range: DAYS, attribution: 'linear' } }, key: keys.a }, 'funnel_linear_attribution');
    const attributed = (withAttribution.body.attribution as { data: Json[] }).data;
    expect(attributed.reduce((n, r) => n + Number(r.revenue), 0)).toBeCloseTo(Number(p.revenue), 6);
    expect(attributed.reduce((n, r) => n + Number(r.conversions), 0)).toBeCloseTo(Number(p.n), 6);
    for (const model of ['first', 'last', 'time_decay']) {
      const m = await answer({ req: { method: 'POST', path: '/api/v2/analytics/attribution/model', query: {}, body: { time_range: DAYS, model } }, key: keys.a }, `attribution_${model}`);
      expect([model, Number((m.body.meta as Json).revenue)]).toEqual([model, expect.closeTo(Number(p.revenue), 6)]);
      expect([model, (m.body.meta as Json).purchases]).toEqual([model, p.n]);
    }

    // cohorts: first-purchase weeks and sizes, and one cohort's week-1 retention
    const cohorts = await answer({ req: { method: 'GET', path: '/api/v2/analytics/cohort', query: {} }, key: keys.a }, 'cohort_list');
    const wantCohorts = await lakeQuery(`WITH e AS (${firsts(tenantA, below)}),
        f AS (SELECT user_id, date_trunc('week', min(event_time) FILTER (WHERE event_subtype = 'purchase'))::DATE AS w FROM e WHERE user_id IS NOT NULL GROUP BY user_id)
      SELECT strftime(w, '%Y-%m-%d') AS cohort_week, count(*)::INTEGER AS cohort_users FROM f WHERE w IS NOT NULL GROUP BY w ORDER BY w`);
    expect((cohorts.body.data as Json[]).map((r) => ({ cohort_week: r.cohort_week, cohort_users: r.cohort_users }))).toEqual(wantCohorts);
    const w47 = await answer({ req: { method: 'GET', path: '/api/v2/analytics/cohort/2026-11-16', query: {} }, key: keys.a });
    const [active] = await lakeQuery(`WITH e AS (${firsts(tenantA, below)}),
        f AS (SELECT user_id FROM e WHERE user_id IS NOT NULL GROUP BY user_id HAVING date_trunc('week', min(event_time) FILTER (WHERE event_subtype = 'purchase'))::DATE = DATE '2026-11-16')
      SELECT count(DISTINCT user_id) FILTER (WHERE event_time >= TIMESTAMP '2026-11-23')::INTEGER AS week1 FROM e WHERE user_id IN (SELECT user_id FROM f)`);
    const week1 = (w47.body.data as Json[]).find((r) => r.weeks_since === 1);
    expect(week1?.users ?? 0).toBe(active.week1);
    expect(Number(active.week1)).toBeGreaterThan(0);
    const unknown = await call({ method: 'GET', path: '/api/v2/analytics/cohort/2026-W30', query: {} }, keys.a);
    expect(unknown.status).toBe(404);

    // geography: merged and exact, over everything below max(cut, live offsets) the answer states
    const geo = await answer({ req: { method: 'GET', path: '/api/v2/analytics/geography', query: { ...range, measures: 'events,orders' } }, key: keys.a }, 'geography');
    const gm = geo.body.meta as { batch_cut: Record<string, number>; live_offsets: Record<string, number> };
    const covered = Object.keys({ ...gm.batch_cut, ...gm.live_offsets }).map((q) => `(_partition = ${Number(q)} AND _offset < ${Math.max(gm.batch_cut[q] ?? 0, gm.live_offsets[q] ?? 0)})`).join(' OR ');
    const wantGeo = await lakeQuery(`SELECT country, count(*)::INTEGER AS events, count(*) FILTER (WHERE event_subtype = 'purchase')::INTEGER AS orders
      FROM (${firsts(tenantA, covered)}) WHERE ${inDays} GROUP BY country ORDER BY events DESC, country NULLS LAST`);
    expect(Object.keys((geo.body.data as Json[])[0])).toEqual(['country', 'events', 'orders']);
    const byCountry = (rows: Json[]) => Object.fromEntries(rows.map((r) => [String(r.country), [r.events, r.orders]]));
    expect(byCountry(geo.body.data as Json[])).toEqual(byCountry(wantGeo));
    expect(Object.entries(gm.live_offsets).some(([q, o]) => o > (gm.batch_cut[q] ?? 0))).toBe(true);

    // lineage: the duplicated event below the cut is in batch views, its duplicate named; a later one is live
    const dup = await answer({ req: { method: 'GET', path: `/api/v2/data/lineage/${ids.duplicatedA}`, query: { event_time: ids.duplicatedATime } }, key: keys.a }, 'lineage_hinted');
    const d = dup.body as { status: string; kafka: { partition: number; offset: number }; duplicates: { offset: number }[]; raw: { key: string }; compacted: { status: string; key: string }; batch: { covered: boolean; views: { view: string }[]; covered_since_version: string } };
    expect(d.status).toBe('batch');
    expect(d.duplicates.length).toBeGreaterThanOrEqual(1);
    expect(d.duplicates[0].offset).toBeGreaterThan(d.kafka.offset);
    expect(d.raw.key.startsWith(`${prefix}raw/`)).toBe(true);
    expect(d.compacted).toMatchObject({ status: 'compacted', key: expect.stringContaining(`${prefix}compacted/`) });
    expect(d.batch.covered_since_version).toBeTruthy();
    expect(d.batch.views.map((v) => v.view)).toEqual(expect.arrayContaining(['event_type_1m', 'country_1d']));
    const [rawRow] = await lakeQuery(`SELECT _partition::INTEGER AS p, min(_offset)::INTEGER AS o FROM __SRC__ WHERE tenant_id = ${sqlLiteral(tenantA)} AND event_id = ${sqlLiteral(ids.duplicatedA)} GROUP BY ALL`);
    expect(d.kafka).toMatchObject({ partition: rawRow.p, offset: rawRow.o });
    const live = await answer({ req: { method: 'GET', path: `/api/v2/data/lineage/${ids.liveA}`, query: {} }, key: keys.a }, 'lineage_unhinted_job');
    expect(live.body).toMatchObject({ status: 'live', live: { counted: true }, batch: { covered: false, views: [] } });
  });
});

/** RFC 4180 rows (quoted fields, doubled quotes, newlines inside quotes). */
function csvRows(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\n') {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else if (c !== '\r') field += c;
  }
  if (field !== '' || row.length > 0) rows.push([...row, field]);
  return rows;
}

/** One comparable form of a value from any format: numbers as numbers, instants as ISO strings. */
function norm(v: unknown): unknown {
  if (v === undefined || v === null) return null;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'string' && /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}(:?\d{2})?)?$/.test(v)) {
    const zoned = /(Z|[+-]\d{2}(:?\d{2})?)$/.test(v) ? v.replace(' ', 'T') : `${v.replace(' ', 'T')}Z`;
    return new Date(zoned.replace(/([+-]\d{2})$/, '$1:00')).toISOString();
  }
  if (typeof v === 'string' && /^-?\d+(\.\d+)?$/.test(v) && String(Number(v)) === v) return Number(v);
  return v;
}
