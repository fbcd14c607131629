// Speed-layer benchmark: on one topic of full brief-shaped generator events (~3.5 KB, written
// through the ingestion step so they carry the `x-rtap-m` speed header), in the same run, one after
// the other, each in its own process:
//   1. kafka-consumer-perf-test (the provisioned Kafka's ConsumerPerformance): the raw read limit;
//   2. the kafkajs eachBatch + JSON.parse limit (../shared/peers/kstreams/kafkajs-read-parse.cjs);
//   3. our per-event core loop (bench/speed/core-loop.ts: the runtime's SpeedState.process() with
//      the feature store) reading the header, and with `parse` (the fallback for events without it);
//   4. the whole speed layer (bench/speed/instance.ts): the same plus its checkpoint transactions
//      (changelog, window results and offsets, exactly once) every commit interval;
//   5. the peer: Kafka Streams, 1-minute event-time windows with exactly-once
//      (../shared/peers/kstreams, built with Maven outside the repo).
// Prints events/s and the ratios against the peer and the limits: the whole layer with --threads
// against Kafka Streams with 2, and each side's faster configuration of the run against the other's.
// Then event → update latency while events are produced at --rate (10,000/s), of the whole speed
// layer (in memory and committed) and of the core loop (bench/speed/latency.ts), beside two floors
// measured the same way in the same run: a bare kafkajs consumer that does nothing, and the same
// spinning the core loop's extra CPU per event (what any consumer that costs that much gets here).
//   npm run bench:speed -- [--events 300000] [--topic <existing topic>] [--no-peer] [--rate 10000] [--seconds 12]
//     [--no-latency | --latency-only] [--latency-mode all|both|instance|core|floor] [--threads N] [--rounds N]
// --threads N (default 2): the whole speed layer is measured with 1 and with N stream threads
// (`rtap speed --threads N`: worker threads of one process splitting the partitions, as Kafka
// Streams' 2 threads are), and its latency phase runs with N.
// --rounds N (default 1): steps 4 and 5 run N times, alternating, and the ratios are given per
// round and as their median: on a shared machine one pair of runs says as much about the
// neighbours as about the code.
import '../../scripts/quiet-warnings.cjs';
import { execFile, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Message } from 'kafkajs';
import { loadConfig } from '../../core/config';
import { createKafka, EVENT_TOPIC_MAX_MESSAGE_BYTES } from '../../core/kafka';
import { withRetry } from '../../core/retry';
import { childExecArgv } from '../../core/young-generation';
import { provisionedPaths } from '../../stack/provision';
import { ingestedMessages, ingestedStream } from './messages';
import { positiveArg, usageOnHelp } from '../args';
import { median, WARM_UP_MS } from '../stats';

usageOnHelp();

const REPO_ROOT = path.resolve(__dirname, '..', '..');
const PEER_DIR = process.env.KSTREAMS_PEER_DIR ?? path.resolve(REPO_ROOT, '..', 'shared', 'peers', 'kstreams');
const PEER_OUT = process.env.KSTREAMS_PEER_OUT ?? path.join(os.tmpdir(), 'kstreams-peer');

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? undefined : process.argv[i + 1];
}

const TIME = fs.existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined;
/** CPU seconds (user + system) of the last `run` (the machine is shared: events per CPU-second is steadier than events/s). */
let lastCpu = NaN;

function run(cmd: string, args: string[], opts: { cwd?: string; timeoutMs?: number } = {}): Promise<string> {
  const [file, argv] = TIME ? [TIME, ['-f', 'TIME user=%U sys=%S', cmd, ...args]] : [cmd, args];
  return new Promise((resolve, reject) =>
    execFile(file, argv, { cwd: opts.cwd ?? REPO_ROOT, maxBuffer: 64 << 20, timeout: opts.timeoutMs ?? 900_000 }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`${cmd} ${args.slice(0, 4).join(' ')}… failed: ${err.message}\n${stderr.slice(-2000)}`));
      const t = /TIME user=([\d.]+) sys=([\d.]+)/.exec(stderr);
      lastCpu = t ? Number(t[1]) + Number(t[2]) : NaN;
      resolve(`${stdout}\n${stderr}`);
    }),
  );
}

async function createTopic(topic: string): Promise<void> {
  const cfg = loadConfig();
  const admin = createKafka(cfg.kafka, { clientId: 'rtap-bench-speed' }).admin();
  await admin.connect();
  // a busy broker can answer the leader wait of a fresh topic with UNKNOWN_TOPIC_OR_PARTITION (retriable)
  await withRetry(() =>
    admin.createTopics({
      topics: [{ topic, numPartitions: cfg.kafka.eventsPartitions, configEntries: [{ name: 'max.message.bytes', value: String(EVENT_TOPIC_MAX_MESSAGE_BYTES) }] }],
      waitForLeaders: true,
    }),
  );
  await admin.disconnect();
}

/** Produces `messages` at `rate`/s in batches every 10 ms (the record timestamp is the send time). */
async function producePaced(topic: string, messages: Message[], rate: number): Promise<number> {
  const producer = createKafka(loadConfig().kafka, { clientId: 'rtap-bench-speed' }).producer({ allowAutoTopicCreation: false });
  await producer.connect();
  const per = Math.max(1, Math.round(rate / 100));
  const inFlight = new Set<Promise<unknown>>();
  const t0 = Date.now();
  let lagging = 0;
  for (let k = 0; k * per < messages.length; k++) {
    const due = t0 + k * 10;
    const wait = due - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    else if (wait < -50) lagging++;
    const p = producer.send({ topic, acks: 1, messages: messages.slice(k * per, (k + 1) * per).map((m) => ({ ...m, timestamp: String(Date.now()) })) });
    inFlight.add(p);
    void p.finally(() => inFlight.delete(p));
    if (inFlight.size >= 50) await Promise.race(inFlight);
  }
  await Promise.all(inFlight);
  const seconds = (Date.now() - t0) / 1000;
  await producer.disconnect();
  if (lagging) process.stdout.write(`  (the producer fell > 50 ms behind schedule on ${lagging} batches)\n`);
  return messages.length / seconds;
}

/** Stream threads of the measured instance (the Kafka Streams peer runs 2). */
const THREADS = Number(arg('threads') ?? 2);
/** Rounds of the layer against the peer (see the header). */
const ROUNDS = positiveArg('rounds', 1, { integer: true });

type LatencyMode = 'instance' | 'core' | 'floor';

/** latency.ts's `RESULT-JSON` line. */
interface LatencyResult {
  mode: LatencyMode;
  burnUs: number;
  cpuUsPerEvent: number;
  updated?: { p50: number; p99: number };
  committed?: { p50: number; p99: number };
}

async function latencyPhase(rate: number, seconds: number, mode: LatencyMode, burnUs = 0): Promise<LatencyResult> {
  const topic = `bench-speed-latency-${Date.now()}`;
  await createTopic(topic);
  const [warmUp, ...messages] = ingestedMessages(rate * seconds + 1, 77, { unique: true });
  const args = [topic, String(messages.length), mode, '--threads', String(THREADS), ...(burnUs > 0 ? ['--burn-us', burnUs.toFixed(1)] : [])];
  const child = spawn(process.execPath, ['-r', 'tsx/cjs', path.join(__dirname, 'latency.ts'), ...args], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  const ready = new Promise<void>((resolve) => child.stdout.on('data', (d: Buffer) => ((out += d.toString()), out.includes('READY') && resolve())));
  const exited = new Promise<number>((resolve) => child.on('exit', (code) => resolve(code ?? 1)));
  await producePaced(topic, [warmUp], rate);
  await ready;
  const sent = await producePaced(topic, messages, rate);
  if ((await exited) !== 0) throw new Error(`latency.ts failed: ${out.slice(-800)}`);
  await cleanUp([topic]);
  const m = /RESULT latency \w+: (.*)/.exec(out);
  const json = /RESULT-JSON (.*)/.exec(out);
  if (!m || !json) throw new Error(`latency.ts printed no result: ${out.slice(-800)}`);
  const what =
    mode === 'instance'
      ? `the speed layer with ${THREADS} stream thread(s) (transactions every commit interval)`
      : mode === 'core'
        ? 'the core loop (no transactions)'
        : burnUs > 0
          ? `floor: a bare kafkajs consumer spinning ${burnUs.toFixed(1)} µs of CPU per event`
          : 'floor: a bare kafkajs consumer (no processing)';
  process.stdout.write(`\nlatency at ${Math.round(sent).toLocaleString('en-US')} events/s sent (target ${rate.toLocaleString('en-US')}) for ${seconds} s, ${what}, load ${loadText()}: ${m[1]}\n`);
  return JSON.parse(json[1]) as LatencyResult;
}

const loadText = () => os.loadavg().map((l) => l.toFixed(1)).join(' ');

/**
 * The latency phases of --latency-mode: `all` (the default) runs the bare consumer, the core loop,
 * the bare consumer spinning the core loop's extra CPU per event, and the whole layer, then prints
 * their CPU per event and p99s side by side; `both` the layer and the core loop; or one mode alone.
 */
async function latencyPhases(): Promise<void> {
  const rate = Number(arg('rate') ?? 10_000);
  const seconds = Number(arg('seconds') ?? 12);
  const mode = arg('latency-mode') ?? 'all';
  if (!['all', 'both', 'instance', 'core', 'floor'].includes(mode)) throw new Error('--latency-mode is all, both, instance, core or floor');
  const results: { label: string; r: LatencyResult }[] = [];
  const measure = async (label: string, m: LatencyMode, burnUs = 0) => {
    const r = await latencyPhase(rate, seconds, m, burnUs);
    results.push({ label, r });
    return r;
  };
  const bare = mode === 'all' || mode === 'floor' ? await measure('bare kafkajs consumer', 'floor') : undefined;
  const coreLoop = mode !== 'instance' && mode !== 'floor' ? await measure('core loop', 'core') : undefined;
  if (bare && coreLoop && coreLoop.cpuUsPerEvent > bare.cpuUsPerEvent) {
    const extra = coreLoop.cpuUsPerEvent - bare.cpuUsPerEvent;
    await measure(`bare consumer + ${extra.toFixed(0)} µs of CPU per event`, 'floor', extra);
  }
  if (mode !== 'core' && mode !== 'floor') await measure(`speed layer, ${THREADS} thread(s)`, 'instance');
  if (results.length < 2) return;
  process.stdout.write(`\nevent → update after the first ${WARM_UP_MS / 1000} s, this run (the target: p99 < 50 ms at 10,000 events/s):\n`);
  const p = (x?: { p50: number; p99: number }) => (x ? `p50 ${x.p50} ms, p99 ${x.p99} ms` : 'none');
  for (const { label, r } of results) {
    const ratio = bare?.updated && r.updated && r !== bare ? ` (p99 ${(r.updated.p99 / Math.max(1, bare.updated.p99)).toFixed(1)} × the bare consumer's)` : '';
    process.stdout.write(`  ${label.padEnd(44)} ${r.cpuUsPerEvent.toFixed(1).padStart(6)} µs CPU/event   updated ${p(r.updated)}${ratio}${r.committed ? `; committed ${p(r.committed)}` : ''}\n`);
  }
}

/** Deletes the consumer groups the read-only runs leave behind (and the latency topics), best effort. */
async function cleanUp(topics: string[]): Promise<void> {
  const admin = createKafka(loadConfig().kafka, { clientId: 'rtap-bench-speed' }).admin();
  await admin.connect();
  try {
    const groups = (await admin.listGroups()).groups.map((g) => g.groupId).filter((g) => /^(rtap-bench-speed-|peer-read-parse-)/.test(g));
    if (groups.length) await admin.deleteGroups(groups).catch(() => undefined);
    if (topics.length) await admin.deleteTopics({ topics }).catch(() => undefined);
  } finally {
    await admin.disconnect();
  }
}

async function fill(topic: string, events: number): Promise<number> {
  const cfg = loadConfig();
  const kafka = createKafka(cfg.kafka, { clientId: 'rtap-bench-speed' });
  await createTopic(topic);
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  // the generator's defaults (seed 2026): late events, duplicates and defects at their usual shares
  let bytes = 0;
  let sent = 0;
  let batch: Message[] = [];
  const inFlight = new Set<Promise<unknown>>();
  const flush = async () => {
    const p = producer.send({ topic, messages: batch, acks: 1 });
    batch = [];
    inFlight.add(p);
    void p.finally(() => inFlight.delete(p));
    if (inFlight.size >= 4) await Promise.race(inFlight);
  };
  for (const m of ingestedStream(2026)) {
    if (sent === events) break;
    bytes += Buffer.byteLength(m.value as string);
    batch.push(m);
    sent++;
    if (batch.length === 500) await flush();
  }
  if (batch.length) await flush();
  await Promise.all(inFlight);
  await producer.disconnect();
  return bytes / sent;
}

async function topicSize(topic: string): Promise<number> {
  const kafka = createKafka(loadConfig().kafka, { clientId: 'rtap-bench-speed' });
  const admin = kafka.admin();
  await admin.connect();
  try {
    return (await admin.fetchTopicOffsets(topic)).reduce((s, p) => s + Number(p.high) - Number(p.low), 0);
  } finally {
    await admin.disconnect();
  }
}

const fmt = (x: number) => Math.round(x).toLocaleString('en-US').padStart(9);

async function main(): Promise<void> {
  const cfg = loadConfig();
  if (process.argv.includes('--latency-only')) return latencyPhases();
  const events = Number(arg('events') ?? 300_000);
  let topic = arg('topic');
  let avg = 0;
  if (!topic) {
    topic = `bench-speed-${Date.now()}`;
    const t = Date.now();
    avg = await fill(topic, events);
    process.stdout.write(`filled ${topic}: ${events} events through the ingestion step, ${avg.toFixed(0)} B average value, in ${((Date.now() - t) / 1000).toFixed(1)} s\n`);
  }
  const total = await topicSize(topic);
  process.stdout.write(`topic ${topic}: ${total} records; machine: ${os.cpus().length} × ${os.cpus()[0]?.model ?? '?'}, load ${loadText()}\n`);
  const results: Record<string, number> = {};
  const note = (name: string, rate: number, detail = '') => {
    results[name] = rate;
    const perCpu = Number.isFinite(lastCpu) ? `${fmt(total / lastCpu)} events/CPU-s (${lastCpu.toFixed(1)} CPU-s)` : '';
    process.stdout.write(`  ${name.padEnd(48)} ${fmt(rate)} events/s ${perCpu} ${detail} [load ${loadText()}]\n`);
  };

  // 1. kafka-consumer-perf-test
  const libs = provisionedPaths(cfg.cacheDir).kafkaLibs;
  const perf = await run('java', [
    '-cp', `${libs}/*`, 'org.apache.kafka.tools.ConsumerPerformance', '--bootstrap-server', cfg.kafka.brokers.join(','),
    '--topic', topic, '--num-records', String(total), '--group', `rtap-bench-speed-perf-${Date.now()}`, '--timeout', '60000',
  ]);
  // header: start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, …
  const perfLine = perf.split('\n').find((l) => /^\d{4}-\d\d-\d\d/.test(l.trim()));
  if (!perfLine) throw new Error(`unexpected ConsumerPerformance output: ${perf.slice(-800)}`);
  note('kafka-consumer-perf-test (raw read)', Number(perfLine.split(',')[5]));

  // 2. kafkajs read + JSON.parse limit
  const kj = await run(process.execPath, [path.join(PEER_DIR, 'kafkajs-read-parse.cjs'), topic, 'batch']);
  const kjm = /-> (\d+) events\/s \| from first message [\d.]+s -> (\d+)/.exec(kj);
  if (!kjm) throw new Error(`unexpected kafkajs-read-parse output: ${kj.slice(-800)}`);
  note('kafkajs eachBatch + JSON.parse (limit)', Number(kjm[1]), `(from first message ${fmt(Number(kjm[2])).trim()})`);

  // 3. our core loop, with the header and with the parsing fallback
  for (const mode of ['header', 'parse']) {
    // with the young generation the layer's stream threads get (core/young-generation.ts), so the
    // per-event work is measured as it runs
    const out = await run(process.execPath, [...childExecArgv([], process.env.NODE_OPTIONS), '-r', 'tsx/cjs', path.join(__dirname, 'core-loop.ts'), topic, mode]);
    const m = /-> (\d+) events\/s \| from first message [\d.]+s -> (\d+) events\/s \| (.*)/.exec(out);
    if (!m) throw new Error(`unexpected core-loop output: ${out.slice(-800)}`);
    note(`rtap core loop, ${mode === 'header' ? 'x-rtap-m header' : 'JSON.parse fallback'}`, Number(m[1]), `(from first message ${fmt(Number(m[2])).trim()}; ${m[3]})`);
  }

  // 4 and 5, ROUNDS times: the whole speed layer (checkpoint transactions included: one stream
  // thread, then THREADS) and the Kafka Streams peer (2 threads, then 1)
  const withPeer = !process.argv.includes('--no-peer');
  if (withPeer && !fs.existsSync(path.join(PEER_OUT, 'classes', 'peer', 'WindowJob.class'))) {
    await run('mvn', ['-q', '-B', '-f', path.join(PEER_DIR, 'pom.xml'), `-Dpeer.out=${PEER_OUT}`, 'package', '-DskipTests']);
  }
  const layerName = (threads: number) => `rtap speed layer, ${threads} stream thread(s), EOS`;
  const peerName = (threads: number) => `Kafka Streams peer, ${threads} thread(s), EOS, full parse`;
  const rounds: Record<string, number>[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    if (ROUNDS > 1) process.stdout.write(`round ${r + 1}/${ROUNDS}\n`);
    const round: Record<string, number> = {};
    for (const threads of [...new Set([1, THREADS])]) {
      const inst = await run(process.execPath, ['-r', 'tsx/cjs', path.join(__dirname, 'instance.ts'), topic, '--threads', String(threads)]);
      const im = /RESULT instance: \d+ thread\(s\), \d+ events in [\d.]+s -> (\d+) events\/s \| (.*)/.exec(inst);
      if (!im) throw new Error(`unexpected instance output: ${inst.slice(-800)}`);
      note(layerName(threads), Number(im[1]), `(${im[2]})`);
      round[layerName(threads)] = Number(im[1]);
    }
    if (withPeer) {
      for (const threads of [2, 1]) {
        const ks = await run('java', ['-cp', `${PEER_OUT}/classes:${PEER_OUT}/lib/*`, 'peer.WindowJob', '--input', topic, '--threads', String(threads), '--app-id', `peer-ks-${threads}-${Date.now()}`]);
        const m = /RESULT wall_from_start=[\d.]+s -> (\d+) events\/s \| from_first_record=[\d.]+s -> (\d+) events\/s/.exec(ks);
        if (!m) throw new Error(`unexpected WindowJob output: ${ks.slice(-800)}`);
        note(peerName(threads), Number(m[1]), `(from first record ${fmt(Number(m[2])).trim()})`);
        round[peerName(threads)] = Number(m[1]);
      }
    }
    rounds.push(round);
  }

  const ours = results['rtap core loop, x-rtap-m header'];
  const peerRate2 = median(rounds.map((r) => r[peerName(2)] ?? NaN));
  if (withPeer) {
    // per round: the layer with --threads against Kafka Streams with 2, and each side as its user
    // would run it on this machine (its faster configuration of the round) against the other
    const asRun = rounds.map((r) => r[layerName(THREADS)] / r[peerName(2)]);
    const best = (r: Record<string, number>, prefix: string) => Object.entries(r).filter(([name]) => name.startsWith(prefix)).reduce((a, b) => (b[1] > a[1] ? b : a));
    const bestOfEach = rounds.map((r) => best(r, 'rtap speed layer, ')[1] / best(r, 'Kafka Streams peer, ')[1]);
    const threadsOf = (name: string) => /(\d+) (stream )?thread/.exec(name)?.[1] ?? '?';
    const verdict = (x: number) => `(target ≥ 1.2: ${x >= 1.2 ? 'met' : 'NOT met'})`;
    const spread = (xs: number[]) => (ROUNDS > 1 ? `, median of ${xs.map((x) => x.toFixed(2)).join(', ')}` : '');
    process.stdout.write(`\nthe whole speed layer (${THREADS} stream threads) vs Kafka Streams (2 threads): ${median(asRun).toFixed(2)} ×${spread(asRun)}  ${verdict(median(asRun))}\n`);
    const last = rounds[rounds.length - 1];
    process.stdout.write(
      `best of each (in the last round: the speed layer with ${threadsOf(best(last, 'rtap speed layer, ')[0])} stream thread(s), Kafka Streams with ${threadsOf(best(last, 'Kafka Streams peer, ')[0])}): ${median(bestOfEach).toFixed(2)} ×${spread(bestOfEach)}  ${verdict(median(bestOfEach))}\n`,
    );
  }
  process.stdout.write('ratios of the rtap core loop (header, no transactions):\n');
  if (withPeer) process.stdout.write(`  vs Kafka Streams (2 threads):          ${(ours / peerRate2).toFixed(2)} ×${ROUNDS > 1 ? ' (its median)' : ''}\n`);
  process.stdout.write(`  vs kafkajs + JSON.parse limit:         ${(ours / results['kafkajs eachBatch + JSON.parse (limit)']).toFixed(2)} ×\n`);
  process.stdout.write(`  vs kafka-consumer-perf-test:           ${(ours / results['kafka-consumer-perf-test (raw read)']).toFixed(2)} ×\n`);
  process.stdout.write(`  header vs parse fallback:              ${(ours / results['rtap core loop, JSON.parse fallback']).toFixed(2)} ×\n`);

  await cleanUp([]);
  process.stdout.write(`\n(the bench topic ${topic} is kept: rerun with --topic ${topic}, or delete it)\n`);
  if (!process.argv.includes('--no-latency')) await latencyPhases();
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
