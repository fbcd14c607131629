import { readEvent } from '../../core/schema';
import { DEFECT_KINDS, FRAUD_SCENARIOS } from '../../generator/events';
import { EventGenerator, type GeneratorOptions } from '../../generator/generator';
import { isoMicros, Rng, ZipfSampler } from '../../generator/prng';
import { toMessage } from '../../generator/run';
import { createKeyring } from '../../core/pii';

function ndjson(opts: Partial<GeneratorOptions>, n: number): string {
  const g = new EventGenerator(opts);
  let out = '';
  for (let i = 0; i < n; i++) {
    const m = toMessage(g.next());
    out += `${m.key}\t${m.label}\t${m.value}\n`;
  }
  return out;
}

describe('determinism', () => {
  test('same seed → byte-identical output; different seed → different output', () => {
    const a = ndjson({ seed: 7, rate: 5000 }, 5000);
    const b = ndjson({ seed: 7, rate: 5000 }, 5000);
    const c = ndjson({ seed: 8, rate: 5000 }, 5000);
    expect(a.length).toBeGreaterThan(5000 * 2048);
    expect(a === b).toBe(true);
    expect(a === c).toBe(false);
    const linesA = a.split('\n');
    const linesC = c.split('\n');
    expect(linesA.filter((l, i) => l === linesC[i]).length).toBeLessThan(2); // only the trailing empty line
  });

  test('the start time sets event times; no wall clock leaks in', () => {
    const g = new EventGenerator({ seed: 1, startUs: Date.UTC(2024, 5, 1) * 1000, lateRate: 0, defectRate: 0 });
    const first = g.next().event.event_metadata;
    expect(first.ingestion_timestamp!.startsWith('2024-06-01T00:00:0')).toBe(true);
    expect(first.timestamp.startsWith('2024-05-31T23:59:5') || first.timestamp.startsWith('2024-06-01T00:00:0')).toBe(true);
  });

  test('PRNG is seeded and uniform enough; uuids are v4', () => {
    const r = new Rng(42);
    const buckets = new Array<number>(10).fill(0);
    for (let i = 0; i < 100_000; i++) buckets[r.int(10)]++;
    for (const b of buckets) expect(Math.abs(b - 10_000)).toBeLessThan(500); // > 5 sd
    expect(new Rng(42).uuid()).toBe(new Rng(42).uuid());
    expect(new Rng(42).uuid()).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  test('Zipf sampler follows its weights', () => {
    const z = new ZipfSampler(100, 1.07);
    const r = new Rng(5);
    const hits = new Array<number>(100).fill(0);
    const n = 200_000;
    for (let i = 0; i < n; i++) hits[z.sample(r)]++;
    for (const i of [0, 1, 9]) {
      const p = z.weights[i];
      expect(Math.abs(hits[i] - n * p)).toBeLessThan(5 * Math.sqrt(n * p * (1 - p)));
    }
    expect(hits[0]).toBeGreaterThan(hits[50] * 20);
  });

  test('isoMicros formats microseconds exactly', () => {
    expect(isoMicros(Date.UTC(2026, 0, 1, 12, 30, 5, 123) * 1000 + 456)).toBe('2026-01-01T12:30:05.123456Z');
    expect(isoMicros(Date.UTC(2026, 0, 1) * 1000 + 7)).toBe('2026-01-01T00:00:00.000007Z');
  });
});

describe('content', () => {
  const N = 30_000;
  const g = new EventGenerator({ seed: 21, rate: 2000, defectRate: 0.02, fraudRate: 0.05, lateRate: 0.02 });
  const items = Array.from({ length: N }, () => {
    const e = g.next();
    return { ...e, json: JSON.stringify(e.event) };
  });

  test('events are 2–4 KB of JSON', () => {
    const sizes = items.map((i) => Buffer.byteLength(i.json));
    expect(Math.min(...sizes)).toBeGreaterThanOrEqual(2048);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(4096);
  });

  test('events without a defect are valid 2.1; events with one (except duplicates) are not', () => {
    for (const i of items) {
      const r = readEvent(JSON.parse(i.json));
      if (!i.label.defect || i.label.defect === 'duplicate') expect(r).toMatchObject({ ok: true });
      else expect(r).toMatchObject({ ok: false, reason: { code: 'schema_invalid' } });
    }
  });

  test('duplicates repeat the previous event byte for byte', () => {
    const dups = items.map((it, i) => [it, items[i - 1]] as const).filter(([it]) => it.label.defect === 'duplicate');
    expect(dups.length).toBeGreaterThan(0);
    for (const [it, prev] of dups) if (prev) expect(it.json).toBe(prev.json);
  });

  test('labels stay out of the payload', () => {
    for (const i of items.slice(0, 2000)) {
      expect(i.json).not.toContain('"fraud":');
      expect(i.json).not.toContain('scenario');
      if (i.label.campaign) expect(i.json).not.toContain(i.label.campaign);
    }
  });

  test('the Kafka key is tenant_id:user_id (anonymous id for guests)', () => {
    for (const i of items.slice(0, 2000)) {
      if (i.label.defect) continue;
      const uc = i.event.event_data.user_context;
      expect(i.key).toBe(`${i.event.tenant_id}:${uc.user_id ?? uc.anonymous_id}`);
    }
  });

  test('late and out-of-order events: event time lags ingestion, sometimes by minutes', () => {
    const clean = items.filter((i) => !i.label.defect).map((i) => i.event.event_metadata);
    const lags = clean.map((m) => Date.parse(m.ingestion_timestamp!) - Date.parse(m.timestamp));
    expect(lags.every((l) => l >= 0)).toBe(true);
    const late = lags.filter((l) => l >= 60_000).length / lags.length;
    expect(late).toBeGreaterThan(0.01);
    expect(late).toBeLessThan(0.03);
    let outOfOrder = 0;
    for (let i = 1; i < clean.length; i++) if (clean[i].timestamp < clean[i - 1].timestamp) outOfOrder++;
    expect(outOfOrder).toBeGreaterThan(clean.length * 0.05);
  });

  test('traffic is skewed across tenants (Zipf) and journeys reach purchase, abandon and refund', () => {
    const perTenant = new Map<string, number>();
    const subtypes = new Map<string, number>();
    for (const i of items) {
      perTenant.set(i.event.tenant_id, (perTenant.get(i.event.tenant_id) ?? 0) + 1);
      subtypes.set(i.event.event_data.event_subtype, (subtypes.get(i.event.event_data.event_subtype) ?? 0) + 1);
    }
    const counts = [...perTenant.values()].sort((a, b) => b - a);
    expect(counts[0]).toBeGreaterThan(counts[Math.floor(counts.length / 2)] * 20);
    for (const s of ['page_view', 'search', 'add_to_cart', 'checkout', 'payment_attempt', 'purchase', 'refund', 'login']) expect(subtypes.get(s) ?? 0).toBeGreaterThan(0);
    expect(subtypes.get('checkout')!).toBeGreaterThan(subtypes.get('purchase')!); // abandonment
  });

  test('tokenized output carries no raw user ids', () => {
    const ring = createKeyring({ v1: 'a-secret-of-16-chars' }, 'v1');
    const g2 = new EventGenerator({ seed: 4, defectRate: 0 });
    for (let i = 0; i < 500; i++) {
      const e = g2.next();
      const m = toMessage(e, ring);
      const raw = e.event.event_data.user_context.user_id;
      if (raw) {
        expect(m.value).not.toContain(`"${raw}"`);
        expect(m.key).toMatch(/:tok_v1_[0-9a-f]{32}$/);
      }
    }
  });
});

describe('fraud scenarios and defects at the configured rates', () => {
  // Each event independently belongs to scenario s with p = fraudRate / 11 (and has defect d with
  // p = defectRate / 4), so counts are Binomial(n, p). We accept |count − np| < 5·sqrt(np(1−p)):
  // a false failure has probability < 1e-6 per check, while a wrong rate of ±25% is caught
  // (at n = 150k, p = 0.0036: np = 545, 5 sd = 117 < 136 = 25%).
  const n = 150_000;
  const fraudRate = 0.04;
  const defectRate = 0.02;
  const g = new EventGenerator({ seed: 99, rate: 5000, fraudRate, defectRate });
  const byScenario = new Map<string, number>();
  const byDefect = new Map<string, number>();
  const campaigns = new Map<string, Set<string>>();
  let fraud = 0;
  for (let i = 0; i < n; i++) {
    const { label } = g.next();
    if (label.fraud) {
      fraud++;
      byScenario.set(label.scenario!, (byScenario.get(label.scenario!) ?? 0) + 1);
      if (!campaigns.has(label.scenario!)) campaigns.set(label.scenario!, new Set());
      campaigns.get(label.scenario!)!.add(label.campaign!);
    }
    if (label.defect) byDefect.set(label.defect, (byDefect.get(label.defect) ?? 0) + 1);
  }
  const within = (count: number, p: number) => Math.abs(count - n * p) < 5 * Math.sqrt(n * p * (1 - p));

  test.each([...FRAUD_SCENARIOS])('%s appears with its label at fraudRate / 11', (scenario) => {
    const count = byScenario.get(scenario) ?? 0;
    expect(within(count, fraudRate / FRAUD_SCENARIOS.length)).toBe(true);
    expect(campaigns.get(scenario)!.size).toBeGreaterThan(1);
  });

  test('total fraud share and defect kinds', () => {
    // Duplicates re-emit the previous event with its label, so fraud share ≈ fraudRate.
    expect(Math.abs(fraud / n - fraudRate)).toBeLessThan(5 * Math.sqrt((fraudRate * (1 - fraudRate)) / n) + 0.001);
    for (const d of DEFECT_KINDS) expect(within(byDefect.get(d) ?? 0, defectRate / DEFECT_KINDS.length)).toBe(true);
  });

  test('a rate of zero produces no fraud and no defects', () => {
    const clean = new EventGenerator({ seed: 1, fraudRate: 0, defectRate: 0 });
    for (let i = 0; i < 5000; i++) expect(clean.next().label).toEqual({ fraud: false });
  });
});
