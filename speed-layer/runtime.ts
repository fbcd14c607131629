// The speed layer's run loop: a consumer group over `events` feeding ./state, and every
// commitIntervalMs one Kafka transaction = changelog records + window results (+ dead letters)
// + sendOffsets, then commit (docs/speed-layer.md, "Exactly once"). On every group join the state
// is dropped and the assigned partitions are rebuilt from the committed changelog (and the
// deduplication horizon from `events`) before any of their events is processed. Processors'
// outputs (the fraud processor's anomaly records) go to `anomalies` either in the same transaction
// (`anomalyDelivery: 'transaction'`: exactly once; while one waits, the checkpoint comes after
// anomalyCommitMs instead of commitIntervalMs) or at once from a plain producer (`'immediate'`:
// at least once, deduplicated by anomaly id downstream; the checkpoint that commits their events'
// offsets waits for their acks first).
import { writeSync } from 'node:fs';
import type { Consumer, EachBatchPayload, Kafka, Message, Producer, Transaction } from 'kafkajs';
import { dlqMessage } from '../core/dlq';
import { EVENT_FETCH, IDEMPOTENT_RETRY, TOPICS } from '../core/kafka';
import { createLogger, type Logger } from '../core/logger';
import { readTopicRange } from '../core/topic-range';
import { speedMetrics } from './metrics';
import { createSpeedState, type EventProcessor, type OutRecord, type SpeedState } from './state';

export interface SpeedLayerOptions {
  topic: string;
  groupId: string;
  changelogTopic: string;
  resultsTopic: string;
  dlqTopic: string;
  /** Where processors' outputs (anomaly records) go, keyed by tenant. */
  anomaliesTopic: string;
  /**
   * How soon an anomaly waiting for a checkpoint is committed (ms since the last commit): the
   * event → anomaly latency, at the price of more (smaller) transactions while anomalies come in.
   */
  anomalyCommitMs: number;
  /**
   * Events waiting in the instance's partitions (the lag after its latest fetch of each) above
   * which a waiting anomaly no longer brings the commit forward: behind, an event's wait in the
   * topic dominates its anomaly's latency, and a transaction every anomalyCommitMs only takes CPU
   * from catching up. Infinity: always early.
   */
  anomalyCommitMaxLag: number;
  /**
   * `transaction`: anomaly records in the checkpoint transaction (exactly once, visible when it
   * commits). `immediate`: sent as soon as the event is scored (at least once: events re-processed
   * after a crash or rebalance may send a record again, under the same anomaly id).
   */
  anomalyDelivery: 'transaction' | 'immediate';
  /** Also dead-letter refused events (the lake sink already files the same letters; see the docs). */
  deadLetter: boolean;
  /** Names this instance's transactional id `<groupId>-<instanceId>`: keep it across restarts so a restart fences its predecessor. */
  instanceId: string;
  commitIntervalMs: number;
  allowedLatenessMs: number;
  sessionGapMs: number;
  dedupHorizonOffsets: number;
  offsetBucketSize?: number;
  sessionTimeoutMs: number;
  /** How often the published batch cut is read (deps.readCut). */
  cutPollMs: number;
  /** Tests only: SIGKILL this process after producing the n-th transaction's records, before its commit. */
  crashInTransaction?: number;
}

export const DEFAULT_SPEED_OPTIONS: SpeedLayerOptions = {
  topic: TOPICS.events,
  groupId: 'rtap-speed',
  changelogTopic: TOPICS.speedWindows,
  resultsTopic: TOPICS.speedResults,
  dlqTopic: TOPICS.eventsDlq,
  anomaliesTopic: TOPICS.anomalies,
  anomalyCommitMs: 20,
  anomalyCommitMaxLag: 2000,
  anomalyDelivery: 'transaction',
  deadLetter: false,
  instanceId: '0',
  commitIntervalMs: 300,
  allowedLatenessMs: 60_000,
  sessionGapMs: 30 * 60_000,
  dedupHorizonOffsets: 50_000,
  sessionTimeoutMs: 30_000,
  cutPollMs: 30_000,
};

export interface SpeedLayerDeps {
  kafka: Kafka;
  logger?: Logger;
  /** The newest published batch cut (partition → offset), or undefined when none is published. */
  readCut?: () => Promise<ReadonlyMap<number, number> | undefined>;
  /** Per-event processors (the feature store), checkpointed with the windows. */
  processors?: readonly EventProcessor[];
  /** Instrumentation (benchmarks): when counted events' updates reach the state and the committed changelog. */
  observer?: SpeedObserver;
  /**
   * No event is processed before this settles (the stream threads of one process: until every
   * thread has joined the group and the partitions are split, see threads.ts); the consumer keeps
   * heartbeating meanwhile, so the rebalance that splits them reaches it.
   */
  startGate?: Promise<void>;
}

/**
 * Event → update timing, by the events' Kafka record timestamps (their producer's send time): an
 * update is `updated` once the in-memory windows and features hold it (what in-process readers
 * such as detectors see) and `committed` once the transaction carrying it commits (what the
 * serving reader, following the changelog read_committed, sees).
 */
export interface SpeedObserver {
  /** The group assigned these partitions of the topic to this layer (every join). */
  joined?(partitions: readonly number[]): void;
  updated?(timestampMs: number, atMs: number): void;
  committed?(timestampsMs: readonly number[], atMs: number): void;
}

/**
 * Whether the next checkpoint is due: every commitIntervalMs; anomalyCommitMs after the last one
 * while outputs wait for a transaction, unless the instance is behind by more than
 * anomalyCommitMaxLag events.
 */
export function commitDue(o: Pick<SpeedLayerOptions, 'commitIntervalMs' | 'anomalyCommitMs' | 'anomalyCommitMaxLag'>, now: { sinceMs: number; waitingOutputs: number; lag: number }): boolean {
  if (now.sinceMs >= o.commitIntervalMs) return true;
  return now.waitingOutputs > 0 && now.sinceMs >= o.anomalyCommitMs && now.lag <= o.anomalyCommitMaxLag;
}

export interface SpeedLayer {
  start(): Promise<void>;
  /** Stops processing, commits the open interval, leaves the group. */
  stop(): Promise<void>;
  /** Settles when the layer stops (rejects when it failed). */
  readonly done: Promise<void>;
  /** The current state (tests, the feature store's readers). */
  state(): SpeedState;
}

/**
 * Messages per send: kafkajs groups a send's messages by partition copying the partition's array
 * for every message (quadratic: 15,000 changelog records cost it seconds), so a checkpoint goes
 * out in sends of this many.
 */
const SEND_CHUNK = 1000;

/**
 * Changed cells encoded per turn of the event loop while a checkpoint is encoded (~2–3 µs each):
 * encoding all of them at once held every event behind it for ~50 ms per 3,000 events.
 */
const ENCODE_SLICE = 1000;

/**
 * Batches handed over by kafkajs and waiting to be processed (about one fetch response: 6
 * partitions' batches). kafkajs fetches again only once eachBatch has returned for every batch of
 * a response; processing them first left the stream thread idle 13–15 % of the time, waiting for
 * the broker (docs/speed-bench.md, "2026-11-29 12:00").
 */
const PREFETCH_BATCHES = 6;

/** Longest a checkpoint slice waits for the fetched batches to be processed first (giveWay). */
const SLICE_WAIT_MS = 20;

/** How often a batch held by the start gate heartbeats (kafkajs sends one when its interval is due). */
const GATE_POLL_MS = 100;

/** The consumer's heartbeat interval (at most a third of the session timeout). */
const HEARTBEAT_INTERVAL_MS = 500;

async function sendChunked(tx: Transaction, topic: string, messages: readonly Message[]): Promise<void> {
  for (let i = 0; i < messages.length; i += SEND_CHUNK) await tx.send({ topic, messages: messages.slice(i, i + SEND_CHUNK) });
}

const asMessage = (r: OutRecord): Message => ({ partition: r.partition, key: r.key, value: r.value });
/** Outputs are placed by key (the tenant), so `anomalies` needs no particular partition count. */
const asKeyedMessage = (r: OutRecord): Message => ({ key: r.key, value: r.value });

export function createSpeedLayer(deps: SpeedLayerDeps, opts: Partial<SpeedLayerOptions> = {}): SpeedLayer {
  const o: SpeedLayerOptions = { ...DEFAULT_SPEED_OPTIONS, ...opts };
  if (o.instanceId.includes(' ') || o.instanceId === '') throw new RangeError('instance id must be a non-empty word');
  const log = deps.logger ?? createLogger('speed');
  const newState = () =>
    createSpeedState({
      allowedLatenessMs: o.allowedLatenessMs,
      sessionGapMs: o.sessionGapMs,
      dedupHorizonOffsets: o.dedupHorizonOffsets,
      offsetBucketSize: o.offsetBucketSize,
      processors: deps.processors,
    });
  const consumer: Consumer = deps.kafka.consumer({
    groupId: o.groupId,
    sessionTimeout: o.sessionTimeoutMs,
    // a member learns of a rebalance at its next heartbeat: at kafkajs' 3 s, stream threads starting
    // together waited ~3.5 s for their split (the start gate), and every scale-out as long
    heartbeatInterval: Math.min(HEARTBEAT_INTERVAL_MS, Math.floor(o.sessionTimeoutMs / 3)),
    rebalanceTimeout: 60_000,
    readUncommitted: false,
    maxWaitTimeInMs: 100,
    ...EVENT_FETCH,
  });
  const producer: Producer = deps.kafka.producer({
    transactionalId: `${o.groupId}-${o.instanceId}`,
    idempotent: true,
    maxInFlightRequests: 1,
    transactionTimeout: 15_000,
    retry: IDEMPOTENT_RETRY,
  });

  let state = newState();
  let assigned: number[] = [];
  let restored = false;
  let generation = 0;
  let stopping = false;
  let failed = false;
  let transactions = 0;
  let lastCommitAt = Date.now();
  let chain: Promise<void> = Promise.resolve();
  let timer: NodeJS.Timeout | undefined;
  let cutTimer: NodeJS.Timeout | undefined;
  /** Kafka timestamps of events processed since the last commit (event → update latency). */
  let pendingTimestamps: number[] = [];
  /** A checkpoint transaction is queued or running (eachBatch does not start another). */
  let committing = false;
  /** Partitions whose consumer position was checked against the restored state since the join. */
  let aligned = new Set<number>();
  const gate = deps.startGate ?? Promise.resolve();
  let gateOpen = deps.startGate === undefined;
  void gate.then(() => (gateOpen = true));
  /** Batches queued by eachBatch, processed in order by drainQueue(), with the generation and seek epoch they were fetched in. */
  const queued: { payload: EachBatchPayload; generation: number; epoch: number }[] = [];
  /** eachBatch calls waiting for room in the queue. */
  const queueWaiters: (() => void)[] = [];
  /** Checkpoint slices waiting for the queue to empty (see giveWay). */
  const idleWaiters: (() => void)[] = [];
  let draining = false;
  /** An error processing a queued batch, thrown to kafkajs by the next eachBatch (it restarts the consumer: rejoin, state rebuilt). */
  let queueError: unknown;
  /** Per partition, bumped by each seek: batches queued before it are from the old position. */
  const seekEpochs = new Map<number, number>();
  const outcomes = { counted: speedMetrics.events.labels('counted'), duplicate: speedMetrics.events.labels('duplicate'), rejected: speedMetrics.events.labels('rejected'), skipped: speedMetrics.events.labels('skipped') };
  let letters: Message[] = [];
  /** Each assigned partition's lag after its latest fetch, and their sum (see anomalyCommitMaxLag). */
  const lags = new Map<number, number>();
  let totalLag = 0;
  // immediate anomaly delivery: a plain producer (a transactional one sends only inside transactions)
  const immediate = o.anomalyDelivery === 'immediate' ? deps.kafka.producer({ allowAutoTopicCreation: false, retry: { retries: 8 } }) : undefined;
  /** Immediate sends not acknowledged yet: a checkpoint waits for those started before it. */
  const unacked = new Set<Promise<unknown>>();

  let settle!: { resolve: () => void; reject: (err: unknown) => void };
  const done = new Promise<void>((resolve, reject) => (settle = { resolve, reject }));
  done.catch(() => undefined);

  const serial = (fn: () => Promise<void>): Promise<void> => {
    const run = chain.then(fn);
    chain = run.catch(() => undefined);
    return run;
  };

  function fail(err: unknown): void {
    if (failed) return;
    failed = true;
    log.error({ err: (err as Error)?.message ?? String(err) }, 'speed layer failed; uncommitted work is redone by the next owner of its partitions');
    if (timer) clearInterval(timer);
    if (cutTimer) clearInterval(cutTimer);
    consumer
      .disconnect()
      .catch(() => undefined)
      .finally(() => producer.disconnect().catch(() => undefined))
      .finally(() => immediate?.disconnect().catch(() => undefined))
      .finally(() => settle.reject(err));
  }

  async function restore(heartbeat: () => Promise<void>): Promise<void> {
    const started = Date.now();
    const partitions = assigned;
    const from = new Map(partitions.map((p) => [p, 0]));
    let records = 0;
    await readTopicRange(deps.kafka, {
      topic: o.changelogTopic,
      from,
      readCommitted: true,
      onProgress: heartbeat,
      onMessage: (p, m) => {
        if (m.key === null) return;
        records++;
        state.restoreRecord(p, m.key.toString('utf8'), m.value === null ? null : m.value.toString('utf8'));
      },
    });
    // the deduplication horizon: ids of the events just before each partition's progress; and
    // from further back when a processor's restored state is older (it gets those events again)
    const dedupFrom = new Map<number, number>();
    const dedupTo = new Map<number, number>();
    for (const p of partitions) {
      const next = state.nextOffset(p);
      if (next === undefined || next === 0) continue;
      dedupFrom.set(p, Math.max(0, Math.min(next, state.replayStart(p) ?? next) - o.dedupHorizonOffsets));
      dedupTo.set(p, next);
    }
    let remembered = 0;
    if (dedupFrom.size > 0) {
      await readTopicRange(deps.kafka, {
        topic: o.topic,
        from: dedupFrom,
        to: dedupTo,
        readCommitted: true,
        onProgress: heartbeat,
        onMessage: (p, m) => {
          remembered++;
          state.replay(p, Number(m.offset), m.value, m.headers);
        },
      });
    }
    speedMetrics.restore.observe(Date.now() - started);
    speedMetrics.restoredRecords.inc(records);
    log.info({ partitions, changelogRecords: records, dedupEvents: remembered, cells: state.aggregator.size, ms: Date.now() - started }, 'restored state');
  }

  /** Sends the processors' outputs now (immediate delivery); a failed send fails the layer, so its events are never committed. */
  function sendNow(): void {
    const records = state.takeOutputs();
    if (!immediate || records.length === 0) return;
    const sent = immediate.send({ topic: o.anomaliesTopic, acks: -1, messages: records.map(asKeyedMessage) });
    unacked.add(sent);
    sent.then(
      () => unacked.delete(sent),
      (err: unknown) => {
        unacked.delete(sent);
        fail(err);
      },
    );
  }

  /** One transaction with everything since the last; skipped when a rebalance made the state stale. */
  async function commit(atGeneration: number): Promise<void> {
    if (failed || atGeneration !== generation || !restored) return;
    const now = Date.now();
    const cp = state.checkpoint(now, { deferEncoding: true });
    // what belongs to the events below the checkpoint's offsets, taken with it: events go on being
    // processed while it is encoded and committed, and theirs go into the next one
    const timestamps = pendingTimestamps;
    pendingTimestamps = [];
    const dlq = letters;
    letters = [];
    const sends = [...unacked];
    lastCommitAt = now;
    // the cells' values a slice at a time, events processed in between (copy on write keeps them as of now)
    while (!cp.encodeSome(ENCODE_SLICE)) await giveWay();
    // offsets only after the side effects of their events: the immediate sends made before the checkpoint
    if (sends.length > 0) await Promise.all(sends);
    if (cp.changelog.length === 0 && cp.results.length === 0 && cp.offsets.size === 0 && dlq.length === 0 && cp.anomalies.length === 0) return;
    const started = Date.now();
    const tx = await producer.transaction();
    try {
      await sendChunked(tx, o.changelogTopic, cp.changelog.map(asMessage));
      await sendChunked(tx, o.resultsTopic, cp.results.map(asMessage));
      await sendChunked(tx, o.dlqTopic, dlq);
      await sendChunked(tx, o.anomaliesTopic, cp.anomalies.map(asKeyedMessage));
      transactions++;
      if (o.crashInTransaction !== undefined && transactions >= o.crashInTransaction) {
        // written synchronously: the log is asynchronous and SIGKILL would lose it
        writeSync(2, `rtap speed: fault injection: SIGKILL inside transaction ${transactions}, before its commit\n`);
        process.kill(process.pid, 'SIGKILL');
      }
      if (atGeneration !== generation) {
        // The partitions may move: this state is dropped on the next join and rebuilt from the
        // committed changelog, so the transaction is abandoned, which is not a failure.
        await tx.abort();
        speedMetrics.transactions.inc({ result: 'aborted' });
        log.info({ transaction: transactions }, 'rebalanced during a checkpoint: transaction aborted, state rebuilt on join');
        return;
      }
      if (cp.offsets.size > 0) {
        await tx.sendOffsets({ consumerGroupId: o.groupId, topics: [{ topic: o.topic, partitions: [...cp.offsets].map(([partition, next]) => ({ partition, offset: String(next) })) }] });
      }
      await tx.commit();
    } catch (err) {
      await tx.abort().catch(() => undefined);
      speedMetrics.transactions.inc({ result: 'aborted' });
      throw err;
    }
    const end = Date.now();
    speedMetrics.transactions.inc({ result: 'committed' });
    speedMetrics.transaction.observe(end - started);
    speedMetrics.changelogRecords.inc(cp.changelog.length);
    speedMetrics.results.inc(cp.results.length);
    for (const t of timestamps) speedMetrics.latency.observe(end - t);
    deps.observer?.committed?.(timestamps, end);
    speedMetrics.cells.set(state.aggregator.size);
    speedMetrics.sessions.set(state.windows.sessionCount);
    for (const p of cp.offsets.keys()) {
      const wm = state.windows.clock(p).watermarkUs;
      if (wm !== null) speedMetrics.watermarkDelay.set({ partition: String(p) }, end - wm / 1000);
    }
  }

  /**
   * Queues the checkpoint transaction without waiting for it: processing goes on while Kafka
   * commits (the checkpoint itself is taken synchronously when the queued commit starts, so it
   * still holds exactly the events below its offsets); one at a time, and what accumulates
   * meanwhile goes into the next one.
   */
  function startCommit(gen: number): void {
    committing = true;
    serial(() => commit(gen))
      .catch(fail)
      .finally(() => (committing = false));
  }

  function dueForCommit(): boolean {
    return commitDue(o, { sinceMs: Date.now() - lastCommitAt, waitingOutputs: immediate ? 0 : state.pendingOutputs(), lag: totalLag });
  }

  /** Records a partition's lag after a fetch (the sum over partitions decides early commits). */
  function setLag(partition: number, lag: number): void {
    totalLag += lag - (lags.get(partition) ?? 0);
    lags.set(partition, lag);
    speedMetrics.lag.set({ partition: String(partition) }, lag);
  }

  /** Changelog partition p holds source partition p's state: it needs at least as many partitions. */
  async function checkTopics(): Promise<void> {
    const admin = deps.kafka.admin();
    await admin.connect();
    try {
      // fails when a topic is missing (the anomalies topic only matters when a processor writes it)
      const outputs = (deps.processors ?? []).some((p) => p.takeOutputs !== undefined);
      const { topics } = await admin.fetchTopicMetadata({ topics: [o.topic, o.changelogTopic, o.resultsTopic, ...(outputs ? [o.anomaliesTopic] : [])] });
      const count = (t: string) => topics.find((x) => x.name === t)?.partitions.length ?? 0;
      for (const t of [o.changelogTopic, o.resultsTopic]) {
        if (count(t) < count(o.topic)) throw new Error(`topic ${t} has ${count(t)} partitions, fewer than the ${count(o.topic)} of ${o.topic} (run \`rtap up\`, or create it with as many)`);
      }
    } finally {
      await admin.disconnect();
    }
  }

  /**
   * kafkajs' handler: queues the batch and returns while the queue has room, so kafkajs fetches the
   * next response while this one is processed. The batch's offsets are resolved at once: that moves
   * kafkajs' fetch position only — nothing is committed from it (autoCommit is off; the checkpoint
   * transactions commit the state's own progress). A queued batch is dropped, not processed, when
   * the group generation changed (the rejoin rebuilds the state and restarts from the committed
   * offsets) or its partition was sought since (kafkajs fetches again from the new position).
   */
  async function eachBatch(payload: EachBatchPayload): Promise<void> {
    throwQueueError();
    if (!gateOpen) await waitForGate(payload);
    if (stopping || failed || payload.isStale() || !payload.isRunning()) return;
    const p = payload.batch.partition;
    queued.push({ payload, generation, epoch: seekEpochs.get(p) ?? 0 });
    payload.resolveOffset(payload.batch.lastOffset());
    if (!draining) void drainQueue();
    while (queued.length > PREFETCH_BATCHES && !stopping && !failed && queueError === undefined) await new Promise<void>((resolve) => queueWaiters.push(resolve));
    throwQueueError();
    await payload.heartbeat();
  }

  /** Holds a batch until the start gate opens, heartbeating: a rebalance then throws here and kafkajs rejoins (the batch is fetched again). */
  async function waitForGate(payload: EachBatchPayload): Promise<void> {
    while (!gateOpen && !stopping && !failed && payload.isRunning()) {
      await Promise.race([gate, new Promise<void>((resolve) => setTimeout(resolve, GATE_POLL_MS))]);
      if (!gateOpen) await payload.heartbeat();
    }
  }

  function throwQueueError(): void {
    if (queueError === undefined) return;
    const err = queueError;
    queueError = undefined;
    throw err;
  }

  /**
   * Before each slice of a checkpoint's encoding: the batches already fetched go first (events are
   * what latency is measured on; the checkpoint has until the next one is due), but no slice waits
   * longer than SLICE_WAIT_MS, so a layer that is always behind still commits.
   */
  function giveWay(): Promise<void> {
    if (queued.length === 0 && !draining) return new Promise<void>((resolve) => setImmediate(resolve));
    return new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, SLICE_WAIT_MS);
      idleWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  function wakeQueueWaiters(): void {
    for (const wake of queueWaiters.splice(0)) wake();
    if (queued.length === 0) for (const wake of idleWaiters.splice(0)) wake();
  }

  async function drainQueue(): Promise<void> {
    draining = true;
    try {
      while (queued.length > 0) {
        // a turn of the event loop first: kafkajs hands over the rest of the response and sends the next fetch
        await new Promise<void>((resolve) => setImmediate(resolve));
        const q = queued.shift()!;
        wakeQueueWaiters();
        if (stopping || failed) break;
        if (q.generation !== generation || q.epoch !== (seekEpochs.get(q.payload.batch.partition) ?? 0)) continue;
        try {
          await processBatch(q.payload, q.generation);
        } catch (err) {
          queueError = err;
          break;
        }
      }
    } finally {
      if (stopping || failed || queueError !== undefined) queued.length = 0;
      draining = false;
      wakeQueueWaiters();
    }
  }

  /** One batch, in order (what eachBatch did itself before the queue); its offsets were resolved when it was queued. */
  async function processBatch({ batch, heartbeat, isRunning, isStale }: EachBatchPayload, gen: number): Promise<void> {
    if (stopping || failed || gen !== generation) return;
    // the restore waits for a checkpoint still committing (the chain); once restored, batches do
    // not wait for checkpoints: each takes its records synchronously, copy on write, and the events
    // after it go on being processed while it is encoded and committed
    if (!restored) {
      await serial(async () => {
        if (!restored && gen === generation) {
          await restore(heartbeat);
          restored = true;
        }
      });
    }
    if (gen !== generation || stopping || failed) return;
    const p = batch.partition;
    // The consumer starts a partition at the group's committed offset as of its join, the state at
    // the progress record read from the changelog during the restore. A transaction of the
    // partition's previous owner that commits between the two (it does not wait for the consumer
    // to join) leaves the state behind the consumer: the events in between would never be seen.
    // Once per join, such a partition is sought back to the state's progress.
    const next = state.nextOffset(p);
    const first = batch.messages.length > 0 ? Number(batch.messages[0].offset) : undefined;
    if (!aligned.has(p) && next !== undefined && first !== undefined && first > next) {
      aligned.add(p);
      log.info({ partition: p, from: first, to: next }, 'consumer ahead of the restored state: seeking back to its progress');
      seekEpochs.set(p, (seekEpochs.get(p) ?? 0) + 1);
      consumer.seek({ topic: o.topic, partition: p, offset: String(next) });
      return;
    }
    aligned.add(p);
    const observer = deps.observer;
    for (const m of batch.messages) {
      if (!isRunning() || isStale() || stopping || failed || gen !== generation) break;
      const offset = Number(m.offset);
      const out = state.process(p, offset, m.value, m.headers);
      outcomes[out.kind].inc();
      if (out.kind === 'counted') {
        if (out.late) speedMetrics.late.inc();
        pendingTimestamps.push(Number(m.timestamp));
        observer?.updated?.(Number(m.timestamp), Date.now());
      } else if (out.kind === 'rejected') {
        speedMetrics.rejected.inc({ reason: out.reason });
        if (o.deadLetter && m.value !== null) {
          letters.push(dlqMessage({ payload: m.value, reason: out.reason, violations: [], source: 'sink', key: m.key, origin: { topic: o.topic, partition: p, offset: m.offset } }));
        }
      }
      if (immediate) sendNow();
      if (!committing && dueForCommit()) startCommit(gen);
    }
    setLag(p, Math.max(0, Number(batch.highWatermark) - Number(batch.lastOffset()) - 1));
    // the state held as of this batch (also set at each commit): a scrape between a batch and its
    // checkpoint saw the events counted but the cells of the last commit
    speedMetrics.cells.set(state.aggregator.size);
    speedMetrics.sessions.set(state.windows.sessionCount);
  }

  return {
    done,
    state: () => state,
    async start() {
      consumer.on(consumer.events.REBALANCING, () => {
        generation += 1;
      });
      consumer.on(consumer.events.GROUP_JOIN, (e) => {
        // kafkajs resumes each assigned partition from its committed offset: drop everything not
        // committed and rebuild the assignment from the changelog before processing.
        generation += 1;
        for (const p of state.partitions()) state.dropPartition(p);
        state = newState();
        restored = false;
        aligned = new Set();
        pendingTimestamps = [];
        letters = [];
        lags.clear();
        totalLag = 0;
        assigned = e.payload.memberAssignment[o.topic] ?? [];
        log.info({ instance: o.instanceId, assignment: assigned, generation }, 'joined group');
        deps.observer?.joined?.(assigned);
      });
      consumer.on(consumer.events.CRASH, (e) => {
        log.error({ err: e.payload.error?.message, restart: e.payload.restart }, 'consumer crashed');
        if (!e.payload.restart) fail(e.payload.error);
      });
      await checkTopics();
      await producer.connect();
      await immediate?.connect();
      await consumer.connect();
      await consumer.subscribe({ topics: [o.topic], fromBeginning: true });
      await consumer.run({ autoCommit: false, eachBatchAutoResolve: false, partitionsConsumedConcurrently: 1, eachBatch });
      timer = setInterval(
        () => {
          if (stopping || failed || committing || !dueForCommit()) return;
          startCommit(generation);
        },
        // transactional anomalies are committed anomalyCommitMs after the last commit: check that often
        Math.max(5, immediate ? Math.floor(o.commitIntervalMs / 3) : Math.min(Math.floor(o.commitIntervalMs / 3), o.anomalyCommitMs)),
      );
      if (deps.readCut) {
        const readCut = deps.readCut;
        const poll = () =>
          serial(async () => {
            const cut = await readCut();
            if (!cut || !restored) return;
            const n = state.applyCut(cut);
            if (n > 0) {
              speedMetrics.cellsDropped.inc(n);
              log.info({ cells: n }, 'dropped cells covered by the published batch cut');
            }
          }).catch((err: unknown) => log.warn({ err: (err as Error).message }, 'could not read the batch cut'));
        cutTimer = setInterval(() => void poll(), o.cutPollMs);
        void poll();
      }
      log.info({ topic: o.topic, group: o.groupId, instance: o.instanceId, commitIntervalMs: o.commitIntervalMs, anomalyCommitMs: o.anomalyCommitMs, allowedLatenessMs: o.allowedLatenessMs }, 'speed layer started');
    },
    async stop() {
      if (stopping) return done;
      stopping = true;
      if (timer) clearInterval(timer);
      if (cutTimer) clearInterval(cutTimer);
      if (failed) return done;
      try {
        // still a group member here: the last interval is committed before the partitions move
        const gen = generation;
        await serial(() => commit(gen));
        await consumer.disconnect();
        await producer.disconnect();
        await immediate?.disconnect();
        settle.resolve();
      } catch (err) {
        settle.reject(err);
      }
      return done;
    },
  };
}
