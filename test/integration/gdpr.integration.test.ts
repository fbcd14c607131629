// GDPR erase and export, and per-tenant retention, on the real stack: raw chunks laid down in the
// sink's exact format on MinIO (ingest/lay-down.ts), the real pipeline (batchRun) compacting and
// publishing views, and the real workflows (workflows/gdpr.ts) run by a Worker on a task queue of
// this test's own, started the way the API and the CLI start them (core/gdpr-control.ts).
//
// The world: generator traffic of 4 tenants over ~3 event hours, half tokenized under PII key v1
// and half under v2 (a key rotation: the subject carries two tokens), plus the subject's events
// re-sent (duplicates in later chunks), guest events carrying only the subject's anonymous id, the
// subject's own user id under another tenant (not theirs to erase), and an event hour holding one
// tenant only (retention empties and deletes its objects).
//
// Oracles, all DuckDB over s3:// written here: after the erase no object under raw/, compacted/
// (live or superseded) or views/ (any version) holds a row of the subject; every other raw and
// live compacted row is exactly as before (EXCEPT ALL both ways); object names are unchanged,
// still sorted and zstd; the export's presigned URLs download exactly the subject's distinct
// events of raw. After retention the same for the expired rows. Finally every view of the current
// version equals a full recompute, in another prefix, from the raw rows that remain.
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { CopyObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import type { Client } from '@temporalio/client';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { createActivities } from '../../activities';
import { readCurrentHourManifest } from '../../activities/compaction-store';
import { createGdprActivities } from '../../activities/gdpr';
import { BATCH_WORKFLOW, PROGRESS_QUERY, type BatchRunResult } from '../../core/batch-run';
import { ControlPlane, readRetentionPolicies } from '../../core/control';
import { openLakeDuckDb, s3Url, sqlLiteral, type OpenDuckDb } from '../../core/duckdb';
import { RETENTION_WORKFLOW, type AuditRecord, type GdprEraseResult, type GdprExportResult, type GdprProgress, type RetentionResult } from '../../core/gdpr';
import { startGdpr, subjectOf } from '../../core/gdpr-control';
import { kafkaKeyOf } from '../../core/ingest-step';
import { createKafka } from '../../core/kafka';
import { normalizePrefix, rawEventsRelation, rawRoot, viewsManifestKey } from '../../core/lake';
import { compactedRoot, hourManifestVersions, liveFiles } from '../../core/lake-compacted';
import { VIEWS, parseVersionManifest, parseViewsPointer, viewFileKeys, type ViewsVersionManifest } from '../../core/lake-views';
import { createLogger } from '../../core/logger';
import { createKeyring, tokenizeEvent, type PiiKeyring } from '../../core/pii';
import type { RtapEvent } from '../../core/schema/types';
import { createS3, deleteKeys, getText, listObjects, putJson } from '../../core/s3';
import { EventGenerator } from '../../generator/generator';
import { layDown, type LayDownMessage } from '../../ingest/lay-down';
import { createManifestStore, readHighWaterMarks } from '../../ingest/manifests';
import { cfg, uniqueName } from './helpers';
import { startTestWorker, type TestWorker } from './temporal-worker';
import { createTopics } from './kafka-read';

jest.setTimeout(1_500_000);

const PARTITIONS = 3;
const bucket = cfg.s3.bucket;
const step = (what: string) => process.stderr.write(`[gdpr-it ${new Date().toISOString()}] ${what}\n`);
const q = sqlLiteral;

const k1 = createKeyring({ v1: 'gdpr-it-secret-v1-0123456789' }, 'v1');
const k2 = createKeyring({ v1: 'gdpr-it-secret-v1-0123456789', v2: 'gdpr-it-secret-v2-0123456789' }, 'v2');

describe('GDPR erase and export, and retention, on MinIO + Temporal', () => {
  const s3 = createS3(cfg.s3);
  const kafka = createKafka(cfg.kafka, { clientId: uniqueName('gdpr-it') });
  const prefix = uniqueName('gdpr-it');
  const recomputePrefix = uniqueName('gdpr-it-recompute');
  const taskQueue = uniqueName('gdpr-it');
  const controlTopic = uniqueName('gdpr-control');
  const log = createLogger('gdpr-it');
  let lake: OpenDuckDb;
  let oracle: OpenDuckDb;
  let client: Client;
  let worker: TestWorker | undefined;

  // ---- the world ----------------------------------------------------------------------------
  const gen = new EventGenerator({ seed: 77, tenants: 4, users: 80, rate: 0.3, lateRate: 0.05, defectRate: 0, fraudRate: 0.02, startUs: Date.UTC(2026, 2, 1, 10) * 1000 });
  const events: RtapEvent[] = Array.from({ length: 3000 }, () => gen.next().event);
  const userOf = (e: RtapEvent) => e.event_data.user_context.user_id;
  const byUser = new Map<string, RtapEvent[]>();
  for (const e of events) if (userOf(e)) byUser.set(`${e.tenant_id}\u0000${userOf(e)}`, [...(byUser.get(`${e.tenant_id}\u0000${userOf(e)}`) ?? []), e]);
  // The subject: the user with most events, some in each half (so under both key versions).
  const [subjectKey, subjectEvents] = [...byUser.entries()]
    .filter(([, es]) => es.some((e) => events.indexOf(e) < 1500) && es.some((e) => events.indexOf(e) >= 1500))
    .sort((a, b) => b[1].length - a[1].length)[0];
  const [tenant, rawUserId] = subjectKey.split('\u0000');
  const anonymousId = subjectEvents[0].event_data.user_context.anonymous_id!;
  const tenants = gen.world.tenants.map((t) => t.id);
  const others = tenants.filter((t) => t !== tenant);
  const [otherTenant, expiringTenant, longTenant] = others;
  const clone = (e: RtapEvent, patch: (c: RtapEvent) => void): RtapEvent => {
    const c = structuredClone(e);
    patch(c);
    return c;
  };
  const message = (e: RtapEvent, keyring: PiiKeyring): LayDownMessage => {
    const t = tokenizeEvent(e, keyring);
    return { value: JSON.stringify(t), key: kafkaKeyOf(t) };
  };
  const extras: LayDownMessage[] = [
    // the subject's id under another tenant: another person, not theirs to erase
    ...subjectEvents.slice(0, 5).map((e, i) =>
      message(
        clone(e, (c) => {
          c.tenant_id = otherTenant;
          c.event_metadata.event_id = `other-tenant-${i}`;
        }),
        k2,
      ),
    ),
    // guest events with only the subject's anonymous id
    ...subjectEvents.slice(0, 3).map((e, i) =>
      message(
        clone(e, (c) => {
          delete c.event_data.user_context.user_id;
          c.event_metadata.event_id = `guest-${i}`;
        }),
        k2,
      ),
    ),
    // re-sends of the subject's first events, byte for byte (v1 tokens), far behind their originals
    ...subjectEvents.filter((e) => events.indexOf(e) < 1500).slice(0, 3).map((e) => message(e, k1)),
  ];
  // An hour of one tenant only (late events): retention empties its objects, then deletes them.
  const lonelyHour = events
    .filter((e) => e.tenant_id === expiringTenant)
    .slice(0, 6)
    .map((e, i) =>
      message(
        clone(e, (c) => {
          c.event_metadata.event_id = `lonely-${i}`;
          c.event_metadata.timestamp = `2026-02-28T20:${String(10 + i).padStart(2, '0')}:00.000000Z`;
        }),
        k2,
      ),
    );

  const subject = subjectOf(tenant, rawUserId, k2, [anonymousId]);
  /** The subject's rows as this test defines them (not the product's SQL). */
  const subjectWhere = `(tenant_id = ${q(tenant)} AND (user_id IN (${subject.userTokens.map(q).join(', ')}) OR anonymous_id = ${q(anonymousId)}))`;
  const RETENTION_AS_OF = '2026-03-02T11:30:00.000Z';
  const CUTOFF = '2026-03-01 11:00:00';
  const expiredWhere = `(tenant_id = ${q(expiringTenant)} AND event_time < TIMESTAMP '${CUTOFF}')`;
  // NULL user or anonymous ids make the predicates NULL, not false: "every other row" needs coalesce.
  const notSubject = `NOT coalesce(${subjectWhere}, false)`;
  const notExpired = `NOT coalesce(${expiredWhere}, false)`;

  beforeAll(async () => {
    lake = await openLakeDuckDb({ threads: 1, memoryLimit: '1GB', s3: cfg.s3, cacheDir: cfg.cacheDir });
    oracle = await openLakeDuckDb({ threads: 1, memoryLimit: '1GB', s3: cfg.s3, cacheDir: cfg.cacheDir });
    await createTopics(kafka, [{ topic: controlTopic, numPartitions: 1, configEntries: [{ name: 'cleanup.policy', value: 'compact' }] }]);
    // B = 1: every durable offset is below the cut, so the views hold every row.
    worker = await startTestWorker(
      taskQueue,
      createActivities({ s3, bucket, duckdb: lake.connection, lake: lake.instance, offsetBucketSize: 1, retentionPolicies: () => readRetentionPolicies(kafka, log, controlTopic) }),
    );
    client = worker.client;
  });

  afterAll(async () => {
    await worker?.stop();
    for (const p of [prefix, recomputePrefix]) await deleteKeys(s3, bucket, (await listObjects(s3, bucket, `${p}/`)).map((o) => o.key));
    lake?.close();
    oracle?.close();
    s3.destroy();
  });

  async function query(sql: string): Promise<Record<string, unknown>[]> {
    const conn = await oracle.instance.connect();
    try {
      await conn.run(`SET TimeZone = 'UTC'`);
      return (await conn.runAndReadAll(sql)).getRowObjectsJson() as Record<string, unknown>[];
    } finally {
      conn.closeSync();
    }
  }
  const one = async (sql: string) => Number(Object.values((await query(sql))[0])[0]);
  const rawAll = (p = prefix) => rawEventsRelation(s3Url(bucket, `${rawRoot(p)}**/*.parquet`), { hivePartitioning: false });
  const rawKeys = async () => (await listObjects(s3, bucket, rawRoot(prefix))).map((o) => o.key);

  async function liveCompacted(p = prefix): Promise<string[]> {
    const keys = (await listObjects(s3, bucket, `${normalizePrefix(p)}manifests/compaction/`)).map((o) => o.key);
    const out: string[] = [];
    for (const list of hourManifestVersions(keys).values()) {
      const current = await readCurrentHourManifest(s3, bucket, p, list[0]);
      out.push(...liveFiles(current!.manifest!).map((f) => s3Url(bucket, f.key)));
    }
    return out;
  }
  const compactedRel = (files: string[]) => (files.length > 0 ? rawEventsRelation(files, { hivePartitioning: false }) : `(SELECT * FROM ${rawAll()} WHERE false)`);

  async function currentViews(p: string): Promise<ViewsVersionManifest> {
    const pointer = parseViewsPointer((await getText(s3, bucket, viewsManifestKey(p)))!)!;
    return parseVersionManifest((await getText(s3, bucket, `${normalizePrefix(p)}${pointer.manifest}`))!)!;
  }

  /** Rows matching `where` in every file under views/ (any version) that carries tenant_id and user_id. */
  async function viewRowsAnywhere(where: string): Promise<Record<string, number>> {
    const files = (await listObjects(s3, bucket, `${prefix}/views/`)).map((o) => o.key).filter((k) => k.endsWith('.parquet'));
    const byView = new Map<string, string[]>();
    for (const k of files) {
      const view = k.slice(`${prefix}/views/`.length).split('/')[0];
      byView.set(view, [...(byView.get(view) ?? []), s3Url(bucket, k)]);
    }
    const out: Record<string, number> = {};
    for (const [view, urls] of byView) {
      const cols = new Set((await query(`SELECT name FROM parquet_schema(${q(urls[0])})`)).map((r) => String(r.name)));
      if (!cols.has('user_id')) continue;
      const w = cols.has('anonymous_id') ? where : where.replace(` OR anonymous_id = ${q(anonymousId)}`, '');
      out[view] = await one(`SELECT count(*) FROM read_parquet([${urls.map(q).join(', ')}], union_by_name = true, hive_partitioning = false) WHERE ${w}`);
    }
    return out;
  }

  /** Raw objects holding rows `where` matches, and those holding nothing else. */
  async function filesHolding(where: string): Promise<{ holding: string[]; only: string[] }> {
    const rows = await query(`
      SELECT filename, count(*) FILTER (WHERE coalesce(${where}, false)) AS hits, count(*) AS n
      FROM read_parquet(${q(s3Url(bucket, `${rawRoot(prefix)}**/*.parquet`))}, filename = true, hive_partitioning = false, union_by_name = true)
      GROUP BY filename HAVING hits > 0`);
    const key = (r: Record<string, unknown>) => String(r.filename).slice(`s3://${bucket}/`.length);
    return { holding: rows.map(key), only: rows.filter((r) => Number(r.hits) === Number(r.n)).map(key) };
  }

  async function runBatch(p: string, extra: Record<string, unknown> = {}): Promise<BatchRunResult> {
    return client.workflow.execute(BATCH_WORKFLOW, { taskQueue, workflowId: uniqueName('gdpr-batch'), args: [{ prefix: p, concurrency: 2, ...extra }] });
  }

  /** Every raw object still sorted by (tenant_id, event_time, _offset) and zstd-compressed. */
  async function rawLayoutProblems(): Promise<number> {
    const unsorted = await one(`
      SELECT count(*) FROM (
        SELECT tenant_id, event_time, _offset,
          lag(tenant_id) OVER w AS t0, lag(event_time) OVER w AS e0, lag(_offset) OVER w AS o0
        FROM read_parquet(${q(s3Url(bucket, `${rawRoot(prefix)}**/*.parquet`))}, filename = true, file_row_number = true, hive_partitioning = false, union_by_name = true)
        WINDOW w AS (PARTITION BY filename ORDER BY file_row_number))
      WHERE t0 IS NOT NULL AND (t0 > tenant_id OR (t0 = tenant_id AND (e0 > event_time OR (e0 = event_time AND o0 > _offset))))`);
    const notZstd = await one(`SELECT count(*) FROM parquet_metadata(${q(s3Url(bucket, `${rawRoot(prefix)}**/*.parquet`))}) WHERE compression <> 'ZSTD'`);
    return unsorted + notZstd;
  }

  test('lays down the world, compacts it and publishes views with the real pipeline', async () => {
    const deps = { s3, bucket, duckdb: lake.connection };
    const first = await layDown(deps, events.slice(0, 1500).map((e) => message(e, k1)), { prefix, partitions: PARTITIONS, maxRows: 700 });
    const second = await layDown(deps, [...events.slice(1500).map((e) => message(e, k2)), ...extras], { prefix, partitions: PARTITIONS, maxRows: 700 });
    const third = await layDown(deps, lonelyHour, { prefix, partitions: PARTITIONS });
    expect(first.rejected + second.rejected + third.rejected).toBe(0);
    step(`laid down ${first.rows + second.rows + third.rows} rows in ${first.objects + second.objects + third.objects} objects; subject ${tenant} with ${subject.userTokens.length} tokens`);
    const batch = await runBatch(prefix, { full: true });
    expect(batch.published).toBe(true);
    expect(batch.compactionFailures).toEqual([]);
    step(`pipeline: ${batch.compactedHours.length} hours compacted, views of ${batch.viewHours.length} hours published`);

    await query(`CREATE TABLE raw_before AS SELECT * FROM ${rawAll()}`);
    await query(`CREATE TABLE compacted_before AS SELECT * FROM ${compactedRel(await liveCompacted())}`);
    // the world holds what the test is about
    expect(await one(`SELECT count(DISTINCT user_id) FROM raw_before WHERE ${subjectWhere} AND user_id IS NOT NULL`)).toBe(2);
    expect(await one(`SELECT count(*) FROM raw_before WHERE ${subjectWhere} AND user_id IS NULL`)).toBe(3);
    expect(await one(`SELECT count(*) - count(DISTINCT event_id) FROM raw_before WHERE ${subjectWhere}`)).toBe(3);
    expect(await one(`SELECT count(*) FROM raw_before WHERE tenant_id = ${q(otherTenant)} AND user_id IN (${subject.userTokens.map(q).join(', ')})`)).toBe(5);
    expect(await one(`SELECT count(*) FROM compacted_before WHERE ${subjectWhere}`)).toBeGreaterThan(0);
    const views = await viewRowsAnywhere(subjectWhere);
    expect(views.user_activity).toBeGreaterThan(0);
  });

  test('export: the presigned URLs download exactly the subject’s distinct events of raw, as JSON and Parquet', async () => {
    const t0 = Date.now();
    const { handle, requestId } = await startGdpr(client, taskQueue, { kind: 'export', subject, requestedBy: 'gdpr-it', prefix, urlTtlSeconds: 600 });
    const result = (await handle.result()) as GdprExportResult;
    step(`export: ${result.rows} events in ${Date.now() - t0} ms`);
    const expected = `(SELECT * FROM raw_before WHERE ${subjectWhere} QUALIFY row_number() OVER (PARTITION BY tenant_id, event_id ORDER BY _offset, _partition) = 1)`;
    const want = await one(`SELECT count(*) FROM ${expected}`);
    expect(result.rows).toBe(want);
    expect(result.files.map((f) => f.format).sort()).toEqual(['json', 'parquet']);
    for (const f of result.files) expect(new URL(f.url).searchParams.get('X-Amz-Expires')).toBe('600');

    const json = result.files.find((f) => f.format === 'json')!;
    const res = await fetch(json.url);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-disposition')).toContain('events.json');
    const got = (await res.json()) as { event_id: string; tenant_id: string; _offset: number; event: unknown }[];
    const rows = await query(`SELECT event_id, _offset, event_json FROM ${expected} ORDER BY event_id`);
    expect(got.map((r) => r.event_id).sort()).toEqual(rows.map((r) => String(r.event_id)).sort());
    const byId = new Map(got.map((r) => [r.event_id, r]));
    for (const r of rows) {
      const g = byId.get(String(r.event_id))!;
      expect(g.tenant_id).toBe(tenant);
      expect(Number(g._offset)).toBe(Number(r._offset));
      expect(g.event).toEqual(JSON.parse(String(r.event_json)));
    }

    const parquet = result.files.find((f) => f.format === 'parquet')!;
    const body = Buffer.from(await (await fetch(parquet.url)).arrayBuffer());
    const local = path.join(await fs.mkdtemp(path.join(os.tmpdir(), 'gdpr-it-')), 'events.parquet');
    await fs.writeFile(local, body);
    const file = `read_parquet(${q(local)})`;
    expect(await one(`SELECT count(*) FROM (SELECT * FROM ${file} EXCEPT ALL SELECT * FROM ${expected})`)).toBe(0);
    expect(await one(`SELECT count(*) FROM (SELECT * FROM ${expected} EXCEPT ALL SELECT * FROM ${file})`)).toBe(0);
    await fs.rm(path.dirname(local), { recursive: true, force: true });

    const audit = JSON.parse((await getText(s3, bucket, result.auditKey))!) as AuditRecord;
    expect(audit).toMatchObject({ kind: 'gdpr_export', request_id: requestId, tenant, requested_by: 'gdpr-it', export: { rows: want } });
    expect(await getText(s3, bucket, `${prefix}/exports/${tenant}/${requestId}/manifest.json`)).toBeDefined();
  });

  test('erase: no object anywhere holds the subject; every other row is exactly as before; an audit record says what went', async () => {
    const keysBefore = await rawKeys();
    const subjectRows = await one(`SELECT count(*) FROM raw_before WHERE ${subjectWhere}`);
    const files = await filesHolding(subjectWhere);
    const objectsWithSubject = files.holding.length;
    const t0 = Date.now();
    const { handle, requestId } = await startGdpr(client, taskQueue, { kind: 'erase', subject, requestedBy: 'gdpr-it', reason: 'ticket-42', prefix, purgeGraceMs: 0 });
    const phases = new Set<string>();
    const poll = setInterval(() => {
      handle.query<GdprProgress>(PROGRESS_QUERY).then((p) => phases.add(p.phase), () => undefined);
    }, 300);
    const result = (await handle.result().finally(() => clearInterval(poll))) as GdprEraseResult;
    step(`erase: ${result.rowsRemoved} rows from ${result.objectsRewritten} objects, ${result.hours.length} hours, purged ${JSON.stringify(result.purged)}, ${Date.now() - t0} ms; phases seen ${[...phases].join(', ')}`);

    expect(files.only.length).toBeGreaterThan(0);
    expect(result).toMatchObject({ complete: true, rowsRemoved: subjectRows, objectsRewritten: objectsWithSubject, objectsDeleted: files.only.length, remaining: { raw: 0, pending: 0, compacted: 0, views: 0 } });
    expect(result.exportsDeleted).toBe(3);
    expect(result.batchRuns).toHaveLength(1);
    expect(phases.size).toBeGreaterThan(0);

    // raw: same names (less the objects that held nothing else), no row of the subject, every other row unchanged, still sorted and zstd
    expect(await rawKeys()).toEqual(keysBefore.filter((k) => !files.only.includes(k)));
    expect(await one(`SELECT count(*) FROM ${rawAll()} WHERE ${subjectWhere}`)).toBe(0);
    expect(await one(`SELECT count(*) FROM (SELECT * FROM ${rawAll()} EXCEPT ALL SELECT * FROM raw_before WHERE ${notSubject})`)).toBe(0);
    expect(await one(`SELECT count(*) FROM (SELECT * FROM raw_before WHERE ${notSubject} EXCEPT ALL SELECT * FROM ${rawAll()})`)).toBe(0);
    expect(await one(`SELECT count(*) FROM ${rawAll()} WHERE tenant_id = ${q(otherTenant)} AND user_id IN (${subject.userTokens.map(q).join(', ')})`)).toBe(5);
    expect(await rawLayoutProblems()).toBe(0);

    // compacted: live files hold every other row as before; no file at all (superseded included) holds the subject
    const live = compactedRel(await liveCompacted());
    expect(await one(`SELECT count(*) FROM ${live} WHERE ${subjectWhere}`)).toBe(0);
    expect(await one(`SELECT count(*) FROM (SELECT * FROM ${live} EXCEPT ALL SELECT * FROM compacted_before WHERE ${notSubject})`)).toBe(0);
    expect(await one(`SELECT count(*) FROM (SELECT * FROM compacted_before WHERE ${notSubject} EXCEPT ALL SELECT * FROM ${live})`)).toBe(0);
    expect(await one(`SELECT count(*) FROM ${rawEventsRelation(s3Url(bucket, `${compactedRoot(prefix)}**/*.parquet`), { hivePartitioning: false })} WHERE ${subjectWhere}`)).toBe(0);

    // views: no file of any version holds the subject
    const views = await viewRowsAnywhere(subjectWhere);
    expect(Object.keys(views).sort()).toEqual(expect.arrayContaining(['attribution_purchases', 'fraud_events', 'user_activity', 'user_days']));
    expect(Object.values(views).every((n) => n === 0)).toBe(true);

    // the subject's earlier export went too
    expect(await listObjects(s3, bucket, `${prefix}/exports/${tenant}/`)).toEqual([]);

    // the audit record: what was removed where, for whom, by whom — tokens only, never the raw ids
    const text = (await getText(s3, bucket, result.auditKey))!;
    expect(result.auditKey).toContain(`${prefix}/audit/gdpr/tenant=${tenant}/`);
    expect(text).not.toContain(rawUserId);
    expect(text).not.toContain(anonymousId);
    const audit = JSON.parse(text) as AuditRecord;
    expect(audit).toMatchObject({
      kind: 'gdpr_erase',
      request_id: requestId,
      tenant,
      subject: { user_tokens: subject.userTokens, anonymous_id_sha256: subject.anonymousIdHashes },
      requested_by: 'gdpr-it',
      reason: 'ticket-42',
      outcome: 'complete',
      rows_removed: subjectRows,
      remaining: { raw: 0, pending: 0, compacted: 0, views: 0 },
    });
    expect(audit.objects).toHaveLength(objectsWithSubject);
    expect(audit.objects.every((o) => keysBefore.includes(o.key) && o.rows_after === o.rows_before - o.rows_removed && o.etag_before !== o.etag_after)).toBe(true);
    expect(audit.objects_deleted.sort()).toEqual([...files.only].sort());
    expect(audit.recomputed.hours.length).toBeGreaterThan(0);
    expect(audit.purged.compacted.length).toBeGreaterThan(0);
    expect(audit.purged.views.length).toBeGreaterThan(0);
    expect(audit.exports_deleted).toHaveLength(3);

    // a second erase of the same subject finds nothing and changes no raw object
    const etags = (await listObjects(s3, bucket, rawRoot(prefix))).map((o) => o.etag);
    const again = (await (await startGdpr(client, taskQueue, { kind: 'erase', subject, requestedBy: 'gdpr-it', prefix, purgeGraceMs: 0 })).handle.result()) as GdprEraseResult;
    expect(again).toMatchObject({ complete: true, rowsRemoved: 0, objectsRewritten: 0, batchRuns: [] });
    expect((await listObjects(s3, bucket, rawRoot(prefix))).map((o) => o.etag)).toEqual(etags);
    await query(`CREATE TABLE raw_after_erase AS SELECT * FROM ${rawAll()}`);
  });

  test('retention: rows past a tenant’s policy (from the control plane) are gone from raw, compacted and views; everything else is kept', async () => {
    const control = new ControlPlane(kafka, log, controlTopic);
    await control.start();
    try {
      await control.putTenants(tenants.map((tenant_id) => ({ tenant_id })));
      await control.setRetention(expiringTenant, 1);
      await control.setRetention(longTenant, 400);
    } finally {
      await control.stop();
    }
    expect(await readRetentionPolicies(kafka, log, controlTopic)).toEqual({ [expiringTenant]: 1, [longTenant]: 400 });
    // an export whose URLs expired (retention deletes it) and one still valid (kept)
    const exportsRoot = `${prefix}/exports/${longTenant}`;
    await putJson(s3, bucket, `${exportsRoot}/00000000-0000-4000-8000-000000000001/manifest.json`, { format: 1, user_tokens: [], expires_at: '2026-01-01T00:00:00.000Z' });
    await putJson(s3, bucket, `${exportsRoot}/00000000-0000-4000-8000-000000000001/events.json`, []);
    await putJson(s3, bucket, `${exportsRoot}/00000000-0000-4000-8000-000000000002/manifest.json`, { format: 1, user_tokens: [], expires_at: '2999-01-01T00:00:00.000Z' });

    const expired = await one(`SELECT count(*) FROM raw_after_erase WHERE ${expiredWhere}`);
    const lonelyObjects = (await rawKeys()).filter((k) => k.includes('/dt=2026-02-28/hour=20/'));
    const files = await filesHolding(expiredWhere);
    expect(expired).toBeGreaterThan(6);
    expect(lonelyObjects.length).toBeGreaterThan(0);
    expect(files.only).toEqual(expect.arrayContaining(lonelyObjects));
    const t0 = Date.now();
    const result: RetentionResult = await client.workflow.execute(RETENTION_WORKFLOW, { taskQueue, workflowId: uniqueName('gdpr-retention'), args: [{ prefix, asOf: RETENTION_AS_OF, purgeGraceMs: 0 }] });
    step(`retention: ${result.rowsRemoved} rows from ${result.objectsRewritten} objects (${result.objectsDeleted} deleted), ${result.hours.length} hours, ${Date.now() - t0} ms`);
    expect(result.cutoffs).toEqual([
      { tenant: expiringTenant, days: 1, beforeMs: Date.parse('2026-03-01T11:00:00Z') },
      { tenant: longTenant, days: 400, beforeMs: Date.parse('2025-01-26T11:00:00Z') },
    ].sort((a, b) => (a.tenant < b.tenant ? -1 : 1)));
    expect(result).toMatchObject({ rowsRemoved: expired, objectsRewritten: files.holding.length, objectsDeleted: files.only.length, remaining: { raw: 0, compacted: 0 }, exportsExpired: 2 });

    expect((await rawKeys()).filter((k) => files.only.includes(k))).toEqual([]);
    expect(await one(`SELECT count(*) FROM ${rawAll()} WHERE ${expiredWhere}`)).toBe(0);
    expect(await one(`SELECT count(*) FROM (SELECT * FROM ${rawAll()} EXCEPT ALL SELECT * FROM raw_after_erase WHERE ${notExpired})`)).toBe(0);
    expect(await one(`SELECT count(*) FROM (SELECT * FROM raw_after_erase WHERE ${notExpired} EXCEPT ALL SELECT * FROM ${rawAll()})`)).toBe(0);
    expect(await rawLayoutProblems()).toBe(0);
    expect(await one(`SELECT count(*) FROM ${rawEventsRelation(s3Url(bucket, `${compactedRoot(prefix)}**/*.parquet`), { hivePartitioning: false })} WHERE ${expiredWhere}`)).toBe(0);
    expect(await one(`SELECT count(*) FROM ${compactedRel(await liveCompacted())} WHERE tenant_id = ${q(expiringTenant)}`)).toBe(
      await one(`SELECT count(*) FROM (SELECT DISTINCT tenant_id, event_id FROM raw_after_erase WHERE tenant_id = ${q(expiringTenant)} AND ${notExpired})`),
    );
    expect((await listObjects(s3, bucket, `${exportsRoot}/`)).map((o) => o.key)).toEqual([`${exportsRoot}/00000000-0000-4000-8000-000000000002/manifest.json`]);
    const audit = JSON.parse((await getText(s3, bucket, result.auditKey))!) as AuditRecord;
    expect(audit).toMatchObject({ kind: 'retention', outcome: 'complete', rows_removed: expired, retention: { as_of: RETENTION_AS_OF } });
  });

  test('every view of the current version equals a full recompute from the raw rows that remain', async () => {
    // the remaining raw objects and the sink's marks, copied under another prefix, through the whole pipeline
    for (const o of await listObjects(s3, bucket, rawRoot(prefix))) {
      await s3.send(new CopyObjectCommand({ Bucket: bucket, CopySource: `${bucket}/${o.key}`, Key: o.key.replace(`${prefix}/raw/`, `${recomputePrefix}/raw/`) }));
    }
    await createManifestStore(s3, bucket, recomputePrefix, 'events').publishHighWater(await readHighWaterMarks(s3, bucket, prefix));
    const t0 = Date.now();
    const batch = await runBatch(recomputePrefix, { full: true });
    expect(batch.published).toBe(true);
    step(`recompute in ${recomputePrefix}: ${batch.viewHours.length} hours, ${Date.now() - t0} ms`);
    const [mine, fresh] = [await currentViews(prefix), await currentViews(recomputePrefix)];
    expect(mine.cut).toEqual(fresh.cut);
    const diffs: string[] = [];
    for (const view of VIEWS) {
      const [a, b] = [viewFileKeys(prefix, mine, view), viewFileKeys(recomputePrefix, fresh, view)];
      expect(a.length).toBe(b.length);
      if (a.length === 0) continue;
      const rel = (keys: string[]) => `read_parquet([${keys.map((k) => q(s3Url(bucket, k))).join(', ')}], hive_partitioning = false)`;
      const missing = await one(`SELECT count(*) FROM (SELECT * FROM ${rel(b)} EXCEPT ALL SELECT * FROM ${rel(a)})`);
      const extra = await one(`SELECT count(*) FROM (SELECT * FROM ${rel(a)} EXCEPT ALL SELECT * FROM ${rel(b)})`);
      if (missing + extra > 0) diffs.push(`${view.name}: ${missing} missing, ${extra} extra`);
    }
    expect(diffs).toEqual([]);
  });

  test('two rewrites of one object at once lose neither’s removals; uncommitted chunks are reported, never rewritten; bad input fails at once', async () => {
    const acts = createGdprActivities({ s3, bucket, lake: lake.instance });
    /** An activity in a mock context of its own (heartbeats, cancellation), with its own result type. */
    const call = <A extends unknown[], R>(fn: (...args: A) => Promise<R>, ...args: A): Promise<R> =>
      new MockActivityEnvironment(undefined, { logger: new DefaultLogger('ERROR') }).run(fn, ...args) as Promise<R>;
    // the condition every rewrite relies on: S3 refuses a PUT whose If-Match is not the current ETag
    const [anyKey] = await rawKeys();
    await expect(s3.send(new PutObjectCommand({ Bucket: bucket, Key: anyKey, Body: 'x', IfMatch: '"00000000000000000000000000000000"' }))).rejects.toMatchObject({ $metadata: { httpStatusCode: 412 } });

    // an object holding two users of one tenant: both erased at once, each retried as Temporal would
    const [pick] = await query(`
      SELECT filename, tenant_id, list(DISTINCT user_id ORDER BY user_id) AS users, count(*) AS n
      FROM read_parquet(${q(s3Url(bucket, `${rawRoot(prefix)}**/*.parquet`))}, filename = true, hive_partitioning = false, union_by_name = true)
      WHERE user_id IS NOT NULL GROUP BY filename, tenant_id HAVING count(DISTINCT user_id) >= 2 ORDER BY n DESC LIMIT 1`);
    const key = String(pick.filename).slice(`s3://${bucket}/`.length);
    const users = (pick.users as string[]).slice(0, 2);
    const file = `read_parquet(${q(String(pick.filename))})`;
    const rowsBefore = await one(`SELECT count(*) FROM ${file}`);
    const ofUsers = await one(`SELECT count(*) FROM ${file} WHERE tenant_id = ${q(String(pick.tenant_id))} AND user_id IN (${users.map(q).join(', ')})`);
    let lostRaces = 0;
    const erase = async (user: string) => {
      for (let attempt = 1; ; attempt++) {
        try {
          return await call(acts.rewriteWithout, { prefix, key, filter: { kind: 'subject' as const, subject: { tenant: String(pick.tenant_id), userTokens: [user] } } });
        } catch (err) {
          if (attempt >= 5 || (err as { nonRetryable?: boolean }).nonRetryable) throw err;
          lostRaces++;
        }
      }
    };
    const results = await Promise.all(users.map(erase));
    step(`concurrent rewrites of one object: ${results.map((r) => r.status).join(', ')}, ${lostRaces} lost race(s) retried`);
    expect(results.map((r) => r.status)).toEqual(['rewritten', 'rewritten']);
    expect(await one(`SELECT count(*) FROM ${file}`)).toBe(rowsBefore - ofUsers);
    expect(await one(`SELECT count(*) FROM ${file} WHERE user_id IN (${users.map(q).join(', ')})`)).toBe(0);

    // a chunk the sink has not committed: found as pending, left alone
    const pendingEvent = message(clone(subjectEvents[0], (c) => (c.event_metadata.event_id = 'pending-1')), k2);
    await layDown({ s3, bucket, duckdb: lake.connection }, [pendingEvent], { prefix, partitions: PARTITIONS, commit: false });
    const found = await call(acts.findSubjectFiles, { prefix, subject, views: false });
    expect(found.raw).toEqual([]);
    expect(found.pending).toHaveLength(1);
    const left = await call(acts.rewriteWithout, { prefix, key: found.pending[0].key, filter: { kind: 'subject' as const, subject } });
    expect(left).toMatchObject({ status: 'pending', removed: 0 });
    expect(await one(`SELECT count(*) FROM read_parquet(${q(s3Url(bucket, found.pending[0].key))}) WHERE event_id = 'pending-1'`)).toBe(1);

    // bad input: non-retryable InvalidInput, nothing touched
    await expect(call(acts.rewriteWithout, { prefix, key: 'elsewhere/raw/dt=2026-03-01/hour=10/p=00/0000000000000000000-0000000000000000001.parquet', filter: { kind: 'subject' as const, subject } })).rejects.toMatchObject({ nonRetryable: true, type: 'InvalidInput' });
    await expect(call(acts.findSubjectFiles, { prefix, subject: { tenant, userTokens: [rawUserId] } })).rejects.toMatchObject({ nonRetryable: true, type: 'InvalidInput' });
  });
});
