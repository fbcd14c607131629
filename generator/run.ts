// Drives a generator into a sink at a target rate: batches of at most ~100 ms of traffic, a few
// sends in flight while the next batch is generated, a live progress line on stderr, and a
// summary at the end. Optional PII tokenization (for producers that bypass the ingestion API).
import { performance } from 'node:perf_hooks';
import { isRetriable, errorMessage, RtapError } from '../core/errors';
import { tokenize, tokenizeEvent, type PiiKeyring } from '../core/pii';
import { sleep } from '../core/retry';
import { NORMAL_LABEL, type Label } from './events';
import type { EventGenerator, GeneratedEvent } from './generator';
import type { OutMessage, Sink } from './sinks';

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

export async function runGenerator(gen: EventGenerator, sink: Sink, o: RunOptions): Promise<RunSummary> {
  const fraudByScenario: Record<string, number> = {};
  const defects: Record<string, number> = {};
  const p: Progress = { generated: 0, sent: 0, rejected: 0, errors: 0, elapsedMs: 0, currentRate: 0 };
  let bytes = 0;
  let consecutiveFailures = 0;
  let fatal: unknown;
  const inFlight = new Set<Promise<void>>();
  const started = performance.now();
  let lastTick = started;
  let lastSent = 0;
  const batchCap = o.fast ? o.batchSize : Math.max(1, Math.min(o.batchSize, Math.ceil(o.rate / 10)));

  const tick = (force: boolean) => {
    const now = performance.now();
    if (!force && now - lastTick < 1000) return;
    p.elapsedMs = now - started;
    p.currentRate = ((p.sent + p.rejected - lastSent) * 1000) / Math.max(1, now - lastTick);
    lastSent = p.sent + p.rejected;
    lastTick = now;
    o.onProgress?.({ ...p });
  };

  const count = (label: Label) => {
    if (label === NORMAL_LABEL) return;
    if (label.scenario) fraudByScenario[label.scenario] = (fraudByScenario[label.scenario] ?? 0) + 1;
    if (label.defect) defects[label.defect] = (defects[label.defect] ?? 0) + 1;
  };

  await sink.open();
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
      const batch: OutMessage[] = new Array<OutMessage>(n);
      for (let i = 0; i < n; i++) {
        const g = gen.next();
        count(g.label);
        const m = toMessage(g, o.keyring);
        bytes += m.value.length;
        batch[i] = m;
      }
      p.generated += n;
      while (inFlight.size >= o.maxInFlight) await Promise.race(inFlight);
      const send: Promise<void> = sink
        .send(batch)
        .then((r) => {
          p.sent += r.sent;
          p.rejected += r.rejected;
          consecutiveFailures = 0;
        })
        .catch((err: unknown) => {
          p.errors += batch.length;
          consecutiveFailures++;
          if ((err instanceof RtapError && !isRetriable(err)) || consecutiveFailures >= MAX_CONSECUTIVE_FAILURES) fatal ??= err;
        })
        .finally(() => inFlight.delete(send));
      inFlight.add(send);
      tick(false);
    }
    await Promise.all(inFlight);
  } finally {
    await sink.close().catch((err: unknown) => (fatal ??= err));
  }
  tick(true);
  if (fatal !== undefined) {
    throw fatal instanceof RtapError ? fatal : new RtapError(`sending to ${sink.description} failed: ${errorMessage(fatal)}`, { cause: fatal });
  }
  return { ...p, averageRate: (p.sent * 1000) / Math.max(1, p.elapsedMs), fraudByScenario, defects, bytes, interrupted: o.signal?.aborted ?? false };
}
