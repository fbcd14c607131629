// The fraud engine as a speed-layer processor (speed-layer/state.ts EventProcessor), placed after
// the feature store (`processors: [features, fraud]`) so the features it reads hold the event. Each
// event is scored when it is processed; one scoring at or above `threshold` becomes an anomaly
// record for the `anomalies` topic, held until the next checkpoint and written in the same Kafka
// transaction as the offsets of the events that caused it (takeOutputs), so every event's anomaly
// is committed exactly once. Records of a partition the instance loses are dropped with it: the
// next owner processes those events again.
//
// The record (read by serving/anomalies/tail.ts): { anomaly_id = "<event_id>:fraud", tenant_id,
// event_id, detected_at (event time), anomaly_type "fraud", score, severity, detectors [{id,
// family, score, explanation}], explanation, partition, offset }, keyed by tenant.
//
// What it reads of an event: the parsed event when the speed layer hands it one (`event` as an
// object, or the record value as text/Buffer, parsed here); with neither — the layer read only the
// ingestion header — the header's fields (signalsFromSpeedRecord), with which the detectors that
// need payment, shipping, product or security fields stay quiet (docs/fraud.md).
//
// Its memory and baselines are not checkpointed yet: after a restore they warm up again.
import type { MeasureInput } from '../../core/measures';
import type { RtapEvent } from '../../core/schema';
import type { EntityIds } from '../../core/speed-record';
import type { FeatureProcessor } from '../features/processor';
import { createFraudEngine, entityFeatures, type FraudEngine, type FraudEngineOptions, type FraudVerdict } from './engine';
import { SEVERITY_THRESHOLDS } from './ensemble';
import { emptyFraudEvent, signalsFromEvent, signalsFromSpeedRecord, type FraudEvent } from './signals';

export interface FraudProcessorOptions extends FraudEngineOptions {
  /** Lowest ensemble score that makes an anomaly record. Default: the `medium` severity's (0.5). */
  threshold?: number;
}

export interface AnomalyOut {
  partition: number;
  key: string;
  value: string;
}

export interface FraudProcessor {
  readonly name: 'fraud';
  readonly engine: FraudEngine;
  onEvent(input: MeasureInput, event: unknown, entities?: EntityIds): void;
  /** No checkpointed state yet (see the header). */
  takeChanged(): { partition: number; key: string; value: string | null }[];
  restore(partition: number, key: string, value: string | null): void;
  dropPartition(partition: number): void;
  /** Anomaly records since the last call, for the `anomalies` topic in the checkpoint's transaction. */
  takeOutputs(): AnomalyOut[];
  /** The latest verdict (tests, tracing). */
  readonly last: FraudVerdict | undefined;
}

/** The anomaly record of a verdict (the `anomalies` topic's value). */
export function anomalyRecord(v: FraudVerdict, e: FraudEvent, coords: { partition: number; offset: number }): Record<string, unknown> {
  return {
    anomaly_id: `${v.eventId}:fraud`,
    tenant_id: v.tenant,
    event_id: v.eventId,
    detected_at: new Date(e.timeUs / 1000).toISOString(),
    anomaly_type: 'fraud',
    score: Math.round(v.score * 1000) / 1000,
    severity: v.severity,
    detectors: v.reasons.map((r) => ({ id: r.id, family: r.family, score: Math.round(r.score * 1000) / 1000, explanation: r.explanation })),
    explanation: v.explanation,
    partition: coords.partition,
    offset: coords.offset,
  };
}

function eventView(input: MeasureInput, event: unknown, entities: EntityIds | undefined): FraudEvent {
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
  const engine = createFraudEngine(opts);
  const threshold = opts.threshold ?? SEVERITY_THRESHOLDS.medium;
  let pending: AnomalyOut[] = [];
  let last: FraudVerdict | undefined;
  const get = features.get.bind(features);

  return {
    name: 'fraud',
    engine,
    get last() {
      return last;
    },
    onEvent(input, event, entities) {
      const e = eventView(input, event, entities);
      const v = engine.score(e, entityFeatures(e, get));
      last = v;
      if (v.score >= threshold) pending.push({ partition: input.partition, key: v.tenant, value: JSON.stringify(anomalyRecord(v, e, input)) });
    },
    takeChanged: () => [],
    restore() {
      // nothing checkpointed yet
    },
    dropPartition(partition) {
      pending = pending.filter((r) => r.partition !== partition);
    },
    takeOutputs() {
      const out = pending;
      pending = [];
      return out;
    },
  };
}
