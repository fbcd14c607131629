// Reads given partitions of a topic from a start offset to their end (the end offsets when the
// read starts), then stops: how the speed layer rebuilds state from its changelog and its
// deduplication horizon from `events`, and how the speed reader catches up. With readCommitted
// the end is the last stable offset, and transaction markers and aborted records are skipped; a
// partition is done when a batch (kafkajs END_BATCH_PROCESS, which also fires for batches of
// markers only) reaches the end.
import type { Kafka, KafkaMessage } from 'kafkajs';
import { randomBytes } from 'node:crypto';

export interface TopicRangeOptions {
  topic: string;
  /** partition → first offset to read (0 = from the start). */
  from: ReadonlyMap<number, number>;
  /** partition → offset to stop before (default: the end when the read starts). */
  to?: ReadonlyMap<number, number>;
  readCommitted: boolean;
  /** Called per message, in offset order per partition. */
  onMessage: (partition: number, message: KafkaMessage) => void;
  /** Extra time bound (default 120 s): the read fails rather than hangs. */
  timeoutMs?: number;
  /** Called now and then during a long read (e.g. the caller's consumer heartbeat). */
  onProgress?: () => Promise<void>;
}

/** Reads the ranges; resolves with the offset each partition was read to (exclusive). */
export async function readTopicRange(kafka: Kafka, opts: TopicRangeOptions): Promise<Map<number, number>> {
  const admin = kafka.admin();
  await admin.connect();
  let ends: Map<number, number>;
  try {
    const offsets = await admin.fetchTopicOffsets(opts.topic);
    ends = new Map(offsets.map((o) => [o.partition, Number(o.high)]));
  } finally {
    await admin.disconnect();
  }
  const target = new Map<number, number>();
  const pending = new Set<number>();
  for (const [p, from] of opts.from) {
    const end = Math.min(opts.to?.get(p) ?? Number.MAX_SAFE_INTEGER, ends.get(p) ?? 0);
    target.set(p, end);
    if (from < end) pending.add(p);
  }
  if (pending.size === 0) return target;

  const consumer = kafka.consumer({ groupId: `rtap-range-${randomBytes(6).toString('hex')}`, readUncommitted: !opts.readCommitted, maxWaitTimeInMs: 100 });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic: opts.topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`reading ${opts.topic} partitions ${[...pending].join(',')} did not finish in time`)), opts.timeoutMs ?? 120_000);
      const finish = (p: number, lastOffset: number) => {
        if (pending.has(p) && lastOffset + 1 >= target.get(p)!) {
          pending.delete(p);
          if (pending.size === 0) {
            clearTimeout(timer);
            resolve();
          }
        }
      };
      consumer.on(consumer.events.END_BATCH_PROCESS, (e) => finish(e.payload.partition, Number(e.payload.lastOffset)));
      consumer.on(consumer.events.CRASH, (e) => {
        clearTimeout(timer);
        reject(e.payload.error);
      });
      consumer
        .run({
          autoCommit: false,
          eachBatch: async ({ batch }) => {
            const p = batch.partition;
            const from = opts.from.get(p);
            const to = target.get(p);
            if (from === undefined || to === undefined || !pending.has(p)) return;
            for (const m of batch.messages) {
              const o = Number(m.offset);
              if (o >= from && o < to) opts.onMessage(p, m);
            }
            await opts.onProgress?.();
          },
        })
        .then(() => {
          for (const [p, from] of opts.from) if (from > 0 && pending.has(p)) consumer.seek({ topic: opts.topic, partition: p, offset: String(from) });
        })
        .catch(reject);
    });
  } finally {
    await consumer.disconnect();
  }
  return target;
}
