// Batch-layer benchmark (issue 9): seconds and rows/s to compact and recompute the views of one
// day of generated events, against DuckDB's own aggregate over the same raw Parquet on S3 in the
// same run, with the same thread cap (DUCKDB_THREADS) — target: ours ≤ 1.5 × the baseline.
//   npm run bench:batch -- [--events 10000000] [--tenants 1000] [--partitions 6] [--concurrency 2]
//                          [--flush-seconds 30] [--keep] [--reuse <prefix>] [--skip-compaction] [--views-from-raw]
// 1. Lays the day's raw chunks down directly in the sink's format (bench/batch/synthetic.ts:
//    DuckDB SQL from generator templates, straight to s3://, names and manifests as the sink's;
//    how that differs from generator traffic is described there).
// 2. Baseline: DuckDB's `SELECT tenant_id, minute, event_type, count(*), sum(…) … GROUP BY` over
//    the day's raw objects on S3, written back as one Parquet file (a fresh DuckDB, same threads
//    and memory); and the same with all eight rollups (GROUPING SETS, DuckDB's built-in
//    approx_count_distinct). Run before and after ours; the mean is the baseline.
// 3. Ours, through the real activities (Temporal's MockActivityEnvironment, one per lane, lanes =
//    --concurrency as batchRun runs them, one DuckDB for all as the worker has): planCompaction +
//    compactHour for every hour; chooseCut + planViews + computeViewsHour for every hour +
//    computeViewsDays + publishViews.
// Wall seconds and CPU seconds of this process are both reported: the machine is shared, and CPU
// seconds move less with other people's load than wall seconds do.
// The lake prefix is removed at the end (also on Ctrl-C) unless --keep.
// --reuse <prefix>: skip the lay-down (set-up, minutes) and measure over the raw day a previous
// `--keep` run left under that prefix (its lay-down summary is stored there); what earlier runs
// computed from it (compacted files, views, manifests, baseline outputs) is deleted first, so the
// lake is as a fresh lay-down leaves it. The prefix is kept afterwards. --skip-compaction leaves
// compaction out; then the views read the raw chunks. After compaction they read each hour's
// compacted files (deduplicated already), as the worker does, unless --views-from-raw.
import '../../scripts/quiet-warnings.cjs';
import './log-level';
import { randomBytes } from 'node:crypto';
import * as os from 'node:os';
import { DefaultLogger } from '@temporalio/worker';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createCompactionActivities, type CompactHourResult } from '../../activities/compaction';
import { createViewsActivities, type ComputeViewsHourResult } from '../../activities/views';
import { loadConfig, type RtapConfig } from '../../core/config';
import { openLakeDuckDb, s3Url } from '../../core/duckdb';
import type { HourRef } from '../../core/hours';
import { rawRoot } from '../../core/lake';
import { compactedRoot } from '../../core/lake-compacted';
import { DEFAULT_OFFSET_BUCKET_SIZE } from '../../core/measures';
import { createS3, deleteKeys, ensureBucket, getText, listObjects, putJson } from '../../core/s3';
import { machineCpuSeconds } from '../ingest/cpu';
import { layDownSynthetic } from './synthetic';
import { positiveArg, usageOnHelp } from '../args';
import type { SyntheticResult } from './synthetic';

usageOnHelp();

/** The value after `--name`, or undefined when the flag is absent. */
function stringArg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return undefined;
  const v = process.argv[i + 1];
  if (!v || v.startsWith('--')) throw new Error(`--${name} needs a value`);
  return v;
}

const EVENTS = positiveArg('events', 10_000_000);
const TENANTS = positiveArg('tenants', 1000);
const PARTITIONS = positiveArg('partitions', 6);
const CONCURRENCY = positiveArg('concurrency', 2);
const FLUSH_SECONDS = positiveArg('flush-seconds', 30);
const REUSE = stringArg('reuse');
const KEEP = process.argv.includes('--keep') || REUSE !== undefined;
const SKIP_COMPACTION = process.argv.includes('--skip-compaction');
const VIEWS_FROM_RAW = process.argv.includes('--views-from-raw');
const DAY = '2026-05-01';
const B = DEFAULT_OFFSET_BUCKET_SIZE;
const TARGET = 1.5;

/** Wall ms, CPU seconds of this process, and what the rest of the machine used meanwhile. */
interface Measured<T> {
  value: T;
  ms: number;
  cpuS: number;
  /** Cores busy on the whole machine, and of them not this process (others' load, MinIO included). */
  machineCores: number;
  otherCores: number;
}

async function measure<T>(work: () => Promise<T>): Promise<Measured<T>> {
  const cpu0 = process.cpuUsage();
  const m0 = machineCpuSeconds();
  const t0 = performance.now();
  const value = await work();
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const m1 = machineCpuSeconds();
  const cpuS = (cpu.user + cpu.system) / 1e6;
  const cores = os.availableParallelism();
  const machineCores = m1.total > m0.total ? ((m1.busy - m0.busy) / (m1.total - m0.total)) * cores : NaN;
  return { value, ms, cpuS, machineCores, otherCores: Math.max(0, machineCores - cpuS / (ms / 1000)) };
}

/** Runs `work` over the items with at most `limit` in flight, each lane with its own activity environment (as batchRun's pool). */
async function pool<T, R>(items: T[], limit: number, work: (env: MockActivityEnvironment, item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const lane = async () => {
    const env = new MockActivityEnvironment(undefined, { logger: new DefaultLogger('ERROR') });
    while (next < items.length) {
      const i = next++;
      out[i] = await work(env, items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  return out;
}

const RAW_MINUTE = "date_trunc('minute', event_time)";
const PARTS_SQL = `count(*) AS events,
    count(*) FILTER (WHERE event_subtype = 'purchase') AS orders,
    coalesce(sum(final_total) FILTER (WHERE event_subtype = 'purchase'), 0) AS revenue,
    min(final_total) FILTER (WHERE event_subtype = 'purchase') AS order_min,
    max(final_total) FILTER (WHERE event_subtype = 'purchase') AS order_max,
    count(*) FILTER (WHERE event_subtype = 'refund') AS refunds,
    coalesce(sum(final_total) FILTER (WHERE event_subtype = 'refund'), 0) AS refund_amount,
    count(*) FILTER (WHERE event_subtype = 'checkout') AS checkouts`;
const SKETCH_SQL = `approx_count_distinct(user_id) AS users, approx_count_distinct(session_id) AS sessions,
    count(largest_contentful_paint) AS page_loads, coalesce(sum(largest_contentful_paint), 0) AS lcp_sum`;

/** The brief's baseline: one rollup (tenant × minute × event_type), counts and sums, GROUP BY. */
function baselineSql(files: string): string {
  return `SELECT tenant_id, ${RAW_MINUTE} AS minute, event_type, ${PARTS_SQL}
  FROM read_parquet(${files}) GROUP BY ALL`;
}

/** DuckDB's own way to the same eight rollups as the views' hour files: GROUPING SETS, built-in sketches. */
function allRollupsSql(files: string): string {
  const dims = ['event_type', 'country', 'device_type', 'browser_name', 'payment_provider', 'category_l1', 'source_system'];
  const sets = [...dims.map((d) => `(tenant_id, minute, ${d})`), `(tenant_id, hour)`].join(', ');
  return `SELECT tenant_id, minute, hour, ${dims.join(', ')}, ${PARTS_SQL}, ${SKETCH_SQL}
  FROM (SELECT *, ${RAW_MINUTE} AS minute, date_trunc('hour', event_time) AS hour FROM read_parquet(${files}))
  GROUP BY GROUPING SETS (${sets})`;
}

async function runBaseline(cfg: RtapConfig, bucket: string, prefix: string, label: string, sql: (files: string) => string): Promise<Measured<number>> {
  // A fresh DuckDB each time: no file cache carried over from another run.
  const db = await openLakeDuckDb({ ...cfg.duckdb, s3: cfg.s3, cacheDir: cfg.cacheDir });
  try {
    const files = `'${s3Url(bucket, `${rawRoot(prefix)}dt=${DAY}/**/*.parquet`)}'`;
    const out = s3Url(bucket, `${prefix}/baseline/${label}.parquet`);
    return await measure(async () => {
      const reader = await db.connection.runAndReadAll(`COPY (${sql(files)}) TO '${out}' (FORMAT parquet, COMPRESSION zstd, RETURN_STATS)`);
      return Number(reader.getRowObjectsJson()[0]?.count ?? 0);
    });
  } finally {
    db.close();
  }
}

async function main(): Promise<void> {
  const cfg = loadConfig();
  const s3 = createS3(cfg.s3);
  const bucket = cfg.s3.bucket;
  await ensureBucket(s3, bucket);
  const prefix = REUSE ?? `bench-batch-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
  const removePrefix = async () => deleteKeys(s3, bucket, (await listObjects(s3, bucket, `${prefix}/`)).map((o) => o.key));
  const summaryKey = `${prefix}/bench/laydown.json`;
  /** Deletes what the measured phases wrote under the prefix (all but raw chunks, sink manifests and the lay-down summary). */
  const removeDerived = async (roots: string[]) => {
    for (const root of roots) await deleteKeys(s3, bucket, (await listObjects(s3, bucket, `${prefix}/${root}`)).map((o) => o.key));
  };
  const log = (line: string) => process.stderr.write(`${line}\n`);
  log(`lake prefix ${prefix}; load average ${os.loadavg().map((x) => x.toFixed(2)).join(' ')} on ${os.availableParallelism()} cores`);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      log(`${signal}: removing ${prefix}`);
      const done = () => process.exit(130);
      (KEEP ? Promise.resolve() : removePrefix()).then(done, done);
    });
  }
  const loadStart = os.loadavg();
  const lake = await openLakeDuckDb({ ...cfg.duckdb, s3: cfg.s3, cacheDir: cfg.cacheDir });
  try {
    // 1. the day's raw chunks (or those a --keep run left)
    let laid: SyntheticResult;
    if (REUSE) {
      const text = await getText(s3, bucket, summaryKey);
      if (!text) throw new Error(`--reuse ${prefix}: no lay-down summary at s3://${bucket}/${summaryKey} (lay a day down with --keep first)`);
      laid = JSON.parse(text) as SyntheticResult;
      await removeDerived(['compacted/', 'views/', 'baseline/', 'manifests/compaction/', 'manifests/views/']);
      log(`[lay-down] reusing ${laid.rows} rows in ${laid.objects} objects under ${prefix}`);
    } else {
      laid = await layDownSynthetic(
        { s3, s3Config: cfg.s3, bucket, cacheDir: cfg.cacheDir },
        { prefix, partitions: PARTITIONS, firstDay: DAY, days: 1, eventsPerDay: EVENTS, tenants: TENANTS, users: Math.max(50_000, TENANTS * 50), flushMs: FLUSH_SECONDS * 1000, alignTo: B, onProgress: log },
      );
      await putJson(s3, bucket, summaryKey, laid);
    }
    const raw = await listObjects(s3, bucket, rawRoot(prefix));
    const rawBytes = raw.reduce((n, o) => n + o.size, 0);
    log(`[lay-down] ${laid.messages} messages → ${laid.rows} rows in ${laid.objects} objects (${(rawBytes / 1e6).toFixed(0)} MB) in ${(laid.ms / 1000).toFixed(0)} s`);

    // 2. baseline, before
    const base1 = await runBaseline(cfg, bucket, prefix, 'event_type_1m-a', baselineSql);
    log(`[baseline] event_type_1m GROUP BY: ${(base1.ms / 1000).toFixed(1)} s`);
    const all1 = await runBaseline(cfg, bucket, prefix, 'all_rollups-a', allRollupsSql);
    log(`[baseline] all rollups GROUPING SETS: ${(all1.ms / 1000).toFixed(1)} s`);

    // 3. ours: compaction
    const compaction = createCompactionActivities({ s3, bucket, lake: lake.instance });
    const compacted = await measure(async () => {
      if (SKIP_COMPACTION) return [] as CompactHourResult[];
      const env = new MockActivityEnvironment(undefined, { logger: new DefaultLogger('ERROR') });
      const plan = (await env.run(compaction.planCompaction, { prefix })) as Awaited<ReturnType<typeof compaction.planCompaction>>;
      return pool(plan.hours, CONCURRENCY, async (e, h) => {
        const r = (await e.run(compaction.compactHour, { prefix, ...h })) as CompactHourResult;
        log(`[compact] ${r.hour}: ${r.rawRows} raw rows, ${r.files.live} files, ${r.ms} ms ${JSON.stringify(r.phasesMs)}`);
        return r;
      });
    });
    const compactedRawRows = compacted.value.reduce((n, r) => n + r.rawRows, 0);
    log(`[compact] ${compacted.value.length} hours, ${compactedRawRows} raw rows in ${(compacted.ms / 1000).toFixed(1)} s`);

    // 3. ours: views at the cut, published
    const views = createViewsActivities({ s3, bucket, lake: lake.instance, offsetBucketSize: B, readCompacted: !VIEWS_FROM_RAW });
    const steps: Record<string, number> = {};
    const stepsCpu: Record<string, number> = {};
    const step = async <T>(name: string, work: () => Promise<T>): Promise<T> => {
      const t = performance.now();
      const c = process.cpuUsage();
      const v = await work();
      steps[name] = Math.round(performance.now() - t);
      const d = process.cpuUsage(c);
      stepsCpu[name] = Math.round((d.user + d.system) / 100_000) / 10;
      return v;
    };
    const viewed = await measure(async () => {
      const env = new MockActivityEnvironment(undefined, { logger: new DefaultLogger('ERROR') });
      const { cut } = (await step('chooseCut', () => env.run(views.chooseCut, { prefix }))) as Awaited<ReturnType<typeof views.chooseCut>>;
      const plan = (await step('planViews', () => env.run(views.planViews, { prefix, cut }))) as Awaited<ReturnType<typeof views.planViews>>;
      const version = `bench-${Date.now()}`;
      const hours: ComputeViewsHourResult[] = await step('computeViewsHour', () =>
        pool(plan.hours, CONCURRENCY, async (e, h: HourRef) => {
          const r = (await e.run(views.computeViewsHour, { prefix, version, cut, dt: h.dt, hour: h.hour })) as ComputeViewsHourResult;
          log(`[views] ${r.hour}: ${r.chunks} raw chunks, read ${r.objects} ${r.source} objects, ${r.rows} rows, ${r.files} files, ${r.ms} ms ${JSON.stringify(r.phasesMs ?? {})}`);
          return r;
        }),
      );
      const days = (await step('computeViewsDays', () => env.run(views.computeViewsDays, { prefix, version, cut, hours: plan.hours }))) as Awaited<ReturnType<typeof views.computeViewsDays>>;
      const published = (await step('publishViews', () => env.run(views.publishViews, { prefix, version, cut, hours: plan.hours }))) as Awaited<ReturnType<typeof views.publishViews>>;
      if (!published.published) throw new Error(`views not published: ${published.reason}`);
      return { hours, days, cut, highWater: laid.highWater };
    });
    const viewRows = viewed.value.hours.reduce((n, r) => n + r.rows, 0);
    const cutCovers = Object.entries(laid.highWater).every(([p, o]) => viewed.value.cut[p] === o);
    log(`[views] ${viewed.value.hours.length} hours, ${viewRows} rows in ${(viewed.ms / 1000).toFixed(1)} s ${JSON.stringify(steps)}`);

    // 2. baseline, after
    const base2 = await runBaseline(cfg, bucket, prefix, 'event_type_1m-b', baselineSql);
    const all2 = await runBaseline(cfg, bucket, prefix, 'all_rollups-b', allRollupsSql);
    log(`[baseline] again: ${(base2.ms / 1000).toFixed(1)} s, all rollups ${(all2.ms / 1000).toFixed(1)} s`);

    const compactedObjects = await listObjects(s3, bucket, compactedRoot(prefix));
    const viewObjects = await listObjects(s3, bucket, `${prefix}/views/`);
    const mean = (a: Measured<number>, b: Measured<number>) => ({ ms: (a.ms + b.ms) / 2, cpuS: (a.cpuS + b.cpuS) / 2 });
    const base = mean(base1, base2);
    const all = mean(all1, all2);
    const rows = laid.rows;
    const s = (ms: number) => ms / 1000;
    const rate = (ms: number) => Math.round(rows / s(ms));
    const ratio = (a: number, b: number) => Math.round((a / b) * 100) / 100;
    const loadEnd = os.loadavg();

    const line = (label: string, value: string) => process.stdout.write(`${label.padEnd(52)} ${value}\n`);
    process.stdout.write(
      `\nrtap batch benchmark: one day (${DAY}) of ${laid.messages.toLocaleString('en')} messages → ${rows.toLocaleString('en')} raw rows ` +
        `(${laid.duplicates} duplicates, ${laid.late} late, ${laid.rejected} rejected offsets, ${laid.padding} of them padding to the cut's bucket size ${B}), ${TENANTS} tenants, ${PARTITIONS} partitions, ` +
        `${laid.objects.toLocaleString('en')} raw objects (${laid.chunks} chunks of ${FLUSH_SECONDS} s), ${(rawBytes / 1e6).toFixed(0)} MB; ` +
        `DUCKDB_THREADS=${cfg.duckdb.threads}, DUCKDB_MEMORY_LIMIT=${cfg.duckdb.memoryLimit}, concurrency ${CONCURRENCY}, ${os.availableParallelism()} cores\n`,
    );
    line('machine load average (1/5/15 min) at start / end:', `${loadStart.map((x) => x.toFixed(1)).join(' ')} / ${loadEnd.map((x) => x.toFixed(1)).join(' ')}`);
    line('lay-down (synthetic, not measured against anything):', `${s(laid.ms).toFixed(0)} s (${Math.round(laid.messages / s(laid.ms))} messages/s) ${JSON.stringify(laid.phasesMs)}`);
    const show = (label: string, m: { ms: number; cpuS: number; otherCores?: number }) =>
      line(label, `${s(m.ms).toFixed(1)} s, ${rate(m.ms).toLocaleString('en')} rows/s, ${m.cpuS.toFixed(1)} CPU-s${m.otherCores !== undefined ? `, others used ${m.otherCores.toFixed(2)} cores meanwhile` : ''}`);
    show('baseline: DuckDB GROUP BY tenant×minute×event_type:', base);
    line('  (before / after ours)', `${s(base1.ms).toFixed(1)} / ${s(base2.ms).toFixed(1)} s, ${base1.value} rows out`);
    show('baseline, all 8 rollups (GROUPING SETS):', all);
    line('  (before / after ours)', `${s(all1.ms).toFixed(1)} / ${s(all2.ms).toFixed(1)} s, ${all1.value} rows out`);
    if (SKIP_COMPACTION) line('compaction:', 'skipped (--skip-compaction)');
    else show('compaction (planCompaction + compactHour × hours):', compacted);
    line('  hours, compacted files, bytes', `${compacted.value.length}, ${compactedObjects.length}, ${(compactedObjects.reduce((n, o) => n + o.size, 0) / 1e6).toFixed(0)} MB`);
    show('views (cut, plan, hours, days, publish):', viewed);
    line('  steps (ms)', JSON.stringify(steps));
    line('  steps (CPU-s)', JSON.stringify(stepsCpu));
    const phases: Record<string, number> = {};
    for (const h of viewed.value.hours) for (const [k, v] of Object.entries(h.phasesMs ?? {})) phases[k] = (phases[k] ?? 0) + v;
    line('  computeViewsHour phases (ms, summed over hours)', JSON.stringify(phases));
    const sources: Record<string, number> = {};
    for (const h of viewed.value.hours) sources[h.source ?? 'raw'] = (sources[h.source ?? 'raw'] ?? 0) + 1;
    line('  hours read from', JSON.stringify(sources));
    line('  view rows (deduplicated, below the cut), files', `${viewRows.toLocaleString('en')}, ${viewObjects.length}; cut = high-water: ${cutCovers}`);
    show('compaction + views:', { ms: compacted.ms + viewed.ms, cpuS: compacted.cpuS + viewed.cpuS });
    line('ratio views / baseline (wall, CPU):', `${ratio(viewed.ms, base.ms)}, ${ratio(viewed.cpuS, base.cpuS)}  (target ≤ ${TARGET}: ${viewed.ms / base.ms <= TARGET ? 'met' : 'NOT met'})`);
    line('ratio compaction / baseline (wall, CPU):', `${ratio(compacted.ms, base.ms)}, ${ratio(compacted.cpuS, base.cpuS)}`);
    line('ratio compaction + views / baseline (wall, CPU):', `${ratio(compacted.ms + viewed.ms, base.ms)}, ${ratio(compacted.cpuS + viewed.cpuS, base.cpuS)}`);
    line('ratio views / all-rollups baseline (wall, CPU):', `${ratio(viewed.ms, all.ms)}, ${ratio(viewed.cpuS, all.cpuS)}`);
  } finally {
    lake.close();
    if (!KEEP) {
      log(`removing ${prefix}`);
      await removePrefix();
    } else log(`kept lake prefix ${prefix}`);
    s3.destroy();
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
