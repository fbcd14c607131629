// The fraud processor after the feature store, as the speed layer runs them: generated card-testing
// traffic becomes anomaly records for the `anomalies` topic (readable by the API's anomaly tail),
// held until the checkpoint takes them, dropped with a lost partition; header-only records score
// without the parsed event.
import { measureInputFromEvent } from '../../core/measures';
import { readEvent } from '../../core/schema';
import { entityIdsFromEvent } from '../../core/speed-record';
import { EventGenerator } from '../../generator/generator';
import { parseAnomaly } from '../../serving/anomalies/tail';
import { createFeatureProcessor } from '../../speed-layer/features/processor';
import { createFraudProcessor } from '../../speed-layer/fraud/processor';

function feed(n: number, scenarios: ('card_testing' | 'bot')[], withEvent: boolean) {
  const features = createFeatureProcessor();
  const fraud = createFraudProcessor(features);
  const gen = new EventGenerator({ seed: 5, tenants: 5, users: 500, rate: 200, fraudRate: 0.3, defectRate: 0, lateRate: 0, scenarios });
  let fraudEvents = 0;
  for (let i = 0; i < n; i++) {
    const g = gen.next();
    const read = readEvent(g.event);
    if (!read.ok) continue;
    const m = measureInputFromEvent(read.event, { partition: i % 2, offset: i });
    if (!m.ok) continue;
    const entities = entityIdsFromEvent(read.event);
    features.onEvent(m.input, undefined, entities);
    fraud.onEvent(m.input, withEvent ? (i % 3 === 0 ? JSON.stringify(read.event) : read.event) : undefined, entities);
    if (g.label.fraud) fraudEvents++;
  }
  return { fraud, fraudEvents };
}

describe('fraud processor', () => {
  it('turns events scoring at or above medium into anomaly records, taken once by the checkpoint', () => {
    const { fraud, fraudEvents } = feed(3000, ['card_testing'], true);
    // the changelog holds the incidents only
    expect(fraud.takeChanged().every((c) => c.key.startsWith('i:inc_'))).toBe(true);
    const out = fraud.takeOutputs();
    expect(out.length).toBeGreaterThan(fraudEvents * 0.5);
    expect(fraud.takeOutputs()).toEqual([]);
    const r = JSON.parse(out[0].value) as Record<string, unknown>;
    expect(r).toMatchObject({ anomaly_type: 'fraud', tenant_id: out[0].key });
    expect(r.anomaly_id).toBe(`${String(r.event_id)}:fraud`);
    expect(['medium', 'high', 'critical']).toContain(r.severity);
    expect((r.detectors as { id: string }[]).map((d) => d.id)).toContain('card_testing');
    expect(r.explanation).toMatch(/cards tried from one device/);
    // the API's tail of the anomalies topic reads it
    const a = parseAnomaly(out[0].partition, '0', Date.now(), out[0].value)!;
    expect(a).toMatchObject({ anomaly_type: 'fraud', event_id: r.event_id, severity: r.severity });
  });

  it('drops the pending records of a partition it loses (the next owner processes those events again)', () => {
    const { fraud } = feed(2000, ['card_testing'], true);
    fraud.dropPartition(0);
    const out = fraud.takeOutputs();
    expect(out.length).toBeGreaterThan(0);
    expect(out.every((o) => o.partition === 1)).toBe(true);
  });

  it('scores header-only records (no parsed event): detectors needing the payload stay quiet, the rest work', () => {
    const { fraud } = feed(2000, ['card_testing', 'bot'], false);
    expect(fraud.last).toBeDefined();
    const ids = new Set(fraud.takeOutputs().flatMap((o) => (JSON.parse(o.value) as { detectors: { id: string }[] }).detectors.map((d) => d.id)));
    expect(ids.has('price_manipulation')).toBe(false);
  });
});

describe('fraud processor: incidents and replay', () => {
  it('stamps each anomaly with its incident; campaign events sharing a device land in few incidents', () => {
    const { fraud } = feed(3000, ['card_testing'], true);
    const records = fraud.takeOutputs().map((o) => JSON.parse(o.value) as { incident_id: string; entities: string[]; scored_at: string });
    expect(records.every((r) => /^inc_/.test(r.incident_id) && typeof r.scored_at === 'string')).toBe(true);
    expect(new Set(records.map((r) => r.incident_id)).size).toBeLessThan(records.length / 2);
    expect(records[0].entities.some((e) => e.startsWith('device:'))).toBe(true);
  });

  it('folds replayed events into memory and baselines without producing records', () => {
    const features = createFeatureProcessor();
    const fraud = createFraudProcessor(features);
    const gen = new EventGenerator({ seed: 5, tenants: 5, users: 500, rate: 200, fraudRate: 0.3, defectRate: 0, lateRate: 0, scenarios: ['card_testing'] });
    for (let i = 0; i < 2000; i++) {
      const read = readEvent(gen.next().event);
      if (!read.ok) continue;
      const m = measureInputFromEvent(read.event, { partition: 0, offset: i });
      if (!m.ok) continue;
      features.onEvent(m.input, undefined, entityIdsFromEvent(read.event));
      fraud.onReplay(m.input, read.event, entityIdsFromEvent(read.event));
    }
    expect(fraud.pendingOutputs()).toBe(0);
    expect(fraud.takeOutputs()).toEqual([]);
    expect(fraud.engine.baselines.size).toBeGreaterThan(0);
  });
});
