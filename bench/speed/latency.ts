// Event → update latency of the speed layer's core loop (the same loop as core-loop.ts) at a fixed
// rate: this process consumes a fresh topic and, for every event, takes the time from its Kafka
// record timestamp (set by the producer when it sends) to the moment the aggregator and the feature
// store have it. bench/speed/run.ts produces, paced, from another process once it sees `READY`.
//   node -r tsx/cjs bench/speed/latency.ts <topic> <events>
import '../../scripts/quiet-warnings.cjs';
import { Kafka, logLevel } from 'kafkajs';
import { createAggregator, createDeduplicator, MEASURES } from '../../core/measures';
import { readSpeedRecord } from '../../core/speed-record';
import { createFeatureStore } from '../../speed-layer/features';
import { percentiles } from '../stats';

async function main(): Promise<void> {
  const topic = process.argv[2];
  const expected = Number(process.argv[3]);
  if (!topic || !(expected > 0)) throw new Error('usage: latency.ts <topic> <events>');
  const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
  const kafka = new Kafka({ clientId: 'rtap-bench-speed-latency', brokers, logLevel: logLevel.ERROR });
  const aggregator = createAggregator(MEASURES);
  const dedup = createDeduplicator({ horizonOffsets: 100_000 });
  const features = createFeatureStore();
  const latencies = new Float64Array(expected);
  let n = 0;
  const consumer = kafka.consumer({ groupId: `rtap-bench-speed-latency-${Date.now()}`, maxWaitTimeInMs: 100 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  consumer.on(consumer.events.GROUP_JOIN, () => process.stdout.write('READY\n'));
  await new Promise<void>((resolve, reject) => {
    consumer
      .run({
        eachBatch: async ({ batch }) => {
          for (const m of batch.messages) {
            const r = readSpeedRecord(m, { partition: batch.partition, offset: Number(m.offset) });
            if (r.ok) {
              if (dedup.firstSeen(r.input)) aggregator.add(r.input);
              features.update(r);
            }
            if (n < expected) latencies[n] = Date.now() - Number(m.timestamp);
            if (++n === expected) resolve();
          }
        },
      })
      .catch(reject);
  });
  const [p50, p95, p99, max] = percentiles(latencies, [50, 95, 99, 100]);
  process.stdout.write(`RESULT latency: ${n} events, event→update ms p50=${p50} p95=${p95} p99=${p99} max=${max}\n`);
  await consumer.disconnect();
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
