// Kafka output on two cores: a worker thread runs the EventGenerator, serializes each batch
// (key, JSON value, x-rtap-label; PII tokenized when asked) and transfers it as one buffer
// (generator/wire.ts); the main thread only sends with kafkajs. The worker produces the same
// batches in the same order as `runGenerator` would, so the output is identical.
// Backpressure: the worker may be at most `window` batches ahead; the main thread returns one
// credit per batch it takes, so memory stays bounded whatever the broker's speed.
import * as path from 'node:path';
import { parentPort, Worker, workerData } from 'node:worker_threads';
import type { PiiKeyring } from '../core/pii';
import { EventGenerator, type GeneratorOptions } from './generator';
import { batchCapFor, countLabel, countType, drive, toMessage, type Feed, type FeedStats, type RunOptions, type RunSummary } from './run';
import type { KafkaSink, OutMessage } from './sinks';
import { encodeBatch, type EncodedBatch } from './wire';

/** Batches the worker may produce ahead of the main thread. */
export const DEFAULT_WINDOW = 4;
const YOUNG_GENERATION_MB = 96;
/** Buffers the worker keeps for reuse (the ones in circulation: queued batches and sends in flight). */
const MAX_FREE_BUFFERS = 16;

export interface WorkerInit {
  options: GeneratorOptions;
  /** Events to generate in all. */
  count: number;
  /** Events per batch (the last one may be smaller). */
  batchCap: number;
  window: number;
  /** Keyring as structured-clone-safe entries (Buffers arrive as plain Uint8Arrays). */
  keyring?: { current: string; keys: [string, Uint8Array][] };
}

export interface WorkerBatch {
  type: 'batch';
  batch: EncodedBatch;
  /** Characters of serialized event JSON in the batch. */
  bytes: number;
  fraudByScenario: Record<string, number>;
  defects: Record<string, number>;
  eventTypes: Record<string, number>;
}

/** Main → worker: room for one more batch, and/or a batch buffer to reuse. */
interface Credit {
  type: 'credit';
  n: number;
  /** A sent batch's buffer, transferred back: reusing it spares the main thread's GC the external memory of a new one per batch. */
  buf?: ArrayBuffer;
}

// ---- worker side ---------------------------------------------------------------------------

/** Worker entry (loaded by worker-entry.cjs). */
export function main(): void {
  const port = parentPort;
  if (!port) throw new Error('generator/worker.ts: main() must run in a worker thread');
  const init = workerData as WorkerInit;
  const keyring: PiiKeyring | undefined = init.keyring && {
    current: init.keyring.current,
    keys: new Map(init.keyring.keys.map(([v, k]) => [v, Buffer.from(k)])),
  };
  const gen = new EventGenerator(init.options);
  let credits = init.window;
  let produced = 0;
  const free: ArrayBuffer[] = [];
  const reuse = (bytes: number): ArrayBuffer | undefined => {
    const i = free.findIndex((b) => b.byteLength >= bytes);
    return i < 0 ? undefined : free.splice(i, 1)[0];
  };
  const pump = () => {
    while (credits > 0 && produced < init.count) {
      const n = Math.min(init.batchCap, init.count - produced);
      const msgs = new Array<OutMessage>(n);
      const out: WorkerBatch = { type: 'batch', batch: undefined as unknown as EncodedBatch, bytes: 0, fraudByScenario: {}, defects: {}, eventTypes: {} };
      for (let i = 0; i < n; i++) {
        const g = gen.next();
        countLabel(g.label, out.fraudByScenario, out.defects);
        countType(g.event, out.eventTypes);
        const m = toMessage(g, keyring);
        out.bytes += m.value.length;
        msgs[i] = m;
      }
      out.batch = encodeBatch(msgs, reuse);
      produced += n;
      credits--;
      port.postMessage(out, [out.batch.buf]);
    }
  };
  port.on('message', (m: Credit) => {
    if (m.buf && free.length < MAX_FREE_BUFFERS) free.push(m.buf);
    credits += m.n;
    pump();
  });
  pump();
}

// ---- main-thread side ----------------------------------------------------------------------

/** The main thread's end of the worker: a bounded queue of ready batches, in order. */
export class GeneratorWorker {
  private readonly worker: Worker;
  private readonly queue: WorkerBatch[] = [];
  private waiter: (() => void) | undefined;
  private failure: Error | undefined;
  private closed = false;

  constructor(init: WorkerInit) {
    // A larger young generation: the worker allocates ~4 KB of short-lived strings per event, and
    // fewer scavenges leave more of the second core to kafkajs and the broker.
    this.worker = new Worker(path.join(__dirname, 'worker-entry.cjs'), { workerData: init, resourceLimits: { maxYoungGenerationSizeMb: YOUNG_GENERATION_MB } });
    this.worker.on('message', (m: WorkerBatch) => {
      this.queue.push(m);
      this.wake();
    });
    this.worker.on('error', (err) => this.fail(err));
    this.worker.on('exit', (code) => {
      if (!this.closed) this.fail(new Error(`the generator worker exited unexpectedly (code ${code})`));
    });
  }

  private fail(err: Error): void {
    this.failure ??= err;
    this.wake();
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }

  /** The next batch in order; returns a credit so the worker can make another. */
  async take(): Promise<WorkerBatch> {
    while (this.queue.length === 0) {
      if (this.failure) throw new Error(`generator worker failed: ${this.failure.message}`, { cause: this.failure });
      await new Promise<void>((resolve) => (this.waiter = resolve));
    }
    const b = this.queue.shift()!;
    this.worker.postMessage({ type: 'credit', n: 1 } satisfies Credit);
    return b;
  }

  /** Hands a sent batch's buffer back to the worker for reuse (kafkajs has copied it by the time a send settles). */
  recycle(buf: ArrayBuffer): void {
    if (this.closed || buf.byteLength === 0) return;
    this.worker.postMessage({ type: 'credit', n: 0, buf } satisfies Credit, [buf]);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.worker.terminate();
  }
}

/** Serializable form of a keyring for `workerData`. */
export function keyringForWorker(k: PiiKeyring): WorkerInit['keyring'] {
  return { current: k.current, keys: [...k.keys].map(([v, key]) => [v, new Uint8Array(key)]) };
}

/**
 * Like `runGenerator(new EventGenerator(options), sink, o)` for Kafka, with generation and
 * serialization in a worker thread: same events, same order, same batches, same summary.
 */
export function runGeneratorInWorker(options: GeneratorOptions, sink: KafkaSink, o: RunOptions, window = DEFAULT_WINDOW): Promise<RunSummary> {
  let worker: GeneratorWorker | undefined;
  const feed: Feed<EncodedBatch> = {
    description: sink.description,
    open: async () => {
      // Start the worker first: it builds its world and first batches while the producer connects.
      worker = new GeneratorWorker({ options, count: o.count, batchCap: batchCapFor(o), window, keyring: o.keyring && keyringForWorker(o.keyring) });
      try {
        await sink.open();
      } catch (err) {
        await worker.close();
        throw err;
      }
    },
    take: async (n: number, stats: FeedStats) => {
      const b = await worker!.take();
      if (b.batch.n !== n) throw new Error(`generator worker sent a batch of ${b.batch.n} events, expected ${n}`);
      stats.bytes += b.bytes;
      for (const [k, v] of Object.entries(b.fraudByScenario)) stats.fraudByScenario[k] = (stats.fraudByScenario[k] ?? 0) + v;
      for (const [k, v] of Object.entries(b.defects)) stats.defects[k] = (stats.defects[k] ?? 0) + v;
      for (const [k, v] of Object.entries(b.eventTypes)) stats.eventTypes[k] = (stats.eventTypes[k] ?? 0) + v;
      return b.batch;
    },
    send: (batch) => sink.sendEncoded(batch).finally(() => worker!.recycle(batch.buf)),
    close: async () => {
      await worker?.close();
      await sink.close();
    },
  };
  return drive(feed, o);
}
