// A Kafka producer front that turns many concurrent callers into few large sends, with a hard
// bound on memory. kafkajs sends one request per `send` on the main thread, and its idempotent
// producer is only safe with one send in flight, so: callers enqueue, a single loop drains the
// queue into one `sendBatch` at a time, and each caller's promise settles when the send that
// carried its messages is acknowledged (acks=all). When Kafka is slow or down the queue fills to
// `maxQueuedBytes`; later callers wait up to `enqueueTimeoutMs` for room and then get a
// retriable `BackpressureError`. Nothing is ever dropped silently.
import type { Message, Producer, TopicMessages } from 'kafkajs';
import { RtapError } from './errors';

export interface BatchingProducerOptions {
  /** Bytes of message values allowed in the queue plus the send in flight. */
  maxQueuedBytes: number;
  /** Upper bound of one send. */
  maxSendBytes: number;
  /** How long a caller waits for room in the queue before BackpressureError. */
  enqueueTimeoutMs: number;
  /** How long a caller waits for its acknowledgement before BackpressureError. */
  ackTimeoutMs: number;
}

export class BackpressureError extends RtapError {
  constructor(
    message: string,
    readonly retryAfterSec: number,
    /** True when some of the caller's messages may already be in Kafka (retry is still safe: events are deduplicated by id). */
    readonly maybeWritten: boolean,
  ) {
    super(message, { retriable: true });
  }
}

interface Pending {
  messages: { topic: string; message: Message }[];
  bytes: number;
  resolve: () => void;
  reject: (err: unknown) => void;
  inFlight: boolean;
  settled: boolean;
}

export class BatchingProducer {
  private readonly queue: Pending[] = [];
  private queuedBytes = 0;
  private sending = false;
  private readonly roomWaiters: (() => void)[] = [];
  private closed = false;
  lastSendError: unknown;

  constructor(
    private readonly producer: Producer,
    private readonly opts: BatchingProducerOptions,
  ) {}

  get bytesQueued(): number {
    return this.queuedBytes;
  }

  /** Resolves once every message is acknowledged by Kafka; rejects with BackpressureError on timeouts. */
  async send(messages: { topic: string; message: Message }[]): Promise<void> {
    if (messages.length === 0) return;
    if (this.closed) throw new BackpressureError('producer is shutting down', 5, false);
    const bytes = messages.reduce((sum, m) => sum + sizeOf(m.message), 0);
    if (bytes > this.opts.maxQueuedBytes) throw new RtapError(`a single request of ${bytes} bytes exceeds the producer queue of ${this.opts.maxQueuedBytes} bytes`);
    // Reserve synchronously when there is room, so concurrent callers cannot overshoot the bound.
    if (this.queuedBytes + bytes <= this.opts.maxQueuedBytes) this.queuedBytes += bytes;
    else await this.waitForRoom(bytes);

    return new Promise<void>((resolve, reject) => {
      const pending: Pending = { messages, bytes, resolve, reject, inFlight: false, settled: false };
      this.queue.push(pending);
      const timer = setTimeout(() => {
        if (pending.settled) return;
        pending.settled = true;
        if (!pending.inFlight) this.remove(pending);
        reject(new BackpressureError(`Kafka did not acknowledge within ${this.opts.ackTimeoutMs} ms`, 5, pending.inFlight));
      }, this.opts.ackTimeoutMs);
      const settle = (fn: () => void) => {
        clearTimeout(timer);
        if (!pending.settled) {
          pending.settled = true;
          fn();
        }
      };
      pending.resolve = () => settle(resolve);
      pending.reject = (err) => settle(() => reject(err));
      void this.drain();
    });
  }

  /** Waits until `bytes` fit, then reserves them before returning. */
  private async waitForRoom(bytes: number): Promise<void> {
    const deadline = Date.now() + this.opts.enqueueTimeoutMs;
    while (this.queuedBytes + bytes > this.opts.maxQueuedBytes) {
      const left = deadline - Date.now();
      if (left <= 0) throw new BackpressureError(`ingestion queue full (${this.queuedBytes} bytes waiting for Kafka)`, 2, false);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.roomWaiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    this.queuedBytes += bytes;
  }

  private remove(pending: Pending): void {
    const i = this.queue.indexOf(pending);
    if (i >= 0) {
      this.queue.splice(i, 1);
      this.queuedBytes -= pending.bytes;
      this.wakeWaiters();
    }
  }

  private wakeWaiters(): void {
    for (const wake of this.roomWaiters.splice(0)) wake();
  }

  private async drain(): Promise<void> {
    if (this.sending) return;
    this.sending = true;
    try {
      while (this.queue.length > 0) {
        const batch: Pending[] = [];
        let bytes = 0;
        for (const p of this.queue) {
          if (batch.length > 0 && bytes + p.bytes > this.opts.maxSendBytes) break;
          batch.push(p);
          bytes += p.bytes;
        }
        for (const p of batch) p.inFlight = true;
        try {
          await this.producer.sendBatch({ acks: -1, topicMessages: groupByTopic(batch) });
          this.lastSendError = undefined;
          for (const p of batch) p.resolve();
        } catch (err) {
          this.lastSendError = err;
          for (const p of batch) p.reject(new BackpressureError(`Kafka send failed: ${(err as Error).message}`, 5, true));
        } finally {
          for (const p of batch) this.remove(p);
        }
      }
    } finally {
      this.sending = false;
    }
  }

  /** Stops accepting, then waits for what is queued to be sent (or to fail). */
  async close(): Promise<void> {
    this.closed = true;
    while (this.queue.length > 0 || this.sending) await new Promise((r) => setTimeout(r, 20));
  }
}

function groupByTopic(batch: Pending[]): TopicMessages[] {
  const byTopic = new Map<string, Message[]>();
  for (const p of batch) {
    for (const { topic, message } of p.messages) {
      let list = byTopic.get(topic);
      if (!list) byTopic.set(topic, (list = []));
      list.push(message);
    }
  }
  return [...byTopic].map(([topic, messages]) => ({ topic, messages }));
}

function sizeOf(message: Message): number {
  const value = message.value;
  const valueBytes = value === null || value === undefined ? 0 : typeof value === 'string' ? Buffer.byteLength(value) : value.length;
  return valueBytes + 64;
}
