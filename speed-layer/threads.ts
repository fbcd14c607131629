// Stream threads: one speed-layer process running N copies of the layer, each in its own worker
// thread with its own consumer (same group: the partitions are split between them), its own
// transactional producer (`<group>-<instance>-t<i>`) and its own state — Kafka Streams'
// `num.stream.threads`. Threads share nothing but the process: a thread's state covers exactly
// its partitions, as a separate instance's would, so the exactly-once argument is unchanged.
// A thread that fails stops the others (gracefully: they commit) and fails the whole group, so
// the process exits non-zero and its supervisor restarts it.
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { Logger } from '../core/logger';
import { workerResourceLimits } from '../core/young-generation';
import type { SpeedLaunchOptions, SpeedLayerFigures } from './launch';
import type { MetricsJson } from './thread-metrics';
import type { SpeedObserver } from './runtime';

/** workerData of a stream thread. */
export interface StreamThreadSpec {
  launch: SpeedLaunchOptions;
  /** Forward per-event observations to the main thread (benches). */
  observe: { updated: boolean; committed: boolean; scored: boolean };
}

/** Messages from a stream thread. Observations are pairs (Kafka timestamp, time observed) in ms. */
export type StreamThreadMessage =
  | { type: 'started' }
  | { type: 'joined'; partitions: number[] }
  | { type: 'observed'; updated: Float64Array; committed: Float64Array; scored: Float64Array }
  | { type: 'metrics'; id: number; metrics: MetricsJson }
  | { type: 'stopped'; stats: SpeedLayerFigures };

/** Messages to a stream thread. */
export type StreamThreadRequest = { type: 'go' } | { type: 'stop' } | { type: 'metrics'; id: number };

/** How long a scrape waits for a stream thread's metrics. */
const METRICS_TIMEOUT_MS = 5000;

/**
 * Longest the stream threads wait for one another before processing. They process nothing until
 * all have joined the group and split the partitions: the thread that joins first is otherwise
 * given every partition and works them alone until the others' joins reach it (its next heartbeat),
 * then hands some over to be rebuilt from the changelog by another — whose V8 heap, in the bench,
 * then started full marks of its state again and again ("external memory pressure"), and 2 threads
 * ran 35 % slower than when they split at once (docs/speed-bench.md, "2026-11-29 19:40").
 */
const START_GATE_TIMEOUT_MS = 30_000;

export interface StreamThreadHooks {
  observer?: SpeedObserver;
  onScored?: (ms: number) => void;
}

export interface StreamThreads {
  /**
   * Resolves once every thread has started and joined the group, and their assignments are
   * disjoint: the first rebalances (one per thread joining) are over.
   */
  start(): Promise<void>;
  /** Asks every thread to stop (each commits its open interval and leaves the group). */
  stop(): Promise<void>;
  /** Settles when every thread has exited; rejects when one failed. */
  readonly done: Promise<void>;
  /** Per-thread figures, once the threads have stopped. */
  stats(): SpeedLayerFigures[];
  /** Each running thread's metrics registry (for /metrics: speed-layer/thread-metrics.ts). */
  metrics(): Promise<MetricsJson[]>;
}

const ENTRY = path.join(__dirname, 'stream-thread.cjs');

export function createStreamThreads(count: number, launch: SpeedLaunchOptions, logger: Logger, hooks: StreamThreadHooks = {}): StreamThreads {
  if (!Number.isSafeInteger(count) || count < 1) throw new RangeError('stream threads: expected a whole number ≥ 1');
  const instanceId = launch.layer.instanceId ?? '0';
  const observe = { updated: hooks.observer?.updated !== undefined, committed: hooks.observer?.committed !== undefined, scored: hooks.onScored !== undefined };
  const collected: SpeedLayerFigures[] = [];
  /** Each thread's latest assignment (undefined: not joined yet). */
  const assignments: (number[] | undefined)[] = Array.from({ length: count }, () => undefined);
  let balanced: () => void = () => undefined;
  const isBalanced = () => {
    const seen = new Set<number>();
    for (const a of assignments) {
      if (a === undefined) return false;
      for (const p of a) {
        if (seen.has(p)) return false;
        seen.add(p);
      }
    }
    return true;
  };
  let workers: Worker[] = [];
  let stopping = false;
  let failure: unknown;

  let settle!: { resolve: () => void; reject: (err: unknown) => void };
  const done = new Promise<void>((resolve, reject) => (settle = { resolve, reject }));
  done.catch(() => undefined);

  function deliver(m: Extract<StreamThreadMessage, { type: 'observed' }>): void {
    const { observer, onScored } = hooks;
    for (let i = 0; i + 1 < m.updated.length; i += 2) observer?.updated?.(m.updated[i], m.updated[i + 1]);
    // committed pairs share their commit time per transaction: group consecutive equal times
    for (let i = 0; i + 1 < m.committed.length; ) {
      const at = m.committed[i + 1];
      const ts: number[] = [];
      for (; i + 1 < m.committed.length && m.committed[i + 1] === at; i += 2) ts.push(m.committed[i]);
      observer?.committed?.(ts, at);
    }
    for (const ms of m.scored) onScored?.(ms);
  }

  const request = (w: Worker, m: StreamThreadRequest) => w.postMessage(m);

  let gateOpened = false;
  /** Lets every thread process (see START_GATE_TIMEOUT_MS); once. */
  function openGate(): void {
    if (gateOpened) return;
    gateOpened = true;
    for (const w of workers) request(w, { type: 'go' });
  }

  function stopAll(): void {
    for (const w of workers) request(w, { type: 'stop' });
  }

  /** Threads still running (a thread that exited has nothing to report). */
  const running = new Set<Worker>();
  /** Scrapes waiting for a thread's reply, by request id (a thread that exits first answers empty). */
  const waiting = new Map<number, { worker: Worker; answer: (metrics: MetricsJson) => void }>();
  let nextRequest = 0;

  function metricsOf(w: Worker): Promise<MetricsJson> {
    const id = nextRequest++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        waiting.delete(id);
        reject(new Error(`a stream thread did not report its metrics within ${METRICS_TIMEOUT_MS} ms`));
      }, METRICS_TIMEOUT_MS);
      const answer = (metrics: MetricsJson) => {
        clearTimeout(timer);
        waiting.delete(id);
        resolve(metrics);
      };
      waiting.set(id, { worker: w, answer });
      request(w, { type: 'metrics', id });
    });
  }

  return {
    done,
    stats: () => collected,
    metrics: () => Promise.all([...running].map(metricsOf)),
    async start() {
      const started: Promise<void>[] = [];
      let exited = 0;
      workers = Array.from({ length: count }, (_, i) => {
        const spec: StreamThreadSpec = {
          launch: { ...launch, clientSuffix: `${launch.clientSuffix}-t${i}`, layer: { ...launch.layer, instanceId: count === 1 ? instanceId : `${instanceId}-t${i}` } },
          observe,
        };
        const worker = new Worker(ENTRY, { workerData: spec, resourceLimits: workerResourceLimits(process.execArgv, process.env.NODE_OPTIONS) });
        running.add(worker);
        let ready!: () => void;
        let notReady!: (err: unknown) => void;
        started.push(new Promise<void>((resolve, reject) => ((ready = resolve), (notReady = reject))));
        worker.on('message', (m: StreamThreadMessage) => {
          if (m.type === 'started') ready();
          else if (m.type === 'joined') {
            assignments[i] = m.partitions;
            if (isBalanced()) {
              openGate();
              balanced();
            }
          }
          else if (m.type === 'observed') deliver(m);
          else if (m.type === 'metrics') waiting.get(m.id)?.answer(m.metrics);
          else if (m.type === 'stopped') collected.push(m.stats);
        });
        worker.on('error', (err) => {
          // an uncaught error in the thread: it exits next; the others stop and commit
          failure ??= err;
          logger.error({ thread: i, err: err.message }, 'stream thread failed; stopping the others');
          notReady(err);
          if (!stopping) {
            stopping = true;
            stopAll();
          }
        });
        worker.on('exit', (code) => {
          running.delete(worker);
          for (const w of [...waiting.values()]) if (w.worker === worker) w.answer([]);
          if (code !== 0 && failure === undefined) failure = new Error(`stream thread ${i} exited with code ${code}`);
          notReady(failure ?? new Error(`stream thread ${i} exited before it started`));
          if (failure !== undefined && !stopping) {
            stopping = true;
            stopAll();
          }
          exited += 1;
          if (exited === count) {
            if (failure !== undefined) settle.reject(failure);
            else settle.resolve();
          }
        });
        return worker;
      });
      const joined = new Promise<void>((resolve) => (balanced = resolve));
      const gateTimer = setTimeout(() => {
        if (gateOpened) return;
        logger.warn({ threads: count, assignments, waitedMs: START_GATE_TIMEOUT_MS }, 'stream threads not all joined yet: processing anyway');
        openGate();
      }, START_GATE_TIMEOUT_MS);
      gateTimer.unref();
      const clearGateTimer = () => clearTimeout(gateTimer);
      done.then(clearGateTimer, clearGateTimer);
      await Promise.all(started);
      await Promise.race([joined, done]);
      logger.info({ threads: count, assignments }, 'stream threads started');
    },
    async stop() {
      if (!stopping) {
        stopping = true;
        stopAll();
      }
      return done;
    },
  };
}

/** The speed layer of one process: in this thread (1) or in stream threads (N > 1). */
export interface RunningSpeedLayers {
  /** Stops every layer (each commits its open interval and leaves the group). */
  stop(): Promise<void>;
  /** Settles when every layer has stopped; rejects when one failed. */
  readonly done: Promise<void>;
  /** Figures of each layer, once stopped. */
  figures(): Promise<SpeedLayerFigures[]>;
}

/**
 * Starts `threads` speed layers as `rtap speed --threads` does; resolves once all have started.
 * Each runs in a worker thread, one thread too: a worker gets its own young-generation size
 * (core/young-generation.ts), which the process's main thread cannot change once it runs, and with
 * V8's default the layer spent ~39 % of its CPU marking its state (perf, 2026-11-28).
 */
export async function startSpeedLayers(threads: number, launch: SpeedLaunchOptions, logger: Logger, hooks: StreamThreadHooks = {}): Promise<RunningSpeedLayers> {
  const group = createStreamThreads(threads, launch, logger, hooks);
  await group.start();
  return { stop: () => group.stop(), done: group.done, figures: async () => group.stats() };
}
