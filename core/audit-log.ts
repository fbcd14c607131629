// The audit log's I/O (docs/security.md "Audit"): a writer that appends one chain to the `audit`
// topic and anchors its head in the control topic, the archiver that copies the topic to
// `audit/` in the lake, and the readers `rtap audit verify` checks (topic, lake, anchors).
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { Consumer, Kafka, Producer } from 'kafkajs';
import { AUDIT_ANCHOR_KIND, AuditChain, type AuditAnchor, type AuditEntry, type AuditPosition, type AuditProblem, type AuditRecord } from './audit';
import { auditMetrics } from './audit-metrics';
import type { ControlPlane, ControlState } from './control';
import { RtapError } from './errors';
import { IDEMPOTENT_RETRY, fetchCommittedOffsets } from './kafka';
import type { Logger } from './logger';
import { getText, listObjects } from './s3';

/** A new chain id per writer process: role, host, pid and start time, plus randomness so ids never repeat. */
export function newChainId(role: string): string {
  const host = hostname().replace(/[^A-Za-z0-9.-]/g, '_').slice(0, 40);
  return `${role}-${host}-${process.pid}-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
}

export function anchorKey(chain: string): string {
  return `${AUDIT_ANCHOR_KIND}/${chain}`;
}

/** The anchors the control topic holds now. */
export function readAnchors(state: ControlState): AuditAnchor[] {
  const out: AuditAnchor[] = [];
  for (const text of state.records(AUDIT_ANCHOR_KIND).values()) {
    try {
      out.push(JSON.parse(text) as AuditAnchor);
    } catch {
      // an unreadable anchor anchors nothing; verify still checks the chains themselves
    }
  }
  return out;
}

export interface AuditWriterOptions {
  kafka: Kafka;
  topic: string;
  /** Where heads are anchored (`audit-head/<chain>` records). */
  control: ControlPlane;
  chainId: string;
  log: Logger;
  /** Records are sent at least this often. */
  flushMs: number;
  /** The head is anchored at most this often (and when the writer closes). */
  anchorMs: number;
  /** Records held for Kafka at most; beyond it `append` refuses (and the API answers 503). */
  maxQueued: number;
}

const SEND_BATCH = 500;

/**
 * One chain's writer. `append` numbers and links a record at once (so the chain order is the
 * order of appends) and queues it; a timer sends the queue in order with an idempotent producer,
 * so a retry can neither duplicate nor reorder records.
 */
export class AuditWriter {
  private readonly chain: AuditChain;
  private readonly queue: AuditRecord[] = [];
  private producer?: Producer;
  private timer?: NodeJS.Timeout;
  private flushing?: Promise<void>;
  private sent?: { seq: number; hash: string; offset: string };
  private anchoredSeq = -1;
  private lastAnchorMs = 0;

  constructor(private readonly o: AuditWriterOptions) {
    this.chain = new AuditChain(o.chainId);
  }

  get chainId(): string {
    return this.chain.id;
  }

  async start(): Promise<void> {
    this.producer = this.o.kafka.producer({ idempotent: true, maxInFlightRequests: 1, retry: IDEMPOTENT_RETRY });
    await this.producer.connect();
    this.timer = setInterval(() => void this.flush(), this.o.flushMs);
    this.timer.unref();
  }

  /** True while the queue is full: the API refuses requests then rather than serve them unaudited. */
  get backlogged(): boolean {
    return this.queue.length >= this.o.maxQueued;
  }

  /** Appends an entry; undefined (nothing appended, the chain unchanged) when the queue is full. */
  append(entry: AuditEntry): AuditRecord | undefined {
    if (this.backlogged) {
      auditMetrics.refused.inc();
      this.o.log.error({ action: entry.action, queued: this.queue.length }, 'audit queue full: record refused');
      return undefined;
    }
    const record = this.chain.next(entry);
    this.queue.push(record);
    auditMetrics.queued.set(this.queue.length);
    if (this.queue.length >= SEND_BATCH) void this.flush();
    return record;
  }

  /** Sends everything queued (one flush at a time), then anchors the head if it is due. */
  flush(): Promise<void> {
    this.flushing ??= this.sendQueued().finally(() => (this.flushing = undefined));
    return this.flushing;
  }

  private async sendQueued(): Promise<void> {
    const producer = this.producer;
    if (!producer) return;
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.slice(0, SEND_BATCH);
        const started = performance.now();
        const [meta] = await producer.send({ topic: this.o.topic, acks: -1, messages: batch.map((r) => ({ key: r.chain, value: JSON.stringify(r) })) });
        this.queue.splice(0, batch.length);
        const tail = batch[batch.length - 1];
        this.sent = { seq: tail.seq, hash: tail.hash, offset: (BigInt(meta?.baseOffset ?? '0') + BigInt(batch.length - 1)).toString() };
        auditMetrics.records.inc(batch.length);
        auditMetrics.sendMs.observe(performance.now() - started);
      }
      auditMetrics.queued.set(0);
      if (this.sent && this.sent.seq > this.anchoredSeq && Date.now() - this.lastAnchorMs >= this.o.anchorMs) await this.anchor(false);
    } catch (err) {
      // the queue is kept and sent again on the next tick, in the same order
      auditMetrics.errors.inc();
      this.o.log.error({ err, queued: this.queue.length }, 'audit records not written yet; retrying');
    }
  }

  private async anchor(closed: boolean): Promise<void> {
    const head = this.sent;
    if (!head) return;
    const anchor: AuditAnchor = { chain: this.chain.id, seq: head.seq, hash: head.hash, offset: head.offset, ts: new Date().toISOString(), ...(closed ? { closed } : {}) };
    await this.o.control.write([{ key: anchorKey(this.chain.id), value: anchor }]);
    this.anchoredSeq = head.seq;
    this.lastAnchorMs = Date.now();
    auditMetrics.anchors.inc();
  }

  /** Sends what is queued, anchors the final head as closed, and disconnects. */
  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.flush();
    if (this.queue.length > 0) this.o.log.error({ lost: this.queue.length }, 'audit writer closed with records Kafka never took');
    else await this.anchor(true).catch((err: unknown) => this.o.log.error({ err }, 'final audit anchor not written'));
    await this.producer?.disconnect();
  }
}

/** One record as read back: where it was, and its value parsed (or the text when it is not JSON). */
export interface AuditLogEntry {
  at: AuditPosition;
  value: unknown;
}

function parseLine(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** Reads a whole topic once, from its first retained offset to the end it had when called. */
export async function readAuditTopic(kafka: Kafka, topic: string, timeoutMs = 60_000): Promise<{ entries: AuditLogEntry[]; trimmed: boolean; end: bigint }> {
  const admin = kafka.admin();
  await admin.connect();
  const offsets = await admin.fetchTopicOffsets(topic).finally(() => admin.disconnect());
  const target = new Map(offsets.map((p) => [p.partition, { low: BigInt(p.low), high: BigInt(p.high) }]));
  const entries: AuditLogEntry[] = [];
  const end = offsets.reduce((m, p) => (BigInt(p.high) > m ? BigInt(p.high) : m), 0n);
  const trimmed = offsets.some((p) => BigInt(p.low) > 0n);
  if ([...target.values()].every((t) => t.high === t.low)) return { entries, trimmed, end };
  const consumer = kafka.consumer({ groupId: `rtap-audit-verify-${process.pid}-${randomBytes(4).toString('hex')}` });
  const reached = new Map<number, bigint>();
  try {
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new RtapError(`audit topic ${topic}: not read to its end within ${timeoutMs} ms`, { retriable: true })), timeoutMs);
      const done = () => [...target].every(([p, t]) => t.high === t.low || (reached.get(p) ?? 0n) >= t.high);
      consumer
        .run({
          autoCommit: false,
          eachMessage: async ({ partition, message }) => {
            const high = target.get(partition)?.high ?? 0n;
            if (BigInt(message.offset) < high) entries.push({ at: { offset: message.offset }, value: message.value === null ? null : parseLine(message.value.toString('utf8')) });
            reached.set(partition, BigInt(message.offset) + 1n);
            if (done()) {
              clearTimeout(timer);
              resolve();
            }
          },
        })
        .catch(reject);
    });
  } finally {
    await consumer.disconnect();
  }
  return { entries, trimmed, end };
}

/** `audit/p=PP/<first offset>-<last offset>.jsonl`: names derive from offsets, so a rewrite is idempotent. */
export function archiveKey(prefix: string, partition: number, first: bigint, last: bigint): string {
  return `${prefix}audit/p=${String(partition).padStart(2, '0')}/${first.toString().padStart(20, '0')}-${last.toString().padStart(20, '0')}.jsonl`;
}

const ARCHIVE_KEY = /audit\/p=(\d+)\/(\d{20})-(\d{20})\.jsonl$/;

export interface ArchiverOptions {
  kafka: Kafka;
  s3: S3Client;
  bucket: string;
  topic: string;
  /** Lake root prefix ('' = bucket root). */
  prefix: string;
  /** The consumer group whose committed offsets say how far the archive reaches. */
  groupId: string;
  flushMs: number;
  maxRecords: number;
  log: Logger;
}

export const AUDIT_ARCHIVER_GROUP = 'rtap-audit-archiver';

/**
 * Copies the audit topic to the lake: records are buffered per partition and written as one
 * object per flush, then the group's offset is committed. Resumable: after a crash it starts from
 * the committed offset; an object written but not committed is written again under a name that
 * may overlap it, and readers keep one copy per offset. Every API process runs one in the same
 * group, so one archives and the others take over when it stops.
 */
/** How long each step of the archiver's shutdown may take. */
const STOP_STEP_MS = 3000;

export class AuditArchiver {
  private consumer?: Consumer;
  private readonly buffers = new Map<number, { first: bigint; lines: string[] }>();
  private timer?: NodeJS.Timeout;
  private flushing?: Promise<void>;
  /** consumer.run has returned: pausing and committing are possible. */
  private running = false;

  constructor(private readonly o: ArchiverOptions) {}

  async start(): Promise<void> {
    this.consumer = this.o.kafka.consumer({ groupId: this.o.groupId });
    await this.consumer.connect();
    await this.consumer.subscribe({ topic: this.o.topic, fromBeginning: true });
    // a partition taken away may be archived by another member from its committed offset: drop our copy
    this.consumer.on(this.consumer.events.GROUP_JOIN, () => this.buffers.clear());
    await this.consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        for (const m of batch.messages) {
          let b = this.buffers.get(batch.partition);
          if (!b) this.buffers.set(batch.partition, (b = { first: BigInt(m.offset), lines: [] }));
          // the line is the record exactly as the topic holds it
          b.lines.push(m.value === null ? 'null' : m.value.toString('utf8').replace(/\n/g, '\\n'));
        }
        const buffered = [...this.buffers.values()].reduce((n, b) => n + b.lines.length, 0);
        if (buffered >= this.o.maxRecords) await this.flush();
      },
    });
    this.running = true;
    this.timer = setInterval(() => void this.flush(), this.o.flushMs);
    this.timer.unref();
  }

  flush(): Promise<void> {
    this.flushing ??= this.writeBuffers().finally(() => (this.flushing = undefined));
    return this.flushing;
  }

  private async writeBuffers(): Promise<void> {
    for (const [partition, b] of [...this.buffers]) {
      if (b.lines.length === 0) continue;
      const last = b.first + BigInt(b.lines.length - 1);
      const key = archiveKey(this.o.prefix, partition, b.first, last);
      const lines = b.lines.length;
      try {
        await this.o.s3.send(new PutObjectCommand({ Bucket: this.o.bucket, Key: key, Body: `${b.lines.join('\n')}\n`, ContentType: 'application/x-ndjson' }));
        await this.consumer!.commitOffsets([{ topic: this.o.topic, partition, offset: (last + 1n).toString() }]);
        // records that arrived meanwhile stay buffered for the next object
        const now = this.buffers.get(partition);
        if (now === b) {
          b.lines.splice(0, lines);
          b.first = last + 1n;
        }
        auditMetrics.archived.inc(lines);
      } catch (err) {
        auditMetrics.errors.inc();
        this.o.log.error({ err, key }, 'audit archive write failed; retrying on the next flush');
      }
    }
  }

  /**
   * Stops fetching, writes and commits what is buffered, then leaves the group — each step given
   * STOP_STEP_MS at most: in a rebalance (the other API workers stopping too) a commit can be
   * retried for tens of seconds, and a shutdown must not wait for it. What was not committed is
   * archived again by the next member from the committed offset (readers keep one copy per offset).
   */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    if (this.running) this.consumer?.pause([{ topic: this.o.topic }]);
    const bounded = async (step: string, work: Promise<void>) => {
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), STOP_STEP_MS)));
      const outcome = await Promise.race([work.then(() => 'done' as const), late]).finally(() => clearTimeout(timer));
      if (outcome === 'late') this.o.log.warn({ step, ms: STOP_STEP_MS }, 'audit archiver: step still running at shutdown; left to the next member');
    };
    await bounded('flush', this.flush());
    await bounded('disconnect', this.consumer?.disconnect() ?? Promise.resolve());
  }
}

/**
 * The archived records, one copy per offset, in offset order, and what is wrong with the archive
 * itself: two objects disagreeing about an offset, or offsets below the archiver's committed
 * offset (what it claims to have archived) missing from the lake.
 */
export async function readAuditLake(
  s3: S3Client,
  bucket: string,
  prefix: string,
  committed: Map<number, bigint>,
): Promise<{ entries: AuditLogEntry[]; problems: AuditProblem[]; objects: number; end: bigint }> {
  const objects = (await listObjects(s3, bucket, `${prefix}audit/p=`)).filter((o) => ARCHIVE_KEY.test(o.key));
  const byOffset = new Map<string, { partition: number; offset: bigint; text: string; at: AuditPosition }>();
  const problems: AuditProblem[] = [];
  for (const o of objects) {
    const [, p, first, last] = ARCHIVE_KEY.exec(o.key)!;
    const text = (await getText(s3, bucket, o.key)) ?? '';
    const lines = text.endsWith('\n') ? text.slice(0, -1).split('\n') : text.split('\n');
    const expected = BigInt(last) - BigInt(first) + 1n;
    if (BigInt(lines.length) !== expected) {
      problems.push({ chain: null, seq: null, at: { offset: first.replace(/^0+(?=\d)/, ''), object: o.key, line: 1 }, reason: `archive object holds ${lines.length} records, its name says ${expected}: records added or removed` });
    }
    lines.forEach((line, i) => {
      const offset = BigInt(first) + BigInt(i);
      const id = `${p}:${offset}`;
      const seen = byOffset.get(id);
      if (seen && seen.text !== line) {
        problems.push({ chain: null, seq: null, at: { offset: offset.toString(), object: o.key, line: i + 1 }, reason: `archive copies disagree at offset ${offset} (${seen.at.object} vs this object)` });
      }
      if (!seen) byOffset.set(id, { partition: Number(p), offset, text: line, at: { offset: offset.toString(), object: o.key, line: i + 1 } });
    });
  }
  const sorted = [...byOffset.values()].sort((a, b) => a.partition - b.partition || (a.offset < b.offset ? -1 : a.offset > b.offset ? 1 : 0));
  let end = 0n;
  for (const [partition, upTo] of committed) {
    const have = sorted.filter((e) => e.partition === partition);
    // the archive starts with the topic (offset 0): the archiver group reads it from the beginning
    let expect = 0n;
    for (const e of have) {
      if (e.offset > expect) problems.push({ chain: null, seq: null, at: { offset: expect.toString() }, reason: `archive gap: offsets ${expect}..${e.offset - 1n} of partition ${partition} are not in the lake` });
      expect = e.offset + 1n;
    }
    if (expect < upTo) problems.push({ chain: null, seq: null, at: { offset: expect.toString() }, reason: `archive truncated: offsets ${expect}..${upTo - 1n} of partition ${partition} were archived (committed) but are not in the lake` });
    if (upTo > end) end = upTo;
  }
  return { entries: sorted.map((e) => ({ at: e.at, value: parseLine(e.text) })), problems, objects: objects.length, end };
}

/** How far the archiver group has archived each partition of the audit topic. */
export async function archivedOffsets(kafka: Kafka, groupId: string, topic: string): Promise<Map<number, bigint>> {
  const committed = await fetchCommittedOffsets(kafka, groupId, topic);
  return new Map(committed.filter((c) => Number(c.offset) >= 0).map((c) => [c.partition, BigInt(c.offset)]));
}
