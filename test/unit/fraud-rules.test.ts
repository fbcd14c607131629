// Detector rules from the control topic reach a running fraud processor without a restart: a
// control record (as the speed layer's control-plane consumer applies it) changes the parameters
// and the behaviour on the next event, a tombstone restores the defaults; PUT bodies are checked
// against each detector's parameter schema with errors naming the field.
import { ControlState } from '../../core/control';
import { measureInputFromEvent } from '../../core/measures';
import { readEvent } from '../../core/schema';
import { entityIdsFromEvent } from '../../core/speed-record';
import { EventGenerator } from '../../generator/generator';
import { createFeatureProcessor } from '../../speed-layer/features/processor';
import { DETECTORS } from '../../speed-layer/fraud/detectors';
import { createFraudProcessor, type FraudProcessor } from '../../speed-layer/fraud/processor';
import { followRules, parameterSchema, ruleKey, ruleViews, validateRule, type FraudRuleRecord } from '../../speed-layer/fraud/rules';

const price = DETECTORS.find((d) => d.id === 'price_manipulation')!;

function traffic(seed: number) {
  const gen = new EventGenerator({ seed, tenants: 3, users: 300, rate: 200, fraudRate: 0.3, defectRate: 0, lateRate: 0, scenarios: ['price_manipulation'] });
  let offset = 0;
  /** Feeds n events; returns the detectors named by the anomaly records they made, per tenant. */
  return (features: ReturnType<typeof createFeatureProcessor>, fraud: FraudProcessor, n: number) => {
    const tenants = new Set<string>();
    for (let i = 0; i < n; i++) {
      const read = readEvent(gen.next().event);
      if (!read.ok) continue;
      const m = measureInputFromEvent(read.event, { partition: 0, offset: offset++ });
      if (!m.ok) continue;
      tenants.add(m.input.tenant_id);
      const entities = entityIdsFromEvent(read.event);
      features.onEvent(m.input, undefined, entities);
      fraud.onEvent(m.input, read.event, entities);
    }
    const fired = fraud.takeOutputs().flatMap((o) => (JSON.parse(o.value) as { detectors: { id: string }[] }).detectors.map((d) => d.id));
    return { fired, tenants };
  };
}

const rule = (tenant: string, r: Partial<FraudRuleRecord>): Buffer =>
  Buffer.from(JSON.stringify({ tenant_id: tenant, rule_id: 'price_manipulation', enabled: true, parameters: {}, updated_at: '2026-11-27T00:00:00Z', updated_by: 'test', ...r }));

describe('fraud rules', () => {
  it('a control record changes a running processor on its next event, a tombstone restores the defaults', () => {
    const control = new ControlState();
    const features = createFeatureProcessor();
    const fraud = createFraudProcessor(features);
    const applied: string[] = [];
    followRules(control, fraud, (t, id) => applied.push(`${t}/${id}`));
    const feed = traffic(7);

    const before = feed(features, fraud, 3000);
    expect(before.fired).toContain('price_manipulation');

    // a tampered price is 1–20 % of its list price: with the bar at 0.5 % none is below it
    for (const t of before.tenants) control.apply(ruleKey(t, 'price_manipulation'), rule(t, { parameters: { ratio: 0.005, fullRatio: 0.001, belowCost: 0 } }));
    expect(applied.length).toBe(before.tenants.size);
    const t0 = [...before.tenants][0];
    expect(fraud.engine.paramsFor(t0, 'price_manipulation')).toMatchObject({ ratio: 0.005, fullRatio: 0.001, belowCost: 0 });
    const during = feed(features, fraud, 3000);
    expect(during.fired).not.toContain('price_manipulation');

    for (const t of before.tenants) control.apply(ruleKey(t, 'price_manipulation'), null);
    expect(fraud.engine.paramsFor(t0, 'price_manipulation')).toEqual(price.defaults);
    const after = feed(features, fraud, 3000);
    expect(after.fired).toContain('price_manipulation');
  });

  it('disabling a detector for one tenant leaves the other tenants alone', () => {
    const control = new ControlState();
    const features = createFeatureProcessor();
    const fraud = createFraudProcessor(features);
    followRules(control, fraud);
    const feed = traffic(8);
    const first = feed(features, fraud, 2000);
    const [off] = [...first.tenants];
    control.apply(ruleKey(off, 'price_manipulation'), rule(off, { enabled: false }));
    const outputs: { tenant: string; ids: string[] }[] = [];
    const gen = new EventGenerator({ seed: 9, tenants: 3, users: 300, rate: 200, fraudRate: 0.3, defectRate: 0, lateRate: 0, scenarios: ['price_manipulation'] });
    for (let i = 0; i < 3000; i++) {
      const read = readEvent(gen.next().event);
      if (!read.ok) continue;
      const m = measureInputFromEvent(read.event, { partition: 0, offset: 100_000 + i });
      if (!m.ok) continue;
      const entities = entityIdsFromEvent(read.event);
      features.onEvent(m.input, undefined, entities);
      fraud.onEvent(m.input, read.event, entities);
    }
    for (const o of fraud.takeOutputs()) outputs.push({ tenant: o.key, ids: (JSON.parse(o.value) as { detectors: { id: string }[] }).detectors.map((d) => d.id) });
    expect(outputs.filter((o) => o.tenant === off).some((o) => o.ids.includes('price_manipulation'))).toBe(false);
    expect(outputs.filter((o) => o.tenant !== off).some((o) => o.ids.includes('price_manipulation'))).toBe(true);
  });

  it('a rule survives the engine being replaced after the instance lost all its partitions', () => {
    const control = new ControlState();
    const fraud = createFraudProcessor(createFeatureProcessor());
    followRules(control, fraud);
    control.apply(ruleKey('t1', 'velocity'), Buffer.from(JSON.stringify({ tenant_id: 't1', rule_id: 'velocity', enabled: true, parameters: { floor: 40 }, updated_at: '', updated_by: '' })));
    const before = fraud.engine;
    fraud.restore(0, 'i:x', null);
    fraud.dropPartition(0);
    expect(fraud.engine).not.toBe(before);
    expect(fraud.engine.paramsFor('t1', 'velocity').floor).toBe(40);
  });

  it('validates a PUT body against the detector parameter schema, naming each field', () => {
    expect(parameterSchema(price)).toMatchObject({ ratio: { minimum: 0, maximum: 1, default: 0.5 } });
    expect(validateRule(price, { parameters: { ratio: 0.3 }, enabled: false })).toEqual({ ok: true, enabled: false, parameters: { ratio: 0.3 } });
    const bad = validateRule(price, { parameters: { ratio: 2, nope: 1, belowCost: 'x' }, enabled: 'yes', extra: 1 });
    expect(bad.ok).toBe(false);
    const paths = !bad.ok ? bad.details.map((d) => d.path).sort() : [];
    expect(paths).toEqual(['/enabled', '/extra', '/parameters/belowCost', '/parameters/nope', '/parameters/ratio']);
    expect(!bad.ok && bad.details.find((d) => d.path === '/parameters/ratio')?.reason).toMatch(/0\.\.1 \(default 0\.5\)/);
    expect(validateRule(DETECTORS.find((d) => d.id === 'velocity')!, { parameters: { floor: -1 } }).ok).toBe(false);
  });

  it('shows each detector with the tenant overrides merged, and ignores records that fail the schema', () => {
    const control = new ControlState();
    control.apply(ruleKey('t1', 'price_manipulation'), rule('t1', { parameters: { ratio: 0.3 } }));
    control.apply(ruleKey('t2', 'price_manipulation'), rule('t2', { parameters: { ratio: 7 } }));
    const v1 = ruleViews(control, 't1').find((r) => r.rule_id === 'price_manipulation')!;
    expect(v1).toMatchObject({ enabled: true, overrides: { ratio: 0.3 }, parameters: { ...price.defaults, ratio: 0.3 }, updated_by: 'test' });
    expect(ruleViews(control, 't2').find((r) => r.rule_id === 'price_manipulation')!.overrides).toEqual({});
    expect(ruleViews(control, 't1')).toHaveLength(DETECTORS.length);
  });
});
