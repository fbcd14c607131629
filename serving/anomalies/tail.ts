// A small in-memory tail of the `anomalies` topic for GET /api/v2/anomalies/active and
// /anomalies/incidents. The speed layer's fraud processor writes the topic (speed-layer/fraud/
// processor.ts, in its checkpoint transactions; the tail reads read_committed); the tail keeps the
// newest records of each tenant within bounds, keyed by their `tenant_id`.
//
// A record is a JSON object with `tenant_id`; these fields are read when present (docs/api.md
// "Anomalies"): `anomaly_id` (else `<partition>-<offset>`), `detected_at` (ISO-8601; else the
// Kafka timestamp), `anomaly_type` (or `type`), `severity`, `score` (number), `event_id` (or the
// first of `event_ids`), `explanation` (text), `incident_id`, `detectors` ([{id}]), `entities`
// (strings). The whole record is kept as `detail`.
import { randomBytes } from 'node:crypto';
import type { Consumer, Kafka } from 'kafkajs';
import { TOPICS } from '../../core/kafka';
import { createLogger, type Logger } from '../../core/logger';

export interface Anomaly {
  anomaly_id: string;
  tenant_id: string;
  detected_at: string;
  detected_ms: number;
  anomaly_type: string | null;
  severity: string | null;
  score: number | null;
  event_id: string | null;
  explanation: string | null;
  incident_id: string | null;
  /** Ids of the detectors among its top reasons. */
  detectors: string[];
  /** Tokenized entities it links (`card:<token>`, …). */
  entities: string[];
  /** The record as the topic holds it (JSON text). */
  detail: string;
}

export interface AnomalyTailOptions {
  topic?: string;
  /** Newest records kept per tenant. */
  perTenant?: number;
  /** Records kept in all; past it the tenant holding most loses its oldest. */
  maxRecords?: number;
  /** Records older than this (by detected_at) are not kept. */
  retentionMs?: number;
}

export interface AnomalyTail {
  readonly topic: string;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** The tenant's records detected at or after `sinceMs`, newest first. */
  recent(tenant: string, sinceMs: number, limit: number): Anomaly[];
  /** Whether the tail had read the topic to its end as of start. */
  readonly caughtUp: boolean;
  readonly size: number;
  /** Applies one record (what the consumer does per message; also for tests). */
  apply(partition: number, offset: string, timestampMs: number, value: string | null): void;
}

const str = (v: unknown, max = 256): string | null => (typeof v === 'string' && v.length > 0 ? v.slice(0, max) : null);

/** A record of the topic as an Anomaly, or undefined when it is not a JSON object with a tenant_id. */
export function parseAnomaly(partition: number, offset: string, timestampMs: number, value: string): Anomaly | undefined {
  let v: unknown;
  try {
    v = JSON.parse(value);
  } catch {
    return undefined;
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return undefined;
  const r = v as Record<string, unknown>;
  const tenant = str(r.tenant_id, 64);
  if (!tenant) return undefined;
  const at = typeof r.detected_at === 'string' ? Date.parse(r.detected_at) : NaN;
  const detectedMs = Number.isFinite(at) ? at : timestampMs;
  const firstEvent = Array.isArray(r.event_ids) ? r.event_ids[0] : undefined;
  const explanation = typeof r.explanation === 'string' ? r.explanation : r.explanation === undefined ? null : JSON.stringify(r.explanation);
  const detectors = Array.isArray(r.detectors) ? r.detectors.map((d) => str((d as { id?: unknown } | null)?.id, 64)).filter((d): d is string => d !== null).slice(0, 32) : [];
  const entities = Array.isArray(r.entities) ? r.entities.map((e) => str(e, 256)).filter((e): e is string => e !== null).slice(0, 16) : [];
  return {
    anomaly_id: str(r.anomaly_id, 128) ?? `${partition}-${offset}`,
    tenant_id: tenant,
    detected_at: new Date(detectedMs).toISOString(),
    detected_ms: detectedMs,
    anomaly_type: str(r.anomaly_type) ?? str(r.type),
    severity: str(r.severity, 32),
    score: typeof r.score === 'number' && Number.isFinite(r.score) ? r.score : null,
    event_id: str(r.event_id, 128) ?? str(firstEvent, 128),
    explanation: explanation === null ? null : explanation.slice(0, 4096),
    incident_id: str(r.incident_id, 160),
    detectors,
    entities,
    detail: value.length > 16_384 ? JSON.stringify({ truncated: true, anomaly_id: r.anomaly_id ?? null }) : value,
  };
}

export function createAnomalyTail(deps: { kafka?: Kafka; logger?: Logger }, opts: AnomalyTailOptions = {}): AnomalyTail {
  const topic = opts.topic ?? TOPICS.anomalies;
  const perTenant = opts.perTenant ?? 500;
  const maxRecords = opts.maxRecords ?? 100_000;
  const retentionMs = opts.retentionMs ?? 7 * 24 * 3_600_000;
  const log = deps.logger ?? createLogger('anomaly.tail');
  const byTenant = new Map<string, Anomaly[]>();
  let size = 0;
  let caughtUp = false;
  let consumer: Consumer | undefined;

  function apply(partition: number, offset: string, timestampMs: number, value: string | null): void {
    if (value === null) return;
    const a = parseAnomaly(partition, offset, timestampMs, value);
    if (!a || Date.now() - a.detected_ms > retentionMs) return;
    let list = byTenant.get(a.tenant_id);
    if (!list) byTenant.set(a.tenant_id, (list = []));
    // at-least-once delivery (the speed layer's `immediate` mode) may repeat a record: one per id
    if (list.some((x) => x.anomaly_id === a.anomaly_id)) return;
    list.push(a);
    size++;
    if (list.length > perTenant) {
      list.shift();
      size--;
    }
    if (size > maxRecords) {
      // the tenant with the most records gives up its oldest; a rare path (anomalies are few)
      let biggest: Anomaly[] = list;
      for (const l of byTenant.values()) if (l.length > biggest.length) biggest = l;
      biggest.shift();
      size--;
    }
  }

  return {
    topic,
    apply,
    get size() {
      return size;
    },
    get caughtUp() {
      return caughtUp;
    },
    recent(tenant, sinceMs, limit) {
      const list = byTenant.get(tenant) ?? [];
      return list
        .filter((a) => a.detected_ms >= sinceMs)
        .sort((a, b) => b.detected_ms - a.detected_ms)
        .slice(0, limit);
    },
    async start() {
      if (!deps.kafka) throw new Error('anomaly tail: no Kafka client');
      const admin = deps.kafka.admin();
      await admin.connect();
      let ends: Map<number, number>;
      try {
        ends = new Map((await admin.fetchTopicOffsets(topic)).map((o) => [o.partition, Number(o.high)]));
      } finally {
        await admin.disconnect();
      }
      const pending = new Set([...ends].filter(([, end]) => end > 0).map(([p]) => p));
      const c = deps.kafka.consumer({ groupId: `rtap-anomaly-tail-${randomBytes(6).toString('hex')}`, maxWaitTimeInMs: 250 });
      consumer = c;
      await c.connect();
      await c.subscribe({ topic, fromBeginning: true });
      const done = new Promise<void>((resolve) => {
        if (pending.size === 0) resolve();
        c.on(c.events.END_BATCH_PROCESS, (e) => {
          if (pending.has(e.payload.partition) && Number(e.payload.lastOffset) + 1 >= ends.get(e.payload.partition)!) pending.delete(e.payload.partition);
          if (pending.size === 0) resolve();
        });
      });
      await c.run({
        autoCommit: false,
        eachBatch: async ({ batch }) => {
          for (const m of batch.messages) apply(batch.partition, m.offset, Number(m.timestamp), m.value === null ? null : m.value.toString('utf8'));
        },
      });
      await done;
      caughtUp = true;
      log.info({ topic, records: size }, 'anomaly tail caught up');
    },
    async stop() {
      await consumer?.disconnect();
      consumer = undefined;
    },
  };
}
