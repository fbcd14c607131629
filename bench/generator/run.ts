// Generator benchmark: events/s generated + serialized on one core, and delivered to local
// Kafka. The machine is shared and noisy, so every figure is printed with a ratio to a baseline
// measured in the same run: JSON.stringify of one prebuilt event in a tight loop (CPU), and
// delivery of the same number of pre-serialized messages of the same size (Kafka). Delivery is
// measured on the `rtap generate --to kafka` path (generator in a worker thread) and, for
// comparison, with everything on the main thread.
//   npx tsx bench/generator/run.ts [--events 200000] [--kafka-events 100000] [--no-kafka]
import '../../scripts/quiet-warnings.cjs';
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { loadConfig } from '../../core/config';
import { createKafka } from '../../core/kafka';
import type { Kafka } from 'kafkajs';
import { DEFAULT_OPTIONS, EventGenerator, type GeneratorOptions } from '../../generator/generator';
import { runGenerator, toMessage } from '../../generator/run';
import { KafkaSink, type OutMessage } from '../../generator/sinks';
import { runGeneratorInWorker } from '../../generator/worker';
import { positiveArg, usageOnHelp } from '../args';

usageOnHelp();

const TARGET_GENERATED = 50_000;
const TARGET_DELIVERED = 20_000;

function timed(fn: () => void): number {
  const t0 = performance.now();
  fn();
  return (performance.now() - t0) / 1000;
}

function line(name: string, events: number, seconds: number, baseline?: number): number {
  const rate = events / seconds;
  const ratio = baseline ? `  ratio ${(rate / baseline).toFixed(2)}` : '';
  process.stdout.write(`${name.padEnd(46)} ${Math.round(rate).toLocaleString('en-US').padStart(10)} events/s${ratio}\n`);
  return rate;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1];

function cpuPhase(n: number, opts: Partial<GeneratorOptions>): number {
  // Warm-up so JIT and the user cache are in steady state for every measurement. The baseline
  // event is a typical one: the warm-up event whose size is closest to the warm-up average (the
  // generator's first event is a session start, not representative of the mix).
  const warm = new EventGenerator(opts);
  const sample: { json: string; event: unknown }[] = [];
  let warmBytes = 0;
  for (let i = 0; i < 50_000; i++) {
    const g = warm.next();
    const json = toMessage(g).value;
    warmBytes += json.length;
    if (i % 50 === 0) sample.push({ json, event: g.event });
  }
  const mean = warmBytes / 50_000;
  const fixed = sample.reduce((best, x) => (Math.abs(x.json.length - mean) < Math.abs(best.json.length - mean) ? x : best)).event;
  const fixedBytes = JSON.stringify(fixed).length;

  // The three measurements run interleaved in rounds and report their medians, so a neighbour's
  // burst on the shared box hits all three alike instead of skewing one ratio. Besides wall-clock
  // events/s, each line gives events per CPU-second of this process (user + system, GC threads
  // included), which a busy neighbour barely moves.
  const gen = new EventGenerator(opts);
  const gen2 = new EventGenerator(opts);
  const rounds = 10;
  const per = Math.max(1, Math.floor(n / rounds));
  type M = 'base' | 'gen' | 'both';
  const wall: Record<M, number[]> = { base: [], gen: [], both: [] };
  const cpu: Record<M, number[]> = { base: [], gen: [], both: [] };
  let sink = 0;
  let bytes = 0;
  let serialized = 0;
  for (let r = 0; r < rounds; r++) {
    const order = ([['base', 'gen', 'both'], ['gen', 'both', 'base'], ['both', 'base', 'gen']] as M[][])[r % 3];
    for (const m of order) {
      const c0 = process.cpuUsage();
      const t = timed(() => {
        if (m === 'base') for (let i = 0; i < per; i++) sink += JSON.stringify(fixed).length;
        else if (m === 'gen') for (let i = 0; i < per; i++) sink += gen.next().key.length;
        else
          for (let i = 0; i < per; i++) {
            bytes += toMessage(gen2.next()).value.length;
            serialized++;
          }
      });
      const c = process.cpuUsage(c0);
      wall[m].push(per / t);
      cpu[m].push(per / ((c.user + c.system) / 1e6));
    }
  }
  process.stdout.write(`CPU (one core; medians of ${rounds} interleaved rounds of ${per.toLocaleString('en-US')} events; wall clock | per CPU-second)\n`);
  const cpuLine = (m: M, base?: number) => {
    const rate = median(cpu[m]);
    process.stdout.write(`${''.padEnd(46)} ${Math.round(rate).toLocaleString('en-US').padStart(10)} events/CPU-s${base ? `  ratio ${(rate / base).toFixed(2)}` : ''}\n`);
  };
  const base = line(`baseline: JSON.stringify typical ${fixedBytes} B event`, 1, 1 / median(wall.base));
  cpuLine('base');
  line('generated (objects only)', 1, 1 / median(wall.gen), base);
  cpuLine('gen', median(cpu.base));
  const generated = line(`generated + serialized (avg ${Math.round(bytes / serialized)} B)`, 1, 1 / median(wall.both), base);
  cpuLine('both', median(cpu.base));
  if (sink < 0) process.stdout.write('');
  return generated;
}

async function preSerializedBaseline(kafka: Kafka, topic: string, opts: Partial<GeneratorOptions>, kn: number): Promise<number> {
  const pre: OutMessage[] = [];
  const g3 = new EventGenerator(opts);
  for (let i = 0; i < kn; i++) pre.push(toMessage(g3.next()));
  const baseSink = new KafkaSink(kafka, topic);
  await baseSink.open();
  const t0 = performance.now();
  const inFlight = new Set<Promise<unknown>>();
  for (let i = 0; i < kn; i += 500) {
    while (inFlight.size >= 4) await Promise.race(inFlight);
    const p: Promise<unknown> = baseSink.send(pre.slice(i, i + 500)).finally(() => inFlight.delete(p));
    inFlight.add(p);
  }
  await Promise.all(inFlight);
  const seconds = (performance.now() - t0) / 1000;
  await baseSink.close();
  return seconds;
}

async function main(): Promise<void> {
  const n = positiveArg('events', 200_000, { integer: true });
  const kn = positiveArg('kafka-events', 100_000, { integer: true });
  const opts = { seed: 7, rate: 10_000, tenants: 1000, fraudRate: 0.01, defectRate: 0.01 };
  process.stdout.write(`rtap generator benchmark — node ${process.version}, ${n.toLocaleString('en-US')} events (CPU), ${kn.toLocaleString('en-US')} (Kafka)\n\n`);

  // (In a function of its own, like each Kafka run below: what one measurement leaves on the heap
  // must not slow the next one's garbage collection.)
  const generated = cpuPhase(n, opts);

  let delivered: number | undefined;
  if (!process.argv.includes('--no-kafka')) {
    const cfg = loadConfig();
    const kafka = createKafka(cfg.kafka);
    const admin = kafka.admin();
    await admin.connect();
    const id = randomBytes(3).toString('hex');
    const topics = [`bench-gen-base-${id}`, `bench-gen-worker-${id}`, `bench-gen-single-${id}`];
    await admin.createTopics({ topics: topics.map((topic) => ({ topic, numPartitions: 6 })), waitForLeaders: true });
    try {
      // Baseline: the same number of pre-serialized messages of the same size, same producer, batching and concurrency.
      // (In a function of its own, so its 100k prebuilt messages are garbage before the next runs.)
      const tKafkaBase = await preSerializedBaseline(kafka, topics[0], opts, kn);

      // The rtap generate --to kafka path: generation + serialization in a worker thread, sends from this one.
      const t1 = performance.now();
      const summary = await runGeneratorInWorker({ ...DEFAULT_OPTIONS, ...opts }, new KafkaSink(kafka, topics[1]), { count: kn, rate: 1, batchSize: 500, fast: true, maxInFlight: 4 });
      const tKafka = (performance.now() - t1) / 1000;
      if (summary.errors > 0 || summary.sent !== kn) throw new Error(`delivery incomplete: ${JSON.stringify(summary)}`);

      // For comparison: everything on the main thread (the path before the worker; still used by the file and HTTP sinks).
      const t2 = performance.now();
      const single = await runGenerator(new EventGenerator(opts), new KafkaSink(kafka, topics[2]), { count: kn, rate: 1, batchSize: 500, fast: true, maxInFlight: 4 });
      const tSingle = (performance.now() - t2) / 1000;
      if (single.errors > 0 || single.sent !== kn) throw new Error(`delivery incomplete: ${JSON.stringify(single)}`);

      process.stdout.write('\nKafka (local broker, acks=all, idempotent, 500/batch, 4 batches in flight)\n');
      const kbase = line('baseline: pre-serialized messages delivered', kn, tKafkaBase);
      delivered = line('generated (worker) + delivered (main)', kn, tKafka, kbase);
      line('  for comparison: all on the main thread', kn, tSingle, kbase);
    } finally {
      await admin.deleteTopics({ topics }).catch(() => undefined);
      await admin.disconnect();
    }
  }

  process.stdout.write(`\ntargets: generated ≥ ${TARGET_GENERATED.toLocaleString('en-US')}/s: ${generated >= TARGET_GENERATED ? 'MET' : 'NOT MET'}`);
  if (delivered !== undefined) process.stdout.write(`; delivered ≥ ${TARGET_DELIVERED.toLocaleString('en-US')}/s: ${delivered >= TARGET_DELIVERED ? 'MET' : 'NOT MET'}`);
  process.stdout.write(`\n`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
