// Events replayed through the scorer exactly as the speed layer scores them: schema registry
// (refused events dropped, as ingestion dead-letters them), dedup by event id, the feature store
// updated with the event, then the engine. `rtap eval fraud` feeds it generated events; the
// training workflow feeds it the lake's `event_json` in event-time order.
import { measureInputFromEvent } from '../../../core/measures';
import { readEvent } from '../../../core/schema';
import { entityIdsFromEvent } from '../../../core/speed-record';
import { createFeatureStore } from '../../features/store';
import { createFraudEngine, entityFeatures, type FraudEngine, type FraudEngineOptions, type FraudVerdict } from '../engine';
import { signalsFromEvent, type FraudEvent } from '../../../core/fraud-signals';

export type ReplayOutcome = { kind: 'scored'; verdict: FraudVerdict; view: FraudEvent; scoreNs: bigint } | { kind: 'dead' } | { kind: 'duplicate' };

export interface ScoringReplay {
  readonly engine: FraudEngine;
  /** One event (any supported schema version, as parsed JSON); `offset` stands in for its Kafka offset. */
  next(raw: unknown, offset: number): ReplayOutcome;
}

export function createScoringReplay(opts: FraudEngineOptions = {}): ScoringReplay {
  const store = createFeatureStore();
  const engine = createFraudEngine(opts);
  const get = store.get.bind(store);
  const seen = new Set<string>();
  return {
    engine,
    next(raw, offset) {
      const read = readEvent(raw);
      if (!read.ok) return { kind: 'dead' };
      const input = measureInputFromEvent(read.event, { partition: 0, offset });
      if (!input.ok) return { kind: 'dead' };
      if (seen.has(input.input.event_id)) return { kind: 'duplicate' };
      seen.add(input.input.event_id);
      store.update({ input: input.input, entities: entityIdsFromEvent(read.event) });
      const t0 = process.hrtime.bigint();
      const view = signalsFromEvent(read.event);
      const verdict = engine.score(view, entityFeatures(view, get));
      return { kind: 'scored', verdict, view, scoreNs: process.hrtime.bigint() - t0 };
    },
  };
}
