// The product's promise on the real stack: live and batch merged exactly, through the API.
// Generator traffic with late, out-of-order and duplicate events flows into Kafka; the lake sink
// drains it in rounds; the speed layer runs as `rtap speed`; batch runs (the real `batchRun`
// workflow on a Temporal worker) publish new cuts while traffic continues. At random moments,
// random queries (measures × dimensions × grains × ranges spanning the cut) go through the HTTP
// API. Each answer must equal DuckDB over the raw events up to its own meta (every event with
// _offset < max(batch_cut[p], live_offsets[p]), first occurrence of each event id): exactly for
// counts and sums, within the sketch's documented error for distinct counts.
import type { ChildProcess } from 'node:child_process';
import * as fs from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Client } from '@temporalio/client';
import { createActivities } from '../../activities';
import { BATCH_WORKFLOW, type BatchRunResult } from '../../core/batch-run';
import { ControlPlane } from '../../core/control';
import { openDuckDb, openLakeDuckDb, sqlLiteral } from '../../core/duckdb';
import { createKafka, IDEMPOTENT_RETRY } from '../../core/kafka';
import { rawEventsRelation } from '../../core/lake';
import { createLogger } from '../../core/logger';
import { createS3, getText, listObjects } from '../../core/s3';
import { hourRecordsRoot } from '../../core/lake-views';
import { EventGenerator } from '../../generator/generator';
import { encodeInputLine, flattenToParquet, prepareConnection, writeInputFile } from '../../ingest/flatten';
import { DIMENSIONS } from '../../serving/analytics/query-model';
import { startApi, type RunningApi } from '../../serving/main';
import { lakeViews } from '../../cli/sql';
import { cfg, produceWithResends, spawnSpeed, uniqueName } from './helpers';
import { startTestWorker, type TestWorker } from './temporal-worker';
import { createTopics, readTopic } from './kafka-read';
import { drainToLake } from './lake-read';
import { mulberry32 as prng } from '../../core/random';

jest.setTimeout(600_000);

const PARTITIONS = 3;
const B = 200;
const QUERIES_PER_ROUND = 14;
const ROUNDS = 4;
/** Public dimension → its raw lake column (the oracle reads the lake's own columns). */
const COLUMN: Record<string, string> = { event_type: 'event_type', country: 'country', device_type: 'device_type', browser: 'browser_name', payment_provider: 'payment_provider', category_l1: 'category_l1', source_system: 'source_system' };

interface Asked {
  tenant: string;
  body: { measures: string[]; dimensions: string[]; grain: string; time_range: { from: string; to: string }; filters: { dimension: string; op: 'in' | 'not_in'; values: string[] }[]; limit: number };
  rows: Record<string, string | number | null>[];
  meta: { batch_cut: Record<string, number>; live_offsets: Record<string, number>; batch_version: string | null; total_rows: number };
}


describe('serving: the merged answer equals DuckDB over the raw events up to its meta', () => {
  const kafka = createKafka(cfg.kafka, { clientId: uniqueName('merge-it') });
  const topics = { events: uniqueName('merge-events'), dlq: uniqueName('merge-dlq'), control: uniqueName('merge-control'), speedWindows: uniqueName('merge-windows') };
  const results = uniqueName('merge-results');
  const anomalies = uniqueName('merge-anomalies');
  const prefix = `${uniqueName('merge-it')}/`;
  const sinkGroup = uniqueName('merge-sink');
  const taskQueue = uniqueName('merge-batch');
  const s3 = createS3(cfg.s3);
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, retry: IDEMPOTENT_RETRY });
  // An hour of traffic compressed: event times spread over hours, so views have many hour units.
  const gen = new EventGenerator({ seed: 5, tenants: 3, users: 300, rate: 0.5, lateRate: 0.08, defectRate: 0.03, fraudRate: 0.01 });
  const sent: { key: string; value: string }[] = [];
  const children = new Set<ChildProcess>();
  const control = new ControlPlane(kafka, createLogger('test'), topics.control);
  let api: RunningApi;
  let base: string;
  let key: string;
  let tenants: string[];
  let worker: TestWorker | undefined;
  let client: Client;
  let lake: Awaited<ReturnType<typeof openLakeDuckDb>>;

  beforeAll(async () => {
    await createTopics(kafka, [
      { topic: topics.events, numPartitions: PARTITIONS },
      { topic: topics.dlq, numPartitions: 1 },
      { topic: topics.control, numPartitions: 1 },
      { topic: topics.speedWindows, numPartitions: PARTITIONS, configEntries: [{ name: 'cleanup.policy', value: 'compact' }] },
      { topic: results, numPartitions: PARTITIONS },
      { topic: anomalies, numPartitions: 1 },
    ]);
    await producer.connect();
    await control.start();
    tenants = gen.world.tenants.map((t) => t.id);
    await control.putTenants(tenants.map((tenant_id) => ({ tenant_id })));
    key = (await control.createApiKey('*', ['viewer', 'analyst'], 'merge test platform key')).apiKey;

    api = await startApi(cfg, topics, { lakePrefix: prefix, port: 0, offsetBucketSize: B });
    base = `http://127.0.0.1:${(api.server.address() as AddressInfo).port}`;

    lake = await openLakeDuckDb({ threads: 1, memoryLimit: '1GB', s3: cfg.s3, cacheDir: cfg.cacheDir });
    worker = await startTestWorker(taskQueue, createActivities({ s3, bucket: cfg.s3.bucket, duckdb: lake.connection, lake: lake.instance, offsetBucketSize: B }));
    client = worker.client;
  });

  afterAll(async () => {
    for (const c of children) c.kill('SIGKILL');
    await worker?.stop();
    await api?.close();
    await control.stop();
    await producer.disconnect();
    lake?.close();
    s3.destroy();
  });

  async function produce(n: number): Promise<void> {
    await produceWithResends(producer, topics.events, gen, n, sent, { every: 53, behind: 30 });
  }

  function startSpeed(): ChildProcess {
    return spawnSpeed(children, {
      topics: { events: topics.events, changelog: topics.speedWindows, results, anomalies, control: topics.control },
      group: uniqueName('merge-speed'),
      instance: uniqueName('i'),
      prefix,
      offsetBucketSize: B,
      args: ['--cut-poll-ms', '1000'],
    });
  }

  async function ask(body: Asked['body']): Promise<Asked> {
    const tenant = tenants[Math.floor(rnd() * tenants.length)];
    const res = await fetch(`${base}/api/v2/analytics/query?tenant=${tenant}`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': key }, body: JSON.stringify(body) });
    const text = await res.text();
    if (res.status !== 200) throw new Error(`query ${JSON.stringify(body)} → ${res.status} ${text}`);
    const out = JSON.parse(text) as { data: Asked['rows']; meta: Asked['meta'] };
    return { tenant, body, rows: out.data, meta: out.meta };
  }

  const rnd = prng(99);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)];

  function randomQuery(): Asked['body'] {
    const grain = pick(['minute', 'hour', 'day', 'all']);
    const dimension = rnd() < 0.3 ? null : pick(Object.keys(DIMENSIONS));
    // event times of the generator's traffic: from its start over the hours it has covered
    const startMs = genStartUs / 1000;
    const spanH = Math.max(1, Math.ceil((lastEventUs / 1000 - startMs) / 3_600_000));
    const fromH = Math.floor(rnd() * spanH);
    const toH = fromH + 1 + Math.floor(rnd() * (spanH - fromH + 1));
    const hourStart = Math.floor(startMs / 3_600_000) * 3_600_000;
    const jitter = grain === 'minute' || grain === 'all' ? Math.floor(rnd() * 50) * 60_000 : 0;
    // whole days with counts and sums only: what the API answers from its resident day-view tables
    const wholeDays = (grain === 'day' || grain === 'all') && rnd() < 0.5;
    const dayStart = Math.floor(startMs / 86_400_000) * 86_400_000;
    const from = new Date(wholeDays ? dayStart : hourStart + fromH * 3_600_000 + jitter).toISOString();
    const to = new Date(wholeDays ? (Math.floor(lastEventUs / 86_400_000_000) + 1) * 86_400_000 : hourStart + toH * 3_600_000).toISOString();
    const filters = dimension && rnd() < 0.3 ? [{ dimension, op: pick(['in', 'not_in'] as const), values: dimension === 'country' ? ['US', 'DE', 'GB'] : ['user_interaction', 'Chrome', 'mobile', 'visa', 'web_app'] }] : [];
    const measures = ['events', 'orders', 'revenue', 'refund_amount', ...(wholeDays ? [] : ['distinct_users'])];
    return { measures, dimensions: dimension ? [dimension] : [], grain, time_range: { from, to }, filters, limit: 10_000 };
  }

  let genStartUs = 0;
  let lastEventUs = 0;
  const trackTimes = () => {
    for (const m of sent.slice(-2000)) {
      const t = Date.parse((JSON.parse(m.value) as { event_metadata?: { timestamp?: string } }).event_metadata?.timestamp ?? '') * 1000;
      if (Number.isFinite(t)) {
        genStartUs = genStartUs === 0 ? t : Math.min(genStartUs, t);
        lastEventUs = Math.max(lastEventUs, t);
      }
    }
  };

  it('≥ 50 random queries at random moments, while cuts are published, equal the oracle', async () => {
    startSpeed();
    const asked: Asked[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      await produce(1500);
      trackTimes();
      const { covered } = await drainToLake(kafka, s3, topics, prefix, sinkGroup);
      expect(covered).toBe(true);
      // a batch run publishes a new cut while more traffic arrives and queries run
      const run = client.workflow.execute(BATCH_WORKFLOW, { taskQueue, workflowId: uniqueName('merge-batch'), args: [{ prefix }] });
      const traffic = produce(600);
      for (let i = 0; i < QUERIES_PER_ROUND; i++) {
        asked.push(await ask(randomQuery()));
        await new Promise((r) => setTimeout(r, Math.floor(rnd() * 400)));
      }
      const result: BatchRunResult = await run;
      await traffic;
      trackTimes();
      expect(result.published).toBe(true);
      // the cut was chosen before compaction, so every recomputed hour read its compacted files
      const records = await listObjects(s3, cfg.s3.bucket, hourRecordsRoot(prefix, result.version!));
      const sources = await Promise.all(records.map(async (o) => (JSON.parse((await getText(s3, cfg.s3.bucket, o.key)) ?? "{}") as { hour: string; source?: string; rows: number })));
      expect(sources.length).toBe(result.viewHours.length);
      expect(sources.filter((h) => h.rows > 0 && h.source !== 'compacted')).toEqual([]);
    }
    await api.analyticsReady;
    const cuts = new Set(asked.map((a) => JSON.stringify(a.meta.batch_cut)));
    // the queries saw several cuts, and both sides contributed
    expect(cuts.size).toBeGreaterThanOrEqual(3);
    expect(asked.length).toBeGreaterThanOrEqual(50);
    // answers with rows, and answers where the live side held events beyond the cut
    expect(asked.filter((a) => a.rows.length > 0).length).toBeGreaterThanOrEqual(40);
    expect(asked.filter((a) => Object.entries(a.meta.live_offsets).some(([p, o]) => o > (a.meta.batch_cut[p] ?? 0))).length).toBeGreaterThanOrEqual(10);
    expect(asked.filter((a) => a.meta.batch_version !== null).length).toBeGreaterThanOrEqual(40);

    // the oracle: every event from Kafka with its coordinates, through the sink's own flatten
    const raw = await readTopic(kafka, topics.events, 1, { settleMs: 3000, timeoutMs: 60_000 });
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'rtap-merge-it-'));
    const db = await openDuckDb({ threads: 2, memoryLimit: '1GB' });
    const mismatches: string[] = [];
    try {
      await prepareConnection(db.connection);
      const lines = raw.map((m) => encodeInputLine({ partition: m.partition, offset: Number(m.offset), timestampMs: 0, value: Buffer.from(m.value) }));
      const input = path.join(dir, 'in.txt');
      await writeInputFile(input, lines.map((l) => ('line' in l ? l.line : '')));
      const flat = await flattenToParquet(db.connection, input, dir);
      await db.connection.run(`CREATE TABLE ev AS SELECT * FROM ${rawEventsRelation(flat.objects.map((o) => o.file), { hivePartitioning: false })}`);
      for (const a of asked) mismatches.push(...(await compare(db.connection, a)));
    } finally {
      db.close();
      await fs.rm(dir, { recursive: true, force: true });
    }
    expect(mismatches.slice(0, 10)).toEqual([]);

    // the same lake through `rtap sql`'s views: raw, compacted (deduplicated) and the published views
    const viewsOf = async (tenant?: string) => {
      const views = await lakeViews(cfg, s3, { prefix, ...(tenant ? { tenant } : {}) });
      const sql = await openLakeDuckDb({ threads: 1, memoryLimit: '1GB', s3: cfg.s3, cacheDir: cfg.cacheDir });
      try {
        for (const v of views) await sql.connection.run(`CREATE VIEW ${v.name} AS ${v.select}`);
        const one = async (q: string) => (await sql.connection.runAndReadAll(q)).getRowObjectsJson()[0];
        return {
          names: views.map((v) => v.name),
          raw: await one('SELECT count(*)::INTEGER AS n, count(DISTINCT (tenant_id, event_id))::INTEGER AS distinct_events, count(DISTINCT tenant_id)::INTEGER AS tenants FROM events'),
          compacted: await one('SELECT count(*)::INTEGER AS n, count(DISTINCT (tenant_id, event_id))::INTEGER AS distinct_events, count(DISTINCT tenant_id)::INTEGER AS tenants FROM events_compacted'),
          cells: await one('SELECT count(DISTINCT tenant_id)::INTEGER AS tenants, sum(events)::INTEGER AS events FROM event_type_1d'),
        };
      } finally {
        sql.close();
      }
    };
    const all = await viewsOf();
    expect(all.names).toEqual(expect.arrayContaining(['events', 'events_compacted', 'event_type_1m', 'funnel_1d', 'cohorts_weekly']));
    expect(all.raw.n).toBeGreaterThan(all.raw.distinct_events as number); // duplicates were sent
    expect(all.compacted).toEqual({ n: all.raw.distinct_events, distinct_events: all.raw.distinct_events, tenants: all.raw.tenants });
    const one = await viewsOf(tenants[0]);
    expect(one.raw.tenants).toBe(1);
    expect(one.compacted.tenants).toBe(1);
    expect(one.cells.tenants).toBe(1);
  });
});

/** The oracle for one asked query, and the differences from what the API answered. */
async function compare(conn: Awaited<ReturnType<typeof openDuckDb>>['connection'], a: Asked): Promise<string[]> {
  const tenant = a.tenant;
  const covered = Object.entries({ ...a.meta.live_offsets, ...a.meta.batch_cut })
    .map(([p]) => `(_partition = ${Number(p)} AND _offset < ${Math.max(a.meta.batch_cut[p] ?? 0, a.meta.live_offsets[p] ?? 0)})`)
    .join(' OR ');
  const dim = a.body.dimensions[0];
  const col = dim ? COLUMN[dim] : undefined;
  const grainUs = { minute: 60_000_000, hour: 3_600_000_000, day: 86_400_000_000 }[a.body.grain as 'minute'];
  const fromUs = Math.floor(Date.parse(a.body.time_range.from) / 60_000) * 60_000_000;
  const toUs = Math.ceil(Date.parse(a.body.time_range.to) / 60_000) * 60_000_000;
  const window = grainUs ? `(epoch_us(event_time) // ${grainUs}) * ${grainUs}` : `${fromUs}`;
  const filters = a.body.filters
    .map((f) => (f.op === 'in' ? `${col} IN (${f.values.map(sqlLiteral).join(', ')})` : `(${col} IS NULL OR ${col} NOT IN (${f.values.map(sqlLiteral).join(', ')}))`))
    .map((c) => ` AND ${c}`)
    .join('');
  const sql = `WITH firsts AS (
      SELECT * FROM ev WHERE tenant_id = ${sqlLiteral(tenant)} AND (${covered || 'false'})
      QUALIFY row_number() OVER (PARTITION BY tenant_id, event_id ORDER BY _offset) = 1)
    SELECT strftime(make_timestamp(${window}::BIGINT), '%Y-%m-%dT%H:%M:%S.000Z') AS window_start, ${col ? `${col} AS dim,` : ''}
      count(*)::INTEGER AS events,
      count(*) FILTER (WHERE event_subtype = 'purchase')::INTEGER AS orders,
      coalesce(sum(final_total) FILTER (WHERE event_subtype = 'purchase'), 0)::DOUBLE AS revenue,
      coalesce(sum(final_total) FILTER (WHERE event_subtype = 'refund'), 0)::DOUBLE AS refund_amount,
      count(DISTINCT user_id)::INTEGER AS users
    FROM firsts WHERE epoch_us(event_time) >= ${fromUs} AND epoch_us(event_time) < ${toUs}${filters}
    GROUP BY ALL`;
  // a grain-`all` total without a dimension groups by a constant only: over no events DuckDB still
  // answers one row of zeros, where the API has no row (a row needs a cell, a cell an event)
  const want = (await conn.runAndReadAll(sql)).getRowObjectsJson().filter((w) => Number(w.events) > 0);
  const label = JSON.stringify({ tenant, grain: a.body.grain, dim, range: a.body.time_range, filters: a.body.filters, cut: a.meta.batch_cut, live: a.meta.live_offsets });
  const out: string[] = [];
  const rowKey = (windowStart: unknown, value: unknown) => `${String(windowStart)}|${dim ? JSON.stringify(value ?? null) : ''}`;
  const got = new Map(a.rows.map((r) => [rowKey(r.window_start, dim ? r[dim] : null), r]));
  if (want.length !== a.rows.length) out.push(`${label}: ${a.rows.length} rows, oracle ${want.length}`);
  for (const w of want) {
    const g = got.get(rowKey(w.window_start, w.dim));
    if (!g) {
      out.push(`${label}: missing row ${w.window_start} ${String(w.dim)}`);
      continue;
    }
    if (g.events !== w.events || g.orders !== w.orders) out.push(`${label} ${w.window_start} ${String(w.dim)}: events/orders ${g.events}/${g.orders}, oracle ${w.events}/${w.orders}`);
    for (const m of ['revenue', 'refund_amount'] as const) if (Math.abs(Number(g[m]) - Number(w[m])) > 1e-6 * Math.max(1, Math.abs(Number(w[m])))) out.push(`${label} ${w.window_start}: ${m} ${g[m]}, oracle ${w[m]}`);
    // HyperLogLog p = 14: ~0.8 % standard error; 2 % documented bound, +1 for tiny sets
    const users = Number(w.users);
    if (a.body.measures.includes('distinct_users') && Math.abs(Number(g.distinct_users) - users) > Math.max(1, 0.02 * users)) out.push(`${label} ${w.window_start}: distinct_users ${g.distinct_users}, oracle ${users}`);
  }
  return out;
}
