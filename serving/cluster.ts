// The API as several processes sharing one port (node:cluster). One Node process spends its one
// core on HTTP, JSON, validation, PII hashing and kafkajs encoding, so the primary forks
// API_WORKERS workers, each a complete API (its own Kafka producer, its own materialization of the
// control plane), and the primary hands accepted connections to them round-robin. The primary
// serves no requests: it restarts crashed workers, turns SIGTERM/SIGINT into a graceful shutdown
// of every worker, and answers the workers' /metrics with all workers' registries aggregated
// (prom-client's AggregatorRegistry), so a scrape that lands on any worker sees the whole API.
import cluster, { type Worker } from 'node:cluster';
import type { Serializable } from 'node:child_process';
import { AggregatorRegistry, type Registry } from 'prom-client';
import type { Logger } from '../core/logger';
import { childExecArgv } from '../core/young-generation';
import { createJobRelay } from './analytics/job-relay';
import { createLimitsHost } from './security/limits';
import { clusterRegistry, clusterMetrics } from './metrics';

/** What /metrics serves: the Prometheus text and its content type. */
export interface MetricsText {
  contentType: string;
  body: string;
}

const METRICS_REQUEST = 'rtap:cluster-metrics';

interface MetricsRequest {
  type: typeof METRICS_REQUEST;
  id: number;
}

interface MetricsReply extends MetricsRequest {
  body?: string;
  error?: string;
}

function isMetricsMessage(message: unknown): message is MetricsReply {
  return typeof message === 'object' && message !== null && (message as { type?: unknown }).type === METRICS_REQUEST;
}

/**
 * When to restart a crashed worker: at once for an isolated crash, then backing off exponentially
 * while crashes keep coming (a worker that dies at start-up must not spin the CPU), up to `maxMs`.
 * Pure apart from the timestamps it is given.
 */
export class RestartPolicy {
  private crashes: number[] = [];

  constructor(
    private readonly opts: { windowMs: number; baseMs: number; maxMs: number } = { windowMs: 60_000, baseMs: 250, maxMs: 30_000 },
  ) {}

  /** Records a crash at `now` and returns how long to wait before forking its replacement. */
  delayAfterCrash(now: number): number {
    this.crashes = this.crashes.filter((t) => now - t < this.opts.windowMs);
    this.crashes.push(now);
    const recent = this.crashes.length;
    return recent <= 1 ? 0 : Math.min(this.opts.maxMs, this.opts.baseMs * 2 ** (recent - 2));
  }
}

export interface PrimaryOptions {
  workers: number;
  log: Logger;
  /** How long workers get to drain after SIGTERM before they are killed. */
  shutdownTimeoutMs?: number;
  restartPolicy?: RestartPolicy;
}

/**
 * Runs the cluster primary: forks the workers (each re-runs this process's script and arguments)
 * and supervises them. Resolves with the exit code once every worker has exited: 0 after a clean
 * shutdown, 1 when the API could not start (a worker died before any worker ever listened, e.g.
 * Kafka unreachable — restarting would only repeat it) or a worker had to be killed.
 */
export function runPrimary({ workers, log, shutdownTimeoutMs = 20_000, restartPolicy = new RestartPolicy() }: PrimaryOptions): Promise<number> {
  const aggregator = new AggregatorRegistry();
  // async jobs live in the worker that started them; the others reach them through here
  const jobRelay = createJobRelay();
  // rate limits of the whole API are counted here, once (serving/security/limits.ts)
  const limitsHost = createLimitsHost();
  const listening = new Set<number>();
  let everListened = false;
  let stopping = false;
  let exitCode = 0;
  const restartTimers = new Set<NodeJS.Timeout>();

  const fork = () => {
    const worker = cluster.fork();
    worker.on('message', (message: unknown) => {
      if (isMetricsMessage(message)) void answerMetrics(worker, message.id);
      else limitsHost(worker, message);
    });
    jobRelay.attach(worker.id, { send: (m) => worker.isConnected() && worker.send(m as Serializable), on: (listener) => worker.on('message', listener) });
  };

  const answerMetrics = async (worker: Worker, id: number) => {
    const reply: MetricsReply = { type: METRICS_REQUEST, id };
    try {
      const [workersText, ownText] = await Promise.all([aggregator.clusterMetrics(), clusterRegistry.metrics()]);
      reply.body = `${workersText}\n${ownText}`;
    } catch (err) {
      reply.error = (err as Error).message;
    }
    if (worker.isConnected()) worker.send(reply);
  };

  return new Promise<number>((resolve) => {
    const finishIfDone = () => {
      if (Object.keys(cluster.workers ?? {}).length === 0 && restartTimers.size === 0) {
        process.off('SIGTERM', shutdown);
        process.off('SIGINT', shutdown);
        resolve(exitCode);
      }
    };

    const shutdown = (signal: NodeJS.Signals | 'startup-failure') => {
      if (stopping) return;
      stopping = true;
      log.info({ signal }, 'api primary stopping its workers');
      for (const t of restartTimers) clearTimeout(t);
      restartTimers.clear();
      const alive = Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined);
      // Each worker stops taking requests, lets its queued events reach Kafka, then disconnects.
      for (const w of alive) w.process.kill('SIGTERM');
      setTimeout(() => {
        for (const w of Object.values(cluster.workers ?? {})) {
          if (!w || w.isDead()) continue;
          log.error({ pid: w.process.pid }, `api worker did not stop within ${shutdownTimeoutMs} ms; killing it`);
          exitCode = 1;
          w.process.kill('SIGKILL');
        }
      }, shutdownTimeoutMs).unref();
      finishIfDone();
    };

    cluster.on('listening', (worker) => {
      listening.add(worker.id);
      everListened = true;
      clusterMetrics.workers.set(listening.size);
      log.info({ pid: worker.process.pid, workers: listening.size }, 'api worker listening');
    });

    cluster.on('exit', (worker, code, signal) => {
      listening.delete(worker.id);
      jobRelay.detach(worker.id);
      clusterMetrics.workers.set(listening.size);
      if (stopping) {
        if (code !== 0 && signal !== 'SIGTERM') exitCode = 1;
        return finishIfDone();
      }
      if (!everListened) {
        log.error({ pid: worker.process.pid, code, signal }, 'api worker failed at start-up; stopping the API');
        exitCode = 1;
        return shutdown('startup-failure');
      }
      clusterMetrics.restarts.inc();
      const delay = restartPolicy.delayAfterCrash(Date.now());
      log.error({ pid: worker.process.pid, code, signal, restartInMs: delay }, 'api worker died; starting a replacement');
      const timer = setTimeout(() => {
        restartTimers.delete(timer);
        if (!stopping) fork();
      }, delay);
      restartTimers.add(timer);
    });

    process.on('SIGTERM', shutdown);
    process.on('SIGINT', shutdown);
    cluster.setupPrimary({ execArgv: childExecArgv(process.execArgv, process.env.NODE_OPTIONS) });
    log.info({ workers }, 'api primary starting its workers');
    for (let i = 0; i < workers; i++) fork();
  });
}

/** Called once in each worker: lets the primary collect this worker's registry. */
export function serveMetricsToPrimary(registry: Registry): void {
  AggregatorRegistry.setRegistries([registry]);
  // The constructor is what installs the worker's listener for the primary's requests.
  new AggregatorRegistry();
}

/**
 * In a worker: a source of the whole API's metrics, aggregated by the primary. One IPC listener
 * serves every scrape; concurrent scrapes are told apart by id.
 */
export function metricsFromPrimary(timeoutMs = 10_000): () => Promise<MetricsText> {
  let nextId = 0;
  const pending = new Map<number, (reply: MetricsReply) => void>();
  process.on('message', (message: unknown) => {
    if (isMetricsMessage(message)) pending.get(message.id)?.(message);
  });
  return () =>
    new Promise((resolve, reject) => {
      const id = nextId++;
      const timer = setTimeout(() => {
        pending.delete(id);
        reject(new Error(`cluster metrics: the primary did not answer within ${timeoutMs} ms`));
      }, timeoutMs);
      pending.set(id, (reply) => {
        clearTimeout(timer);
        pending.delete(id);
        if (reply.error !== undefined || reply.body === undefined) reject(new Error(`cluster metrics: ${reply.error ?? 'empty reply'}`));
        else resolve({ contentType: clusterRegistry.contentType, body: reply.body });
      });
      process.send!({ type: METRICS_REQUEST, id } satisfies MetricsRequest);
    });
}
