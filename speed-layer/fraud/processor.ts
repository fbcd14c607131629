// The fraud engine as a speed-layer processor (speed-layer/state.ts EventProcessor), placed after
// the feature store (`processors: [features, fraud]`) so the features it reads hold the event. Each
// event is scored when it is processed; one scoring at or above `threshold` becomes an anomaly
// record for the `anomalies` topic, held until the next checkpoint and written in the same Kafka
// transaction as the offsets of the events that caused it (takeOutputs), so every event's anomaly
// is committed exactly once. Records of a partition the instance loses are dropped with it: the
// next owner processes those events again. `pendingOutputs()` lets the runtime commit early when
// an anomaly waits (speed-layer/runtime.ts `anomalyCommitMs`).
//
// The record (read by serving/anomalies/tail.ts): { anomaly_id = "<event_id>:fraud", tenant_id,
// event_id, incident_id, detected_at (event time), scored_at (wall clock), anomaly_type "fraud",
// score, severity, detectors [{id, family, score, explanation}] (the top reasons), explanation,
// model (the champion's version, null on the hand-set weights), challenger? {version, score},
// entities, partition, offset }, keyed by tenant.
//
// Retroactive records (impossible travel, ./retro): when an event's impossible travel implicates
// earlier events of the account that were below the threshold, each becomes a record with the same
// fields plus `retroactive: true`, `implicated_by` (the trigger's event id), `event_time` (the
// implicated event's time); `anomaly_id = "<event_id>:fraud:retro"`, `detected_at` = the trigger's
// event time (when it was found), `score`/`severity` the trigger's, `detectors` [impossible_travel
// with the pair's evidence], the trigger's incident, partition/offset the trigger's (the record is
// committed with the trigger's offset). Additive only: readers of the on-arrival record read these.
//
// What it reads of an event: the ingestion API's fraud header with the speed record when the
// record has one (core/fraud-signals.ts: no parse of the value); else the parsed event when the
// speed layer hands it one (`event` as an object, or the record value as text/Buffer, parsed
// here); with neither — the layer read only the speed header — that header's fields
// (signalsFromSpeedRecord), with which the detectors that need payment, shipping, product or
// security fields stay quiet (docs/fraud.md).
//
// State across restarts: incidents are checkpointed to the changelog (`h:fraud:i:<id>`, ./incidents);
// the engine's short memory and baselines are rebuilt by replay — after a restore the last
// `warmupOffsets` events of each partition are read again and folded in without scoring
// (replayFrom / onReplay → engine.learn). The engine is per process and keyed by tenant, not by
// partition, so when the instance holds no partition any more (a group join drops them all) it
// starts a fresh engine, which the replay then warms: no event is learnt twice.
import type { IHeaders } from 'kafkajs';
import { performance } from 'node:perf_hooks';
import { emptyFraudEvent, FRAUD_HEADER, fraudEventFromHeader, signalsFromEvent, signalsFromSpeedRecord, type FraudEvent } from '../../core/fraud-signals';
import { headerString } from '../../core/kafka';
import type { MeasureInput } from '../../core/measures';
import type { RtapEvent } from '../../core/schema';
import type { EntityIds } from '../../core/speed-record';
import type { FeatureProcessor } from '../features/processor';
import type { DetectorOverride } from './engine';
import { createFraudEngine, entityFeatures, type FraudEngine, type FraudEngineOptions, type FraudVerdict } from './engine';
import { SEVERITY_THRESHOLDS, severityOf } from './ensemble';
import { createIncidents, type Incident, type IncidentEntity, type IncidentOptions } from './incidents';
import { fraudMetrics } from './metrics';
import type { Implication } from './retro';

export interface FraudProcessorOptions extends FraudEngineOptions {
  /** Lowest ensemble score that makes an anomaly record. Default: the `medium` severity's (0.5). */
  threshold?: number;
  incidents?: IncidentOptions;
  /** Events per partition replayed into the engine's memory and baselines after a restore (0: none). Default 20,000. */
  warmupOffsets?: number;
  /** Instrumentation (bench/fraud): the wall-clock cost of scoring each event, ms. */
  onScored?: (ms: number) => void;
  /** Wall clock for `scored_at` (tests). */
  now?: () => number;
}

export const DEFAULT_WARMUP_OFFSETS = 20_000;

export interface AnomalyOut {
  partition: number;
  key: string;
  value: string;
}

export interface FraudProcessor {
  readonly name: 'fraud';
  /** The engine scoring now (a fresh one after the instance lost all its partitions). */
  readonly engine: FraudEngine;
  onEvent(input: MeasureInput, event: unknown, entities?: EntityIds, headers?: IHeaders): void;
  /** An event already scored before the restore: folded into memory and baselines, no record. */
  onReplay(input: MeasureInput, event: unknown, entities?: EntityIds, headers?: IHeaders): void;
  /** The first offset to replay into the engine after a restore: `warmupOffsets` before the partition's progress. */
  replayFrom(partition: number, nextOffset?: number): number | undefined;
  /** Incidents changed since the last checkpoint (`i:<incident id>`). */
  takeChanged(): { partition: number; key: string; value: string | null }[];
  restore(partition: number, key: string, value: string | null): void;
  dropPartition(partition: number): void;
  /** Anomaly records since the last call, for the `anomalies` topic in the checkpoint's transaction. */
  takeOutputs(): AnomalyOut[];
  /** Anomaly records waiting for a checkpoint. */
  pendingOutputs(): number;
  /** A tenant's rule for one detector (null: back to the defaults); kept across engine restarts. */
  setOverride(tenant: string, detectorId: string, override: DetectorOverride | null): void;
  /** The latest verdict (tests, tracing). */
  readonly last: FraudVerdict | undefined;
}

/** The entities an anomaly links incidents by (tokenized ids only). */
export function incidentEntities(e: FraudEvent): IncidentEntity[] {
  const out: IncidentEntity[] = [];
  if (e.userId) out.push({ kind: 'user', id: e.userId });
  if (e.card) out.push({ kind: 'card', id: e.card });
  if (e.device) out.push({ kind: 'device', id: e.device });
  const address = e.shipping?.addressKey;
  if (address) out.push({ kind: 'address', id: address });
  return out;
}

type RecordExtra = { incident?: Incident; scoredAtMs?: number };

/** What every anomaly record carries, on arrival or retroactive: ids, incident, times, model, coordinates. */
function recordEnvelope(anomalyId: string, eventId: string, detectedUs: number, v: FraudVerdict, coords: { partition: number; offset: number }, extra: RecordExtra) {
  return {
    anomaly_id: anomalyId,
    tenant_id: v.tenant,
    event_id: eventId,
    ...(extra.incident ? { incident_id: extra.incident.incident_id } : {}),
    detected_at: new Date(detectedUs / 1000).toISOString(),
    ...(extra.scoredAtMs !== undefined ? { scored_at: new Date(extra.scoredAtMs).toISOString() } : {}),
    anomaly_type: 'fraud',
    model: v.model?.version ?? null,
    partition: coords.partition,
    offset: coords.offset,
  };
}

const round3 = (x: number) => Math.round(x * 1000) / 1000;

/** The anomaly record of a verdict (the `anomalies` topic's value). */
export function anomalyRecord(v: FraudVerdict, e: FraudEvent, coords: { partition: number; offset: number }, extra: RecordExtra = {}): Record<string, unknown> {
  return {
    ...recordEnvelope(`${v.eventId}:fraud`, v.eventId, e.timeUs, v, coords, extra),
    score: round3(v.score),
    severity: v.severity,
    detectors: v.reasons.map((r) => ({ id: r.id, family: r.family, score: round3(r.score), explanation: r.explanation })),
    explanation: v.explanation,
    ...(v.challenger ? { challenger: { version: v.challenger.version, score: round3(v.challenger.score) } } : {}),
    entities: incidentEntities(e).map((x) => `${x.kind}:${x.id}`),
  };
}

/** The anomaly record of an earlier event implicated by `trigger`'s impossible travel (retroactive). */
export function retroactiveRecord(i: Implication, v: FraudVerdict, trigger: FraudEvent, coords: { partition: number; offset: number }, extra: RecordExtra = {}): Record<string, unknown> {
  const score = round3(i.score);
  return {
    ...recordEnvelope(`${i.eventId}:fraud:retro`, i.eventId, i.triggerUs, v, coords, extra),
    score,
    severity: severityOf(i.score),
    detectors: [{ id: 'impossible_travel', family: 'financial', score, explanation: i.explanation, evidence: i.evidence }],
    explanation: `impossible_travel: ${i.explanation}`,
    entities: trigger.userId ? [`user:${trigger.userId}`] : [],
    retroactive: true,
    implicated_by: i.implicatedBy,
    event_time: new Date(i.timeUs / 1000).toISOString(),
  };
}

function eventView(input: MeasureInput, event: unknown, entities: EntityIds | undefined, headers: IHeaders | undefined): FraudEvent {
  // the ingestion API's headers, when the event has them: no parse of the ~3.6 KB value
  const header = entities ? headerString(headers, FRAUD_HEADER) : undefined;
  if (header !== undefined) {
    const view = fraudEventFromHeader({ input, entities: entities! }, header);
    if (view) return view;
  }
  let parsed: unknown = event;
  if (typeof event === 'string' || Buffer.isBuffer(event)) {
    try {
      parsed = JSON.parse(event.toString());
    } catch {
      parsed = undefined;
    }
  }
  const e = parsed as RtapEvent | undefined;
  if (e && typeof e === 'object' && e.event_metadata && e.event_data?.user_context) {
    const view = signalsFromEvent(e);
    // the speed layer's own reading of ids and time wins (the header is what it counted)
    view.tenant = input.tenant_id;
    view.eventId = input.event_id;
    view.timeUs = input.event_time_us;
    return view;
  }
  return entities ? signalsFromSpeedRecord({ input, entities }) : emptyFraudEvent(input.tenant_id, input.event_id, input.event_time_us);
}

export function createFraudProcessor(features: Pick<FeatureProcessor, 'get'>, opts: FraudProcessorOptions = {}): FraudProcessor {
  const threshold = opts.threshold ?? SEVERITY_THRESHOLDS.medium;
  const warmup = opts.warmupOffsets ?? DEFAULT_WARMUP_OFFSETS;
  const now = opts.now ?? Date.now;
  const incidents = createIncidents(opts.incidents);
  /** tenant\0detector → the rule, re-applied to a fresh engine */
  const overrides = new Map<string, { tenant: string; id: string; override: DetectorOverride }>();
  /** Partitions with events, replayed events or restored records since the engine was created. */
  const held = new Set<number>();
  let engine = createFraudEngine(opts);
  let pending: AnomalyOut[] = [];
  let last: FraudVerdict | undefined;
  const get = features.get.bind(features);

  function freshEngine(): void {
    engine = createFraudEngine(opts);
    for (const o of overrides.values()) engine.setOverride(o.tenant, o.id, o.override);
  }

  return {
    name: 'fraud',
    get engine() {
      return engine;
    },
    get last() {
      return last;
    },
    onEvent(input, event, entities, headers) {
      const started = performance.now();
      held.add(input.partition);
      const e = eventView(input, event, entities, headers);
      const v = engine.score(e, entityFeatures(e, get));
      last = v;
      if (v.score >= threshold) {
        const a = incidents.assign(input.partition, v.tenant, v.eventId, e.timeUs, incidentEntities(e), v.score, v.reasons.map((r) => r.id));
        if (a.opened) fraudMetrics.incidentsOpened.inc();
        pending.push({ partition: input.partition, key: v.tenant, value: JSON.stringify(anomalyRecord(v, e, input, { incident: a.incident, scoredAtMs: now() })) });
        fraudMetrics.anomalies.inc({ severity: v.severity ?? 'none' });
        // earlier events of the account lifted over the threshold by this one's impossible travel
        for (const i of v.retroactive ?? []) {
          if (i.score < threshold || i.previousScore >= threshold) continue;
          const r = incidents.assign(input.partition, v.tenant, i.eventId, i.timeUs, incidentEntities(e), i.score, ['impossible_travel']);
          pending.push({ partition: input.partition, key: v.tenant, value: JSON.stringify(retroactiveRecord(i, v, e, input, { incident: r.incident, scoredAtMs: now() })) });
          fraudMetrics.anomalies.inc({ severity: severityOf(i.score) ?? 'none' });
        }
      }
      const ms = performance.now() - started;
      fraudMetrics.scoring.observe(ms);
      opts.onScored?.(ms);
    },
    onReplay(input, event, entities, headers) {
      held.add(input.partition);
      const e = eventView(input, event, entities, headers);
      engine.learn(e, entityFeatures(e, get));
      fraudMetrics.replayed.inc();
    },
    replayFrom(_partition, nextOffset) {
      if (warmup <= 0 || nextOffset === undefined || nextOffset === 0) return undefined;
      return Math.max(0, nextOffset - warmup);
    },
    takeChanged() {
      const out = incidents.takeChanged();
      let open = 0;
      for (const p of held) open += incidents.open(p);
      fraudMetrics.incidentsOpen.set(open);
      return out;
    },
    restore(partition, key, value) {
      held.add(partition);
      incidents.restore(partition, key, value);
    },
    dropPartition(partition) {
      pending = pending.filter((r) => r.partition !== partition);
      incidents.dropPartition(partition);
      held.delete(partition);
      if (held.size === 0) freshEngine();
    },
    takeOutputs() {
      const out = pending;
      pending = [];
      return out;
    },
    pendingOutputs: () => pending.length,
    setOverride(tenant, id, override) {
      engine.setOverride(tenant, id, override);
      const k = `${tenant}\u0000${id}`;
      if (override === null) overrides.delete(k);
      else overrides.set(k, { tenant, id, override });
    },
  };
}
