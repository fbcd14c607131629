// Ingestion benchmark: sustained events/s through HTTP into Kafka with full 2–4 KB events, and
// request latency p50/p95/p99 — against, in the same run, Kafka's own kafka-producer-perf-test
// at the same record size (the physical limit of this broker on this machine); then the lake
// sink drains what HTTP ingested, so "sink faster than ingest" is measured on the same events.
//   npx tsx bench/ingest/http.ts [seconds=20] [concurrency=4] [batch=500]
// The API runs in its own process (as in production); this process only sends pre-built bodies.
import '../../scripts/quiet-warnings.cjs';
import { execFile, spawn } from 'node:child_process';
import * as path from 'node:path';
import type { Kafka } from 'kafkajs';
import { loadConfig, REPO_ROOT, type RtapConfig } from '../../core/config';
import { ControlPlane } from '../../core/control';
import { EVENT_TOPIC_MAX_MESSAGE_BYTES, createKafka } from '../../core/kafka';
import { highWaterCovers } from '../../core/lake';
import { createLogger } from '../../core/logger';
import { sleep, waitUntil } from '../../core/retry';
import { createS3 } from '../../core/s3';
import { EventGenerator } from '../../generator/generator';
import { readHighWaterMarks } from '../../ingest/manifests';
import { createLakeSink } from '../../ingest/sink';
import { provisionedPaths } from '../../stack/provision';

const SECONDS = Number(process.argv[2] ?? 20);
const CONCURRENCY = Number(process.argv[3] ?? 4);
const BATCH = Number(process.argv[4] ?? 500);
const WARMUP_SECONDS = 3;
const suffix = `${Date.now().toString(36)}`;
const topics = { events: `bench-events-${suffix}`, dlq: `bench-dlq-${suffix}`, control: `bench-control-${suffix}` };

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
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
      { topic: `${topics.events}-perf`, numPartitions: cfg.kafka.eventsPartitions },
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

  const bodies: string[] = [];
  let eventBytes = 0;
  for (let b = 0; b < 40; b++) {
    const events = Array.from({ length: BATCH }, () => gen.next().event);
    for (const e of events) eventBytes += JSON.stringify(e).length;
    bodies.push(JSON.stringify({ events }));
  }
  const avgEventBytes = Math.round(eventBytes / (bodies.length * BATCH));

  const port = cfg.api.port + 100;
  const api = spawn(process.execPath, [path.join(REPO_ROOT, 'bench', 'ingest', 'api-process.cjs'), JSON.stringify(topics)], {
    env: { ...process.env, API_PORT: String(port), LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const url = `http://${cfg.api.host}:${port}`;
  try {
    if (!(await waitUntil(async () => (await fetch(`${url}/healthz`)).ok, 60000, 200))) throw new Error('bench API did not start');

    const latencies: number[] = [];
    let events = 0;
    let errors = 0;
    let measuring = false;
    const stopAt = Date.now() + (WARMUP_SECONDS + SECONDS) * 1000;
    let next = 0;
    const worker = async () => {
      while (Date.now() < stopAt) {
        const body = bodies[next++ % bodies.length];
        const t0 = performance.now();
        const res = await fetch(`${url}/api/v2/events/batch`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': apiKey }, body });
        const json = (await res.json()) as { accepted?: number };
        if (!measuring) continue;
        if (res.status === 200) {
          events += json.accepted ?? 0;
          latencies.push(performance.now() - t0);
        } else errors += 1;
      }
    };
    const runs = Array.from({ length: CONCURRENCY }, () => worker());
    await sleep(WARMUP_SECONDS * 1000);
    measuring = true;
    const t0 = Date.now();
    await Promise.all(runs);
    const elapsed = (Date.now() - t0) / 1000;
    latencies.sort((a, b) => a - b);
    const httpRate = events / elapsed;

    const perf = await producerPerfTest(cfg.cacheDir, cfg.kafka.brokers.join(','), `${topics.events}-perf`, avgEventBytes, 200000);

    const sinkRate = await drainWithSink(cfg, kafka, topics.events);

    const line = (label: string, value: string) => process.stdout.write(`${label.padEnd(46)} ${value}\n`);
    process.stdout.write(`\nrtap ingest benchmark (${SECONDS}s measured after ${WARMUP_SECONDS}s warm-up, ${CONCURRENCY} connections, ${BATCH} events/request, avg event ${avgEventBytes} B)\n`);
    line('HTTP → Kafka (acks=all, idempotent):', `${httpRate.toFixed(0)} events/s, ${((httpRate * avgEventBytes) / 1e6).toFixed(1)} MB/s`);
    line('request latency p50 / p95 / p99:', `${percentile(latencies, 50).toFixed(1)} / ${percentile(latencies, 95).toFixed(1)} / ${percentile(latencies, 99).toFixed(1)} ms (${latencies.length} requests, ${errors} non-200)`);
    line('kafka-producer-perf-test (same record size):', `${perf.toFixed(0)} records/s`);
    line('ratio HTTP / perf-test:', (httpRate / perf).toFixed(2));
    line('lake sink, same events → Parquet on S3:', `${sinkRate.toFixed(0)} events/s`);
    line('ratio sink / HTTP ingest:', (sinkRate / httpRate).toFixed(2));
  } finally {
    api.kill('SIGTERM');
  }
}

/** Runs the lake sink over everything HTTP put in the topic; events/s from start to durable high-water. */
async function drainWithSink(cfg: RtapConfig, kafka: Kafka, topic: string): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  const ends = Object.fromEntries((await admin.fetchTopicOffsets(topic)).map((p) => [p.partition, Number(p.high)]));
  await admin.disconnect();
  const total = Object.values(ends).reduce((a, b) => a + b, 0);
  const s3 = createS3(cfg.s3);
  const prefix = `bench/${topic}`;
  const sink = createLakeSink({ kafka, s3, bucket: cfg.s3.bucket }, { topic, groupId: `${topic}-sink`, dlqTopic: topics.dlq, prefix, flushIntervalMs: 2000 });
  const started = Date.now();
  await sink.start();
  const caughtUp = async () => highWaterCovers(await readHighWaterMarks(s3, cfg.s3.bucket, prefix), ends);
  if (!(await waitUntil(caughtUp, 900_000, 100))) throw new Error('the sink did not catch up');
  const seconds = (Date.now() - started) / 1000;
  await sink.stop();
  s3.destroy();
  return total / seconds;
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
