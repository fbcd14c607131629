// `rtap dlq replay`: re-submits dead letters after a fix (a schema change, a tenant registered
// late). Each letter goes through the same ingestion step as the API, *as the sender it was filed
// under* (core/dlq.ts): a tenant's letter is replayed with that tenant's authority only, so a
// letter whose payload claims another tenant is rejected again as tenant_mismatch, never written
// as that tenant. Accepted ones are produced to `events`; ones still invalid are re-appended to
// the DLQ with their new reason and a replay count, so a later replay sees them again. Output and
// the consumer offsets are committed in one Kafka transaction, so a crash mid-replay neither
// loses nor duplicates a letter. A run stops at the DLQ's end as it was when the run started.
import type { Batch, Kafka, KafkaMessage } from 'kafkajs';
import { keyUsable, type ApiKeyRecord, type ControlState } from '../core/control';
import { DLQ_FORMAT, DLQ_HEADERS, dlqMessage, type DlqSender } from '../core/dlq';
import { senderOf, type IngestStep } from '../core/ingest-step';
import { EVENT_LIMITS, pathAt, scanDepth } from '../core/json-guard';
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
  /**
   * The sending key's current record, by key id: a letter whose key was revoked (or lost the
   * ingest role) since is not replayed (`sender_revoked`). Without it, the letter's own sender
   * headers are the authority.
   */
  resolveSender?: (keyHash: string) => ApiKeyRecord | undefined;
  /**
   * Letters written before dead letters were filed by authenticated sender carry a tenant that may
   * be the one the payload claimed: `skip` them (default; counted in `legacy`), or replay them
   * `as-platform` when the operator vouches for them.
   */
  legacy?: 'skip' | 'as-platform';
  onProgress?: (stats: ReplayStats) => void;
}

export interface ReplayStats {
  scanned: number;
  replayed: number;
  stillInvalid: number;
  skipped: number;
  /** Letters from before sender attribution, skipped (see ReplayOptions.legacy). */
  legacy: number;
  byReason: Record<string, number>;
}

/** Resolves a letter's sender key against the control plane's current keys. */
/** A letter's sender: its key id (or key hash, in letters of older versions), while the key still authenticates. */
export function senderResolver(control: ControlState): (keyId: string) => ApiKeyRecord | undefined {
  return (keyId) => {
    const now = Date.now();
    const record = control.apiKeys.get(keyId) ?? control.keyRecords(keyId).find((r) => keyUsable(r, now));
    return record && keyUsable(record, now) ? record : undefined;
  };
}

export async function replayDlq(kafka: Kafka, step: IngestStep, opts: ReplayOptions, log: Logger): Promise<ReplayStats> {
  const stats: ReplayStats = { scanned: 0, replayed: 0, stillInvalid: 0, skipped: 0, legacy: 0, byReason: {} };
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
      const outcome = replayOne(step, message, opts);
      if (outcome.kind === 'legacy') {
        stats.skipped += 1;
        stats.legacy += 1;
      } else if (outcome.kind === 'ok') {
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

const PLATFORM = (key_hash: string, label: string): ApiKeyRecord => ({ key_hash, tenant_id: '*', roles: ['ingest'], label, created_at: '' });

type Authority = { principal: ApiKeyRecord } | { refused: string; reason: string; sender?: DlqSender } | { legacy: true };

/** With whose authority a letter is replayed: the sender it was filed under, and no one else. */
function authorityOf(message: KafkaMessage, opts: ReplayOptions): Authority {
  const source = headerString(message.headers, DLQ_HEADERS.source);
  // The lake sink's letters come from `events`, whose producers are trusted (as a platform key is).
  if (source === 'sink') return { principal: PLATFORM('sink', 'lake sink') };
  if (headerString(message.headers, DLQ_HEADERS.format) !== DLQ_FORMAT) {
    return opts.legacy === 'as-platform' ? { principal: PLATFORM('legacy', 'dlq replay (legacy letter)') } : { legacy: true };
  }
  const tenant = headerString(message.headers, DLQ_HEADERS.tenant);
  const keyHash = headerString(message.headers, DLQ_HEADERS.senderKey);
  if (!tenant || !keyHash) return { refused: 'sender_unknown', reason: 'the letter names no authenticated sender, so it is not replayed' };
  const sender = { tenant, keyHash };
  if (opts.resolveSender) {
    const record = opts.resolveSender(keyHash);
    if (!record || record.tenant_id !== tenant || !(record.roles.includes('ingest') || record.roles.includes('admin'))) {
      return { refused: 'sender_revoked', reason: 'the API key that sent this letter is revoked or may no longer ingest, so it is not replayed', sender };
    }
    // re-filed under the id the letter was filed under, whatever the record's hash
    return { principal: { ...record, key_hash: keyHash } };
  }
  return { principal: { key_hash: keyHash, tenant_id: tenant, roles: ['ingest'], label: 'dlq replay', created_at: '' } };
}

function replayOne(step: IngestStep, message: KafkaMessage, opts: ReplayOptions) {
  const replays = Number(headerString(message.headers, DLQ_HEADERS.replays) ?? '0') + 1;
  const payload = message.value ?? Buffer.alloc(0);
  const authority = authorityOf(message, opts);
  if ('legacy' in authority) return { kind: 'legacy' as const };
  const again = (code: string, path: string, reason: string, sender: DlqSender | undefined) => ({
    kind: 'dlq' as const,
    code,
    message: dlqMessage({ payload, reason: code, violations: [{ path, reason }], source: 'replay', sender, replays }),
  });
  if ('refused' in authority) return again(authority.refused, '$', authority.reason, authority.sender);
  const principal = authority.principal;
  const sender = senderOf(principal);
  // Checked on the bytes first, as the API does: JSON.parse of a very deep payload stalls for seconds.
  const deep = scanDepth(payload, EVENT_LIMITS.maxDepth);
  if (deep >= 0) return again('structure_invalid', pathAt(payload, deep), `nested deeper than ${EVENT_LIMITS.maxDepth} levels`, sender);
  let raw: unknown;
  try {
    raw = JSON.parse(payload.toString('utf8'));
  } catch (err) {
    return again('not_json', '$', (err as Error).message, sender);
  }
  const outcome = step(raw, 0, principal, () => payload);
  if (outcome.kind === 'ok') return outcome;
  const headers = { ...outcome.message.headers, [DLQ_HEADERS.replays]: String(replays) };
  return { ...outcome, message: { ...outcome.message, headers } };
}
