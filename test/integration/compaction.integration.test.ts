// Compaction activities on the real MinIO, called through Temporal's MockActivityEnvironment
// (heartbeats, cancellation and heartbeat details of a retry, without a server). Raw chunks are
// laid down in the sink's exact format (ingest/lay-down.ts) with late events, duplicates inside a
// chunk and across chunks, and a pending chunk above the high-water mark. The oracle is DuckDB
// over the committed raw chunks: the first occurrence by offset of every (tenant_id, event_id).
import { CopyObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { CancelledFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import pino from 'pino';
import { createCompactionActivities, type CompactHourProgress, type CompactHourResult } from '../../activities/compaction';
import { readCurrentHourManifest } from '../../activities/compaction-store';
import { openLakeDuckDb, s3Url, sqlLiteral, type OpenDuckDb } from '../../core/duckdb';
import { hourLabel, type HourRef } from '../../core/hours';
import { rawEventsRelation, rawRoot } from '../../core/lake';
import { SHARED_GROUP, compactedRoot, hourManifestVersions, liveFiles, type CompactionLayout, type HourManifest } from '../../core/lake-compacted';
import { createS3, deleteKeys, listObjects } from '../../core/s3';
import { EventGenerator } from '../../generator/generator';
import { generatedMessages, layDown, type LayDownMessage } from '../../ingest/lay-down';
import { createManifestStore, readHighWaterMarks } from '../../ingest/manifests';
import { cfg, uniqueName } from './helpers';

const PARTITIONS = 4;
/** Small enough that the test's few thousand events give dedicated tenants, shared files and splits. */
const LAYOUT: CompactionLayout = { targetFileBytes: 100_000, minDedicatedBytes: 30_000 };

const s3 = createS3(cfg.s3);
const bucket = cfg.s3.bucket;
let lake: OpenDuckDb;

beforeAll(async () => {
  lake = await openLakeDuckDb({ threads: 1, memoryLimit: '1GB', s3: cfg.s3, cacheDir: cfg.cacheDir });
});
afterAll(() => {
  lake.close();
  s3.destroy();
});

function activities(opts: { layout?: CompactionLayout; clockSkewMs?: number } = {}) {
  return createCompactionActivities({
    s3,
    bucket,
    lake: lake.instance,
    compactionLayout: opts.layout ?? LAYOUT,
    // About one file per staging pass: the multi-pass path runs too.
    stageBytes: 1_000_000,
    now: () => Date.now() + (opts.clockSkewMs ?? 0),
    logger: quiet,
  });
}

const quiet = pino({ level: 'silent' });
/** A mock activity context whose SDK logger keeps expected failures out of the output. */
const mockEnv = (info?: ConstructorParameters<typeof MockActivityEnvironment>[0]) => new MockActivityEnvironment(info, { logger: new DefaultLogger('ERROR') });

/** env.run with the activity's own result type (the SDK's signature does not infer it). */
function call<A extends unknown[], R>(env: MockActivityEnvironment, fn: (...args: A) => Promise<R>, ...args: A): Promise<R> {
  return env.run(fn, ...args) as Promise<R>;
}

async function query(sql: string): Promise<Record<string, unknown>[]> {
  const conn = await lake.instance.connect();
  try {
    await conn.run(`SET TimeZone = 'UTC'`);
    return (await conn.runAndReadAll(sql)).getRowObjectsJson() as Record<string, unknown>[];
  } finally {
    conn.closeSync();
  }
}

/** Every current hour manifest under the prefix. */
async function currentManifests(prefix: string): Promise<HourManifest[]> {
  const keys = (await listObjects(s3, bucket, `${prefix}/manifests/compaction/`)).map((o) => o.key);
  const out: HourManifest[] = [];
  for (const list of hourManifestVersions(keys).values()) {
    const current = await readCurrentHourManifest(s3, bucket, prefix, list[0]);
    out.push(current!.manifest!);
  }
  return out;
}

/**
 * Rows of the oracle and of the live compacted files that are not in the other (EXCEPT ALL both
 * ways, whole rows), and the counts. The oracle reads every raw object below the high-water mark.
 */
async function compareWithOracle(prefix: string): Promise<{ missing: number; extra: number; compacted: number; distinct: number; committedRaw: number }> {
  const marks = await readHighWaterMarks(s3, bucket, prefix);
  const below = `(${Object.entries(marks).map(([p, o]) => `(_partition = ${p} AND _offset < ${o})`).join(' OR ') || 'false'})`;
  const raw = rawEventsRelation(s3Url(bucket, `${rawRoot(prefix)}**/*.parquet`), { hivePartitioning: false });
  const oracle = `(SELECT * EXCLUDE (_n) FROM (SELECT *, row_number() OVER (PARTITION BY tenant_id, event_id ORDER BY _offset, _partition) AS _n FROM ${raw} WHERE ${below}) WHERE _n = 1)`;
  const files = (await currentManifests(prefix)).flatMap((m) => liveFiles(m).map((f) => s3Url(bucket, f.key)));
  const compacted = `(SELECT * FROM ${rawEventsRelation(files, { hivePartitioning: false })})`;
  const [r] = await query(`
    SELECT (SELECT count(*) FROM (SELECT * FROM ${oracle} EXCEPT ALL SELECT * FROM ${compacted}))::INTEGER AS missing,
           (SELECT count(*) FROM (SELECT * FROM ${compacted} EXCEPT ALL SELECT * FROM ${oracle}))::INTEGER AS extra,
           (SELECT count(*) FROM ${compacted})::INTEGER AS compacted,
           (SELECT count(*) FROM ${oracle})::INTEGER AS distinct,
           (SELECT count(*) FROM ${raw} WHERE ${below})::INTEGER AS committedRaw`);
  return r as { missing: number; extra: number; compacted: number; distinct: number; committedRaw: number };
}

async function snapshot(prefix: string): Promise<string[]> {
  return (await listObjects(s3, bucket, `${prefix}/`)).filter((o) => !o.key.includes('/raw/') && !o.key.includes('/sink/')).map((o) => `${o.key} ${o.etag}`);
}

async function compactAll(acts: ReturnType<typeof createCompactionActivities>, prefix: string): Promise<CompactHourResult[]> {
  const env = mockEnv();
  const plan = await call(env, acts.planCompaction, { prefix });
  const out: CompactHourResult[] = [];
  for (const h of plan.hours) out.push(await call(env, acts.compactHour, { prefix, ...h }));
  return out;
}

/** The event of a message with another event id (a new event at the same event time: late when laid down later). */
function withEventId(m: LayDownMessage, id: string): LayDownMessage {
  const e = JSON.parse(m.value);
  e.event_metadata.event_id = id;
  return { ...m, value: JSON.stringify(e) };
}

const eventTime = (m: LayDownMessage): string => JSON.parse(m.value).event_metadata.timestamp;

describe('compaction activities (real MinIO, DuckDB over s3://)', () => {
  const prefix = uniqueName('compaction');
  const deps = () => ({ s3, bucket, duckdb: lake.connection });
  // ~2.2 event hours of 30 Zipf-sized tenants, 5 % of events late by minutes to hours.
  const gen = new EventGenerator({ seed: 42, tenants: 30, users: 3000, rate: 0.5, defectRate: 0, lateRate: 0.05, startUs: Date.UTC(2026, 2, 1, 10) * 1000 });
  const a = [...generatedMessages(gen, 4000)];
  let acts: ReturnType<typeof activities>;
  let firstRun: CompactHourResult[];
  let pendingEnds: Record<string, number>;

  beforeAll(() => {
    acts = activities();
  });
  afterAll(async () => {
    await deleteKeys(s3, bucket, (await listObjects(s3, bucket, `${prefix}/`)).map((o) => o.key));
  });

  test('lays raw chunks down in the sink format; the pending chunk stays above the high-water mark', async () => {
    // A duplicate inside one chunk: the same message again 40 events later.
    const batchA = [...a.slice(0, 50), a[10], ...a.slice(50)];
    const laid = await layDown(deps(), batchA, { prefix, partitions: PARTITIONS, maxRows: 1500 });
    expect(laid).toMatchObject({ events: 4001, rows: 4001, rejected: 0 });
    expect(laid.chunks).toBeGreaterThan(PARTITIONS);
    // Uncommitted: a duplicate of an earlier chunk's event and a late event for the first hour.
    const pending = await layDown(deps(), [a[100], withEventId(a[5], 'late-pending-1')], { prefix, partitions: PARTITIONS, commit: false });
    expect(pending.events).toBe(2);
    pendingEnds = Object.fromEntries(Object.entries(pending.offsets).filter(([, o]) => o.next > o.start).map(([p, o]) => [p, o.next]));
    const marks = await readHighWaterMarks(s3, bucket, prefix);
    expect(marks).toEqual(Object.fromEntries(Object.entries(laid.offsets).map(([p, o]) => [p, o.next])));
  });

  test('bad input fails without retries', async () => {
    const env = mockEnv();
    await expect(call(env, acts.compactHour, { prefix, dt: '2026-13-01', hour: 3 })).rejects.toMatchObject({ nonRetryable: true, type: 'InvalidInput' });
    await expect(call(env, acts.compactHour, { prefix, dt: '2026-03-01', hour: 24 })).rejects.toMatchObject({ nonRetryable: true });
    await expect(call(env, acts.compactHour, { prefix, dt: '2026-03-01', hour: 10, tenant: '../etc' })).rejects.toMatchObject({ nonRetryable: true });
    await expect(call(env, acts.sweepSuperseded, { prefix, graceMs: -1 })).rejects.toMatchObject({ nonRetryable: true });
  });

  test('compacts every hour to exactly the distinct events of the committed chunks (oracle: DuckDB over raw)', async () => {
    const heartbeats: unknown[] = [];
    const env = mockEnv();
    env.on('heartbeat', (d) => heartbeats.push(d));
    const plan = await call(env, acts.planCompaction, { prefix });
    expect(plan.hours.length).toBeGreaterThanOrEqual(3);
    expect(plan.pendingChunks).toBeGreaterThan(0);
    firstRun = [];
    for (const h of plan.hours) firstRun.push(await call(env, acts.compactHour, { prefix, ...h }));
    expect(firstRun.every((r) => r.status === 'compacted' && r.mode === 'full')).toBe(true);
    expect(heartbeats.some((d) => (d as CompactHourProgress).phase === 'writing')).toBe(true);

    const cmp = await compareWithOracle(prefix);
    expect(cmp).toMatchObject({ missing: 0, extra: 0 });
    expect(cmp.compacted).toBe(4000); // 4001 committed rows, one duplicate
    expect(cmp.committedRaw).toBe(4001);
    expect(firstRun.reduce((n, r) => n + r.rows, 0)).toBe(4000);

    // Dedicated tenants, a shared group, and a big tenant split into several files.
    const manifests = await currentManifests(prefix);
    const groups = manifests.flatMap((m) => m.groups);
    expect(groups.some((g) => g.group === SHARED_GROUP && g.tenants.length > 1)).toBe(true);
    expect(groups.some((g) => g.group !== SHARED_GROUP && g.files.length > 1)).toBe(true);
    for (const m of manifests) {
      for (const g of m.groups) {
        if (g.group !== SHARED_GROUP) expect(g.tenants).toEqual([g.group]);
        expect(g.rows).toBeGreaterThanOrEqual(g.group === SHARED_GROUP ? 0 : m.budgets.min_dedicated_rows);
        for (const f of g.files) expect(f.rows).toBeLessThanOrEqual(m.budgets.rows_per_file);
      }
    }
  });

  test('files are zstd, sorted by (tenant_id, event_time, _offset), and the Hive glob reads the right tenant_id', async () => {
    const files = (await currentManifests(prefix)).flatMap((m) => liveFiles(m).map((f) => s3Url(bucket, f.key)));
    const list = `[${files.map(sqlLiteral).join(', ')}]`;
    const codecs = await query(`SELECT DISTINCT compression FROM parquet_metadata(${list})`);
    expect(codecs).toEqual([{ compression: 'ZSTD' }]);
    const [unsorted] = await query(`
      SELECT count(*)::INTEGER AS n FROM (
        SELECT (tenant_id, event_time, _offset) < lag((tenant_id, event_time, _offset)) OVER (PARTITION BY filename ORDER BY file_row_number) AS back
        FROM read_parquet(${list}, filename = true, file_row_number = true)) WHERE back`);
    expect(unsorted.n).toBe(0);
    // The documented way to read the compacted layer: one glob, Hive partitioning on.
    const glob = sqlLiteral(s3Url(bucket, `${compactedRoot(prefix)}**/*.parquet`));
    const byGroup = await query(`
      SELECT tenant_group = '${SHARED_GROUP}' AS shared, count(*)::INTEGER AS rows, count(*) FILTER (WHERE tenant_id = tenant_group)::INTEGER AS own_dir,
             count(*) FILTER (WHERE tenant_id LIKE '\\_%' ESCAPE '\\')::INTEGER AS odd_tenant
      FROM read_parquet(${glob}, hive_partitioning = true, hive_types = {'tenant_group': VARCHAR}) GROUP BY ALL ORDER BY ALL`);
    expect(byGroup).toEqual([
      { shared: false, rows: expect.any(Number), own_dir: expect.any(Number), odd_tenant: 0 },
      { shared: true, rows: expect.any(Number), own_dir: 0, odd_tenant: 0 },
    ]);
    expect(byGroup[0].rows).toBe(byGroup[0].own_dir);
    // A tenant filter sees its shared-file rows too (the Hive value never stands in for tenant_id).
    const small = (await currentManifests(prefix)).flatMap((m) => m.groups).find((g) => g.group === SHARED_GROUP)!.tenants[0];
    const [viaGlob] = await query(`SELECT count(*)::INTEGER AS n FROM read_parquet(${glob}, hive_partitioning = true) WHERE tenant_id = ${sqlLiteral(small)}`);
    const [viaList] = await query(`SELECT count(*)::INTEGER AS n FROM read_parquet(${list}) WHERE tenant_id = ${sqlLiteral(small)}`);
    expect(viaGlob.n).toBe(viaList.n);
    expect(viaGlob.n).toBeGreaterThan(0);
  });

  test('running compaction twice changes nothing', async () => {
    const before = await snapshot(prefix);
    const env = mockEnv();
    expect((await call(env, acts.planCompaction, { prefix })).hours).toEqual([]);
    for (const r of firstRun) {
      const [dt, hh] = r.hour.split('T');
      const again = await call(env, acts.compactHour, { prefix, dt, hour: Number(hh) });
      expect(again).toMatchObject({ status: 'unchanged', rows: r.rows, version: 1, files: { live: r.files.live, written: 0 } });
    }
    expect(await snapshot(prefix)).toEqual(before);
  });

  test('a committed chunk with late events and a cross-chunk duplicate recompacts only the touched groups', async () => {
    // The sink commits the pending chunk: its end is published as durable.
    const marks = await readHighWaterMarks(s3, bucket, prefix);
    await createManifestStore(s3, bucket, prefix, 'events').publishHighWater(pendingEnds);
    expect(await readHighWaterMarks(s3, bucket, prefix)).toEqual({ ...marks, ...pendingEnds });

    const env = mockEnv();
    const plan = await call(env, acts.planCompaction, { prefix });
    const firstHour = firstRun.find((r) => r.hour === hourLabel(hourOfIso(eventTime(a[5]))))!;
    expect(plan.hours.map(hourLabel)).toContain(firstHour.hour);
    expect(plan.hours.length).toBeLessThan(firstRun.length);
    for (const h of plan.hours) {
      const r = await call(env, acts.compactHour, { prefix, ...h });
      expect(r).toMatchObject({ status: 'compacted', mode: 'incremental', version: 2 });
      expect(r.groups.rewritten).toBeLessThan(r.groups.live);
      expect(r.files.superseded).toBeGreaterThan(0);
    }
    const cmp = await compareWithOracle(prefix);
    expect(cmp).toMatchObject({ missing: 0, extra: 0, compacted: 4001, committedRaw: 4003 });

    // docs/lake.md's recipe for the live files in plain DuckDB SQL picks each hour's current version.
    const conn = await lake.instance.connect();
    try {
      await conn.run(`SET VARIABLE compacted = (
        SELECT list(${sqlLiteral(`s3://${bucket}/`)} || f.key) FROM (
          SELECT unnest(flatten([g.files FOR g IN groups])) AS f FROM (
            SELECT groups FROM read_json(${sqlLiteral(s3Url(bucket, `${prefix}/manifests/compaction/**/*.json`))})
            QUALIFY row_number() OVER (PARTITION BY dt, hour ORDER BY version DESC) = 1)))`);
      const [viaSql] = (await conn.runAndReadAll(`SELECT list_sort(getvariable('compacted')) AS files, (SELECT count(*) FROM read_parquet(getvariable('compacted')))::INTEGER AS n`)).getRowObjectsJson();
      const live = (await currentManifests(prefix)).flatMap((m) => liveFiles(m).map((f) => s3Url(bucket, f.key))).sort();
      expect(viaSql).toEqual({ files: live, n: 4001 });
    } finally {
      conn.closeSync();
    }
  });

  test('a compactHour cancelled after its first file resumes from its heartbeat details and converges', async () => {
    // Late events (and a duplicate) of the biggest tenant of the busiest hour: its group (several files) is rewritten.
    const manifests = await currentManifests(prefix);
    const first = manifests.sort((x, y) => y.rows - x.rows)[0];
    const big = first.groups.filter((g) => g.group !== SHARED_GROUP).sort((x, y) => y.files.length - x.files.length)[0];
    expect(big.files.length).toBeGreaterThan(1);
    const ofBig = a.filter((m) => JSON.parse(m.value).tenant_id === big.group && hourLabel(hourOfIso(eventTime(m))) === hourLabel(first));
    await layDown(deps(), [withEventId(ofBig[0], 'late-retry-1'), withEventId(ofBig[1], 'late-retry-2'), ofBig[2]], { prefix, partitions: PARTITIONS });

    const hour: HourRef = { dt: first.dt, hour: first.hour };
    const attempt1 = mockEnv({ attempt: 1 });
    let last: CompactHourProgress | undefined;
    attempt1.on('heartbeat', (d: CompactHourProgress) => {
      last = d;
      if (d.phase === 'writing' && d.filesDone === 1) attempt1.cancel();
    });
    await expect(call(attempt1, acts.compactHour, { prefix, ...hour })).rejects.toBeInstanceOf(CancelledFailure);
    expect(last).toMatchObject({ phase: 'writing', filesDone: 1 });
    expect(last!.written).toHaveLength(1);
    // Nothing was published: the hour's current manifest is still the one before.
    expect((await readCurrentHourManifest(s3, bucket, prefix, hour))!.ref.version).toBe(first.version);

    const attempt2 = mockEnv({ attempt: 2, heartbeatDetails: last });
    const r = await call(attempt2, acts.compactHour, { prefix, ...hour, tenant: big.group });
    expect(r).toMatchObject({ status: 'compacted', version: first.version + 1, files: { reused: 1 } });
    expect(r.files.written).toBeGreaterThan(0);
    expect(r.tenant).toMatchObject({ id: big.group, group: big.group });
    expect(r.tenant!.files.length).toBeGreaterThan(1);

    const cmp = await compareWithOracle(prefix);
    expect(cmp).toMatchObject({ missing: 0, extra: 0, compacted: 4003 });
    // And a further attempt changes nothing.
    expect(await call(mockEnv(), acts.compactHour, { prefix, ...hour })).toMatchObject({ status: 'unchanged' });
  });

  test('superseded files are swept only after the grace period, orphans only after theirs, live files never', async () => {
    // An orphan: a file no manifest lists (a run that died before publishing).
    const live = (await currentManifests(prefix)).flatMap(liveFiles);
    const orphanKey = live[0].key.replace(/\/[0-9a-f]{16}-\d{4}\.parquet$/, '/00000000deadbeef-0000.parquet');
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: orphanKey, Body: 'not parquet' }));
    const compactedBefore = (await listObjects(s3, bucket, compactedRoot(prefix))).length;
    const env = mockEnv();

    const inGrace = await call(env, acts.sweepSuperseded, { prefix, graceMs: 3_600_000 });
    expect(inGrace).toMatchObject({ deletedFiles: 0, deletedManifests: 0 });
    expect(inGrace.waiting).toBe(compactedBefore - live.length);

    const later = await call(env, activities({ clockSkewMs: 2 * 3_600_000 }).sweepSuperseded, { prefix, graceMs: 3_600_000 });
    expect(later.deletedFiles).toBe(compactedBefore - live.length - 1);
    expect(later.orphans).toBe(0);
    expect(later.deletedManifests).toBeGreaterThan(0);
    const remaining = (await listObjects(s3, bucket, compactedRoot(prefix))).map((o) => o.key).sort();
    expect(remaining).toEqual([...live.map((f) => f.key), orphanKey].sort());

    const muchLater = await call(env, activities({ clockSkewMs: 7 * 3_600_000 }).sweepSuperseded, { prefix, graceMs: 3_600_000 });
    expect(muchLater).toMatchObject({ deletedFiles: 1, orphans: 1, waiting: 0 });
    expect(await compareWithOracle(prefix)).toMatchObject({ missing: 0, extra: 0 });
    expect((await call(env, acts.planCompaction, { prefix })).hours).toEqual([]);
  });
});

function hourOfIso(iso: string): HourRef {
  return { dt: iso.slice(0, 10), hour: Number(iso.slice(11, 13)) };
}

describe('file counts with many small tenants', () => {
  const prefix = uniqueName('compaction-counts');
  afterAll(async () => {
    await deleteKeys(s3, bucket, (await listObjects(s3, bucket, `${prefix}/`)).map((o) => o.key));
  });

  test('a thousand Zipf-sized tenants: compacted files per hour versus one file per tenant-hour', async () => {
    const events = 30_000;
    const gen = new EventGenerator({ seed: 7, tenants: 1000, users: 50_000, rate: 10, defectRate: 0, startUs: Date.UTC(2026, 2, 2, 8) * 1000 });
    const laid = await layDown({ s3, bucket, duckdb: lake.connection }, generatedMessages(gen, events), { prefix, partitions: 6, maxRows: 10_000 });
    const rawObjects = (await listObjects(s3, bucket, rawRoot(prefix))).length;
    const [tenantHours] = await query(`
      SELECT count(*)::INTEGER AS n, count(DISTINCT tenant_id)::INTEGER AS tenants
      FROM (SELECT DISTINCT tenant_id, date_trunc('hour', event_time) FROM ${rawEventsRelation(s3Url(bucket, `${rawRoot(prefix)}**/*.parquet`))})`);
    const report: Record<string, unknown> = { events, rawObjects, tenants: tenantHours.tenants, tenantHours: tenantHours.n, layDownMs: laid.ms };
    for (const [name, layout] of Object.entries({ default: undefined, small: { targetFileBytes: 1_000_000, minDedicatedBytes: 250_000 } })) {
      const sub = `${prefix}/${name}`;
      // Same raw chunks under each sub-prefix: copy the objects and the high-water mark.
      for (const o of await listObjects(s3, bucket, `${prefix}/raw/`)) {
        await s3.send(new CopyObjectCommand({ Bucket: bucket, CopySource: `${bucket}/${o.key}`, Key: o.key.replace(`${prefix}/raw/`, `${sub}/raw/`) }));
      }
      await createManifestStore(s3, bucket, sub, 'events').publishHighWater(await readHighWaterMarks(s3, bucket, prefix));
      const started = Date.now();
      const results = await compactAll(createCompactionActivities({ s3, bucket, lake: lake.instance, logger: quiet, ...(layout ? { compactionLayout: layout } : {}) }), sub);
      const ms = Date.now() - started;
      const files = results.reduce((n, r) => n + r.files.live, 0);
      const rows = results.reduce((n, r) => n + r.rows, 0);
      report[name] = {
        hours: results.length,
        files,
        dedicatedTenantHours: results.reduce((n, r) => n + r.groups.dedicated, 0),
        sharedTenantHours: results.reduce((n, r) => n + r.groups.sharedTenants, 0),
        rows,
        ms,
        rowsPerSecond: Math.round((rows / ms) * 1000),
      };
      expect(rows).toBe(events);
      expect(files).toBeLessThan(Number(tenantHours.n) / 10);
    }
    process.stderr.write(`[compaction file counts] ${JSON.stringify(report)}\n`);
  });
});
