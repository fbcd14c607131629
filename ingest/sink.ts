// The lake sink: a Kafka consumer group that writes raw events as Parquet chunks to S3,
// exactly once by offsets (docs/lake.md). Records with a lake record header (`x-rtap-l`, written
// by the ingestion API: core/lake-record.ts) bring their flat columns; DuckDB extracts the others'
// from the JSON. One flush = flatten (DuckDB) → pending record →
// uploads → DLQ → commit → partition records + high-water. Offsets are committed only after the
// objects are durable, and object names derive from offsets, so a crash at any point is repaired
// by rewriting the same names from the committed offset.
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import type { Consumer, EachBatchPayload, Kafka, Producer } from 'kafkajs';
import { openDuckDb } from '../core/duckdb';
import { errorMessage } from '../core/errors';
import { dlqMessage } from '../core/dlq';
import { IDEMPOTENT_RETRY, TOPICS, fetchCommittedOffsets } from '../core/kafka';
import { LAKE_FORMAT, normalizePrefix, rawChunkKey, type PendingChunk } from '../core/lake';
import { LAKE_HEADER, lakeHeaderFields } from '../core/lake-record';
import { createLogger, type Logger } from '../core/logger';
import { withRetry } from '../core/retry';
import { flattenToParquet, InputFileBuilder, prepareConnection, type RejectReason } from './flatten';
import { createManifestStore, type ManifestStore } from './manifests';
import { sinkMetrics } from './metrics';
import { flushDue, highWaterBehind, offsetsToCommit, planChunk, planResume, staleKeys, type ChunkPlan, type FlushThresholds } from './offsets';

export interface LakeSinkOptions extends FlushThresholds {
  topic: string;
  groupId: string;
  dlqTopic: string;
  /** Lake root prefix inside the bucket; '' in production so paths are exactly `raw/...`. */
  prefix: string;
  /** Where a new group starts (the lake must hold every event, so earliest by default). */
  fromBeginning: boolean;
  /** DuckDB threads for the flatten step. */
  duckdbThreads: number;
  duckdbMemoryLimit: string;
  /** Consumer session timeout: how long a dead sink holds its partitions. */
  sessionTimeoutMs: number;
  /**
   * Fault injection for tests (env RTAP_SINK_CRASH_AFTER_UPLOADS in `rtap sink`): SIGKILL the
   * process after this many object uploads, i.e. after some objects are durable and before the
   * offsets are committed. Never set in production.
   */
  crashAfterUploads?: number;
}

export const DEFAULT_SINK_OPTIONS: LakeSinkOptions = {
  topic: TOPICS.events,
  groupId: 'rtap-lake-sink',
  dlqTopic: TOPICS.eventsDlq,
  prefix: '',
  fromBeginning: true,
  maxRows: 50_000,
  maxBytes: 64 * 1024 * 1024,
  flushIntervalMs: 30_000,
  duckdbThreads: 1,
  duckdbMemoryLimit: '1GB',
  sessionTimeoutMs: 30_000,
};

export interface LakeSinkDeps {
  kafka: Kafka;
  s3: S3Client;
  bucket: string;
  logger?: Logger;
}

export interface LakeSinkStats {
  flushes: number;
  rowsWritten: number;
  objectsWritten: number;
  bytesWritten: number;
  dlq: number;
  /** Flushes that failed (retried from the same boundaries), and flushes prepared behind them and dropped (planned again). */
  failed: number;
  discarded: number;
  /** Partition records found changed by another writer (read again, the flush abandoned). */
  recordConflicts: number;
  /** Next offset durable per partition, as committed by this sink instance. */
  committed: Record<string, number>;
}

export interface LakeSink {
  start(): Promise<void>;
  /** Flushes whatever is buffered now (replays wait for their boundary). */
  flush(): Promise<void>;
  /** Graceful stop: flush, commit, disconnect, in that order. */
  stop(): Promise<void>;
  stats(): LakeSinkStats;
  /** Settles when the sink stops; rejects if the consumer crashed for good. */
  readonly done: Promise<void>;
}

interface Buffered {
  offset: number;
  timestampMs: number;
  key: Buffer | null;
  value: Buffer | null;
  /** The flat columns from the record's lake header (core/lake-record.ts), when it has a usable one. */
  fields: Buffer | undefined;
}

interface PartitionState {
  messages: Buffered[];
  bytes: number;
  /** How many messages at the head of `messages` (and their value bytes) are in a flush in flight (prepared, not committed). */
  planned: number;
  plannedBytes: number;
  /** When the oldest message not yet in a flush arrived. */
  oldestAtMs: number | undefined;
  replay: PendingChunk | undefined;
  orphanKeys: string[];
  /** Version (ETag) of the partition record as this sink last read or wrote it; its writes are conditional on it. */
  recordEtag: string | undefined;
}

type Reject = { partition: number; offset: number; reason: RejectReason };

/** A flush's stage 1 done: its chunks framed and flattened into local files, nothing outside the process touched yet. */
interface PreparedFlush {
  reason: string;
  /** Group generation and plan epoch when the chunks were taken: stage 2 drops the flush if either moved. */
  gen: number;
  epoch: number;
  /** Each partition's chunk: its plan, messages and their value bytes. */
  plans: { plan: ChunkPlan; state: PartitionState; messages: Buffered[]; bytes: number }[];
  tmp: string;
  rows: number;
  onePass: boolean;
  objects: { partition: number; dt: string; hour: number; file: string; key: string }[];
  rejects: Reject[];
  started: number;
  steps: Record<string, number>;
  stepStart: number;
}

/** done: committed and published; empty: nothing to flush; discarded: dropped before its pending records (a failure or rebalance before it), to be planned again. */
type FlushOutcome = 'done' | 'empty' | 'discarded';

const settled = (p: Promise<unknown>): Promise<void> => p.then(
  () => undefined,
  () => undefined,
);

export function createLakeSink(deps: LakeSinkDeps, opts: Partial<LakeSinkOptions> = {}): LakeSink {
  const o: LakeSinkOptions = { ...DEFAULT_SINK_OPTIONS, ...opts, prefix: normalizePrefix(opts.prefix ?? DEFAULT_SINK_OPTIONS.prefix) };
  const log = deps.logger ?? createLogger('ingest.sink');
  const manifests: ManifestStore = createManifestStore(deps.s3, deps.bucket, o.prefix, o.topic);
  const consumer: Consumer = deps.kafka.consumer({ groupId: o.groupId, sessionTimeout: o.sessionTimeoutMs, rebalanceTimeout: 60_000 });
  const producer: Producer = deps.kafka.producer({ idempotent: true, maxInFlightRequests: 1, retry: IDEMPOTENT_RETRY });

  const states = new Map<number, PartitionState>();
  const committed = new Map<number, number>();
  let generation = 0;
  let rebalancing = false;
  let stopping = false;
  let uploads = 0;
  let duck: { instance: DuckDBInstance; connection: DuckDBConnection } | undefined;
  let timer: NodeJS.Timeout | undefined;
  /** The flush pipeline (see flush): the last flush's stage 1, and the last two flushes' stage 2, settled. */
  let lastPrepared: Promise<void> = Promise.resolve();
  let lastFinished: Promise<void> = Promise.resolve();
  let secondLastFinished: Promise<void> = Promise.resolve();
  /** Bumped when a stage 2 fails or aborts: plans taken before it are void. */
  let epoch = 0;
  let timeFlush: Promise<unknown> | undefined;
  /** The high-water repair (see repairHighWater): running, and when it last ran. */
  let repairing = false;
  let repairedAt = Date.now();
  /** Size-triggered flushes queued or running, oldest first (see eachBatch). */
  const sizeFlushes: Promise<unknown>[] = [];
  /** The flatten step's input, framed as bytes; one for all flushes (their stage 1 runs one at a time), so its buffers are reused. */
  const lines = new InputFileBuilder();
  /** The same for records whose flat columns their lake header gives (DuckDB skips the JSON extraction for them). */
  const typedLines = new InputFileBuilder();
  const stats: LakeSinkStats = { flushes: 0, rowsWritten: 0, objectsWritten: 0, bytesWritten: 0, dlq: 0, failed: 0, discarded: 0, recordConflicts: 0, committed: {} };

  let settle!: { resolve: () => void; reject: (err: unknown) => void };
  const done = new Promise<void>((resolve, reject) => (settle = { resolve, reject }));
  done.catch(() => undefined);

  const bufferedRows = () => [...states.values()].reduce((n, s) => n + s.messages.length, 0);
  const bufferedBytes = () => [...states.values()].reduce((n, s) => n + s.bytes, 0);
  /** Buffered and not yet in a flush. */
  const unplannedRows = () => [...states.values()].reduce((n, s) => n + s.messages.length - s.planned, 0);
  const unplannedBytes = () => [...states.values()].reduce((n, s) => n + s.bytes - s.plannedBytes, 0);
  const oldestAt = () =>
    [...states.values()].reduce<number | undefined>((m, s) => (s.oldestAtMs === undefined ? m : Math.min(m ?? Infinity, s.oldestAtMs)), undefined);

  /**
   * Flushes run as a two-stage pipeline. Stage 1 (`prepare`: plan the chunks, frame, flatten in
   * DuckDB) has no effect outside this process; stage 2 (`finish`: pending records, uploads, DLQ,
   * commit, publish) is where the exactly-once argument lives (docs/lake.md). Stage 2 runs one flush
   * at a time, in order, so at most one chunk per partition is ever pending; flush k's stage 1 may
   * run while flush k-1's stage 2 uploads and commits (DuckDB was idle then: ~12 % of a flush).
   * Flush k's stage 1 also waits for flush k-2's stage 2, so at most two chunks are in flight.
   * A stage 2 that fails or aborts resets the plan (`epoch`): chunks prepared meanwhile are
   * discarded and re-planned from the head of the buffer, with the failed chunk's boundaries.
   */
  function flush(reason: string, heartbeat?: () => Promise<void>): Promise<FlushOutcome> {
    const prepared = Promise.all([lastPrepared, secondLastFinished]).then(() => prepare(reason, heartbeat));
    const finished = Promise.all([lastFinished, settled(prepared)]).then(async () => {
      const p = await prepared;
      return p ? finish(p, heartbeat) : 'empty';
    });
    lastPrepared = settled(prepared);
    secondLastFinished = lastFinished;
    lastFinished = settled(finished);
    finished.catch((err) => {
      stats.failed += 1;
      sinkMetrics.flushErrors.inc();
      log.error({ err: errorMessage(err), reason }, 'flush failed; will retry with the same chunk boundaries');
    });
    return finished;
  }

  /** A flush that must leave nothing buffered behind it (manual, shutdown): again while its chunks were discarded by a failure before it. */
  async function flushAll(reason: string): Promise<void> {
    for (let attempt = 0; attempt < 3; attempt++) {
      if ((await flush(reason)) !== 'discarded') return;
    }
  }

  /** Drops every plan made since the last commit: the next flush plans from the head of each buffer again. */
  function resetPlans(): void {
    epoch += 1;
    for (const state of states.values()) {
      state.planned = 0;
      state.plannedBytes = 0;
      // Due at once, as a failed chunk was before flushes were pipelined.
      if (state.messages.length > 0) state.oldestAtMs = Date.now() - o.flushIntervalMs;
    }
  }

  /** Stage 1: takes the next chunk of each partition (after the chunks in flight), frames and flattens it. */
  async function prepare(reason: string, heartbeat?: () => Promise<void>): Promise<PreparedFlush | undefined> {
    if (rebalancing || !duck) return undefined;
    const plans: PreparedFlush['plans'] = [];
    for (const [partition, state] of states) {
      const free = state.planned === 0 ? state.messages : state.messages.slice(state.planned);
      // A replayed chunk's boundaries bind only the first chunk after (re)assignment or a failure.
      const plan = planChunk(partition, free, state.planned === 0 ? state.replay : undefined);
      if (plan) {
        const messages = free.slice(0, plan.count);
        plans.push({ plan, state, messages, bytes: messages.reduce((n, m) => n + (m.value?.length ?? 0), 0) });
      }
    }
    if (plans.length === 0) return undefined;
    const taken = { gen: generation, epoch };
    for (const { plan, state, bytes } of plans) {
      state.planned += plan.count;
      state.plannedBytes += bytes;
      if (state.planned === state.messages.length) state.oldestAtMs = undefined;
    }
    const started = Date.now();
    // Milliseconds per step of this flush, in the log line: where a slow flush spent its time.
    const steps: Record<string, number> = {};
    let stepStart = started;
    const stepDone = (name: string) => {
      const now = Date.now();
      steps[name] = now - stepStart;
      stepStart = now;
    };
    const tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'rtap-sink-'));
    try {
      // Frame and flatten (DuckDB), one Parquet file per (partition, event hour).
      lines.reset();
      typedLines.reset();
      const rejects: Reject[] = [];
      for (const { plan, messages } of plans) {
        for (const m of messages) {
          const msg = { partition: plan.partition, offset: m.offset, timestampMs: m.timestampMs, value: m.value };
          if (m.fields !== undefined && typedLines.addTyped(msg, m.fields)) continue;
          const reason = lines.add(msg);
          if (reason) rejects.push({ partition: plan.partition, offset: m.offset, reason });
        }
      }
      const input = lines.rows > 0 ? path.join(tmp, 'input.txt') : undefined;
      const typedInput = typedLines.rows > 0 ? path.join(tmp, 'input-typed.txt') : undefined;
      if (input !== undefined) lines.writeTo(input);
      if (typedInput !== undefined) typedLines.writeTo(typedInput);
      stepDone('frame');
      const flat = await flattenToParquet(duck.connection, input, tmp, typedInput);
      rejects.push(...flat.rejects);
      await heartbeat?.();
      stepDone('flatten');
      const byPartition = new Map(plans.map((p) => [p.plan.partition, p]));
      const objects = flat.objects.map((obj) => {
        const plan = byPartition.get(obj.partition)!.plan;
        return { ...obj, key: rawChunkKey(o.prefix, { dt: obj.dt, hour: obj.hour, partition: obj.partition, startOffset: plan.start, endOffset: plan.end }) };
      });
      return { reason, ...taken, plans, tmp, rows: flat.rows, onePass: flat.onePass, objects, rejects, started, steps, stepStart };
    } catch (err) {
      await fs.rm(tmp, { recursive: true, force: true });
      // Nothing was planned after this flush (stage 1 runs one at a time): give its messages back.
      if (taken.epoch === epoch) {
        for (const { plan, state, bytes } of plans) {
          state.planned -= plan.count;
          state.plannedBytes -= bytes;
          state.oldestAtMs ??= Date.now() - o.flushIntervalMs;
        }
      }
      throw err;
    }
  }

  /** Stage 2: pending records, uploads, DLQ, commit, publish (docs/lake.md, the exactly-once argument). */
  async function finish(p: PreparedFlush, heartbeat?: () => Promise<void>): Promise<FlushOutcome> {
    const { plans, objects, rejects, steps } = p;
    let stepStart = p.stepStart;
    const stepDone = (name: string) => {
      const now = Date.now();
      steps[name] = now - stepStart;
      stepStart = now;
    };
    try {
      if (p.epoch !== epoch) {
        stats.discarded += 1;
        sinkMetrics.flushDiscards.inc();
        log.info({ reason: p.reason, rows: p.rows }, 'prepared flush dropped: a flush before it failed or aborted; its rows are planned again');
        return 'discarded';
      }
      stepDone('wait');
      if (p.gen !== generation) return abort('rebalance before upload');

      // 1. Record the pending chunk of each partition (its exact range and names) before any
      //    upload, so a restart rewrites the same names. Orphans of a crashed chunk that this
      //    chunk does not overwrite are deleted first. Every record write is conditional on the
      //    version this sink last saw: a record changed by another writer (a new or old owner of
      //    the partition, around a rebalance) is read again and the flush abandoned, so two
      //    owners can never both act on stale records (docs/lake.md).
      const changed: { partition: number; state: PartitionState }[] = [];
      await Promise.all(
        plans.map(async ({ plan, state }) => {
          const keys = objects.filter((x) => x.partition === plan.partition).map((x) => x.key);
          const stale = staleKeys(state.orphanKeys, keys);
          if (stale.length > 0) {
            if ((await manifests.readPartitionRecordVersion(plan.partition)).etag !== state.recordEtag) return void changed.push({ partition: plan.partition, state });
            log.warn({ partition: plan.partition, stale }, 'deleting objects of an uncommitted chunk that is not rewritten under the same names');
            await withRetry(() => manifests.deleteKeys(stale), { shouldRetry: () => true });
          }
          const pending: PendingChunk = { start: plan.start, end: plan.end, keys };
          const etag = await withRetry(() => manifests.writePartitionRecordIf(plan.partition, committed.get(plan.partition) ?? plan.start, pending, state.recordEtag), {
            shouldRetry: () => true,
          });
          if (etag === undefined) return void changed.push({ partition: plan.partition, state });
          state.recordEtag = etag;
          // From here on a failed flush must retry with these very boundaries.
          state.replay = pending;
          state.orphanKeys = keys;
        }),
      );
      if (changed.length > 0) {
        await Promise.all(changed.map(({ partition, state }) => reloadPartitionRecord(partition, state)));
        return abort('a partition record was changed by another writer');
      }
      stepDone('pending');

      // 2. Upload the objects.
      let bytes = 0;
      await mapLimit(objects, 4, async (obj) => {
        const body = await fs.readFile(obj.file);
        await withRetry(
          () =>
            deps.s3.send(
              new PutObjectCommand({ Bucket: deps.bucket, Key: obj.key, Body: body, ContentType: 'application/vnd.apache.parquet' }),
            ),
          { shouldRetry: () => true },
        );
        bytes += body.length;
        uploads += 1;
        if (o.crashAfterUploads !== undefined && uploads >= o.crashAfterUploads) {
          log.warn({ uploads }, 'RTAP_SINK_CRASH_AFTER_UPLOADS reached: SIGKILL (fault injection)');
          process.kill(process.pid, 'SIGKILL');
        }
      });
      await heartbeat?.();
      stepDone('upload');

      // 3. Rejected events to the DLQ (acks from all replicas) before the commit covers them.
      if (rejects.length > 0) await sendToDlq(plans, rejects);

      // 4. Commit only what is durable, and never after a rebalance took our partitions away.
      if (p.gen !== generation) return abort('rebalance before commit');
      const toCommit = offsetsToCommit(plans.map((x) => x.plan), committed);
      if (toCommit.length > 0) {
        try {
          await consumer.commitOffsets(toCommit.map((c) => ({ topic: o.topic, partition: c.partition, offset: String(c.offset) })));
        } catch (err) {
          if (isRebalanceError(err)) return abort(`commit refused: ${errorMessage(err)}`);
          throw err;
        }
      }
      for (const c of toCommit) {
        committed.set(c.partition, c.offset);
        stats.committed[String(c.partition)] = c.offset;
        sinkMetrics.committedOffset.set({ partition: String(c.partition) }, c.offset);
      }
      for (const { plan, state, bytes } of plans) {
        state.messages.splice(0, plan.count);
        state.planned -= plan.count;
        state.plannedBytes -= bytes;
        state.bytes -= bytes;
        state.replay = undefined;
        state.orphanKeys = [];
      }
      stepDone('commit');

      // 5. Publish: partition records (pending cleared) and the monotonic high-water mark.
      await Promise.all(
        plans.map(async ({ plan, state }) => {
          const etag = await manifests.writePartitionRecordIf(plan.partition, plan.end + 1, null, state.recordEtag);
          // Changed by another writer since the pending record: theirs stands (this chunk is committed either way).
          if (etag === undefined) await reloadPartitionRecord(plan.partition, state);
          else state.recordEtag = etag;
        }),
      );
      await manifests.publishHighWater(Object.fromEntries(plans.map(({ plan }) => [String(plan.partition), plan.end + 1])));
      stepDone('publish');

      const ms = Date.now() - p.started;
      stats.flushes += 1;
      stats.rowsWritten += p.rows;
      stats.objectsWritten += objects.length;
      stats.bytesWritten += bytes;
      sinkMetrics.flushes.inc({ reason: p.reason });
      sinkMetrics.flushDuration.observe(ms);
      sinkMetrics.rowsWritten.inc(p.rows);
      sinkMetrics.objectsWritten.inc(objects.length);
      sinkMetrics.bytesWritten.inc(bytes);
      sinkMetrics.buffered.set(bufferedRows());
      log.info(
        { reason: p.reason, ms, steps, onePass: p.onePass, rows: p.rows, objects: objects.length, bytes, dlq: rejects.length, commit: toCommit },
        'flushed chunk(s) to the lake',
      );
      return 'done';
    } catch (err) {
      resetPlans();
      throw err;
    } finally {
      await fs.rm(p.tmp, { recursive: true, force: true });
    }
  }

  /**
   * Reads a partition record that another writer changed, and takes its view: the chunk a new
   * record holds pending is replayed with its boundaries if it starts at this sink's first
   * uncommitted offset, its objects are orphans otherwise (planResume, as on assignment). The
   * buffer already starts at that offset, so nothing needs fetching again.
   */
  async function reloadPartitionRecord(partition: number, state: PartitionState): Promise<void> {
    if (states.get(partition) !== state || state.messages.length === 0) return; // dropped by a rebalance meanwhile
    const { record, etag } = await manifests.readPartitionRecordVersion(partition);
    const resume = planResume(record, state.messages[0].offset);
    log.warn({ partition, pending: record?.pending ?? null, replay: resume.replay ?? null }, 'partition record changed by another writer: read again');
    sinkMetrics.recordConflicts.inc();
    stats.recordConflicts += 1;
    state.recordEtag = etag;
    state.replay = resume.replay;
    state.orphanKeys = resume.orphanKeys;
  }

  function abort(why: string): FlushOutcome {
    resetPlans();
    sinkMetrics.flushAborts.inc();
    log.warn({ why }, 'flush abandoned before commit; the pending chunks are replayed from the committed offsets');
    return 'discarded';
  }

  async function sendToDlq(
    plans: { plan: ChunkPlan; messages: Buffered[] }[],
    rejects: { partition: number; offset: number; reason: RejectReason }[],
  ): Promise<void> {
    const byOffset = new Map<string, Buffered>();
    for (const { plan, messages } of plans) for (const m of messages) byOffset.set(`${plan.partition}:${m.offset}`, m);
    const messages = rejects.map((r) => {
      const m = byOffset.get(`${r.partition}:${r.offset}`)!;
      return dlqMessage({
        payload: m.value ?? Buffer.alloc(0),
        reason: r.reason,
        violations: [{ path: '', reason: r.reason }],
        source: 'sink',
        key: m.key,
        origin: { topic: o.topic, partition: r.partition, offset: String(r.offset) },
      });
    });
    for (let i = 0; i < messages.length; i += 500) {
      await producer.send({ topic: o.dlqTopic, acks: -1, messages: messages.slice(i, i + 500) });
    }
    for (const r of rejects) sinkMetrics.dlq.inc({ reason: r.reason });
    stats.dlq += rejects.length;
  }

  async function eachBatch({ batch, heartbeat }: EachBatchPayload): Promise<void> {
    if (stopping || batch.messages.length === 0) return;
    const partition = batch.partition;
    let state = states.get(partition);
    if (!state) {
      // First batch since (re)assignment: it starts at the committed offset. Resume any chunk
      // left uncommitted by a crash with the same boundaries (see planResume).
      const gen = generation;
      const { record, etag } = await manifests.readPartitionRecordVersion(partition);
      if (gen !== generation) return;
      const resume = planResume(record, Number(batch.messages[0].offset));
      if (resume.replay) log.info({ partition, replay: resume.replay }, 'replaying an uncommitted chunk with its original boundaries');
      state = { messages: [], bytes: 0, planned: 0, plannedBytes: 0, oldestAtMs: undefined, replay: resume.replay, orphanKeys: resume.orphanKeys, recordEtag: etag };
      states.set(partition, state);
    }
    const last = state.messages.length > 0 ? state.messages[state.messages.length - 1].offset : -1;
    for (const m of batch.messages) {
      const offset = Number(m.offset);
      if (offset <= last) continue; // re-delivered after a seek/retry: already buffered
      state.messages.push({ offset, timestampMs: Number(m.timestamp), key: m.key, value: m.value, fields: lakeFields(m.headers?.[LAKE_HEADER]) });
      state.bytes += m.value?.length ?? 0;
    }
    state.oldestAtMs ??= Date.now();
    sinkMetrics.lag.set({ partition: String(partition) }, Math.max(0, Number(batch.highWatermark) - Number(batch.lastOffset()) - 1));
    sinkMetrics.buffered.set(bufferedRows());
    const due = flushDue({ rows: unplannedRows(), bytes: unplannedBytes(), oldestAtMs: undefined }, o, Date.now());
    // A full chunk is flushed beside consumption, as the timer's flushes are: kafkajs fetches and
    // decodes the next chunk while DuckDB flattens this one (taking turns, fetching was ~25 % of
    // the sink's time, docs/ingestion.md). Two such flushes at a time (one flattening, one
    // uploading and committing); consumption waits for the oldest once a third chunk is buffered,
    // so memory stays bounded by about three chunks.
    if (due && sizeFlushes.length < 2) {
      const f = flush(due, heartbeat)
        .catch(() => undefined)
        .finally(() => sizeFlushes.splice(sizeFlushes.indexOf(f), 1));
      sizeFlushes.push(f);
    }
    if (sizeFlushes.length > 0 && (bufferedRows() >= 3 * o.maxRows || bufferedBytes() >= 3 * o.maxBytes)) await sizeFlushes[0];
  }

  /**
   * Publishes this sink's committed offsets again where the high-water mark is behind them: a
   * safety net for writers of the one high-water object that do not write conditionally (an older
   * sink, a hand edit; docs/lake.md). Without it a lost update would lag until that partition's
   * next flush — for ever on an idle partition, holding every batch cut back.
   */
  async function repairHighWater(): Promise<void> {
    if (committed.size === 0) return;
    const behind = highWaterBehind(committed, (await manifests.readHighWater())?.partitions ?? {});
    if (Object.keys(behind).length === 0) return;
    log.info({ behind }, "high-water mark behind this sink's commits (an update overwritten by another writer): published again");
    sinkMetrics.highWaterRepairs.inc();
    await manifests.publishHighWater(behind);
  }

  async function publishCommittedAsHighWater(): Promise<void> {
    // Committed offsets are durable by construction; publishing them at start repairs a crash
    // between a commit and its manifest write.
    const partitions = await fetchCommittedOffsets(deps.kafka, o.groupId, o.topic);
    const update: Record<string, number> = {};
    for (const p of partitions) if (Number(p.offset) >= 0) update[String(p.partition)] = Number(p.offset);
    if (Object.keys(update).length > 0) await manifests.publishHighWater(update);
  }

  return {
    done,
    stats: () => ({ ...stats, committed: { ...stats.committed } }),
    async start() {
      duck = await openDuckDb({ threads: o.duckdbThreads, memoryLimit: o.duckdbMemoryLimit });
      await prepareConnection(duck.connection);
      await publishCommittedAsHighWater();
      consumer.on(consumer.events.REBALANCING, () => {
        rebalancing = true;
        generation += 1;
      });
      consumer.on(consumer.events.GROUP_JOIN, (e) => {
        // kafkajs resumes every assigned partition from its committed offset after a rebalance,
        // so all buffered state is dropped and rebuilt (with replay) from there.
        generation += 1;
        rebalancing = false;
        states.clear();
        sinkMetrics.buffered.set(0);
        log.info({ assignment: e.payload.memberAssignment, generation }, 'joined group');
      });
      consumer.on(consumer.events.CRASH, (e) => {
        log.error({ err: errorMessage(e.payload.error), restart: e.payload.restart }, 'consumer crashed');
        if (!e.payload.restart) settle.reject(e.payload.error);
      });
      await producer.connect();
      await consumer.connect();
      await consumer.subscribe({ topics: [o.topic], fromBeginning: o.fromBeginning });
      await consumer.run({ autoCommit: false, eachBatchAutoResolve: true, partitionsConsumedConcurrently: 1, eachBatch });
      const tick = Math.max(100, Math.min(1000, Math.floor(o.flushIntervalMs / 4)));
      const repairEveryMs = Math.max(1000, Math.min(5000, o.flushIntervalMs));
      timer = setInterval(() => {
        if (stopping) return;
        if (!repairing && Date.now() - repairedAt >= repairEveryMs) {
          repairing = true;
          repairHighWater()
            .catch((err) => log.warn({ err: errorMessage(err) }, 'high-water repair failed; retried at the next check'))
            .finally(() => {
              repairing = false;
              repairedAt = Date.now();
            });
        }
        // One time-triggered flush queued at a time: a second queued behind it would find only
        // what arrived meanwhile and write a needlessly small chunk.
        if (!timeFlush && flushDue({ rows: unplannedRows(), bytes: unplannedBytes(), oldestAtMs: oldestAt() }, o, Date.now())) {
          timeFlush = flush('time')
            .catch(() => undefined)
            .finally(() => (timeFlush = undefined));
        }
      }, tick);
      log.info({ topic: o.topic, group: o.groupId, prefix: o.prefix, lakeFormat: LAKE_FORMAT, maxRows: o.maxRows, maxBytes: o.maxBytes, flushIntervalMs: o.flushIntervalMs }, 'lake sink started');
    },
    async flush() {
      await flushAll('manual');
    },
    async stop() {
      if (stopping) return done;
      stopping = true;
      if (timer) clearInterval(timer);
      try {
        await lastFinished;
        await flushAll('shutdown').catch((err) => log.error({ err: errorMessage(err) }, 'final flush failed; uncommitted data is replayed on restart'));
        await consumer.disconnect();
        await producer.disconnect();
        duck?.connection.closeSync();
        duck?.instance.closeSync();
        settle.resolve();
      } catch (err) {
        settle.reject(err);
      }
      return done;
    },
  };
}

/** The flat columns a record's `x-rtap-l` header gives, when it is one of the current lake format. */
function lakeFields(header: Buffer | string | (Buffer | string)[] | undefined): Buffer | undefined {
  const h = Array.isArray(header) ? header[0] : header;
  if (h === undefined) return undefined;
  return lakeHeaderFields(typeof h === 'string' ? Buffer.from(h) : h);
}

function isRebalanceError(err: unknown): boolean {
  const type = (err as { type?: string }).type ?? '';
  return ['REBALANCE_IN_PROGRESS', 'ILLEGAL_GENERATION', 'UNKNOWN_MEMBER_ID', 'NOT_COORDINATOR_FOR_GROUP', 'FENCED_INSTANCE_ID'].includes(type);
}

async function mapLimit<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await fn(items[next++]);
  });
  await Promise.all(workers);
}
