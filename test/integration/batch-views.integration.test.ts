// Batch views at an offset cut on the real stack: generator traffic of three weeks (late and
// out-of-order events, adjacent duplicates, re-sends far behind their original, defects) through
// Kafka and the lake sink into MinIO; then the views activities (activities/views.ts) run in
// MockActivityEnvironment against that lake: chooseCut → planViews → computeViewsHour per hour →
// computeViewsDays → publishViews, DuckDB reading and writing s3:// directly.
//
// The oracle is plain SQL over the raw rows with _offset < cut[p] (first occurrence of each event
// id), written here independently of core/measures' SQL: rollup counts, sums, min and max with
// GROUP BY; distinct counts with count(DISTINCT) against the sketch's estimate; percentiles
// against the exact nearest-rank value; funnel, cohorts, attribution and fraud joins by hand.
// Then more traffic and a second cut: only the hours with new offsets are recomputed (the other
// week's hours keep their first-version files) and every view still equals the oracle; a full
// recompute at the same cut gives identical rows.
import { type S3Client } from '@aws-sdk/client-s3';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import type { Kafka, Producer } from 'kafkajs';
import { openLakeDuckDb, s3Url, type OpenDuckDb } from '../../core/duckdb';
import { hourLabel } from '../../core/hours';
import { createKafka, IDEMPOTENT_RETRY } from '../../core/kafka';
import { rawEventsRelation, rawRoot } from '../../core/lake';
import { parseVersionManifest, VIEWS, viewFileKeys, viewVersionRoot, type Cut, type ViewDef, type ViewsVersionManifest } from '../../core/lake-views';
import { cellFromSqlRow, Digest, digestRelativeError, FIELD_COLUMNS, HllSketch, MEASURES, type PartDecl } from '../../core/measures';
import { createS3, deleteKeys, getText, listObjects } from '../../core/s3';
import { createCompactionActivities } from '../../activities/compaction';
import { createViewsActivities, type ComputeViewsHourResult, type PlanViewsResult, type PublishViewsResult } from '../../activities/views';
import { EventGenerator } from '../../generator/generator';
import { createCutReader } from '../../speed-layer/cut';
import { cfg, uniqueName } from './helpers';
import { createTopics } from './kafka-read';
import { drainToLake } from './lake-read';

jest.setTimeout(900_000);

const PARTITIONS = 3;
/** Offset bucket size: small, so cuts fall inside chunks and leave durable rows out of a version. */
const B = 50;
const MINUTE = 60_000_000;
const HOUR = 3_600_000_000;
const DAY = 86_400_000_000;
const step = (what: string) => process.stderr.write(`[views-it ${new Date().toISOString()}] ${what}\n`);
const q = (s: string) => `'${s.replace(/'/g, "''")}'`;

interface Run {
  version: string;
  cut: Cut;
  plan: PlanViewsResult;
  hours: ComputeViewsHourResult[];
  published: PublishViewsResult;
  manifest: ViewsVersionManifest;
  ms: { total: number; hours: number; days: number };
}

describe('batch views at an offset cut: every view equals DuckDB over the raw rows below the cut', () => {
  const kafka: Kafka = createKafka(cfg.kafka, { clientId: uniqueName('views-it') });
  const s3: S3Client = createS3(cfg.s3);
  const topics = { events: uniqueName('views-events'), dlq: uniqueName('views-dlq') };
  // one sink group for every drain: each drain resumes where the last one committed
  const sinkGroup = uniqueName('views-sink');
  const prefix = `${uniqueName('views-it')}/`;
  const producer: Producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, retry: IDEMPOTENT_RETRY });
  // Three weeks of one small shop world: the same user ids come back (ids depend on the tenant
  // and pool index, not the seed), so cohorts have users active weeks after their first purchase.
  const world = { tenants: 3, users: 150, rate: 0.2, lateRate: 0.05, defectRate: 0.03, fraudRate: 0.03 };
  const week1 = new EventGenerator({ ...world, seed: 31, startUs: Date.UTC(2026, 0, 5, 9) * 1000 });
  const week2 = new EventGenerator({ ...world, seed: 32, startUs: Date.UTC(2026, 0, 13, 15) * 1000 });
  const week4 = new EventGenerator({ ...world, seed: 33, startUs: Date.UTC(2026, 0, 27, 10) * 1000 });
  const sentWeek1: { key: string; value: string }[] = [];
  let lake: OpenDuckDb;
  let activities: ReturnType<typeof createViewsActivities>;
  const heartbeats: unknown[] = [];
  const env = new MockActivityEnvironment();
  env.on('heartbeat', (d: unknown) => heartbeats.push(d));
  /** Runs an activity in the mock activity context (heartbeats, cancellation signal, info). */
  const act = <A extends unknown[], R>(fn: (...args: A) => Promise<R>, ...args: A): Promise<R> => env.run(fn, ...args) as Promise<R>;

  beforeAll(async () => {
    await createTopics(kafka, [
      { topic: topics.events, numPartitions: PARTITIONS },
      { topic: topics.dlq, numPartitions: 1 },
    ]);
    await producer.connect();
    lake = await openLakeDuckDb({ ...cfg.duckdb, threads: 2, s3: cfg.s3, cacheDir: cfg.cacheDir });
    activities = createViewsActivities({ s3, bucket: cfg.s3.bucket, lake: lake.instance, offsetBucketSize: B });
  });

  afterAll(async () => {
    await producer.disconnect();
    lake?.close();
    await deleteKeys(s3, cfg.s3.bucket, (await listObjects(s3, cfg.s3.bucket, prefix)).map((o) => o.key));
    const admin = kafka.admin();
    await admin.connect();
    await admin.deleteTopics({ topics: [topics.events, topics.dlq] }).catch(() => undefined);
    await admin.disconnect();
    s3.destroy();
  });

  /** Sends the generators' next events interleaved (Kafka order ≠ event-time order), with re-sends of older week-1 events. */
  async function produce(parts: { gen: EventGenerator; n: number }[], resends = 0): Promise<void> {
    const queues = parts.map(({ gen, n }) =>
      Array.from({ length: n }, () => {
        const e = gen.next();
        const m = { key: e.key, value: JSON.stringify(e.event) };
        if (gen === week1) sentWeek1.push(m);
        return m;
      }),
    );
    const messages: { key: string; value: string }[] = [];
    let seed = 7;
    while (queues.some((x) => x.length > 0)) {
      seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
      const open = queues.filter((x) => x.length > 0);
      messages.push(open[seed % open.length].shift()!);
    }
    // duplicates far behind their original: only week-1 events, so the other weeks' hours get no new offsets
    for (let i = 0; i < resends; i++) messages.push(sentWeek1[(i * 37) % Math.max(1, sentWeek1.length - 200)]);
    for (let i = 0; i < messages.length; i += 500) await producer.send({ topic: topics.events, messages: messages.slice(i, i + 500) });
  }

  async function drain(): Promise<void> {
    const { covered } = await drainToLake(kafka, s3, topics, prefix, sinkGroup);
    expect(covered).toBe(true);
  }

  async function query(sql: string): Promise<Record<string, unknown>[]> {
    const conn = await lake.instance.connect();
    try {
      return (await conn.runAndReadAll(sql)).getRowObjectsJson() as Record<string, unknown>[];
    } finally {
      conn.closeSync();
    }
  }

  async function runVersion(name: string, full = false): Promise<Run> {
    const t0 = Date.now();
    const version = `${name}-${Date.now().toString(36)}`;
    const { cut } = await act(activities.chooseCut, { prefix });
    const plan = await act(activities.planViews, { prefix, cut, full });
    const hours: ComputeViewsHourResult[] = [];
    for (const h of plan.hours) hours.push(await act(activities.computeViewsHour, { prefix, version, cut, dt: h.dt, hour: h.hour }));
    const t1 = Date.now();
    await act(activities.computeViewsDays, { prefix, version, cut, hours: plan.hours });
    const t2 = Date.now();
    const published = await act(activities.publishViews, { prefix, version, cut, hours: plan.hours, offsetBucketSize: B });
    expect(published).toMatchObject({ published: true, version });
    const manifest = parseVersionManifest((await getText(s3, cfg.s3.bucket, `${prefix}manifests/views/versions/${version}.json`))!)!;
    const run = { version, cut, plan, hours, published, manifest, ms: { total: Date.now() - t0, hours: t1 - t0, days: t2 - t1 } };
    const rows = hours.reduce((a, h) => a + h.rows, 0);
    step(`${version}: ${plan.hours.length} hours planned (full ${plan.full}), ${rows} rows, ${hours.reduce((a, h) => a + h.files, 0)} hour files; hours ${run.ms.hours} ms (${Math.round(run.ms.hours / Math.max(1, plan.hours.length))} ms/hour), days+cohorts ${run.ms.days} ms, total ${run.ms.total} ms`);
    return run;
  }

  /** The oracle's rows: raw rows below the cut, first occurrence of each (tenant_id, event_id). */
  function oracleRows(cut: Cut): string {
    const below = Object.entries(cut).map(([p, o]) => `(_partition = ${p} AND _offset < ${o})`).join(' OR ') || 'false';
    return `(SELECT * FROM ${rawEventsRelation(s3Url(cfg.s3.bucket, `${rawRoot(prefix)}**/*.parquet`))}
      WHERE ${below} QUALIFY row_number() OVER (PARTITION BY tenant_id, event_id ORDER BY _offset) = 1)`;
  }

  const viewRows = (m: ViewsVersionManifest, view: string) => {
    const files = viewFileKeys(prefix, m, view).map((k) => s3Url(cfg.s3.bucket, k));
    // Hive columns version, dt, hour come from the paths
    return files.length === 0 ? Promise.resolve([]) : query(`SELECT * FROM read_parquet([${files.map(q).join(', ')}], hive_partitioning = true)`);
  };

  /** Plain GROUP BY aggregates of one part over the oracle's rows (not core/measures' SQL). */
  function oraclePart(p: PartDecl): string {
    const col = 'field' in p && p.field ? FIELD_COLUMNS[p.field] : '*';
    const where = p.where ? `${FIELD_COLUMNS[p.where.field]} IN (${p.where.in.map(q).join(', ')})` : 'true';
    switch (p.kind) {
      case 'count':
        return `count(${col}) FILTER (WHERE ${where}) AS ${p.name}`;
      case 'sum':
        return `coalesce(sum(${col}) FILTER (WHERE ${where}), 0) AS ${p.name}`;
      case 'min':
      case 'max':
        return `${p.kind}(${col}) FILTER (WHERE ${where}) AS ${p.name}`;
      case 'hll':
        return `count(DISTINCT ${col}) FILTER (WHERE ${where}) AS ${p.name}`;
      case 'digest':
        return `coalesce(list_sort(list(${col}) FILTER (WHERE ${where} AND ${col} >= 0 AND isfinite(${col}))), []) AS ${p.name}`;
    }
  }

  async function checkCells(m: ViewsVersionManifest, rows: string, view: ViewDef, diffs: string[]): Promise<number> {
    const r = MEASURES.rollups.find((x) => x.name === view.rollup)!;
    const w = view.grain === 'minute' ? MINUTE : view.grain === 'hour' ? HOUR : DAY;
    const dim = r.dimension ? FIELD_COLUMNS[r.dimension] : 'NULL::VARCHAR';
    const want = await query(
      `SELECT tenant_id, epoch_us(event_time) // ${w} * ${w} AS window_start_us, ${dim} AS dimension, ${MEASURES.parts.map(oraclePart).join(', ')} FROM ${rows} GROUP BY ALL`,
    );
    const got = new Map((await viewRows(m, view.name)).map((row) => cellFromSqlRow(MEASURES, row)).map((c) => [JSON.stringify([c.key.tenant_id, c.key.window_start_us, c.key.dimension]), c]));
    const seen = new Set<string>();
    for (const o of want) {
      const k = JSON.stringify([o.tenant_id, Number(o.window_start_us), o.dimension]);
      seen.add(k);
      const c = got.get(k);
      if (!c) {
        diffs.push(`${view.name} ${k}: missing`);
        continue;
      }
      if (c.key.rollup !== view.name) diffs.push(`${view.name} ${k}: rollup ${c.key.rollup}`);
      MEASURES.parts.forEach((p, i) => {
        const v = c.parts[i];
        const x = o[p.name];
        const bad = (why: string) => diffs.push(`${view.name} ${k} ${p.name}: ${why}`);
        if (p.kind === 'count' && v !== Number(x)) bad(`${v} ≠ ${x}`);
        if (p.kind === 'sum' && Math.abs((v as number) - Number(x)) > 1e-9 * Math.max(1, Math.abs(Number(x)))) bad(`${v} ≠ ${x}`);
        if ((p.kind === 'min' || p.kind === 'max') && v !== (x === null ? null : Number(x))) bad(`${v} ≠ ${x}`);
        if (p.kind === 'hll') {
          const est = (v as HllSketch).estimate();
          if (Math.abs(est - Number(x)) > Math.max(1, 0.02 * Number(x))) bad(`estimate ${est} vs exact ${x}`);
        }
        if (p.kind === 'digest') {
          const d = v as Digest;
          const values = x as number[];
          if (d.count !== values.length) bad(`digest count ${d.count} ≠ ${values.length}`);
          for (const qq of [0.5, 0.95]) {
            if (values.length === 0) continue;
            const exact = values[Math.max(1, Math.ceil(qq * values.length)) - 1];
            const got = d.quantile(qq)!;
            if (Math.abs(got - exact) > digestRelativeError(MEASURES.digestSubBuckets) * exact + 1e-12) bad(`p${qq * 100} ${got} vs exact ${exact}`);
          }
        }
      });
    }
    for (const k of got.keys()) if (!seen.has(k)) diffs.push(`${view.name} ${k}: not in the oracle`);
    return want.length;
  }

  /** Compares two lists of rows (each mapped to the same plain shape) keyed by `key`. */
  function sameRows(view: string, got: Record<string, unknown>[], want: Record<string, unknown>[], key: (r: Record<string, unknown>) => string, diffs: string[]): void {
    const norm = (rows: Record<string, unknown>[]) => new Map(rows.map((r) => [key(r), JSON.stringify(r)]));
    const a = norm(got);
    const b = norm(want);
    if (a.size !== got.length) diffs.push(`${view}: duplicate keys in the view`);
    for (const [k, v] of b) if (a.get(k) !== v) diffs.push(`${view} ${k}: view ${a.get(k) ?? 'missing'} oracle ${v}`);
    for (const k of a.keys()) if (!b.has(k)) diffs.push(`${view} ${k}: not in the oracle`);
  }

  /** Every view of a published version against the oracle at its cut. Returns the cells compared per view. */
  async function checkVersion(run: Run): Promise<Record<string, number>> {
    const m = run.manifest;
    const rows = oracleRows(m.cut);
    const diffs: string[] = [];
    const counts: Record<string, number> = {};
    for (const view of VIEWS.filter((v) => v.kind === 'cells')) counts[view.name] = await checkCells(m, rows, view, diffs);

    const byKey = (...cols: string[]) => (r: Record<string, unknown>) => JSON.stringify(cols.map((c) => r[c]));
    const steps = `bool_or(event_subtype = 'page_view') AS a, bool_or(event_subtype = 'add_to_cart') AS b, bool_or(event_subtype = 'checkout') AS c, bool_or(event_subtype = 'purchase') AS d`;
    sameRows(
      'funnel_1d',
      (await viewRows(m, 'funnel_1d')).filter((r) => Number(r.sessions) > 0).map((r) => ({ t: r.tenant_id, day: Number(r.window_start_us), step: r.step, n: Number(r.sessions) })),
      (await query(`WITH s AS (SELECT tenant_id, epoch_us(date_trunc('day', event_time)) AS day, session_id, ${steps} FROM ${rows} WHERE session_id IS NOT NULL GROUP BY ALL)
        SELECT tenant_id AS t, day, 'page_view' AS step, count(*) FILTER (WHERE a) AS n FROM s GROUP BY ALL UNION ALL
        SELECT tenant_id, day, 'add_to_cart', count(*) FILTER (WHERE a AND b) FROM s GROUP BY ALL UNION ALL
        SELECT tenant_id, day, 'checkout', count(*) FILTER (WHERE a AND b AND c) FROM s GROUP BY ALL UNION ALL
        SELECT tenant_id, day, 'purchase', count(*) FILTER (WHERE a AND b AND c AND d) FROM s GROUP BY ALL`))
        .filter((r) => Number(r.n) > 0)
        .map((r) => ({ t: r.t, day: Number(r.day), step: r.step, n: Number(r.n) })),
      byKey('t', 'day', 'step'),
      diffs,
    );
    sameRows(
      'session_steps',
      (await viewRows(m, 'session_steps')).map((r) => ({ t: r.tenant_id, h: Number(r.hour), dt: r.dt, s: r.session_id, a: r.page_view, b: r.add_to_cart, c: r.checkout, d: r.purchase })),
      (await query(`SELECT tenant_id AS t, hour(event_time) AS h, strftime(event_time, '%Y-%m-%d') AS dt, session_id AS s, ${steps} FROM ${rows}
        WHERE session_id IS NOT NULL AND event_subtype IN ('page_view', 'add_to_cart', 'checkout', 'purchase') GROUP BY ALL`)).map((r) => ({ ...r, h: Number(r.h) })),
      byKey('t', 'dt', 'h', 's'),
      diffs,
    );
    sameRows(
      'user_days',
      (await viewRows(m, 'user_days')).map((r) => ({ t: r.tenant_id, u: r.user_id, day: Number(r.window_start_us), events: Number(r.events), purchases: Number(r.purchases), first: r.first_purchase_us === null ? null : Number(r.first_purchase_us) })),
      (await query(`SELECT tenant_id AS t, user_id AS u, epoch_us(date_trunc('day', event_time)) AS day, count(*) AS events, count(*) FILTER (WHERE event_subtype = 'purchase') AS purchases,
          min(epoch_us(event_time)) FILTER (WHERE event_subtype = 'purchase') AS first FROM ${rows} WHERE user_id IS NOT NULL GROUP BY ALL`)).map((r) => ({ ...r, day: Number(r.day), events: Number(r.events), purchases: Number(r.purchases), first: r.first === null ? null : Number(r.first) })),
      byKey('t', 'u', 'day'),
      diffs,
    );
    sameRows(
      'user_activity',
      (await viewRows(m, 'user_activity')).map((r) => ({ t: r.tenant_id, u: r.user_id, dt: r.dt, h: Number(r.hour), events: Number(r.events) })),
      (await query(`SELECT tenant_id AS t, user_id AS u, strftime(event_time, '%Y-%m-%d') AS dt, hour(event_time) AS h, count(*) AS events FROM ${rows} WHERE user_id IS NOT NULL GROUP BY ALL`)).map((r) => ({ ...r, h: Number(r.h), events: Number(r.events) })),
      byKey('t', 'u', 'dt', 'h'),
      diffs,
    );
    sameRows(
      'cohorts_weekly',
      (await viewRows(m, 'cohorts_weekly')).map((r) => ({ t: r.tenant_id, week: r.cohort_week, since: Number(r.weeks_since), users: Number(r.users) })),
      (await query(`WITH firsts AS (
          SELECT tenant_id, user_id, date_trunc('week', min(event_time) FILTER (WHERE event_subtype = 'purchase'))::DATE AS week FROM ${rows}
          WHERE user_id IS NOT NULL GROUP BY ALL HAVING week IS NOT NULL),
        active AS (SELECT DISTINCT tenant_id, user_id, date_trunc('week', event_time)::DATE AS week FROM ${rows} WHERE user_id IS NOT NULL)
        SELECT f.tenant_id AS t, f.week::VARCHAR AS week, date_diff('day', f.week, a.week) // 7 AS since, count(*) AS users
        FROM firsts f JOIN active a ON a.tenant_id = f.tenant_id AND a.user_id = f.user_id AND a.week >= f.week GROUP BY ALL`)).map((r) => ({ ...r, since: Number(r.since), users: Number(r.users) })),
      byKey('t', 'week', 'since'),
      diffs,
    );
    sameRows(
      'attribution_purchases',
      (await viewRows(m, 'attribution_purchases')).map((r) => ({ t: r.tenant_id, id: r.event_id, revenue: r.revenue, touchpoints: r.touchpoints, p: r._partition, o: Number(r._offset) })),
      (await query(`SELECT tenant_id AS t, event_id AS id, final_total AS revenue, touchpoints, _partition AS p, _offset AS o FROM ${rows} WHERE event_subtype = 'purchase'`)).map((r) => ({ ...r, o: Number(r.o) })),
      byKey('t', 'id'),
      diffs,
    );
    sameRows(
      'fraud_events',
      (await viewRows(m, 'fraud_events')).map((r) => ({ t: r.tenant_id, id: r.event_id, sub: r.event_subtype, cart: r.cart_id, score: r.fraud_score, amount: r.final_total })),
      await query(`SELECT tenant_id AS t, event_id AS id, event_subtype AS sub, cart_id AS cart, fraud_score AS score, final_total AS amount FROM ${rows}
        WHERE event_subtype IN ('payment_attempt', 'purchase', 'refund') OR fraud_score IS NOT NULL`),
      byKey('t', 'id'),
      diffs,
    );
    const fraud = await query(`WITH tx AS (SELECT * FROM ${rows} WHERE event_subtype IN ('payment_attempt', 'purchase')),
        r AS (SELECT * FROM ${rows} WHERE event_subtype = 'refund')
      SELECT tx.tenant_id AS t, tx.event_id AS id, tx.fraud_score AS score, count(r.event_id) AS refunds, coalesce(sum(r.final_total), 0) AS amount
      FROM tx LEFT JOIN r ON r.tenant_id = tx.tenant_id AND r.cart_id = tx.cart_id AND r.event_time >= tx.event_time
        AND r.event_time < date_trunc('day', tx.event_time) + INTERVAL 8 DAY
      GROUP BY ALL`);
    sameRows(
      'fraud_labels_1d',
      (await viewRows(m, 'fraud_labels_1d')).map((r) => ({ t: r.tenant_id, id: r.event_id, score: r.fraud_score, refunds: Number(r.refunds), amount: Math.round(Number(r.refund_amount) * 100) / 100, refunded: r.refunded })),
      fraud.map((r) => ({ t: r.t, id: r.id, score: r.score, refunds: Number(r.refunds), amount: Math.round(Number(r.amount) * 100) / 100, refunded: Number(r.refunds) > 0 })),
      byKey('t', 'id'),
      diffs,
    );
    counts.fraud_refunded_tx = fraud.filter((r) => Number(r.refunds) > 0).length;
    expect(diffs.slice(0, 20)).toEqual([]);
    return counts;
  }

  /** Every view of two versions row for row (sums of cells to 1e-12: their terms may be added in another order). */
  async function sameViews(a: ViewsVersionManifest, b: ViewsVersionManifest): Promise<string[]> {
    const diffs: string[] = [];
    for (const view of VIEWS) {
      const files = (m: ViewsVersionManifest) => viewFileKeys(prefix, m, view).map((k) => q(s3Url(cfg.s3.bucket, k))).join(', ');
      // hive_partitioning off: the version is in the path, not in the rows. Sums of cells are
      // compared apart, to 1e-12: DuckDB adds a cell's rows in whatever order its threads took them.
      const sums = view.kind === 'cells' ? MEASURES.parts.filter((p) => p.kind === 'sum').map((p) => `"${p.name}"`) : [];
      const all = (m: ViewsVersionManifest) => `read_parquet([${files(m)}], hive_partitioning = false)`;
      const rel = (m: ViewsVersionManifest) => `(SELECT * ${sums.length > 0 ? `EXCLUDE (${sums.join(', ')})` : ''} FROM ${all(m)})`;
      const [r] = await query(`SELECT (SELECT count(*) FROM ${rel(a)}) AS n,
        (SELECT count(*) FROM (SELECT * FROM ${rel(a)} EXCEPT ALL SELECT * FROM ${rel(b)})) AS only2,
        (SELECT count(*) FROM (SELECT * FROM ${rel(b)} EXCEPT ALL SELECT * FROM ${rel(a)})) AS only3`);
      if (Number(r.only2) + Number(r.only3) > 0) diffs.push(`${view.name}: ${r.only2} rows only in ${a.version}, ${r.only3} only in ${b.version} (of ${r.n})`);
      expect(Number(r.n)).toBeGreaterThan(0);
      if (sums.length > 0) {
        const [s] = await query(`SELECT count(*) AS n, count(*) FILTER (WHERE ${sums.map((c) => `abs(a.${c} - b.${c}) > 1e-12 * greatest(1, abs(a.${c}))`).join(' OR ')}) AS bad,
            count(*) FILTER (WHERE ${sums.map((c) => `a.${c} <> b.${c}`).join(' OR ')}) AS inexact
          FROM ${all(a)} a JOIN ${all(b)} b
          ON a.tenant_id = b.tenant_id AND a.window_start_us = b.window_start_us AND a.dimension IS NOT DISTINCT FROM b.dimension`);
        if (Number(s.bad) > 0 || Number(s.n) !== Number(r.n)) diffs.push(`${view.name}: ${s.bad} cells with other sums (${s.n} joined, ${r.n} rows)`);
        if (Number(s.inexact) > 0) step(`${view.name}: ${s.inexact} cells whose sums differ in the last bits`);
      }
    }
    return diffs;
  }

  let v1: Run;
  let v2: Run;
  let v3Run: Run;

  it('first version: every view equals the oracle at the cut', async () => {
    step('traffic: weeks 1 and 2 interleaved, then more of week 1');
    await produce([{ gen: week1, n: 1500 }, { gen: week2, n: 1000 }], 20);
    await drain();
    await produce([{ gen: week1, n: 400 }]);
    await drain();

    v1 = await runVersion('v1');
    expect(v1.plan.full).toBe(true); // nothing published yet
    // the cut is aligned to B and leaves durable rows out of the version
    const [{ total, below }] = await query(`SELECT count(*) AS total, count(*) FILTER (WHERE ${Object.entries(v1.cut).map(([p, o]) => `(_partition = ${p} AND _offset < ${o})`).join(' OR ')}) AS below
      FROM ${rawEventsRelation(s3Url(cfg.s3.bucket, `${rawRoot(prefix)}**/*.parquet`))}`);
    expect(Number(below)).toBeLessThan(Number(total));
    for (const o of Object.values(v1.cut)) expect(o % B).toBe(0);
    expect(Object.keys(v1.manifest.units.day).sort()).toEqual(expect.arrayContaining(['2026-01-05', '2026-01-13']));
    expect(heartbeats.length).toBeGreaterThan(v1.plan.hours.length);

    const counts = await checkVersion(v1);
    step(`v1 equals the oracle; cells compared: ${JSON.stringify(counts)}`);
    expect(counts.country_1m).toBeGreaterThan(500);
    expect(counts.fraud_refunded_tx).toBeGreaterThan(0);
    const cohorts = await viewRows(v1.manifest, 'cohorts_weekly');
    expect(cohorts.some((r) => Number(r.weeks_since) >= 1)).toBe(true);

    // the speed layer reads the same pointer and drops its cells below this cut
    const cutReader = createCutReader(s3, cfg.s3.bucket, prefix);
    expect(Object.fromEntries((await cutReader()) ?? [])).toEqual(Object.fromEntries(Object.entries(v1.cut).map(([p, o]) => [Number(p), o])));
  });

  it('second cut: only hours with new offsets are recomputed, and every view still equals the oracle', async () => {
    step('traffic: more week 1 (late into its hours), week 4, re-sends of week-1 events');
    await produce([{ gen: week1, n: 300 }, { gen: week4, n: 1000 }], 40);
    await drain();

    v2 = await runVersion('v2');
    expect(v2.plan.full).toBe(false);
    expect(v2.plan.previous).toEqual({ version: v1.version, cut: v1.cut });
    const planned = v2.plan.hours.map(hourLabel);
    // every hour holding a row in [cut1, cut2) is planned …
    const changed = await query(`SELECT DISTINCT strftime(event_time, '%Y-%m-%dT%H') AS h FROM ${rawEventsRelation(s3Url(cfg.s3.bucket, `${rawRoot(prefix)}**/*.parquet`))}
      WHERE ${Object.entries(v2.cut).map(([p, o]) => `(_partition = ${p} AND _offset >= ${v1.cut[p] ?? 0} AND _offset < ${o})`).join(' OR ')}`);
    for (const { h } of changed) expect(planned).toContain(h);
    // … and week 2, which got no new offsets, is not: its hours keep the first version's files
    const week2Hours = Object.keys(v1.manifest.units.hour).filter((h) => h.startsWith('2026-01-13') || h.startsWith('2026-01-12') || h.startsWith('2026-01-14'));
    expect(week2Hours.length).toBeGreaterThan(0);
    for (const h of week2Hours) {
      expect(planned).not.toContain(h);
      expect(v2.manifest.units.hour[h]).toBe(v1.version);
    }
    expect(v2.manifest.units.day['2026-01-13']).toBe(v1.version);
    // the new version wrote files for exactly the planned hours that have rows
    const written = (await listObjects(s3, cfg.s3.bucket, viewVersionRoot(prefix, 'totals_1h', v2.version))).map((o) => /dt=([\d-]+)\/hour=(\d\d)/.exec(o.key)!).map((x) => `${x[1]}T${x[2]}`);
    expect(written.sort()).toEqual(v2.hours.filter((h) => h.rows > 0).map((h) => h.hour).sort());
    expect(Object.keys(v2.manifest.units.hour).length).toBeGreaterThan(planned.length);
    step(`v2 recomputed ${planned.length} of ${Object.keys(v2.manifest.units.hour).length} hours: ${planned.join(' ')}`);

    await checkVersion(v2);
    const cohorts = await viewRows(v2.manifest, 'cohorts_weekly');
    expect(cohorts.some((r) => Number(r.weeks_since) >= 3)).toBe(true);

    // the published cut never moves back; a version published without its day step is refused
    const stale = await act(activities.publishViews, { prefix, version: `stale-${Date.now()}`, cut: v1.cut, hours: [] });
    expect(stale.published).toBe(false);
    await expect(act(activities.publishViews, { prefix, version: `nodays-${Date.now()}`, cut: v2.cut, hours: v2.plan.hours.slice(0, 1) })).rejects.toMatchObject({ type: 'ViewsIncomplete', nonRetryable: true });
    await expect(act(activities.computeViewsHour, { prefix, version: '../x', cut: v2.cut, dt: '2026-01-05', hour: 9 })).rejects.toBeInstanceOf(ApplicationFailure);
    await expect(act(activities.planViews, { prefix, cut: { '0': -5 } })).rejects.toMatchObject({ type: 'InvalidInput', nonRetryable: true });
  });

  it('a full recompute at the same cut gives identical rows in every view', async () => {
    const v3 = await runVersion('v3', true);
    expect(v3.cut).toEqual(v2.cut);
    expect(v3.plan.full).toBe(true);
    expect(Object.keys(v3.manifest.units.hour)).toEqual(Object.keys(v2.manifest.units.hour));
    expect(Object.values(v3.manifest.units.hour).every((v) => v === v3.version)).toBe(true);
    const diffs = await sameViews(v2.manifest, v3.manifest);
    expect(diffs).toEqual([]);
    step(`full recompute identical to the incremental version in all ${VIEWS.length} views`);
    v3Run = v3;
  });

  it('the sweep keeps every version a reader may hold, then deletes what only replaced versions referenced', async () => {
    const viewFiles = async () => (await listObjects(s3, cfg.s3.bucket, `${prefix}views/`)).map((o) => o.key);
    const before = await viewFiles();
    const versionOf = (k: string) => /\/version=([^/]+)\//.exec(k)![1];
    expect(new Set(before.map(versionOf))).toEqual(new Set([v1.version, v2.version, v3Run.version]));

    // all three were published within the hour: a reader may hold any of them
    const inGrace = await act(activities.sweepViews, { prefix, graceMs: 3_600_000 });
    expect(inGrace).toMatchObject({ deleted: 0, superseded: 0 });
    expect(inGrace.retained).toEqual([v1.version, v2.version, v3Run.version].sort());
    expect(await viewFiles()).toEqual(before);

    // two hours on: only the current version (a full recompute, referencing only its own files) is held
    const later = createViewsActivities({ s3, bucket: cfg.s3.bucket, lake: lake.instance, offsetBucketSize: B, nowMs: () => Date.now() + 2 * 3_600_000 });
    const swept = await act(later.sweepViews, { prefix, graceMs: 3_600_000 });
    expect(swept.retained).toEqual([v3Run.version]);
    const after = await viewFiles();
    expect(new Set(after.map(versionOf))).toEqual(new Set([v3Run.version]));
    expect(swept.superseded).toBe(before.length - after.length);
    const current = VIEWS.flatMap((v) => viewFileKeys(prefix, v3Run.manifest, v));
    expect([...after].sort()).toEqual([...current].sort());
    // and the current version still reads
    const totals = viewFileKeys(prefix, v3Run.manifest, 'totals_1h').map((k) => q(s3Url(cfg.s3.bucket, k)));
    const [r] = await query(`SELECT count(*) AS n FROM read_parquet([${totals.join(', ')}])`);
    expect(Number(r.n)).toBeGreaterThan(0);
    await expect(act(activities.sweepViews, { prefix, graceMs: -1 })).rejects.toMatchObject({ nonRetryable: true });
    step(`views sweep: ${swept.superseded} files of replaced versions deleted, ${after.length} of the current version kept`);
  });

  it('compacted hours: the views read the compacted files and equal the raw reading; hours with chunks the manifest lacks read raw', async () => {
    const compaction = createCompactionActivities({ s3, bucket: cfg.s3.bucket, lake: lake.instance });
    const plan = await act(compaction.planCompaction, { prefix });
    expect(plan.hours.length).toBeGreaterThan(0);
    for (const h of plan.hours) await act(compaction.compactHour, { prefix, ...h });
    // the same cut (inside chunks: B is small), read from the compacted files, deduplicated there
    const v4 = await runVersion('v4', true);
    expect(v4.cut).toEqual(v3Run.cut);
    const withRows = v4.hours.filter((h) => h.rows > 0);
    expect(withRows.length).toBeGreaterThan(0);
    expect(withRows.filter((h) => h.source !== 'compacted').map((h) => h.hour)).toEqual([]);
    expect(await sameViews(v3Run.manifest, v4.manifest)).toEqual([]);
    await checkVersion(v4);
    step(`v4 read ${withRows.length} hours from compacted files: identical to v3 (raw)`);

    // new chunks (week 1 again, re-sends into its early hours), not compacted: those hours read raw
    await produce([{ gen: week1, n: 200 }], 10);
    await drain();
    const v5 = await runVersion('v5', true);
    const bySource = (s: string) => v5.hours.filter((h) => h.rows > 0 && h.source === s).map((h) => h.hour);
    expect(bySource('raw').length).toBeGreaterThan(0);
    expect(bySource('compacted').length).toBeGreaterThan(0);
    await checkVersion(v5);
    step(`v5: ${bySource('compacted').length} hours from compacted files, ${bySource('raw').length} from raw (${bySource('raw').join(' ')})`);
  });
});
