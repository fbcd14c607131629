// `rtap dlq replay`: re-submits dead letters after a fix (a schema change, a tenant registered
// late). Each letter goes through the same ingestion step as the API. Accepted ones are produced
// to `events`; ones still invalid are re-appended to the DLQ with their new reason and a replay
// count, so a later replay sees them again. Output and the consumer offsets are committed in one
// Kafka transaction, so a crash mid-replay neither loses nor duplicates a letter. A run stops at
// the DLQ's end as it was when the run started.
import type { Batch, Kafka, KafkaMessage } from 'kafkajs';
import type { ApiKeyRecord } from '../core/control';
import { DLQ_HEADERS, dlqMessage } from '../core/dlq';
import type { IngestStep } from '../core/ingest-step';
import { IDEMPOTENT_RETRY, fetchCommittedOffsets, headerString } from '../core/kafka';
import type { Logger } from '../core/logger';

const IDLE_FINISH_MS = 3000;

export interface ReplayOptions {
  dlqTopic: string;
  eventsTopic: string;
  groupId: string;
  /** Only letters with this reason code. */
  reason?: string;
  /** Count outcomes without producing or committing. */
  dryRun: boolean;
  onProgress?: (stats: ReplayStats) => void;
}

export interface ReplayStats {
  scanned: number;
  replayed: number;
  stillInvalid: number;
  skipped: number;
  byReason: Record<string, number>;
}

export async function replayDlq(kafka: Kafka, step: IngestStep, opts: ReplayOptions, log: Logger): Promise<ReplayStats> {
  const stats: ReplayStats = { scanned: 0, replayed: 0, stillInvalid: 0, skipped: 0, byReason: {} };
  const admin = kafka.admin();
  await admin.connect();
  const ends = await admin.fetchTopicOffsets(opts.dlqTopic).finally(() => admin.disconnect());
  const committed = await fetchCommittedOffsets(kafka, opts.groupId, opts.dlqTopic);
  const endOf = new Map(ends.map((e) => [e.partition, BigInt(e.high)]));
  const startOf = new Map(
    committed.map((p) => [p.partition, p.offset === '-1' ? BigInt(ends.find((e) => e.partition === p.partition)?.low ?? '0') : BigInt(p.offset)]),
  );
  const remaining = new Set([...endOf].filter(([p, end]) => (startOf.get(p) ?? 0n) < end).map(([p]) => p));
  if (remaining.size === 0) return stats;

  const producer = opts.dryRun ? undefined : kafka.producer({ transactionalId: `${opts.groupId}-tx`, idempotent: true, maxInFlightRequests: 1, retry: IDEMPOTENT_RETRY });
  await producer?.connect();
  const consumer = kafka.consumer({ groupId: opts.groupId, readUncommitted: false, maxWaitTimeInMs: 500 });
  await consumer.connect();
  await consumer.subscribe({ topic: opts.dlqTopic, fromBeginning: true });

  let finish!: () => void;
  let fail!: (err: unknown) => void;
  const done = new Promise<void>((resolve, reject) => {
    finish = resolve;
    fail = reject;
  });

  // Transaction markers take offsets too, so the last data letter can sit below the end offset:
  // once the group is joined, a quiet period with no fetched letters also means "caught up".
  let idle: NodeJS.Timeout | undefined;
  let busy = false;
  const armIdle = () => {
    clearTimeout(idle);
    idle = setTimeout(() => (busy ? armIdle() : finish()), IDLE_FINISH_MS);
  };
  consumer.on(consumer.events.GROUP_JOIN, armIdle);

  await consumer.run({
    autoCommit: false,
    eachBatch: async ({ batch, heartbeat }) => {
      armIdle();
      busy = true;
      try {
        await replayBatch(batch, heartbeat);
      } finally {
        busy = false;
      }
    },
  });

  async function replayBatch(batch: Batch, heartbeat: () => Promise<void>): Promise<void> {
    const end = endOf.get(batch.partition) ?? 0n;
    const inRange = batch.messages.filter((m) => BigInt(m.offset) < end);
    if (inRange.length === 0) {
      remaining.delete(batch.partition);
      if (remaining.size === 0) finish();
      return;
    }
    const out: { topic: string; messages: ReturnType<typeof dlqMessage>[] }[] = [
      { topic: opts.eventsTopic, messages: [] },
      { topic: opts.dlqTopic, messages: [] },
    ];
    for (const message of inRange) {
      stats.scanned += 1;
      const reason = headerString(message.headers, DLQ_HEADERS.reason) ?? 'unknown';
      if (opts.reason && reason !== opts.reason) {
        stats.skipped += 1;
        continue;
      }
      const outcome = replayOne(step, message);
      if (outcome.kind === 'ok') {
        stats.replayed += 1;
        out[0].messages.push(outcome.message);
      } else {
        stats.stillInvalid += 1;
        stats.byReason[outcome.code] = (stats.byReason[outcome.code] ?? 0) + 1;
        out[1].messages.push(outcome.message);
      }
    }
    const last = inRange[inRange.length - 1];
    const next = BigInt(last.offset) + 1n;
    if (producer) {
      const tx = await producer.transaction();
      try {
        const topicMessages = out.filter((t) => t.messages.length > 0);
        if (topicMessages.length > 0) await tx.sendBatch({ topicMessages, acks: -1 });
        await tx.sendOffsets({ consumerGroupId: opts.groupId, topics: [{ topic: batch.topic, partitions: [{ partition: batch.partition, offset: String(next) }] }] });
        await tx.commit();
      } catch (err) {
        await tx.abort().catch(() => undefined);
        fail(err);
        throw err;
      }
    }
    await heartbeat();
    opts.onProgress?.(stats);
    if (next >= end) {
      remaining.delete(batch.partition);
      if (remaining.size === 0) finish();
    }
  }

  try {
    await done;
  } finally {
    clearTimeout(idle);
    await consumer.disconnect();
    await producer?.disconnect();
  }
  log.info({ ...stats }, 'dlq replay finished');
  return stats;
}

function replayOne(step: IngestStep, message: KafkaMessage) {
  const tenant = headerString(message.headers, DLQ_HEADERS.tenant);
  const replays = Number(headerString(message.headers, DLQ_HEADERS.replays) ?? '0') + 1;
  // Replays act for the tenant the letter was rejected under; a letter with no tenant may go to any registered one.
  const principal: ApiKeyRecord = { key_hash: 'dlq-replay', tenant_id: tenant ?? '*', roles: ['ingest'], label: 'dlq replay', created_at: '' };
  const text = message.value?.toString('utf8') ?? '';
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    return {
      kind: 'dlq' as const,
      code: 'not_json',
      message: dlqMessage({ payload: text, reason: 'not_json', violations: [{ path: '$', reason: (err as Error).message }], source: 'replay', tenant, replays }),
    };
  }
  const outcome = step(raw, 0, principal);
  if (outcome.kind === 'ok') return outcome;
  const headers = { ...outcome.message.headers, [DLQ_HEADERS.replays]: String(replays) };
  return { ...outcome, message: { ...outcome.message, headers } };
}
