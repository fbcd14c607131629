// Fraud-scoring benchmark: the speed layer with fraud scoring in its loop, against the same speed
// layer without it (the baseline), in the same run, on the same events, each instance in its own
// process (bench/fraud/instance.ts), one after the other: baseline; scoring with anomalies in the
// checkpoint transactions (`transaction`, exactly once, rtap speed's default); scoring with
// anomalies sent as soon as scored (`immediate`, at least once). Events are full brief-shaped generator events through the
// ingestion step (so they carry the `x-rtap-m` speed header and the `x-rtap-f` fraud header, as
// the API writes them: the fraud processor reads its view from them), with the generator's labelled
// fraud campaigns at --fraud-rate. They are produced to 127.0.0.1 only (the local stack), paced at
// --rate events/s for --seconds after a warm-up event. Reported:
//   - scoring cost per event inside the speed layer (p50/p99/max/mean, wall clock of the fraud
//     processor's onEvent: event view, detectors, ensemble, incidents, record);
//   - event → commit (Kafka record timestamp → commit of the transaction carrying it) of both
//     instances, and the rate each kept, as ratios fraud / baseline;
//   - event → anomaly: this process consumes the anomalies topic (read_committed) while producing;
//     latency = arrival of the anomaly record here − the send time of the event that caused it.
//     Retroactive records (`retroactive: true`: earlier events implicated by a later event's
//     impossible travel) are counted apart, not timed: their event did not cause them.
//   npm run bench:fraud -- [--rate 10000] [--seconds 10] [--fraud-rate 0.02] [--seed 11] [--threads 1]
// --threads N: each instance runs N stream threads (`rtap speed --threads N`).
import '../../scripts/quiet-warnings.cjs';
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { logLevel, type Kafka, type Message } from 'kafkajs';
import { loadConfig } from '../../core/config';
import { createIngestStep } from '../../core/ingest-step';
import { createKafka } from '../../core/kafka';
import { createKeyring } from '../../core/pii';
import { EventGenerator } from '../../generator/generator';
import { afterWarmUp, percentiles, WARM_UP_MS, worstPerSecond } from '../stats';
import type { InstanceResult, Mode } from './instance';
import { positiveArg, usageOnHelp } from '../args';

usageOnHelp();

const REPO_ROOT = path.resolve(__dirname, '..', '..');
const TARGET = { scoringP99Ms: 5, eventToAnomalyP99Ms: 50 };

interface Produced {
  messages: Message[];
  /** event id of each message, by index */
  ids: string[];
}

/** Accepted, unique generator events as the ingestion API writes them (speed header included). */
function messages(count: number, seed: number, fraudRate: number): Produced {
  const step = createIngestStep({ keyring: createKeyring({ v1: 'rtap-bench-fraud-key' }, 'v1'), isActiveTenant: () => true });
  const principal = { key_hash: 'bench', tenant_id: '*', roles: ['ingest' as const], label: 'bench', created_at: '' };
  // event times start now: the fraud engine reads event time (sessions, windows), as live traffic
  const gen = new EventGenerator({ seed, fraudRate, startUs: Date.now() * 1000 });
  const seen = new Set<string>();
  const out: Produced = { messages: [], ids: [] };
  for (let i = 0; out.messages.length < count; i++) {
    const o = step(gen.next().event, i, principal);
    if (o.kind !== 'ok' || seen.has(`${o.tenantId}\u0000${o.eventId}`)) continue;
    seen.add(`${o.tenantId}\u0000${o.eventId}`);
    out.messages.push(o.message);
    out.ids.push(o.eventId);
  }
  return out;
}

async function createTopics(kafka: Kafka, topics: { topic: string; numPartitions: number; compact?: boolean }[]): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.createTopics({ topics: topics.map((t) => ({ topic: t.topic, numPartitions: t.numPartitions, configEntries: t.compact ? [{ name: 'cleanup.policy', value: 'compact' }] : [] })), waitForLeaders: true });
  } finally {
    await admin.disconnect();
  }
}

async function deleteTopics(kafka: Kafka, topics: string[]): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  await admin.deleteTopics({ topics }).catch(() => undefined);
  await admin.disconnect();
}

/** Sends messages at `rate`/s in slices every 10 ms; records each one's send time by index. */
async function producePaced(kafka: Kafka, topic: string, msgs: readonly Message[], rate: number, sentAt: Float64Array): Promise<{ seconds: number; lagging: number }> {
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  const per = Math.max(1, Math.round(rate / 100));
  const inFlight = new Set<Promise<unknown>>();
  const t0 = Date.now();
  let lagging = 0;
  for (let k = 0; k * per < msgs.length; k++) {
    const wait = t0 + k * 10 - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    else if (wait < -50) lagging++;
    const now = Date.now();
    const slice = msgs.slice(k * per, (k + 1) * per);
    for (let i = 0; i < slice.length; i++) sentAt[k * per + i] = now;
    const p = producer.send({ topic, acks: 1, messages: slice.map((m) => ({ ...m, timestamp: String(now) })) });
    inFlight.add(p);
    void p.finally(() => inFlight.delete(p));
    if (inFlight.size >= 50) await Promise.race(inFlight);
  }
  await Promise.all(inFlight);
  await producer.disconnect();
  return { seconds: (Date.now() - t0) / 1000, lagging };
}

/** Runs one instance on a fresh topic; also times event → anomaly from here. */
async function runMode(kafka: Kafka, mode: Mode, input: Produced, warmup: Message, rate: number, partitions: number, threads: number): Promise<{ instance: InstanceResult; anomalyMs: number[]; anomalySentAt: number[]; retroactive: number; produced: { seconds: number; lagging: number } }> {
  const run = `${Date.now().toString(36)}`;
  const topic = `bench-fraud-${mode}-${run}`;
  const anomaliesTopic = `${topic}-anomalies`;
  const controlTopic = `${topic}-control`;
  await createTopics(kafka, [
    { topic, numPartitions: partitions },
    { topic: anomaliesTopic, numPartitions: partitions },
    { topic: controlTopic, numPartitions: 1, compact: true },
  ]);
  const child = spawn(process.execPath, [...(process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : []), '-r', 'tsx/cjs', path.join(__dirname, 'instance.ts'), topic, mode, String(input.messages.length), anomaliesTopic, controlTopic, '--threads', String(threads)], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  const ready = new Promise<void>((resolve) => child.stdout.on('data', (d: Buffer) => ((out += d.toString()), out.includes('READY') && resolve())));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));

  // event → anomaly, measured here: the index of each event id, its send time, the arrival of its record
  const index = new Map(input.ids.map((id, i) => [id, i]));
  const sentAt = new Float64Array(input.messages.length);
  const anomalyMs: number[] = [];
  const anomalySentAt: number[] = [];
  let retroactive = 0;
  const consumer = kafka.consumer({ groupId: `${topic}-reader`, maxWaitTimeInMs: 5 });
  await consumer.connect();
  await consumer.subscribe({ topic: anomaliesTopic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      const at = Date.now();
      const r = JSON.parse(message.value!.toString()) as { event_id: string; retroactive?: boolean };
      // a retroactive record (impossible travel implicating earlier events) is caused by a later
      // event: timing it from the implicated event's send would measure the attacker's pace
      if (r.retroactive === true) return void retroactive++;
      const i = index.get(r.event_id);
      if (i !== undefined && sentAt[i] > 0) {
        anomalyMs.push(at - sentAt[i]);
        anomalySentAt.push(sentAt[i]);
      }
    },
  });

  const warmProducer = kafka.producer();
  await warmProducer.connect();
  await warmProducer.send({ topic, messages: [warmup] });
  await warmProducer.disconnect();
  await Promise.race([ready, exited.then(() => Promise.reject(new Error(`instance.ts (${mode}) exited before READY: ${out.slice(-800)}`)))]);
  const produced = await producePaced(kafka, topic, input.messages, rate, sentAt);
  const code = await exited;
  if (code !== 0) throw new Error(`instance.ts (${mode}) failed: ${out.slice(-800)}`);
  const line = out.split('\n').find((l) => l.startsWith('RESULT '));
  if (!line) throw new Error(`instance.ts (${mode}) printed no result`);
  const instance = JSON.parse(line.slice('RESULT '.length)) as InstanceResult;
  // every anomaly was committed before the instance finished; let this consumer read them all
  for (let i = 0; i < 200 && anomalyMs.length + retroactive < instance.anomalies; i++) await new Promise((r) => setTimeout(r, 50));
  await consumer.disconnect();
  await deleteTopics(kafka, [topic, anomaliesTopic, controlTopic]);
  return { instance, anomalyMs, anomalySentAt, retroactive, produced };
}

const f = (x: number) => (Number.isFinite(x) ? (x >= 100 ? x.toFixed(0) : x >= 1 ? x.toFixed(1) : x.toFixed(3)) : 'n/a');
const ratio = (a: number, b: number) => (b > 0 && Number.isFinite(a) ? `${(a / b).toFixed(2)}×` : 'n/a');

async function main(): Promise<void> {
  const rate = positiveArg('rate', 10_000);
  const seconds = positiveArg('seconds', 10);
  const fraudRate = positiveArg('fraud-rate', 0.02);
  const seed = positiveArg('seed', 11);
  const threads = positiveArg('threads', 1, { integer: true });
  const cfg = loadConfig();
  if (!cfg.kafka.brokers.every((b) => /^(127\.0\.0\.1|localhost):\d+$/.test(b))) throw new Error(`bench/fraud sends traffic to 127.0.0.1 only; KAFKA_BROKERS is ${cfg.kafka.brokers.join(',')}`);
  const kafka = createKafka(cfg.kafka, { clientId: 'rtap-bench-fraud', logLevel: logLevel.ERROR });
  const count = Math.round(rate * seconds);
  const started = Date.now();
  const input = messages(count + 1, seed, fraudRate);
  const warmup = input.messages.shift()!;
  input.ids.shift();
  console.log(`bench/fraud: ${count} events (fraud share ${fraudRate}, seed ${seed}) at ${rate}/s over ${cfg.kafka.eventsPartitions} partitions, ${threads} stream thread(s) per instance; generated in ${((Date.now() - started) / 1000).toFixed(1)} s`);

  const base = await runMode(kafka, 'baseline', input, warmup, rate, cfg.kafka.eventsPartitions, threads);
  const runs = [await runMode(kafka, 'transaction', input, warmup, rate, cfg.kafka.eventsPartitions, threads), await runMode(kafka, 'immediate', input, warmup, rate, cfg.kafka.eventsPartitions, threads)];

  const b = base.instance;
  const sustained = (r: InstanceResult, p: { seconds: number }) => r.processedPerSecond >= 0.95 * rate && r.commitMs.p50 < 1000 && p.seconds < seconds * 1.1;
  const row = (name: string, baseline: string, values: string[]) => console.log(`| ${name} | ${baseline} | ${values.join(' | ')} |`);
  const stats = runs.map((r) => {
    const [a50, a99, amax] = r.anomalyMs.length > 0 ? percentiles(r.anomalyMs, [50, 99, 100]) : [NaN, NaN, NaN];
    return { r, x: r.instance, s: r.instance.scoringMs!, a50, a99, amax };
  });
  console.log('');
  console.log('| measure | baseline (speed layer, no scoring) | scoring, anomalies in the transaction | ratio | scoring, anomalies sent at once | ratio |');
  console.log('|---|---:|---:|---:|---:|---:|');
  row(`events/s kept (offered ${rate})`, String(b.processedPerSecond), stats.flatMap(({ x }) => [String(x.processedPerSecond), ratio(x.processedPerSecond, b.processedPerSecond)]));
  row('sustained', sustained(b, base.produced) ? 'yes' : 'no', stats.flatMap(({ x, r }) => [sustained(x, r.produced) ? 'yes' : 'no', '']));
  row('instance CPU per event (µs, all its threads)', String(b.cpuUsPerEvent), stats.flatMap(({ x }) => [String(x.cpuUsPerEvent), ratio(x.cpuUsPerEvent, b.cpuUsPerEvent)]));
  row('checkpoint transactions (mean ms)', `${b.transactions} (${f(b.transactionMeanMs)})`, stats.flatMap(({ x }) => [`${x.transactions} (${f(x.transactionMeanMs)})`, ratio(x.transactions, b.transactions)]));
  row('event → commit p50 ms', f(b.commitMs.p50), stats.flatMap(({ x }) => [f(x.commitMs.p50), ratio(x.commitMs.p50, b.commitMs.p50)]));
  row('event → commit p99 ms', f(b.commitMs.p99), stats.flatMap(({ x }) => [f(x.commitMs.p99), ratio(x.commitMs.p99, b.commitMs.p99)]));
  row('event → commit, worst per second sent (ms)', b.commitWorstPerSecond, stats.flatMap(({ x }) => [x.commitWorstPerSecond, '']));
  row('scoring per event p50 ms', '', stats.flatMap(({ s }) => [f(s.p50), '']));
  row('scoring per event p99 ms (max, mean)', '', stats.flatMap(({ s }) => [`${f(s.p99)} (${f(s.max)}, ${f(s.mean)})`, '']));
  row('event → anomaly p50 ms', '', stats.flatMap(({ a50 }) => [f(a50), `vs baseline event→commit p50: ${ratio(a50, b.commitMs.p50)}`]));
  row('event → anomaly p99 ms (max)', '', stats.flatMap(({ a99, amax }) => [`${f(a99)} (${f(amax)})`, `vs baseline event→commit p99: ${ratio(a99, b.commitMs.p99)}`]));
  row(`event → anomaly after the first ${WARM_UP_MS / 1000} s (ms)`, '', stats.flatMap(({ r }) => [afterWarmUp(r.anomalySentAt, r.anomalyMs, WARM_UP_MS), '']));
  row('event → anomaly, worst per second sent (ms)', '', stats.flatMap(({ r }) => [worstPerSecond(r.anomalySentAt, r.anomalyMs), '']));
  row('anomalies received / produced', '', stats.flatMap(({ r, x }) => [`${r.anomalyMs.length + r.retroactive} / ${x.anomalies}`, '']));
  // retroactive records (a later event's impossible travel implicating earlier ones) are left out of event → anomaly
  row('of which retroactive (not timed)', '', stats.flatMap(({ r }) => [String(r.retroactive), '']));
  console.log('');
  for (const { x, r, s, a99 } of stats) {
    console.log(
      `${x.mode}: scoring p99 < ${TARGET.scoringP99Ms} ms: ${s.p99 < TARGET.scoringP99Ms ? 'met' : 'NOT met'}; event → anomaly p99 < ${TARGET.eventToAnomalyP99Ms} ms: ${a99 < TARGET.eventToAnomalyP99Ms ? 'met' : 'NOT met'} (at ${rate} events/s offered${sustained(x, r.produced) ? ', sustained' : ', NOT sustained'})`,
    );
  }
  console.log(`producer seconds (late 10 ms slices): baseline ${base.produced.seconds.toFixed(1)} (${base.produced.lagging}); ${runs.map((r) => `${r.instance.mode} ${r.produced.seconds.toFixed(1)} (${r.produced.lagging})`).join('; ')}`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
