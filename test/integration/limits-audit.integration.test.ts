// Rate limits and the audit chain on the real stack: the API wired as serving/main.ts wires it
// (security gate, limits, audit writer and lake archiver) on this test's own topics and lake prefix.
// Limits: a change written to the control topic (as `rtap limits set` writes it) takes effect
// without a restart, and the API answers 429 with Retry-After and X-RateLimit-*; the events/day
// quota stops ingestion. Audit: requests → records in the audit topic → archived to the lake →
// verify ok (topic and lake, and `rtap audit verify` exits 0) → an archived object edited →
// verify names the record (and the CLI exits 1).
import { execFile } from 'node:child_process';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { DeleteObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import type { Producer } from 'kafkajs';
import { archivedOffsets, readAuditTopic } from '../../core/audit-log';
import { verifyAuditLog } from '../../core/audit-verify';
import { BatchingProducer } from '../../core/batching-producer';
import { REPO_ROOT, type RtapConfig } from '../../core/config';
import { ControlPlane } from '../../core/control';
import { createIngestStep } from '../../core/ingest-step';
import { IDEMPOTENT_RETRY, TOPICS, createKafka } from '../../core/kafka';
import { setTenantLimits } from '../../core/limits-control';
import { createLogger } from '../../core/logger';
import { createKeyring } from '../../core/pii';
import { waitUntil } from '../../core/retry';
import { createS3, getText, listObjects } from '../../core/s3';
import { EventGenerator } from '../../generator/generator';
import { createApp } from '../../serving/app';
import { archiverGroup, startApiGuards, type ApiGuards } from '../../serving/security/audit-start';
import { cfg as baseCfg, uniqueName } from './helpers';
import { createTopics } from './kafka-read';

const run = promisify(execFile);
const cfg: RtapConfig = { ...baseCfg, audit: { ...baseCfg.audit, flushMs: 50, anchorMs: 0, archiveFlushMs: 300 } };
const kafka = createKafka(cfg.kafka);
const s3 = createS3(cfg.s3);
const log = createLogger('test');
const topics = { events: uniqueName('la-events'), dlq: uniqueName('la-dlq'), control: uniqueName('la-control'), audit: uniqueName('la-audit') };
const prefix = `${uniqueName('la-lake')}/`;
const gen = new EventGenerator({ seed: 11, tenants: 1, users: 50, fraudRate: 0, defectRate: 0, lateRate: 0 });
const event = () => structuredClone(gen.next().event);
const tenant = event().tenant_id;

let control: ControlPlane;
let admin: ControlPlane;
let guards: ApiGuards;
let server: Server;
let rawProducer: Producer;
let producer: BatchingProducer;
let base: string;
const keys: Record<'ingest' | 'admin' | 'platform', string> = { ingest: '', admin: '', platform: '' };

beforeAll(async () => {
  await createTopics(kafka, [
    { topic: topics.events, numPartitions: 1 },
    { topic: topics.dlq, numPartitions: 1 },
    { topic: topics.control, numPartitions: 1, configEntries: [{ name: 'cleanup.policy', value: 'compact' }] },
    { topic: topics.audit, numPartitions: 1 },
  ]);
  // `admin` plays the CLI: a separate process's view of the control topic
  admin = new ControlPlane(kafka, log, topics.control);
  await admin.start();
  await admin.putTenants([{ tenant_id: tenant }]);
  keys.ingest = (await admin.createApiKey(tenant, ['ingest'], 'ingest')).apiKey;
  keys.admin = (await admin.createApiKey(tenant, ['admin'], 'admin')).apiKey;
  keys.platform = (await admin.createApiKey('*', ['platform-admin'], 'platform')).apiKey;

  control = new ControlPlane(kafka, log, topics.control);
  await control.start();
  guards = await startApiGuards({ cfg, kafka, control, log, auditTopic: topics.audit, lakePrefix: prefix });
  rawProducer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, retry: IDEMPOTENT_RETRY });
  await rawProducer.connect();
  producer = new BatchingProducer(rawProducer, { maxQueuedBytes: 8 << 20, maxSendBytes: 4 << 20, enqueueTimeoutMs: 2000, ackTimeoutMs: 10000 });
  const step = createIngestStep({ keyring: createKeyring({ v1: 'integration-test-secret-01' }, 'v1'), isActiveTenant: (id) => control.state.activeTenant(id) !== undefined });
  const app = createApp({
    cfg,
    checks: {},
    control: control.state,
    ingest: { cfg: cfg.ingest, control: control.state, step, producer, topics },
    limits: guards.limits,
    audit: guards.audit,
  });
  server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((r) => server?.close(r));
  await producer?.close();
  await rawProducer?.disconnect().catch(() => undefined);
  await guards?.close();
  await control?.stop();
  await admin?.stop();
  s3.destroy();
});

const usage = (key = keys.admin) => fetch(`${base}/api/v2/admin/tenants/${tenant}/usage`, { headers: { 'x-api-key': key } });
const ingest = (n = 1) => fetch(`${base}/api/v2/events/batch`, { method: 'POST', headers: { 'x-api-key': keys.ingest, 'content-type': 'application/json' }, body: JSON.stringify({ events: Array.from({ length: n }, event) }) });

describe('rate limits on the real stack', () => {
  it('applies a limit written to the control topic without a restart, answering 429 with Retry-After and X-RateLimit-*', async () => {
    const before = await usage();
    expect(before.status).toBe(200);
    expect(before.headers.get('x-ratelimit-limit')).toBe(String(cfg.limits.defaults.burst));

    await setTenantLimits(admin, tenant, { burst: 2, requests_per_second: 1 }, cfg.limits.defaults);
    expect(await waitUntil(async () => (await usage(keys.platform)).headers.get('x-ratelimit-limit') === '2', 15_000, 100)).toBe(true);
    // the wait above spent the bucket; the next request of the tenant, whichever key, is refused
    let refused: Response | undefined;
    for (let i = 0; i < 4 && !refused; i++) {
      const res = await usage();
      if (res.status === 429) refused = res;
    }
    expect(refused).toBeDefined();
    expect(Number(refused!.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(refused!.headers.get('x-ratelimit-limit')).toBe('2');
    expect(refused!.headers.get('x-ratelimit-remaining')).toBe('0');
    expect(Number(refused!.headers.get('x-ratelimit-reset'))).toBeGreaterThanOrEqual(1);
    expect(await refused!.json()).toMatchObject({ error: 'rate_limited', details: [{ path: '/limits/requests_per_second' }] });

    await setTenantLimits(admin, tenant, { burst: null, requests_per_second: null }, cfg.limits.defaults);
    expect(await waitUntil(async () => (await usage()).status === 200, 15_000, 200)).toBe(true);
  });

  it('stops ingestion once the tenant reached its events of the day', async () => {
    await setTenantLimits(admin, tenant, { events_per_day: 3 }, cfg.limits.defaults);
    expect(await waitUntil(async () => ((await (await usage()).json()) as { limits: { events_per_day: number } }).limits.events_per_day === 3, 15_000, 200)).toBe(true);
    const first = await ingest(3);
    expect(first.status).toBe(200);
    const over = await ingest(1);
    expect(over.status).toBe(429);
    expect(over.headers.get('x-ratelimit-scope')).toBe('events_per_day');
    expect(Number(over.headers.get('retry-after'))).toBeGreaterThan(0);
    const body = (await (await usage()).json()) as { usage: { events: { used: number; remaining: number } } };
    expect(body.usage.events).toMatchObject({ used: 3, remaining: 0 });
    await setTenantLimits(admin, tenant, { events_per_day: null }, cfg.limits.defaults);
  });
});

describe('audit chain on the real stack', () => {
  const verify = (source: 'topic' | 'lake') =>
    verifyAuditLog({ kafka, s3, bucket: cfg.s3.bucket, source, topic: topics.audit, controlTopic: topics.control, prefix, archiverGroup: archiverGroup(prefix), log });
  const cli = (source: 'topic' | 'lake') =>
    run(process.execPath, [path.join(REPO_ROOT, 'bin', 'rtap'), 'audit', 'verify', '--source', source, '--topic', topics.audit, '--control-topic', topics.control, '--prefix', prefix], { env: process.env }).then(
      (r) => ({ code: 0, out: r.stdout }),
      (e: { code: number; stdout: string }) => ({ code: e.code, out: e.stdout }),
    );

  it('records requests in the topic, archives them, verifies, and names an edited archived record', async () => {
    expect((await fetch(`${base}/api/v2/admin/tenants/${tenant}/usage`)).status).toBe(401);
    expect((await usage()).status).toBe(200);
    await guards.audit.flush();
    const { entries, end } = await readAuditTopic(kafka, topics.audit);
    const records = entries.map((e) => e.value as { action: string; status: number; actor: { kind: string } });
    expect(records.length).toBeGreaterThanOrEqual(10);
    expect(records).toContainEqual(expect.objectContaining({ action: 'GET /api/v2/admin/tenants/{id}/usage', status: 401, actor: expect.objectContaining({ kind: 'anonymous' }) }));
    expect(records).toContainEqual(expect.objectContaining({ action: 'POST /api/v2/events/batch', status: 429 }));

    const topicReport = await verify('topic');
    expect(topicReport).toMatchObject({ ok: true, chains: 1, problems: [] });
    expect(topicReport.anchors).toBe(1);

    // the archiver (running in the API's guards) reaches the topic's end
    expect(await waitUntil(async () => ((await archivedOffsets(kafka, archiverGroup(prefix), topics.audit)).get(0) ?? 0n) >= end, 30_000, 200)).toBe(true);
    const lakeReport = await verify('lake');
    expect(lakeReport).toMatchObject({ ok: true, problems: [] });
    expect(lakeReport.records).toBeGreaterThanOrEqual(records.length);
    expect(await cli('lake')).toMatchObject({ code: 0, out: expect.stringMatching(/^audit ok \(lake\)/) });

    // tamper: an archived record's status 401 becomes 200
    const objects = await listObjects(s3, cfg.s3.bucket, `${prefix}audit/`);
    let tampered: { key: string; line: number; seq: number } | undefined;
    for (const o of objects) {
      const lines = (await getText(s3, cfg.s3.bucket, o.key))!.trimEnd().split('\n');
      const i = lines.findIndex((l) => (JSON.parse(l) as { status: number }).status === 401);
      if (i < 0) continue;
      const record = JSON.parse(lines[i]) as { status: number; seq: number };
      lines[i] = JSON.stringify({ ...record, status: 200 });
      await s3.send(new PutObjectCommand({ Bucket: cfg.s3.bucket, Key: o.key, Body: `${lines.join('\n')}\n` }));
      tampered = { key: o.key, line: i + 1, seq: record.seq };
      break;
    }
    expect(tampered).toBeDefined();
    const bad = await verify('lake');
    expect(bad.ok).toBe(false);
    expect(bad.problems[0]).toMatchObject({ seq: tampered!.seq, at: { object: tampered!.key, line: tampered!.line }, reason: expect.stringMatching(/^altered/) });
    const out = await cli('lake');
    expect(out.code).toBe(1);
    expect(out.out).toContain(`first bad: chain ${bad.problems[0].chain} seq ${tampered!.seq}`);
    // the topic itself is untouched
    expect((await verify('topic')).ok).toBe(true);

    // removing the archive's objects is seen against what the archiver committed
    for (const o of objects) await s3.send(new DeleteObjectCommand({ Bucket: cfg.s3.bucket, Key: o.key }));
    const emptied = await verify('lake');
    expect(emptied.problems[0]).toMatchObject({ chain: null, reason: expect.stringMatching(/^archive truncated: offsets 0\.\.\d+ of partition 0 were archived \(committed\) but are not in the lake/) });
    expect(emptied.problems.some((p) => /^truncated: the anchored head/.test(p.reason))).toBe(true);
  });

  it('appends CLI admin actions, done or failed, to the audit topic', async () => {
    const rtap = (...args: string[]) => run(process.execPath, [path.join(REPO_ROOT, 'bin', 'rtap'), ...args], { env: process.env }).then(() => 0, (e: { code: number }) => e.code);
    const marker = uniqueName('cli-t').replace(/[^a-z0-9_-]/g, '').slice(0, 60);
    expect(await rtap('limits', 'show', marker)).toBe(0);
    // an unregistered tenant: the command fails, and the failure is recorded too
    expect(await rtap('limits', 'set', marker, '--burst', '5')).toBe(1);
    const { entries } = await readAuditTopic(kafka, TOPICS.audit);
    const mine = entries.map((e) => e.value as { source: string; action: string; tenant: string; status: number; actor: { kind: string } }).filter((r) => r.source === 'cli' && r.tenant === marker);
    expect(mine).toEqual([
      expect.objectContaining({ action: 'limits show', status: 0, actor: expect.objectContaining({ kind: 'cli' }) }),
      expect.objectContaining({ action: 'limits set', status: 1, detail: { error: expect.stringMatching(/unknown tenant/) } }),
    ]);
  });
});
