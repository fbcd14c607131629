// The whole speed layer on a bench topic, alone in its process: `createSpeedLayer` as `rtap speed`
// runs it (feature store included), with its checkpoint transaction every commit interval —
// changelog records, window results and the consumer offsets in one Kafka transaction — into a
// changelog and a results topic of its own (deleted afterwards). Timed from start until the
// group's committed offsets reach the end of the topic. Prints one `RESULT` line.
//   node -r tsx/cjs bench/speed/instance.ts <topic>
import '../../scripts/quiet-warnings.cjs';
import { logLevel } from 'kafkajs';
import { loadConfig } from '../../core/config';
import { createKafka } from '../../core/kafka';
import { createLogger } from '../../core/logger';
import { createFeatureProcessor } from '../../speed-layer/features';
import { speedMetrics } from '../../speed-layer/metrics';
import { createSpeedLayer } from '../../speed-layer/runtime';
import { observeGc } from './gc';

async function main(): Promise<void> {
  const topic = process.argv[2];
  if (!topic) throw new Error('usage: instance.ts <topic>');
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

  const features = createFeatureProcessor();
  const speed = createSpeedLayer(
    { kafka, logger: createLogger('bench.speed'), processors: [features] },
    { topic, groupId, changelogTopic, resultsTopic, instanceId: `bench-${run}`, commitIntervalMs: cfg.speed.commitIntervalMs },
  );
  const gc = observeGc();
  const cpu0 = process.cpuUsage();
  const t0 = Date.now();
  await speed.start();
  // done when the group's committed offsets (written in the checkpoint transactions) reach the end
  for (;;) {
    await new Promise((r) => setTimeout(r, 100));
    const committed = (await admin.fetchOffsets({ groupId, topics: [topic] }))[0].partitions.reduce((s, p) => s + Math.max(0, Number(p.offset)), 0);
    if (committed >= high) break;
  }
  const seconds = (Date.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const transactions = (await speedMetrics.transactions.get()).values.find((v) => v.labels.result === 'committed')?.value ?? 0;
  const records = (await speedMetrics.changelogRecords.get()).values[0]?.value ?? 0;
  const txMs = (await speedMetrics.transaction.get()).values.find((v) => v.metricName === 'rtap_speed_transaction_ms_sum')?.value ?? 0;
  const cells = speed.state().aggregator.size;
  const mem = Math.round(process.memoryUsage().rss / 2 ** 20);
  await speed.stop();
  await new Promise((r) => setImmediate(r));
  process.stdout.write(
    `RESULT instance: ${total} events in ${seconds.toFixed(2)}s -> ${Math.round(total / seconds)} events/s | cpu ${((cpu.user + cpu.system) / total).toFixed(1)} µs/event | ` +
      `${transactions} transactions (${(txMs / Math.max(1, transactions)).toFixed(0)} ms each), ${records} changelog records (${(records / total).toFixed(2)} per event) | ` +
      `cells ${cells} entities ${features.size} rss ${mem} MiB | ${gc.text()}\n`,
  );
  await admin.deleteTopics({ topics: [changelogTopic, resultsTopic] }).catch(() => undefined);
  await admin.deleteGroups([groupId]).catch(() => undefined);
  await admin.disconnect();
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
