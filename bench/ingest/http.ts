// Ingestion benchmark: sustained events/s through HTTP into Kafka with full 2–4 KB events, and
// request latency p50/p95/p99 — against, in the same run, Kafka's own kafka-producer-perf-test
// at the same record size (the physical limit of this broker on this machine); then the lake
// sink (`rtap sink`, its own process, as in production) drains what HTTP ingested, so "sink
// faster than ingest" is measured on the same events.
//   npx tsx bench/ingest/http.ts [seconds=20] [concurrency=4] [batch=500] [--rounds N]
// --rounds N alternates the HTTP phase and perf-test N times (one API, one sink drain at the end)
// and gives each round's ratio and their median: on a shared machine one pair of phases says as
// much about the neighbours as about the code.
// The API runs as `rtap api` does, in its own processes (API_WORKERS of them, default
// min(2, cores)); this process only sends pre-built, pre-encoded bodies.
// BENCH_CPU_PROF=<dir> writes a V8 CPU profile of every API process there
// (summarize with bench/ingest/cpuprofile-summary.ts).
import '../../scripts/quiet-warnings.cjs';
import { execFile, spawn } from 'node:child_process';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Kafka } from 'kafkajs';
import { loadConfig, REPO_ROOT, type RtapConfig } from '../../core/config';
import { ControlPlane } from '../../core/control';
import { EVENT_TOPIC_MAX_MESSAGE_BYTES, createKafka } from '../../core/kafka';
import { highWaterCovers } from '../../core/lake';
import { removeBenchData } from './cleanup';
import { spawnSink, steadyRate, stepSummary } from './sink-process';
import { machineCpuSeconds, treeCpuSeconds } from './cpu';
import { createLogger } from '../../core/logger';
import { sleep, waitUntil } from '../../core/retry';
import { createS3 } from '../../core/s3';
import { EventGenerator } from '../../generator/generator';
import { readHighWaterMarks } from '../../ingest/manifests';
import { processPaths, readPid } from '../../stack/process';
import { provisionedPaths } from '../../stack/provision';
import { median, percentiles } from '../stats';
import { positionalArgs, positiveArg, usageOnHelp } from '../args';

usageOnHelp();

const ROUNDS = positiveArg('rounds', 1, { integer: true });
const positional = positionalArgs(process.argv.slice(2));
const SECONDS = Number(positional[0] ?? 20);
const CONCURRENCY = Number(positional[1] ?? 4);
const BATCH = Number(positional[2] ?? 500);
const WARMUP_SECONDS = 3;
const suffix = `${Date.now().toString(36)}`;
// The API's analytics reader follows a changelog too: an empty one of the bench's own, so the
// shared `speed-windows` (other runs' speed layers) is not read into the figures.
const topics = { events: `bench-events-${suffix}`, dlq: `bench-dlq-${suffix}`, control: `bench-control-${suffix}`, speedWindows: `bench-speed-windows-${suffix}` };
const perfTopic = `${topics.events}-perf`;

function cpuSeconds(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
}

function workersListening(metrics: string): number | undefined {
  const line = metrics.split('\n').find((l) => l.startsWith('rtap_api_workers '));
  return line === undefined ? undefined : Number(line.split(' ')[1]);
}

async function main(): Promise<void> {
  const cfg = loadConfig();
  const kafka = createKafka(cfg.kafka, { clientId: 'rtap-bench' });
  const maxBytes = { name: 'max.message.bytes', value: String(EVENT_TOPIC_MAX_MESSAGE_BYTES) };
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({
    topics: [
      { topic: topics.events, numPartitions: cfg.kafka.eventsPartitions, configEntries: [maxBytes] },
      { topic: topics.dlq, numPartitions: 1, configEntries: [maxBytes] },
      { topic: topics.control, numPartitions: 1 },
      { topic: topics.speedWindows, numPartitions: cfg.kafka.eventsPartitions, configEntries: [{ name: 'cleanup.policy', value: 'compact' }] },
      { topic: perfTopic, numPartitions: cfg.kafka.eventsPartitions },
    ],
    waitForLeaders: true,
  });
  await admin.disconnect();

  // Realistic traffic without defects (the accepted path is the one to measure).
  const gen = new EventGenerator({ seed: 3, tenants: 1000, fraudRate: 0.01, defectRate: 0, lateRate: 0.02 });
  const control = new ControlPlane(kafka, createLogger('bench'), topics.control);
  await control.start();
  await control.putTenants(gen.world.tenants.map((t) => ({ tenant_id: t.id })));
  const { apiKey } = await control.createApiKey('*', ['ingest'], 'bench');
  await control.stop();

  // Encoded once, so the client's share of the two cores goes to sending, not to UTF-8 encoding.
  const bodies: Buffer[] = [];
  let eventBytes = 0;
  for (let b = 0; b < 40; b++) {
    const events = Array.from({ length: BATCH }, () => gen.next().event);
    for (const e of events) eventBytes += JSON.stringify(e).length;
    bodies.push(Buffer.from(JSON.stringify({ events })));
  }
  const avgEventBytes = Math.round(eventBytes / (bodies.length * BATCH));

  const port = cfg.api.port + 100;
  const profileDir = process.env.BENCH_CPU_PROF;
  const profile = profileDir ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(profileDir)}`] : [];
  const api = spawn(process.execPath, [...profile, path.join(REPO_ROOT, 'bench', 'ingest', 'api-process.cjs'), JSON.stringify(topics)], {
    env: { ...process.env, API_PORT: String(port), LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const url = `http://${cfg.api.host}:${port}`;
  try {
    // Every worker must listen before the client connects: the primary hands out connections
    // round-robin to the workers listening at that moment, and keep-alive keeps them there.
    const ready = async () => (await fetch(`${url}/healthz`)).ok && (cfg.api.workers === 1 || workersListening(await (await fetch(`${url}/metrics`)).text()) === cfg.api.workers);
    if (!(await waitUntil(() => ready().catch(() => false), 90000, 200))) throw new Error('bench API did not start');

    // The local broker shares these cores; its pid is known when this checkout runs the stack.
    const brokerPid = cfg.kafka.local ? readPid(processPaths(cfg.dataDir, 'kafka')) : undefined;
    const rounds: { http: HttpPhase; perf: number }[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      const phase = await httpPhase({ port, host: cfg.api.host, apiKey, bodies, apiPid: api.pid!, brokerPid });
      const perf = await producerPerfTest(cfg.cacheDir, cfg.kafka.brokers.join(','), perfTopic, avgEventBytes, 200000);
      rounds.push({ http: phase, perf });
      if (ROUNDS > 1) process.stdout.write(`round ${r + 1}/${ROUNDS}: HTTP ${phase.rate.toFixed(0)} events/s, perf-test ${perf.toFixed(0)} records/s, ratio ${(phase.rate / perf).toFixed(2)}\n`);
    }
    const httpRate = median(rounds.map((r) => r.http.rate));

    const sink = await drainWithSink(cfg, kafka, topics.events);

    const line = (label: string, value: string) => process.stdout.write(`${label.padEnd(46)} ${value}\n`);
    process.stdout.write(
      `\nrtap ingest benchmark (${SECONDS}s measured after ${WARMUP_SECONDS}s warm-up, ${CONCURRENCY} connections, ${BATCH} events/request, ` +
        `avg event ${avgEventBytes} B, ${cfg.api.workers} API process(es), ${os.availableParallelism()} cores${ROUNDS > 1 ? `; ${ROUNDS} rounds, medians` : ''})\n`,
    );
    const med = (f: (r: { http: HttpPhase; perf: number }) => number) => median(rounds.map(f));
    line('HTTP → Kafka (acks=all, idempotent):', `${httpRate.toFixed(0)} events/s, ${((httpRate * avgEventBytes) / 1e6).toFixed(1)} MB/s`);
    if (rounds[0].http.apiCpu > 0) {
      const cores = os.availableParallelism();
      line('API CPU per event (all API processes):', `${med((r) => (r.http.apiCpu / r.http.events) * 1e6).toFixed(0)} µs (${med((r) => r.http.apiCpu / r.http.elapsed).toFixed(2)} cores busy)`);
      line('this client, CPU per event:', `${med((r) => (r.http.clientCpu / r.http.events) * 1e6).toFixed(0)} µs (${med((r) => r.http.clientCpu / r.http.elapsed).toFixed(2)} cores)`);
      if (brokerPid) line('Kafka broker, CPU per event:', `${med((r) => (r.http.brokerCpu / r.http.events) * 1e6).toFixed(0)} µs (${med((r) => r.http.brokerCpu / r.http.elapsed).toFixed(2)} cores)`);
      const others = med((r) => Math.max(0, r.http.machineBusy * cores - (r.http.apiCpu + r.http.clientCpu + r.http.brokerCpu) / r.http.elapsed));
      line('whole machine busy while measuring:', `${(100 * med((r) => r.http.machineBusy)).toFixed(0)} % of ${cores} cores; other processes took ${others.toFixed(2)} cores`);
    }
    const [p50, p95, p99] = percentiles(
      rounds.flatMap((r) => r.http.latencies),
      [50, 95, 99],
    );
    line('request latency p50 / p95 / p99:', `${p50.toFixed(1)} / ${p95.toFixed(1)} / ${p99.toFixed(1)} ms (${rounds.reduce((n, r) => n + r.http.latencies.length, 0)} requests, ${rounds.reduce((n, r) => n + r.http.errors, 0)} non-200)`);
    line('kafka-producer-perf-test (same record size):', `${med((r) => r.perf).toFixed(0)} records/s`);
    const ratios = rounds.map((r) => r.http.rate / r.perf);
    line('ratio HTTP / perf-test:', ROUNDS > 1 ? `${median(ratios).toFixed(2)} (median of the rounds' ratios: ${ratios.map((x) => x.toFixed(2)).join(', ')})` : ratios[0].toFixed(2));
    line('lake sink, same events → Parquet on S3:', `${sink.rate.toFixed(0)} events/s (from its start until all are durable)`);
    line('ratio sink / HTTP ingest:', (sink.rate / httpRate).toFixed(2));
    if (sink.steady !== undefined) {
      line('lake sink, steady (full flushes only):', `${sink.steady.toFixed(0)} events/s (start-up and the last partial chunk left out)`);
      line('ratio steady sink / HTTP ingest:', (sink.steady / httpRate).toFixed(2));
    }
    if (sink.steps !== undefined) line('lake sink, flush steps (ms):', sink.steps);
  } finally {
    api.kill('SIGTERM');
    // Let the API shut down (and write its CPU profiles) before this process exits.
    if (api.exitCode === null && api.signalCode === null) await new Promise((resolve) => api.once('exit', resolve));
    const s3 = createS3(cfg.s3);
    await removeBenchData(kafka, [...Object.values(topics), perfTopic], { client: s3, bucket: cfg.s3.bucket, prefix: sinkPrefix(topics.events) });
    s3.destroy();
  }
}

const sinkPrefix = (topic: string) => `bench/${topic}`;

interface HttpPhase {
  /** Accepted events/s over the measured seconds. */
  rate: number;
  events: number;
  elapsed: number;
  errors: number;
  latencies: number[];
  /** CPU seconds over the measured seconds. */
  apiCpu: number;
  clientCpu: number;
  brokerCpu: number;
  /** Share of the machine's CPU time busy meanwhile. */
  machineBusy: number;
}

/** Sends the bodies over CONCURRENCY keep-alive connections for the warm-up then SECONDS measured. */
async function httpPhase(o: { port: number; host: string; apiKey: string; bodies: readonly Buffer[]; apiPid: number; brokerPid: number | undefined }): Promise<HttpPhase> {
  const latencies: number[] = [];
  let events = 0;
  let errors = 0;
  let measuring = false;
  const stopAt = Date.now() + (WARMUP_SECONDS + SECONDS) * 1000;
  let next = 0;
  // node:http with a keep-alive agent: undici's fetch cost this client ~50 µs of CPU per event
  // on the same two cores the API and the broker need.
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  const worker = async () => {
    while (Date.now() < stopAt) {
      const body = o.bodies[next++ % o.bodies.length];
      const t0 = performance.now();
      const res = await postBatch(agent, o.port, o.host, o.apiKey, body);
      if (!measuring) continue;
      if (res.status === 200) {
        events += (JSON.parse(res.body) as { accepted: number }).accepted;
        latencies.push(performance.now() - t0);
      } else errors += 1;
    }
  };
  const runs = Array.from({ length: CONCURRENCY }, () => worker());
  await sleep(WARMUP_SECONDS * 1000);
  measuring = true;
  const t0 = Date.now();
  const cpu0 = { api: treeCpuSeconds(o.apiPid), client: cpuSeconds(), broker: o.brokerPid ? treeCpuSeconds(o.brokerPid) : 0, machine: machineCpuSeconds() };
  await Promise.all(runs);
  agent.destroy();
  const elapsed = (Date.now() - t0) / 1000;
  const machine = machineCpuSeconds();
  return {
    rate: events / elapsed,
    events,
    elapsed,
    errors,
    latencies,
    apiCpu: treeCpuSeconds(o.apiPid) - cpu0.api,
    clientCpu: cpuSeconds() - cpu0.client,
    brokerCpu: o.brokerPid ? treeCpuSeconds(o.brokerPid) - cpu0.broker : 0,
    machineBusy: (machine.busy - cpu0.machine.busy) / (machine.total - cpu0.machine.total),
  };
}

function postBatch(agent: http.Agent, port: number, host: string, apiKey: string, body: Buffer): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host, port, agent, method: 'POST', path: '/api/v2/events/batch', headers: { 'content-type': 'application/json', 'content-length': body.length, 'x-api-key': apiKey } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * Runs the lake sink (`rtap sink`, a process of its own) over everything HTTP put in the topic;
 * events/s from its start to the durable high-water covering the topic's end.
 */
async function drainWithSink(cfg: RtapConfig, kafka: Kafka, topic: string): Promise<{ rate: number; steady: number | undefined; steps: string | undefined }> {
  const admin = kafka.admin();
  await admin.connect();
  const ends = Object.fromEntries((await admin.fetchTopicOffsets(topic)).map((p) => [p.partition, Number(p.high)]));
  await admin.disconnect();
  const total = Object.values(ends).reduce((a, b) => a + b, 0);
  const s3 = createS3(cfg.s3);
  const prefix = sinkPrefix(topic);
  const sink = spawnSink({ topic, groupId: `${topic}-sink`, dlqTopic: topics.dlq, prefix, flushMs: 2000 });
  try {
    const started = await sink.started;
    const caughtUp = async () => highWaterCovers(await readHighWaterMarks(s3, cfg.s3.bucket, prefix), ends);
    if (!(await waitUntil(caughtUp, 900_000, 100))) throw new Error(`the sink did not catch up: ${sink.otherOutput.join('\n').slice(-2000)}`);
    return { rate: total / ((Date.now() - started) / 1000), steady: steadyRate(sink.flushes), steps: stepSummary(sink.flushes) };
  } finally {
    await sink.stop();
    s3.destroy();
  }
}

/** Kafka's own ProducerPerformance (kafka-tools jar of the provisioned distribution). */
function producerPerfTest(cacheDir: string, brokers: string, topic: string, recordSize: number, records: number): Promise<number> {
  const libs = provisionedPaths(cacheDir).kafkaLibs;
  const args = [
    '-cp', `${libs}/*`, 'org.apache.kafka.tools.ProducerPerformance',
    '--topic', topic, '--num-records', String(records), '--record-size', String(recordSize), '--throughput', '-1',
    '--producer-props', `bootstrap.servers=${brokers}`, 'acks=all', 'enable.idempotence=true',
  ];
  return new Promise((resolve, reject) =>
    execFile('java', args, { maxBuffer: 16 << 20 }, (err, stdout) => {
      if (err) return reject(err);
      // Last summary line: "200000 records sent, 61234.5 records/sec (204.37 MB/sec), ..."
      const match = /(\d+) records sent, ([\d.]+) records\/sec/.exec(stdout.trim().split('\n').pop() ?? '');
      if (!match) return reject(new Error(`unexpected perf-test output: ${stdout.slice(-500)}`));
      resolve(Number(match[2]));
    }),
  );
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
