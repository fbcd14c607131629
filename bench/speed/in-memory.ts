// The speed layer's work without Kafka, for profiling (`node --cpu-prof`) and for CPU figures
// that do not depend on the broker or on what else runs on the machine: ingested generator
// messages are built first (partitioned by their key as the producer does, offsets per
// partition, in fetch-sized batches per partition), then fed to `SpeedState.process()` with the
// feature store, taking a checkpoint every `--checkpoint-every` events (3,000 = the 300 ms commit
// interval at 10,000 events/s) and encoding its records as the runtime does, without sending them.
// --fraud adds the fraud processor after the feature store, as `rtap speed` runs it (hand-set
// weights: no model is loaded here), and reports its share.
//   npx tsx bench/speed/in-memory.ts [--events 100000] [--checkpoint-every 3000] [--fraud]
import '../../scripts/quiet-warnings.cjs';
import { loadConfig } from '../../core/config';
import { parseChangelogKey } from '../../core/speed-changelog';
import { murmur2 } from '../../core/kafka-partitioner';
import { createFeatureProcessor } from '../../speed-layer/features';
import { createFraudProcessor } from '../../speed-layer/fraud';
import { DEFAULT_SPEED_OPTIONS as D } from '../../speed-layer/runtime';
import { createSpeedState } from '../../speed-layer/state';
import { observeGc } from './gc';
import { ingestedMessages } from './messages';
import { positiveArg, usageOnHelp } from '../args';

usageOnHelp();

/** Messages per partition per batch: kafkajs' default 1 MB per partition of ~3.6 KB events. */
const FETCH = 290;

async function main(): Promise<void> {
  const events = positiveArg('events', 100_000);
  const every = positiveArg('checkpoint-every', 3000);
  const partitions = loadConfig().kafka.eventsPartitions;
  const byPartition: { offset: number; value: Buffer; headers: Record<string, Buffer> }[][] = Array.from({ length: partitions }, () => []);
  for (const m of ingestedMessages(events, 2026)) {
    const p = (murmur2(m.key as string) & 0x7fffffff) % partitions;
    const headers = Object.fromEntries(Object.entries(m.headers ?? {}).map(([k, v]) => [k, Buffer.from(v as string)]));
    byPartition[p].push({ offset: byPartition[p].length, value: Buffer.from(m.value as string), headers });
  }
  const features = createFeatureProcessor();
  let scoringMs = 0;
  const processors = process.argv.includes('--fraud') ? [features, createFraudProcessor(features, { onScored: (ms) => void (scoringMs += ms) })] : [features];
  const state = createSpeedState({ allowedLatenessMs: D.allowedLatenessMs, sessionGapMs: D.sessionGapMs, dedupHorizonOffsets: D.dedupHorizonOffsets, processors });
  const gc = observeGc();
  let processCpu = 0;
  let checkpointCpu = 0;
  let checkpoints = 0;
  let records = 0;
  let bytes = 0;
  /** changelog records by kind (cell, session, processor, progress) */
  const byKind: Record<string, number> = {};
  let since = 0;
  const cpu = () => {
    const u = process.cpuUsage();
    return u.user + u.system;
  };
  const t0 = Date.now();
  for (let at = 0; byPartition.some((msgs) => at < msgs.length); at += FETCH) {
    await new Promise((r) => setImmediate(r)); // between fetches, as with Kafka (and GC entries get delivered)
    for (let p = 0; p < partitions; p++) {
      const batch = byPartition[p].slice(at, at + FETCH);
      const a = cpu();
      for (const m of batch) state.process(p, m.offset, m.value, m.headers);
      processCpu += cpu() - a;
      since += batch.length;
      if (since >= every) {
        since = 0;
        const b = cpu();
        const cp = state.checkpoint(Date.now());
        checkpointCpu += cpu() - b;
        checkpoints++;
        records += cp.changelog.length;
        for (const r of cp.changelog) {
          bytes += r.key.length + (r.value?.length ?? 0);
          const kind = parseChangelogKey(r.key)?.kind ?? 'other';
          byKind[kind] = (byKind[kind] ?? 0) + 1;
        }
      }
    }
  }
  const seconds = (Date.now() - t0) / 1000;
  await new Promise((r) => setImmediate(r));
  process.stdout.write(
    `RESULT in-memory: ${events} events in ${seconds.toFixed(2)} s | cpu µs/event: process ${(processCpu / events).toFixed(1)}, checkpoints ${(checkpointCpu / events).toFixed(1)} ` +
      `(${checkpoints} of ${every} events: ${(records / events).toFixed(2)} changelog records — ${Object.entries(byKind).map(([k, n]) => `${k} ${(n / events).toFixed(2)}`).join(', ')} — ${Math.round(bytes / events)} B per event)` +
      `${processors.length > 1 ? ` | of process, scoring (wall) ${((scoringMs * 1000) / events).toFixed(1)} µs/event` : ''} | cells ${state.aggregator.size} ` +
      `rss ${Math.round(process.memoryUsage().rss / 2 ** 20)} MiB | ${gc.text()}\n`,
  );
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
