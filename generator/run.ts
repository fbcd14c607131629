// Drives a generator into a sink at a target rate: batches of at most ~100 ms of traffic, a few
// sends in flight while the next batch is generated, a live progress line on stderr, and a
// summary at the end. Kafka output generates in a worker thread instead (generator/worker.ts)
// and shares the send loop (`drive`). Optional PII tokenization (for producers that bypass the ingestion API).
import { performance } from 'node:perf_hooks';
import { isRetriable, errorMessage, RtapError } from '../core/errors';
import { tokenize, tokenizeEvent, type PiiKeyring } from '../core/pii';
import { sleep } from '../core/retry';
import { NORMAL_LABEL, type Label } from './events';
import type { RtapEvent } from '../core/schema/types';
import type { EventGenerator, GeneratedEvent } from './generator';
import type { OutMessage, SendResult, Sink } from './sinks';

export interface RunOptions {
  count: number;
  /** Target events per second (ignored with `fast`). */
  rate: number;
  batchSize: number;
  /** Send as fast as the sink takes them. */
  fast: boolean;
  /** Sends in flight at once (1 keeps file output in order). */
  maxInFlight: number;
  keyring?: PiiKeyring;
  signal?: AbortSignal;
  /** Called about once a second. */
  onProgress?: (p: Progress) => void;
}

export interface Progress {
  generated: number;
  sent: number;
  rejected: number;
  errors: number;
  elapsedMs: number;
  /** Events/s over the last interval. */
  currentRate: number;
}

export interface RunSummary extends Progress {
  averageRate: number;
  fraudByScenario: Record<string, number>;
  defects: Record<string, number>;
  /** Events per event_type (`missing` when a defect removed it). */
  eventTypes: Record<string, number>;
  bytes: number;
  interrupted: boolean;
}

const NORMAL_LABEL_JSON = JSON.stringify(NORMAL_LABEL);
const MAX_CONSECUTIVE_FAILURES = 5;

/** One generated event → the message a sink sends (tokenized first when a keyring is given). */
export function toMessage(g: GeneratedEvent, keyring?: PiiKeyring): OutMessage {
  const label = g.label === NORMAL_LABEL ? NORMAL_LABEL_JSON : JSON.stringify(g.label);
  if (!keyring) return { key: g.key, value: JSON.stringify(g.event), label };
  const raw = g.event.event_data.user_context.user_id;
  const key = raw !== undefined && g.key.endsWith(`:${raw}`) ? g.key.slice(0, -raw.length) + tokenize(raw, 'user', keyring) : g.key;
  return { key, value: JSON.stringify(tokenizeEvent(g.event, keyring)), label };
}

/** Running totals a feed adds to as it hands out events. */
export interface FeedStats {
  /** Characters of serialized event JSON. */
  bytes: number;
  fraudByScenario: Record<string, number>;
  defects: Record<string, number>;
  eventTypes: Record<string, number>;
}

/** Counts an event into per-event-type totals. */
export function countType(event: RtapEvent, eventTypes: Record<string, number>): void {
  const t = (event.event_data as { event_type?: unknown } | undefined)?.event_type;
  const k = typeof t === 'string' ? t : 'missing';
  eventTypes[k] = (eventTypes[k] ?? 0) + 1;
}

/** Counts a label into per-scenario and per-defect totals. */
export function countLabel(label: Label, fraudByScenario: Record<string, number>, defects: Record<string, number>): void {
  if (label === NORMAL_LABEL) return;
  if (label.scenario) fraudByScenario[label.scenario] = (fraudByScenario[label.scenario] ?? 0) + 1;
  if (label.defect) defects[label.defect] = (defects[label.defect] ?? 0) + 1;
}

/** Where batches come from and go to: generated in this thread (`runGenerator`) or in a worker (`generator/worker.ts`). */
export interface Feed<B> {
  readonly description: string;
  open(): Promise<void>;
  /** The next `n` events of the stream, in order; adds them to `stats`. */
  take(n: number, stats: FeedStats): B | Promise<B>;
  send(batch: B): Promise<SendResult>;
  close(): Promise<void>;
}

/** Events per batch: at most ~100 ms of traffic when throttled. */
export function batchCapFor(o: Pick<RunOptions, 'fast' | 'batchSize' | 'rate'>): number {
  return o.fast ? o.batchSize : Math.max(1, Math.min(o.batchSize, Math.ceil(o.rate / 10)));
}

/** Generates and serializes in this thread, then sends. */
export function runGenerator(gen: EventGenerator, sink: Sink, o: RunOptions): Promise<RunSummary> {
  const feed: Feed<OutMessage[]> = {
    description: sink.description,
    open: () => sink.open(),
    take: (n, stats) => {
      const batch: OutMessage[] = new Array<OutMessage>(n);
      for (let i = 0; i < n; i++) {
        const g = gen.next();
        countLabel(g.label, stats.fraudByScenario, stats.defects);
        countType(g.event, stats.eventTypes);
        const m = toMessage(g, o.keyring);
        stats.bytes += m.value.length;
        batch[i] = m;
      }
      return batch;
    },
    send: (batch) => sink.send(batch),
    close: () => sink.close(),
  };
  return drive(feed, o);
}

/** The send loop shared by both feeds: throttling, sends in flight, progress, failures, summary. */
export async function drive<B>(feed: Feed<B>, o: RunOptions): Promise<RunSummary> {
  const stats: FeedStats = { bytes: 0, fraudByScenario: {}, defects: {}, eventTypes: {} };
  const p: Progress = { generated: 0, sent: 0, rejected: 0, errors: 0, elapsedMs: 0, currentRate: 0 };
  let consecutiveFailures = 0;
  let fatal: unknown;
  const inFlight = new Set<Promise<void>>();
  const started = performance.now();
  let lastTick = started;
  let lastSent = 0;
  const batchCap = batchCapFor(o);

  const tick = (force: boolean) => {
    const now = performance.now();
    if (!force && now - lastTick < 1000) return;
    p.elapsedMs = now - started;
    p.currentRate = ((p.sent + p.rejected - lastSent) * 1000) / Math.max(1, now - lastTick);
    lastSent = p.sent + p.rejected;
    lastTick = now;
    o.onProgress?.({ ...p });
  };

  await feed.open();
  try {
    while (p.generated < o.count && !o.signal?.aborted && fatal === undefined) {
      const n = Math.min(batchCap, o.count - p.generated);
      if (!o.fast) {
        const due = ((performance.now() - started) / 1000) * o.rate;
        const wait = ((p.generated + n - due) / o.rate) * 1000;
        if (wait > 1) {
          await sleep(Math.min(wait, 250));
          tick(false);
          continue;
        }
      }
      const batch = await feed.take(n, stats);
      p.generated += n;
      while (inFlight.size >= o.maxInFlight) await Promise.race(inFlight);
      const send: Promise<void> = feed
        .send(batch)
        .then((r) => {
          p.sent += r.sent;
          p.rejected += r.rejected;
          consecutiveFailures = 0;
        })
        .catch((err: unknown) => {
          p.errors += n;
          consecutiveFailures++;
          if ((err instanceof RtapError && !isRetriable(err)) || consecutiveFailures >= MAX_CONSECUTIVE_FAILURES) fatal ??= err;
        })
        .finally(() => inFlight.delete(send));
      inFlight.add(send);
      tick(false);
    }
    await Promise.all(inFlight);
  } catch (err) {
    fatal ??= err;
    await Promise.all(inFlight);
  } finally {
    await feed.close().catch((err: unknown) => (fatal ??= err));
  }
  tick(true);
  if (fatal !== undefined) {
    throw fatal instanceof RtapError ? fatal : new RtapError(`sending to ${feed.description} failed: ${errorMessage(fatal)}`, { cause: fatal });
  }
  return {
    ...p,
    averageRate: (p.sent * 1000) / Math.max(1, p.elapsedMs),
    fraudByScenario: stats.fraudByScenario,
    defects: stats.defects,
    eventTypes: stats.eventTypes,
    bytes: stats.bytes,
    interrupted: o.signal?.aborted ?? false,
  };
}
