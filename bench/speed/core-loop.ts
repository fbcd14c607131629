// The speed layer's per-event work, alone in its process, on a bench topic: kafkajs `eachBatch` →
// `SpeedState.process()` with the feature store as its processor — exactly what the runtime does
// per event (speed record from the `x-rtap-m` header, or JSON.parse of the value with `parse`;
// dedup; the core/measures aggregator, every rollup of the declaration; watermarks and sessions;
// the feature store). No checkpoints or Kafka transactions (bench/speed/instance.ts runs the
// whole speed layer). Prints one `RESULT` line.
//   node -r tsx/cjs bench/speed/core-loop.ts <topic> [header|parse]
import '../../scripts/quiet-warnings.cjs';
import { performance } from 'node:perf_hooks';
import { logLevel } from 'kafkajs';
import { loadConfig } from '../../core/config';
import { createKafka, EVENT_FETCH } from '../../core/kafka';
import { createFeatureProcessor } from '../../speed-layer/features';
import { DEFAULT_SPEED_OPTIONS as D } from '../../speed-layer/runtime';
import { createSpeedState } from '../../speed-layer/state';
import { observeGc } from './gc';
import { usageOnHelp } from '../args';

usageOnHelp();

async function main(): Promise<void> {
  const topic = process.argv[2];
  const mode = process.argv[3] ?? 'header';
  if (!topic || (mode !== 'header' && mode !== 'parse')) throw new Error('usage: core-loop.ts <topic> [header|parse]');
  // the client `rtap speed` gets (core/kafka.ts: with rtap's kafkajs fixes)
  const kafka = createKafka(loadConfig().kafka, { clientId: 'rtap-bench-speed', logLevel: logLevel.ERROR });
  const admin = kafka.admin();
  await admin.connect();
  const total = (await admin.fetchTopicOffsets(topic)).reduce((s, p) => s + Number(p.high) - Number(p.low), 0);
  await admin.disconnect();

  const features = createFeatureProcessor();
  const state = createSpeedState({ allowedLatenessMs: D.allowedLatenessMs, sessionGapMs: D.sessionGapMs, dedupHorizonOffsets: D.dedupHorizonOffsets, processors: [features] });
  const outcomes: Record<string, number> = {};
  let n = 0;
  let first = 0n;
  /** ms inside state.process() */
  let inProcess = 0;
  const gc = observeGc();
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  // the fetch sizes `rtap speed` uses (core/kafka.ts EVENT_FETCH)
  const consumer = kafka.consumer({ groupId: `rtap-bench-speed-${mode}-${Date.now()}`, ...EVENT_FETCH });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await new Promise<void>((resolve, reject) => {
    consumer
      .run({
        // as `rtap speed` runs (its offsets go in its transactions): no OffsetCommit after each batch
        autoCommit: false,
        eachBatch: async ({ batch }) => {
          if (!first) first = process.hrtime.bigint();
          const partition = batch.partition;
          const a = performance.now();
          for (const m of batch.messages) {
            const out = state.process(partition, Number(m.offset), m.value, mode === 'header' ? m.headers : undefined);
            outcomes[out.kind] = (outcomes[out.kind] ?? 0) + 1;
            if (++n === total) resolve();
          }
          inProcess += performance.now() - a;
        },
      })
      .catch(reject);
  });
  const t1 = process.hrtime.bigint();
  const cpu = process.cpuUsage(cpu0);
  const s = Number(t1 - t0) / 1e9;
  const sf = Number(t1 - first) / 1e9;
  const mem = Math.round(process.memoryUsage().rss / 2 ** 20);
  await new Promise((r) => setImmediate(r)); // the last GC entries
  process.stdout.write(
    `RESULT core-loop ${mode}: ${n} events (${JSON.stringify(outcomes)}) in ${s.toFixed(2)}s -> ${Math.round(n / s)} events/s | from first message ${sf.toFixed(2)}s -> ${Math.round(n / sf)} events/s | ` +
      `cells ${state.aggregator.size} entities ${features.size} sessions ${state.windows.sessionCount} rss ${mem} MiB | µs/event: process ${((inProcess * 1000) / n).toFixed(1)}, ` +
      `cpu ${((cpu.user + cpu.system) / n).toFixed(1)} | ${gc.text()}\n`,
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
