// The speed layer's per-event core loop, alone in its process, on a bench topic: kafkajs
// `eachBatch` → speed record (the `x-rtap-m` header, or JSON.parse of the value with `parse`) →
// dedup → core/measures aggregator (every rollup of the declaration) → feature store. No Kafka
// transactions, changelog or window emission (the runtime's part): this is the per-instance
// processing ceiling those add to. Prints one `RESULT` line.
//   node -r tsx/cjs bench/speed/core-loop.ts <topic> [header|parse]
import '../../scripts/quiet-warnings.cjs';
import { performance } from 'node:perf_hooks';
import { Kafka, logLevel } from 'kafkajs';
import { createAggregator, createDeduplicator, MEASURES } from '../../core/measures';
import { parseSpeedRecord, readSpeedRecord } from '../../core/speed-record';
import { createFeatureStore } from '../../speed-layer/features';

async function main(): Promise<void> {
  const topic = process.argv[2];
  const mode = process.argv[3] ?? 'header';
  if (!topic || (mode !== 'header' && mode !== 'parse')) throw new Error('usage: core-loop.ts <topic> [header|parse]');
  const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
  const kafka = new Kafka({ clientId: 'rtap-bench-speed', brokers, logLevel: logLevel.ERROR });
  const admin = kafka.admin();
  await admin.connect();
  const total = (await admin.fetchTopicOffsets(topic)).reduce((s, p) => s + Number(p.high) - Number(p.low), 0);
  await admin.disconnect();

  const aggregator = createAggregator(MEASURES);
  const dedup = createDeduplicator({ horizonOffsets: 100_000 });
  const features = createFeatureStore();
  let n = 0;
  let ok = 0;
  let fromHeader = 0;
  let first = 0n;
  /** ms in: speed record (header decode or parse), dedup + aggregator, feature store. */
  const stage = [0, 0, 0];
  const t0 = process.hrtime.bigint();
  const consumer = kafka.consumer({ groupId: `rtap-bench-speed-${mode}-${Date.now()}` });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await new Promise<void>((resolve, reject) => {
    consumer
      .run({
        eachBatch: async ({ batch }) => {
          if (!first) first = process.hrtime.bigint();
          const partition = batch.partition;
          for (const m of batch.messages) {
            const coords = { partition, offset: Number(m.offset) };
            const a = performance.now();
            const r = mode === 'header' ? readSpeedRecord(m, coords) : parseSpeedRecord(m.value, coords);
            const b = performance.now();
            stage[0] += b - a;
            if (r.ok) {
              ok++;
              if (r.fromHeader) fromHeader++;
              if (dedup.firstSeen(r.input)) aggregator.add(r.input);
              const c = performance.now();
              features.update(r);
              stage[1] += c - b;
              stage[2] += performance.now() - c;
            }
            if (++n === total) resolve();
          }
        },
      })
      .catch(reject);
  });
  const t1 = process.hrtime.bigint();
  const s = Number(t1 - t0) / 1e9;
  const sf = Number(t1 - first) / 1e9;
  const us = (ms: number) => ((ms * 1000) / n).toFixed(1);
  const mem = Math.round(process.memoryUsage().rss / 2 ** 20);
  process.stdout.write(
    `RESULT core-loop ${mode}: ${n} events (${ok} ok, ${fromHeader} from header) in ${s.toFixed(2)}s -> ${Math.round(n / s)} events/s | from first message ${sf.toFixed(2)}s -> ${Math.round(n / sf)} events/s | cells ${aggregator.size} entities ${features.size} rss ${mem} MiB | µs/event: record ${us(stage[0])}, dedup+aggregator ${us(stage[1])}, features ${us(stage[2])}\n`,
  );
  await consumer.disconnect();
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
