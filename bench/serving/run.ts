// Serving benchmark (issue 10): p50/p99 and requests/s of the realtime metrics endpoint at a fixed
// request rate and of the merged 30-day OLAP query at full concurrency, with 30 days of published
// batch views and live traffic through the speed layer; in the same run, the same aggregation
// directly in DuckDB over the same view files as the baseline.
// Targets: realtime p99 < 50 ms at 500 requests/s; merged 30-day OLAP p99 < 200 ms.
//   npm run bench:serving -- [--days 30] [--events-per-day 200000] [--tenants 1000] [--live-rate 200]
//                            [--realtime-rate 500] [--seconds 20] [--olap-connections 8] [--keep]
//                            [--reuse <run id>] [--api-node-args '<flags>']
// --keep leaves the run's topics and lake prefix in place and prints its run id; --reuse <run id>
// then skips the set-up (history, views, Kafka fill) and runs the speed layer (same group and
// changelog: it resumes), the generator and the API on that run's topics and prefix again (with
// --keep again to keep them for a further run; without it they are removed at the end).
// --api-node-args are node flags for the API processes only (its cluster workers inherit them),
// e.g. '--cpu-prof --cpu-prof-dir=/tmp/p' for a V8 profile of each worker, written as it stops.
// Set-up (not measured): the history is laid down as raw chunks (bench/batch/synthetic.ts, one
// chunk per 6 h per partition: the raw layout is not what this bench measures), the real views
// pipeline runs once over it and publishes (chooseCut → planViews → computeViewsHour × hours →
// computeViewsDays → publishViews, MockActivityEnvironment); the bench's own `events` topic is
// filled up to the published cut with empty records that are then deleted (deleteRecords), so live
// traffic starts exactly at the cut, as if the history had come through Kafka; `rtap speed` (child
// process) reads the live traffic that `rtap generate --to kafka` (child process) produces at
// --live-rate, events timed now; the API runs as `rtap api` does (API_WORKERS processes, child).
// Measured: autocannon on 127.0.0.1 (in this process) — GET /api/v2/analytics/realtime/metrics
// at `overallRate` (latencies corrected for coordinated omission), then POST
// /api/v2/analytics/query (day grain, by country, 30 days of history + today) at full speed over
// --olap-connections; both over 20 tenants of all sizes. Baseline: the same query's aggregation
// in DuckDB (one thread, as the API's) over local copies of the same day-view files, one query
// after another. Everything the bench created (topics, lake prefix, local files) is removed.
import '../../scripts/quiet-warnings.cjs';
import '../batch/log-level';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { DefaultLogger } from '@temporalio/worker';
import { MockActivityEnvironment } from '@temporalio/testing';
import autocannon from 'autocannon';
import { createViewsActivities } from '../../activities/views';
import { loadConfig, REPO_ROOT } from '../../core/config';
import { ControlPlane } from '../../core/control';
import { openDuckDb, openLakeDuckDb, sqlLiteral } from '../../core/duckdb';
import type { HourRef } from '../../core/hours';
import { createKafka, EVENT_TOPIC_MAX_MESSAGE_BYTES } from '../../core/kafka';
import { viewsManifestKey } from '../../core/lake';
import { parseVersionManifest, parseViewsPointer, viewByName, viewFileKey, viewUnits } from '../../core/lake-views';
import { createLogger } from '../../core/logger';
import { DEFAULT_OFFSET_BUCKET_SIZE } from '../../core/measures';
import { waitUntil } from '../../core/retry';
import { createS3, ensureBucket, getText } from '../../core/s3';
import { World } from '../../generator/world';
import { layDownSynthetic } from '../batch/synthetic';
import { removeBenchData } from '../ingest/cleanup';
import { machineCpuSeconds, treeCpuSeconds } from '../ingest/cpu';
import { percentiles } from '../stats';
import { positiveArg, usageOnHelp } from '../args';

usageOnHelp();

const DAYS = positiveArg('days', 30);
const EVENTS_PER_DAY = positiveArg('events-per-day', 200_000);
const TENANTS = positiveArg('tenants', 1000);
const LIVE_RATE = positiveArg('live-rate', 200);
const REALTIME_RATE = positiveArg('realtime-rate', 500);
const SECONDS = positiveArg('seconds', 20);
const OLAP_CONNECTIONS = positiveArg('olap-connections', 8);
const SETUP_CONCURRENCY = positiveArg('setup-concurrency', 2);
const KEEP = process.argv.includes('--keep');
const REUSE = stringArg('reuse');
const API_NODE_ARGS = stringArg('api-node-args')?.split(/\s+/).filter(Boolean) ?? [];
const B = DEFAULT_OFFSET_BUCKET_SIZE;
const WARMUP_SECONDS = 5;
const REALTIME_P99_TARGET_MS = 50;
const OLAP_P99_TARGET_MS = 200;
const DIMENSION = 'country';
const OLAP_VIEW = 'country_1d';
const MEASURES = ['events', 'orders', 'revenue'];

const suffix = REUSE ?? `${Date.now().toString(36)}-${randomBytes(2).toString('hex')}`;
if (!/^[a-z0-9]+-[0-9a-f]{4}$/.test(suffix)) throw new Error(`--reuse needs the run id a --keep run printed, got ${suffix}`);
const topics = { events: `bench-serving-events-${suffix}`, dlq: `bench-serving-dlq-${suffix}`, control: `bench-serving-control-${suffix}`, speedWindows: `bench-serving-windows-${suffix}` };
const resultsTopic = `bench-serving-results-${suffix}`;
// the speed layer scores fraud too: its anomalies stay on the bench's own topic
const anomaliesTopic = `bench-serving-anomalies-${suffix}`;
const prefix = `bench-serving-${suffix}`;
const log = (line: string) => process.stderr.write(`${line}\n`);

/** Tenants of every size (the generator's Zipf ranks): the big ones and a spread of smaller ones. */
function benchTenants(world: World): string[] {
  const ranks = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 25, 50, 100, 200, 300, 500, 700, 900, world.tenants.length - 1];
  return [...new Set(ranks.filter((r) => r < world.tenants.length))].map((r) => world.tenants[r].id);
}

const dayIso = (ms: number) => new Date(ms).toISOString().slice(0, 10);

async function main(): Promise<void> {
  const cfg = loadConfig();
  const kafka = createKafka(cfg.kafka, { clientId: 'rtap-bench-serving' });
  const s3 = createS3(cfg.s3);
  const bucket = cfg.s3.bucket;
  await ensureBucket(s3, bucket);
  const children = new Set<ChildProcess>();
  const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'rtap-bench-serving-'));
  let cleaned = false;
  const cleanup = async () => {
    if (cleaned) return;
    cleaned = true;
    await Promise.all([...children].map((c) => stopChild(c)));
    if (KEEP) log(`kept topics ${Object.values(topics).join(', ')} and lake prefix ${prefix}: --reuse ${suffix}`);
    else await removeBenchData(kafka, [...Object.values(topics), resultsTopic, anomaliesTopic], { client: s3, bucket, prefix });
    await fs.rm(dataDir, { recursive: true, force: true });
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      log(`${signal}: cleaning up`);
      const done = () => process.exit(130);
      cleanup().then(done, done);
    });
  }
  const loadStart = os.loadavg();
  log(`bench-serving ${suffix}: lake prefix ${prefix}; load average ${loadStart.map((x) => x.toFixed(2)).join(' ')} on ${os.availableParallelism()} cores`);
  try {
    const world = new World({ seed: 1, tenants: TENANTS, users: Math.max(50_000, TENANTS * 50), startUs: Date.UTC(2026, 0, 1) * 1000 });
    const tenants = benchTenants(world);
    const todayMs = Date.parse(`${dayIso(Date.now())}T00:00:00Z`);
    const setup0 = Date.now();
    const setup = REUSE ? await reusedSetup(s3, bucket) : await freshSetup(cfg, kafka, s3, bucket, world, todayMs);
    const { firstDayMs, laid, viewsSetup } = setup;
    // a platform read key in the bench's control topic
    const control = new ControlPlane(kafka, createLogger('bench'), topics.control);
    await control.start();
    const { apiKey } = await control.createApiKey('*', ['viewer', 'analyst'], 'bench-serving');
    await control.stop();
    const setupMs = Date.now() - setup0;

    // Live traffic, the speed layer, the API.
    const rtap = path.join(REPO_ROOT, 'bin', 'rtap');
    const env = { ...process.env, LOG_LEVEL: 'warn', RTAP_DATA_DIR: dataDir };
    const speed = track(children, spawn(process.execPath, [rtap, 'speed', '--topic', topics.events, '--group', `bench-serving-speed-${suffix}`, '--changelog-topic', topics.speedWindows,
      '--results-topic', resultsTopic, '--anomalies-topic', anomaliesTopic, '--control-topic', topics.control, '--instance', `bench-serving-${suffix}`, '--offset-bucket-size', String(B), '--prefix', prefix], { env, stdio: ['ignore', 'inherit', 'inherit'] }));
    const liveSeconds = 3600;
    const generator = track(children, spawn(process.execPath, [rtap, 'generate', '--rate', String(LIVE_RATE), '--duration', `${liveSeconds}s`, '--tenants', String(TENANTS),
      '--to', 'kafka', '--topic', topics.events, '--start', new Date().toISOString(), '--seed', '7', '--quiet'], { env, stdio: ['ignore', 'ignore', 'inherit'] }));
    const port = cfg.api.port + 200;
    const api = track(children, spawn(process.execPath, [...API_NODE_ARGS, path.join(REPO_ROOT, 'bench', 'serving', 'api-process.cjs'), JSON.stringify({ topics, lakePrefix: prefix, offsetBucketSize: B })],
      { env: { ...env, API_PORT: String(port) }, stdio: ['ignore', 'inherit', 'inherit'] }));
    const base = `http://${cfg.api.host}:${port}`;
    const headers = { 'x-api-key': apiKey, 'content-type': 'application/json' };
    const workersListening = async () => {
      const line = (await (await fetch(`${base}/metrics`)).text()).split('\n').find((l) => l.startsWith('rtap_api_workers '));
      return line === undefined ? undefined : Number(line.split(' ')[1]);
    };
    const ready = async () => (await fetch(`${base}/healthz`)).ok && (cfg.api.workers === 1 || (await workersListening()) === cfg.api.workers);
    if (!(await waitUntil(() => ready().catch(() => false), 120_000, 250))) throw new Error('bench API did not start');
    // Every worker's speed reader has live cells once answers for the biggest tenant count events
    // (connections land on workers round-robin: ask a few times in a row).
    const realtimePath = (t: string) => `/api/v2/analytics/realtime/metrics?tenant=${t}`;
    const live = async () => {
      for (let i = 0; i < 2 * cfg.api.workers; i++) {
        const res = await fetch(`${base}${realtimePath(tenants[0])}`, { headers });
        if (!res.ok) return false;
        const body = (await res.json()) as { data: { events: number } };
        if (!(body.data.events > 0)) return false;
      }
      return true;
    };
    if (!(await waitUntil(() => live().catch(() => false), 180_000, 1000))) throw new Error('no live cells in the API after 3 minutes');

    const to = new Date(todayMs + 86_400_000).toISOString();
    const from = new Date(firstDayMs).toISOString();
    const olapBody = () => JSON.stringify({ measures: MEASURES, dimensions: [DIMENSION], grain: 'day', time_range: { from, to }, limit: 10_000 });
    // One answer per tenant checked: both sides present, 30 days of batch rows plus today.
    // (a 202 is the query turned into a job: over the query budget while the workers still start up; asked again)
    let check = await fetch(`${base}/api/v2/analytics/query?tenant=${tenants[0]}`, { method: 'POST', headers, body: olapBody() });
    for (let i = 0; i < 30 && check.status === 202; i++) {
      await new Promise((resolve) => setTimeout(resolve, 2000));
      check = await fetch(`${base}/api/v2/analytics/query?tenant=${tenants[0]}`, { method: 'POST', headers, body: olapBody() });
    }
    const checked = (await check.json()) as { data: Record<string, unknown>[]; meta: { batch_cells: number; live_cells: number; batch_view: string } };
    if (check.status !== 200 || checked.meta.batch_cells === 0 || checked.meta.live_cells === 0) throw new Error(`OLAP answer lacks a side: ${check.status} ${JSON.stringify(checked.meta)}`);
    const days = new Set(checked.data.map((r) => r.window_start)).size;
    log(`[check] ${tenants[0]}: ${checked.data.length} rows over ${days} days, batch view ${checked.meta.batch_view}, ${checked.meta.batch_cells} batch + ${checked.meta.live_cells} live cells`);

    const realtimeRequests = tenants.map((t) => ({ method: 'GET' as const, path: realtimePath(t), headers }));
    const olapRequests = tenants.map((t) => ({ method: 'POST' as const, path: `/api/v2/analytics/query?tenant=${t}`, headers, body: olapBody() }));
    // Warm-up: every worker downloads the view files it reads once (its local cache), JIT warms.
    await cannon({ url: base, connections: 4, duration: WARMUP_SECONDS, requests: olapRequests });
    await cannon({ url: base, connections: 4, duration: WARMUP_SECONDS, requests: realtimeRequests });

    const procs = { api: api.pid!, speed: speed.pid!, generator: generator.pid! };
    // The API workers' event-loop delay over each measurement: prom-client's monitorEventLoopDelay
    // histogram restarts at every scrape, so one scrape before and one after each measurement.
    const loopStats = async () => apiLoopStats(await (await fetch(`${base}/metrics`)).text());
    await loopStats();
    const realtime = await measured(procs, () => cannon({ url: base, connections: 25, overallRate: REALTIME_RATE, duration: SECONDS, requests: realtimeRequests }));
    const realtimeLoop = await loopStats();
    const olap = await measured(procs, () => cannon({ url: base, connections: OLAP_CONNECTIONS, duration: SECONDS, requests: olapRequests }));
    const olapLoop = await loopStats();

    // Baseline: the same aggregation in DuckDB over local copies of the same day files.
    const baseline = await duckdbBaseline(s3, bucket, dataDir, tenants, Date.parse(from) * 1000, Date.parse(to) * 1000);

    const loadEnd = os.loadavg();
    const line = (label: string, value: string) => process.stdout.write(`${label.padEnd(50)} ${value}\n`);
    const lat = (r: autocannon.Result) => `p50 ${r.latency.p50} ms, p99 ${r.latency.p99} ms, max ${r.latency.max} ms`;
    const rps = (r: autocannon.Result) => r.requests.total / r.duration;
    process.stdout.write(
      `\nrtap serving benchmark: ${DAYS} days × ${EVENTS_PER_DAY.toLocaleString('en')} events of history (${REUSE ? `set-up of run ${REUSE} reused` : `${laid.rows.toLocaleString('en')} rows, views published`}), ` +
        `live traffic ${LIVE_RATE} events/s through \`rtap speed\`, ${cfg.api.workers} API process(es), ${TENANTS} tenants (${tenants.length} queried), ` +
        `${SECONDS} s per measurement, ${os.availableParallelism()} cores\n`,
    );
    line('machine load average (1/5/15 min) at start / end:', `${loadStart.map((x) => x.toFixed(1)).join(' ')} / ${loadEnd.map((x) => x.toFixed(1)).join(' ')}`);
    line('set-up (lay-down, views of all hours, Kafka fill):', `${(setupMs / 1000).toFixed(0)} s (views ${(viewsSetup.ms / 1000).toFixed(0)} s for ${viewsSetup.hours} hours)`);
    line(`realtime metrics, ${REALTIME_RATE} req/s asked, 25 connections:`, `${rps(realtime.value).toFixed(0)} req/s, ${lat(realtime.value)}, non-2xx ${realtime.value.non2xx}, errors ${realtime.value.errors}`);
    line('  CPU meanwhile (cores)', cpuLine(realtime));
    line('  API event loop meanwhile', loopLine(realtimeLoop));
    line(`merged OLAP, ${DAYS + 1} days by ${DIMENSION}, ${OLAP_CONNECTIONS} connections:`, `${rps(olap.value).toFixed(1)} req/s, ${lat(olap.value)}, non-2xx ${olap.value.non2xx}, errors ${olap.value.errors}`);
    line('  CPU meanwhile (cores)', cpuLine(olap));
    line('  API event loop meanwhile', loopLine(olapLoop));
    line(`baseline: DuckDB over the ${baseline.files} local day files:`, `${baseline.qps.toFixed(1)} queries/s (one thread, one after another), p50 ${baseline.p50.toFixed(1)} ms, p99 ${baseline.p99.toFixed(1)} ms`);
    line('ratio OLAP / baseline, p50 and p99 latency:', `${(olap.value.latency.p50 / baseline.p50).toFixed(2)}, ${(olap.value.latency.p99 / baseline.p99).toFixed(2)}`);
    line('ratio OLAP / baseline, requests/s:', `${(rps(olap.value) / baseline.qps).toFixed(2)} (the API on ${cfg.api.workers} processes, the baseline on one thread)`);
    const rtMet = realtime.value.latency.p99 < REALTIME_P99_TARGET_MS && rps(realtime.value) >= REALTIME_RATE * 0.95;
    line(`target realtime p99 < ${REALTIME_P99_TARGET_MS} ms at ${REALTIME_RATE} req/s:`, rtMet ? 'met' : 'NOT met');
    line(`target merged ${DAYS}-day OLAP p99 < ${OLAP_P99_TARGET_MS} ms:`, olap.value.latency.p99 < OLAP_P99_TARGET_MS ? 'met' : 'NOT met');
  } finally {
    await cleanup();
    s3.destroy();
  }
}

interface Setup {
  firstDayMs: number;
  laid: { rows: number; objects: number; ms: number };
  viewsSetup: { hours: number; cut: Record<string, number>; ms: number };
}

/** History laid down, views published, the events topic filled to the cut (the measured runs start from here). */
async function freshSetup(cfg: ReturnType<typeof loadConfig>, kafka: ReturnType<typeof createKafka>, s3: ReturnType<typeof createS3>, bucket: string, world: World, todayMs: number): Promise<Setup> {
  const partitions = cfg.kafka.eventsPartitions;
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({
    topics: [
      { topic: topics.events, numPartitions: partitions, configEntries: [{ name: 'max.message.bytes', value: String(EVENT_TOPIC_MAX_MESSAGE_BYTES) }] },
      { topic: topics.dlq, numPartitions: 1 },
      { topic: topics.control, numPartitions: 1 },
      { topic: topics.speedWindows, numPartitions: partitions, configEntries: [{ name: 'cleanup.policy', value: 'compact' }] },
      { topic: resultsTopic, numPartitions: partitions },
      { topic: anomaliesTopic, numPartitions: 1 },
    ],
    waitForLeaders: true,
  });

  // Tenants in the bench's control topic.
  const control = new ControlPlane(kafka, createLogger('bench'), topics.control);
  await control.start();
  await control.putTenants(world.tenants.map((t) => ({ tenant_id: t.id })));
  await control.stop();

  // History: DAYS whole days before today, then the views pipeline once, published.
  const firstDayMs = todayMs - DAYS * 86_400_000;
  const laid = await layDownSynthetic(
    { s3, s3Config: cfg.s3, bucket, cacheDir: cfg.cacheDir },
    { prefix, partitions, firstDay: dayIso(firstDayMs), days: DAYS, eventsPerDay: EVENTS_PER_DAY, tenants: TENANTS, flushMs: 6 * 3_600_000, alignTo: B, onProgress: log },
  );
  log(`[history] ${laid.rows} rows over ${DAYS} days in ${laid.objects} objects, ${(laid.ms / 1000).toFixed(0)} s`);
  const viewsSetup = await publishViews(cfg, prefix, log);
  log(`[history] views of ${viewsSetup.hours} hours published in ${(viewsSetup.ms / 1000).toFixed(0)} s (cut ${JSON.stringify(viewsSetup.cut)})`);

  // Kafka offsets up to the cut: empty records, then deleted, so live traffic starts at the cut.
  await admin.disconnect();
  await fillTo(kafka, topics.events, viewsSetup.cut);
  return { firstDayMs, laid, viewsSetup };
}

/** A kept run's set-up (--reuse): its published views; the history starts at its oldest day unit. */
async function reusedSetup(s3: ReturnType<typeof createS3>, bucket: string): Promise<Setup> {
  const pointer = parseViewsPointer((await getText(s3, bucket, viewsManifestKey(prefix))) ?? '');
  if (!pointer?.manifest) throw new Error(`--reuse ${suffix}: nothing published under ${prefix}`);
  const manifest = parseVersionManifest((await getText(s3, bucket, `${prefix}/${pointer.manifest}`)) ?? '');
  if (!manifest) throw new Error(`--reuse ${suffix}: views version manifest missing`);
  const days = viewUnits(manifest, viewByName(OLAP_VIEW)).map(([unit]) => unit).sort();
  if (days.length !== DAYS) log(`[reuse] ${days.length} day units published, --days ${DAYS}: using ${days.length}`);
  const firstDayMs = Date.parse(`${days[0]}T00:00:00Z`);
  log(`[reuse] ${prefix}: views ${manifest.version}, days ${days[0]}..${days[days.length - 1]}, cut ${JSON.stringify(manifest.cut)}`);
  return { firstDayMs, laid: { rows: NaN, objects: NaN, ms: 0 }, viewsSetup: { hours: NaN, cut: manifest.cut, ms: 0 } };
}

function stringArg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return undefined;
  const v = process.argv[i + 1];
  if (v === undefined || (v.startsWith('--') && name !== 'api-node-args')) throw new Error(`--${name} needs a value`);
  return v;
}

function track(children: Set<ChildProcess>, child: ChildProcess): ChildProcess {
  children.add(child);
  child.on('exit', () => children.delete(child));
  return child;
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  await exited;
  clearTimeout(timer);
}

function cannon(opts: autocannon.Options): Promise<autocannon.Result> {
  return autocannon({ timeout: 30, ...opts });
}

interface Measured<T> {
  value: T;
  cores: { api: number; speed: number; generator: number; self: number; machine: number; others: number };
}

async function measured<T>(pids: { api: number; speed: number; generator: number }, work: () => Promise<T>): Promise<Measured<T>> {
  const t0 = performance.now();
  const c0 = { api: treeCpuSeconds(pids.api), speed: treeCpuSeconds(pids.speed), generator: treeCpuSeconds(pids.generator), self: process.cpuUsage(), machine: machineCpuSeconds() };
  const value = await work();
  const secs = (performance.now() - t0) / 1000;
  const self = process.cpuUsage(c0.self);
  const m = machineCpuSeconds();
  const cores = {
    api: (treeCpuSeconds(pids.api) - c0.api) / secs,
    speed: (treeCpuSeconds(pids.speed) - c0.speed) / secs,
    generator: (treeCpuSeconds(pids.generator) - c0.generator) / secs,
    self: (self.user + self.system) / 1e6 / secs,
    machine: m.total > c0.machine.total ? ((m.busy - c0.machine.busy) / (m.total - c0.machine.total)) * os.availableParallelism() : NaN,
    others: 0,
  };
  cores.others = Math.max(0, cores.machine - cores.api - cores.speed - cores.generator - cores.self);
  return { value, cores };
}

interface LoopStats {
  /** Event-loop delay since the previous scrape, ms: p99 averaged over the workers, the largest of any worker. */
  p99Ms: number;
  maxMs: number;
  /** GC pause seconds of all workers since start (differences between scrapes are per measurement). */
  gcSeconds: number;
}

let lastGcSeconds = 0;
function apiLoopStats(metricsText: string): LoopStats & { gcDelta: number } {
  const value = (name: string) => {
    const line = metricsText.split('\n').find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
    return line === undefined ? NaN : Number(line.slice(line.lastIndexOf(' ') + 1));
  };
  const gc = metricsText
    .split('\n')
    .filter((l) => l.startsWith('rtap_nodejs_gc_duration_seconds_sum'))
    .reduce((n, l) => n + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
  const gcDelta = gc - lastGcSeconds;
  lastGcSeconds = gc;
  return { p99Ms: value('rtap_nodejs_eventloop_lag_p99_seconds') * 1000, maxMs: value('rtap_nodejs_eventloop_lag_max_seconds') * 1000, gcSeconds: gc, gcDelta };
}

function loopLine(s: LoopStats & { gcDelta: number }): string {
  return `delay p99 ${s.p99Ms.toFixed(0)} ms (mean of workers), max ${s.maxMs.toFixed(0)} ms (any worker); GC ${s.gcDelta.toFixed(2)} s of pauses in all workers`;
}

function cpuLine(m: Measured<unknown>): string {
  const c = m.cores;
  return `API ${c.api.toFixed(2)}, speed layer ${c.speed.toFixed(2)}, generator ${c.generator.toFixed(2)}, autocannon ${c.self.toFixed(2)}; machine ${c.machine.toFixed(2)} of ${os.availableParallelism()}, other processes ${c.others.toFixed(2)}`;
}

/** The views pipeline once over every hour, published (the activities, as batchRun calls them). */
async function publishViews(cfg: ReturnType<typeof loadConfig>, lakePrefix: string, progress: (line: string) => void): Promise<{ hours: number; cut: Record<string, number>; ms: number }> {
  const started = Date.now();
  const s3 = createS3(cfg.s3);
  const lake = await openLakeDuckDb({ ...cfg.duckdb, s3: cfg.s3, cacheDir: cfg.cacheDir });
  try {
    const views = createViewsActivities({ s3, bucket: cfg.s3.bucket, lake: lake.instance, offsetBucketSize: B });
    const env = new MockActivityEnvironment(undefined, { logger: new DefaultLogger('ERROR') });
    const { cut } = (await env.run(views.chooseCut, { prefix: lakePrefix })) as Awaited<ReturnType<typeof views.chooseCut>>;
    const plan = (await env.run(views.planViews, { prefix: lakePrefix, cut })) as Awaited<ReturnType<typeof views.planViews>>;
    const version = `bench-${Date.now()}`;
    let next = 0;
    let done = 0;
    let lastLog = Date.now();
    const lane = async () => {
      const e = new MockActivityEnvironment(undefined, { logger: new DefaultLogger('ERROR') });
      while (next < plan.hours.length) {
        const h: HourRef = plan.hours[next++];
        await e.run(views.computeViewsHour, { prefix: lakePrefix, version, cut, dt: h.dt, hour: h.hour });
        done += 1;
        if (Date.now() - lastLog > 15_000) {
          lastLog = Date.now();
          progress(`[views] ${done}/${plan.hours.length} hours`);
        }
      }
    };
    await Promise.all(Array.from({ length: SETUP_CONCURRENCY }, lane));
    await env.run(views.computeViewsDays, { prefix: lakePrefix, version, cut, hours: plan.hours });
    const published = (await env.run(views.publishViews, { prefix: lakePrefix, version, cut, hours: plan.hours })) as Awaited<ReturnType<typeof views.publishViews>>;
    if (!published.published) throw new Error(`views not published: ${published.reason}`);
    return { hours: plan.hours.length, cut, ms: Date.now() - started };
  } finally {
    lake.close();
    s3.destroy();
  }
}

/** Produces empty records to each partition until its end offset is `cut[p]`, then deletes them (the log starts at the cut). */
async function fillTo(kafka: ReturnType<typeof createKafka>, topic: string, cut: Record<string, number>): Promise<void> {
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  try {
    const BATCH = 20_000;
    for (const [p, end] of Object.entries(cut)) {
      for (let sent = 0; sent < end; ) {
        const n = Math.min(BATCH, end - sent);
        await producer.send({ topic, acks: 1, messages: Array.from({ length: n }, () => ({ partition: Number(p), value: null })) });
        sent += n;
      }
    }
  } finally {
    await producer.disconnect();
  }
  const admin = kafka.admin();
  await admin.connect();
  try {
    const ends = await admin.fetchTopicOffsets(topic);
    for (const e of ends) {
      if (Number(e.high) !== cut[String(e.partition)]) throw new Error(`partition ${e.partition} ends at ${e.high}, expected the cut ${cut[String(e.partition)]}`);
    }
    // The filler is never read: the log starts at the cut.
    await admin.deleteTopicRecords({ topic, partitions: Object.entries(cut).map(([p, o]) => ({ partition: Number(p), offset: String(o) })) });
  } finally {
    await admin.disconnect();
  }
}

/** The API's aggregation of the OLAP query, directly in DuckDB over local copies of the same view files. */
async function duckdbBaseline(
  s3: ReturnType<typeof createS3>,
  bucket: string,
  dir: string,
  tenants: string[],
  fromUs: number,
  toUs: number,
): Promise<{ files: number; qps: number; p50: number; p99: number }> {
  const pointer = parseViewsPointer((await getText(s3, bucket, viewsManifestKey(prefix))) ?? '');
  if (!pointer?.manifest) throw new Error('no published views');
  const manifest = parseVersionManifest((await getText(s3, bucket, `${prefix}/${pointer.manifest}`)) ?? '');
  if (!manifest) throw new Error('views version manifest missing');
  const view = viewByName(OLAP_VIEW);
  const keys = viewUnits(manifest, view).map(([unit, version]) => viewFileKey(prefix, view, version, unit));
  const files: string[] = [];
  for (const key of keys) {
    const file = path.join(dir, 'baseline', key);
    await fs.mkdir(path.dirname(file), { recursive: true });
    const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    await fs.writeFile(file, await out.Body!.transformToByteArray());
    files.push(file);
  }
  // As the API's DuckDB: one thread, 512 MB.
  const db = await openDuckDb({ threads: 1, memoryLimit: '512MB' });
  try {
    const sql = `SELECT window_start_us, dimension, sum(events)::BIGINT AS events, sum(orders)::BIGINT AS orders, sum(revenue)::DOUBLE AS revenue
      FROM read_parquet([${files.map(sqlLiteral).join(', ')}])
      WHERE tenant_id = $tenant AND window_start_us >= $from AND window_start_us < $to
      GROUP BY ALL ORDER BY window_start_us, dimension`;
    const times: number[] = [];
    const run = async (tenant: string) => {
      const conn = await db.instance.connect();
      try {
        const t0 = performance.now();
        const r = await conn.runAndReadAll(sql, { tenant, from: BigInt(fromUs), to: BigInt(toUs) });
        r.getRowObjectsJson();
        return performance.now() - t0;
      } finally {
        conn.closeSync();
      }
    };
    for (const t of tenants) await run(t);
    const started = performance.now();
    while (performance.now() - started < SECONDS * 1000) for (const t of tenants) times.push(await run(t));
    const secs = (performance.now() - started) / 1000;
    const [p50, p99] = percentiles(times, [50, 99]);
    return { files: files.length, qps: times.length / secs, p50, p99 };
  } finally {
    db.close();
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
