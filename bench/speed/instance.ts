// The whole speed layer on a bench topic, alone in its process: `createSpeedLayer` as `rtap speed`
// runs it (feature store included), with its checkpoint transaction every commit interval —
// changelog records, window results and the consumer offsets in one Kafka transaction — into a
// changelog and a results topic of its own (deleted afterwards). Timed from start until the
// group's committed offsets reach the end of the topic. Prints one `RESULT` line.
// With --threads N (N > 1) the layer runs as `rtap speed --threads N` runs it: N stream threads
// (worker threads, one consumer and transactional producer each) in this one process.
// The RESULT line splits the process's CPU by thread (Linux): the stream threads (started after
// the first reading), the threads there before them but the main one — V8's platform workers, which
// do the concurrent and parallel parts of garbage collection, and libuv's pool — and the main thread.
//   node -r tsx/cjs bench/speed/instance.ts <topic> [--threads N]
import '../../scripts/quiet-warnings.cjs';
import '../../core/kafkajs-preload.cjs';
import { logLevel } from 'kafkajs';
import { loadConfig } from '../../core/config';
import { createKafka } from '../../core/kafka';
import { createLogger } from '../../core/logger';
import type { SpeedLaunchOptions, SpeedLayerFigures } from '../../speed-layer/launch';
import { startSpeedLayers } from '../../speed-layer/threads';
import { usageOnHelp } from '../args';
import { threadCpuSeconds } from '../ingest/cpu';

usageOnHelp();

async function main(): Promise<void> {
  const topic = process.argv[2];
  const t = process.argv.indexOf('--threads');
  const threads = t < 0 ? 1 : Number(process.argv[t + 1]);
  if (!topic || !(Number.isSafeInteger(threads) && threads >= 1)) throw new Error('usage: instance.ts <topic> [--threads N]');
  const cfg = loadConfig();
  const kafka = createKafka(cfg.kafka, { clientId: 'rtap-bench-speed-instance', logLevel: logLevel.ERROR });
  const run = `${Date.now()}`;
  const changelogTopic = `${topic}-windows-${run}`;
  const resultsTopic = `${topic}-results-${run}`;
  const groupId = `rtap-bench-speed-instance-${run}`;
  const admin = kafka.admin();
  await admin.connect();
  const ends = await admin.fetchTopicOffsets(topic);
  const total = ends.reduce((s, p) => s + Number(p.high) - Number(p.low), 0);
  const high = ends.reduce((s, p) => s + Number(p.high), 0);
  await admin.createTopics({
    topics: [
      { topic: changelogTopic, numPartitions: ends.length, configEntries: [{ name: 'cleanup.policy', value: 'compact' }] },
      { topic: resultsTopic, numPartitions: ends.length },
    ],
    waitForLeaders: true,
  });

  const launch: SpeedLaunchOptions = {
    layer: { topic, groupId, changelogTopic, resultsTopic, instanceId: `bench-${run}`, commitIntervalMs: cfg.speed.commitIntervalMs },
    prefix: '',
    readCut: false,
    fraud: false,
    clientSuffix: `bench-${run}`,
    logName: 'bench.speed',
  };
  const cpu0 = process.cpuUsage();
  const threads0 = threadCpuSeconds();
  const t0 = Date.now();
  const layers = await startSpeedLayers(threads, launch, createLogger('bench.speed'));
  // done when the group's committed offsets (written in the checkpoint transactions) reach the end
  for (;;) {
    await new Promise((r) => setTimeout(r, 100));
    const committed = (await admin.fetchOffsets({ groupId, topics: [topic] }))[0].partitions.reduce((s, p) => s + Math.max(0, Number(p.offset)), 0);
    if (committed >= high) break;
  }
  const seconds = (Date.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const byThread = cpuByThread(threads0, threadCpuSeconds());
  const mem = Math.round(process.memoryUsage().rss / 2 ** 20);
  await layers.stop();
  const stats = await layers.figures();
  const sum = (f: (x: SpeedLayerFigures) => number) => stats.reduce((acc, x) => acc + f(x), 0);
  const transactions = sum((x) => x.transactions);
  const records = sum((x) => x.changelogRecords);
  const txMs = sum((x) => x.transactionMsSum);
  const cells = sum((x) => x.cells);
  const entities = sum((x) => x.entities);
  await new Promise((r) => setImmediate(r));
  process.stdout.write(
    `RESULT instance: ${threads} thread(s), ${total} events in ${seconds.toFixed(2)}s -> ${Math.round(total / seconds)} events/s | cpu ${((cpu.user + cpu.system) / total).toFixed(1)} µs/event | ` +
      `${transactions} transactions (${(txMs / Math.max(1, transactions)).toFixed(0)} ms each), ${records} changelog records (${(records / total).toFixed(2)} per event) | ` +
      // no GC line: the layers run in worker threads, which a PerformanceObserver here does not see
      `cells ${cells} entities ${entities} rss ${mem} MiB${byThread}\n`,
  );
  await admin.deleteTopics({ topics: [changelogTopic, resultsTopic] }).catch(() => undefined);
  await admin.deleteGroups([groupId]).catch(() => undefined);
  await admin.disconnect();
}

/** ` | cpu by thread: …` from two readings of threadCpuSeconds(); empty without /proc. */
function cpuByThread(before: Map<number, number>, after: Map<number, number>): string {
  if (after.size === 0) return '';
  let stream = 0;
  let helpers = 0;
  let main = 0;
  for (const [tid, seconds] of after) {
    const used = seconds - (before.get(tid) ?? 0);
    if (tid === process.pid) main += used;
    else if (before.has(tid)) helpers += used;
    else stream += used;
  }
  return ` | cpu by thread: stream ${stream.toFixed(1)} s, GC and pool helpers ${helpers.toFixed(1)} s, main ${main.toFixed(1)} s`;
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
