import { readEvent, type RtapEvent } from '../../core/schema';
import { attributionWeights, DEFECT_KINDS, FRAUD_SCENARIOS } from '../../generator/events';
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

  test('events are 2–4 KB of JSON on average; platform events are smaller, carts larger', () => {
    const sizes = items.map((i) => Buffer.byteLength(i.json));
    const avg = sizes.reduce((a, b) => a + b, 0) / sizes.length;
    expect(avg).toBeGreaterThanOrEqual(2048);
    expect(avg).toBeLessThanOrEqual(4096);
    expect(Math.min(...sizes)).toBeGreaterThanOrEqual(1024);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(8192);
  });

  test('events without a defect are valid 2.1 with no value warnings; defects are invalid, or (unknown_value) valid with a warning', () => {
    const seen = new Set<string>();
    for (const i of items) {
      const r = readEvent(JSON.parse(i.json));
      const defect = i.label.defect;
      seen.add(defect ?? 'none');
      if (!defect || defect === 'duplicate') expect(r).toMatchObject({ ok: true, warnings: [] });
      else if (defect === 'unknown_value') {
        expect(r.ok).toBe(true);
        if (r.ok) expect(r.warnings.length).toBeGreaterThan(0);
      } else expect(r).toMatchObject({ ok: false, reason: { code: 'schema_invalid' } });
    }
    expect(seen).toEqual(new Set(['none', ...DEFECT_KINDS]));
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

  test('the Kafka key is tenant_id:user_id (anonymous id for guests; server instance for platform events)', () => {
    for (const i of items.slice(0, 5000)) {
      if (i.label.defect) continue;
      const uc = i.event.event_data.user_context;
      const subject = i.event.event_data.event_type === 'system_event' && !uc.anonymous_id ? i.event.event_data.technical_context!.infrastructure_metadata!.server_instance : (uc.user_id ?? uc.anonymous_id);
      expect(i.key).toBe(`${i.event.tenant_id}:${subject}`);
      expect(i.event.partition_key).toBe(i.key);
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

describe("the brief's 2.1 shapes, value sets and event mix (steady state)", () => {
  // A small rate keeps the session pool small, so after a warm-up the sample is in steady state
  // (sessions at every stage of their journey), not dominated by first page views.
  const WARMUP = 10_000;
  const N = 40_000;
  const g = new EventGenerator({ seed: 31, rate: 200, defectRate: 0, fraudRate: 0.02, lateRate: 0 });
  for (let i = 0; i < WARMUP; i++) g.next();
  const all = Array.from({ length: N }, () => g.next());
  const events = all.map((x) => x.event);
  const clean = all.filter((x) => !x.label.fraud).map((x) => x.event);
  const share = (pred: (e: RtapEvent) => boolean, of: RtapEvent[] = events) => of.filter(pred).length / of.length;
  const ofType = (t: string) => events.filter((e) => e.event_data.event_type === t);
  const ofSubtype = (s: string) => events.filter((e) => e.event_data.event_subtype === s);
  const bc = (e: RtapEvent) => e.event_data.business_context!;
  const cents = (x: number) => Math.round(x * 100);

  test('every generated event (normal and fraud) validates and raises zero value warnings', () => {
    let warnings = 0;
    for (const e of events) {
      const r = readEvent(e);
      if (!r.ok) throw new Error(`${e.event_data.event_subtype} rejected: ${JSON.stringify(r.reason.violations)}`);
      warnings += r.warnings.length;
      if (r.warnings.length > 0) throw new Error(`${e.event_data.event_subtype}: ${JSON.stringify(r.warnings)}`);
    }
    expect(warnings).toBe(0);
  });

  test('all four event types occur at realistic shares', () => {
    expect(share((e) => e.event_data.event_type === 'user_interaction')).toBeGreaterThan(0.65);
    expect(share((e) => e.event_data.event_type === 'user_interaction')).toBeLessThan(0.85);
    expect(share((e) => e.event_data.event_type === 'transaction')).toBeGreaterThan(0.06);
    expect(share((e) => e.event_data.event_type === 'transaction')).toBeLessThan(0.16);
    expect(share((e) => e.event_data.event_type === 'ml_inference')).toBeGreaterThan(0.05);
    expect(share((e) => e.event_data.event_type === 'ml_inference')).toBeLessThan(0.15);
    // systemRate 0.015, plus bots' rate-limit refusals.
    expect(share((e) => e.event_data.event_type === 'system_event')).toBeGreaterThan(0.01);
    expect(share((e) => e.event_data.event_type === 'system_event')).toBeLessThan(0.025);
    const subtypes = new Set(events.map((e) => `${e.event_data.event_type}/${e.event_data.event_subtype}`));
    for (const s of [
      'user_interaction/page_view', 'user_interaction/search', 'user_interaction/add_to_cart', 'user_interaction/login', 'user_interaction/recommendation_click',
      'transaction/checkout', 'transaction/payment_attempt', 'transaction/purchase', 'transaction/refund',
      'ml_inference/fraud_score', 'ml_inference/recommendation', 'ml_inference/churn_prediction',
      'system_event/health_check', 'system_event/api_error', 'system_event/rate_limit_hit', 'system_event/deployment',
    ]) expect(subtypes).toContain(s);
  });

  test('a system rate of zero gives no platform events besides bots hitting rate limits', () => {
    const quiet = new EventGenerator({ seed: 2, systemRate: 0, fraudRate: 0 });
    for (let i = 0; i < 5000; i++) expect(quiet.next().event.event_data.event_type).not.toBe('system_event');
  });

  test('user agents, profiles and tenants in the brief shapes', () => {
    for (const e of events.slice(0, 5000)) {
      const attrs = e.event_data.user_context.session_data.session_attributes;
      if (attrs) {
        expect(attrs.user_agent_parsed).toEqual({ browser: { name: expect.any(String), version: expect.any(String) }, os: { name: expect.any(String), version: expect.any(String) }, device: expect.objectContaining({ type: expect.any(String) }) });
      } else expect(e.event_data.event_type).toBe('system_event');
      const tm = bc(e).tenant_metadata!;
      expect(Object.keys(tm)).toEqual(['merchant_id', 'merchant_tier', 'industry_vertical', 'geographic_markets', 'business_model']);
    }
    const profiled = events.filter((e) => e.event_data.user_context.user_profile);
    expect(profiled.length).toBeGreaterThan(N * 0.1);
    for (const e of profiled.slice(0, 2000)) {
      const p = e.event_data.user_context.user_profile!;
      expect(p).toMatchObject({ registration_date: expect.any(String), risk_profile: { credit_rating: expect.any(String) }, segmentation: { predictive_scores: { churn_probability: expect.any(Number) } } });
    }
  });

  test('products carry hierarchy, pricing, inventory, attributes (with condition) and performance metrics; cart lines a compact form', () => {
    const viewed = ofSubtype('page_view').concat(ofSubtype('add_to_cart')).flatMap((e) => bc(e).transaction_context?.products ?? []);
    expect(viewed.length).toBeGreaterThan(N * 0.4);
    for (const p of viewed.slice(0, 3000)) {
      expect(Object.keys(p.product_hierarchy!)).toEqual(['category_l1', 'category_l2', 'category_l3', 'brand', 'model']);
      expect(p.pricing).toEqual({ list_price: expect.any(Number), sale_price: expect.any(Number), cost_basis: expect.any(Number), margin_percentage: expect.any(Number), tax_category: expect.any(String), currency: expect.stringMatching(/^[A-Z]{3}$/) });
      expect(p.pricing!.sale_price!).toBeLessThanOrEqual(p.pricing!.list_price!);
      expect(p.pricing!.margin_percentage!).toBeLessThan(1);
      expect(Object.keys(p.inventory!)).toEqual(['sku_availability', 'quantity_available', 'warehouse_location', 'supplier_id']);
      expect(typeof p.attributes!.condition).toBe('string');
      expect(Object.keys(p.performance_metrics!)).toEqual(['view_count_24h', 'conversion_rate_7d', 'return_rate_30d', 'review_average', 'review_count']);
    }
    const conditions = new Set(viewed.map((p) => p.attributes!.condition));
    expect(conditions).toEqual(new Set(['new', 'refurbished', 'used']));
    const availability = new Set(viewed.map((p) => p.inventory!.sku_availability));
    expect(availability).toEqual(new Set(['in_stock', 'low_stock', 'backorder', 'discontinued']));
    for (const e of ofSubtype('purchase').slice(0, 500)) {
      for (const p of bc(e).transaction_context!.products!) expect(p).toMatchObject({ product_hierarchy: { category_l1: expect.any(String) }, pricing: { sale_price: expect.any(Number) }, attributes: { condition: expect.any(String) } });
    }
  });

  test('cart arithmetic: final_total = subtotal − discounts + shipping + tax, to the cent, and the same through one order', () => {
    const carts = events.filter((e) => bc(e).transaction_context?.cart_context?.cart_value);
    expect(carts.length).toBeGreaterThan(N * 0.05);
    let discounted = 0;
    let loyal = 0;
    let taxed = 0;
    for (const e of carts) {
      const v = bc(e).transaction_context!.cart_context!.cart_value!;
      const discounts = v.discounts_applied!.reduce((a, d) => a + cents(d.discount_amount), 0);
      const shipping = cents(v.shipping_costs!.base_shipping!) + cents(v.shipping_costs!.expedited_fee!) + cents(v.shipping_costs!.insurance!);
      const tax = v.tax_breakdown!.reduce((a, t) => a + cents(t.amount), 0);
      expect(cents(v.final_total)).toBe(cents(v.subtotal!) - discounts + shipping + tax);
      for (const x of [v.subtotal!, v.final_total, ...v.tax_breakdown!.map((t) => t.amount), ...v.discounts_applied!.map((d) => d.discount_amount)]) expect(Math.abs(x * 100 - Math.round(x * 100))).toBeLessThan(1e-6);
      expect(discounts).toBeLessThanOrEqual(cents(v.subtotal!));
      for (const t of v.tax_breakdown!) expect(t).toEqual({ type: expect.any(String), rate: expect.any(Number), amount: expect.any(Number) });
      for (const d of v.discounts_applied!) expect(Object.keys(d)).toEqual(['discount_id', 'discount_type', 'discount_value', 'discount_amount', 'eligibility_rules']);
      if (v.loyalty_benefits) expect(Object.keys(v.loyalty_benefits)).toEqual(['points_earned', 'points_redeemed', 'tier_bonus_multiplier', 'cashback_percentage']);
      const pm = bc(e).transaction_context!.cart_context!.payment_context?.payment_methods?.[0];
      if (pm) expect(pm.amount).toBe(v.final_total);
      discounted += v.discounts_applied!.length > 0 ? 1 : 0;
      loyal += v.loyalty_benefits ? 1 : 0;
      taxed += v.tax_breakdown!.length > 0 ? 1 : 0;
    }
    expect(discounted / carts.length).toBeGreaterThan(0.05);
    expect(loyal / carts.length).toBeGreaterThan(0.5);
    expect(taxed / carts.length).toBeGreaterThan(0.5);
    // Normal orders: the subtotal is the lines' sale prices, and every step of one order agrees.
    const totals = new Map<string, number>();
    for (const e of clean) {
      const cart = bc(e).transaction_context?.cart_context;
      if (!cart?.cart_value) continue;
      const lines = bc(e).transaction_context!.products!;
      expect(cents(cart.cart_value.subtotal!)).toBe(lines.reduce((a, p) => a + cents(p.pricing!.sale_price!) * (p.quantity ?? 1), 0));
      const seen = totals.get(cart.cart_id);
      if (seen !== undefined) expect(cart.cart_value.final_total).toBe(seen);
      totals.set(cart.cart_id, cart.cart_value.final_total);
    }
  });

  test('shipping sits inside the payment context; payment methods and shipping in the brief shapes', () => {
    const shipped = events.filter((e) => bc(e).transaction_context?.cart_context?.cart_value && bc(e).transaction_context?.cart_context?.payment_context?.shipping_context);
    expect(shipped.length).toBeGreaterThan(0);
    for (const e of shipped) {
      const sc = bc(e).transaction_context!.cart_context!.payment_context!.shipping_context!;
      expect(sc.shipping_method).toEqual({ carrier: expect.any(String), service_level: expect.any(String), estimated_delivery: expect.any(String), tracking_enabled: true, signature_required: expect.any(Boolean) });
      expect(sc.shipping_address!.country).toMatch(/^[A-Z]{2}$/);
      expect((bc(e).transaction_context!.cart_context as unknown as Record<string, unknown>).shipping_context).toBeUndefined();
    }
    const carriers = new Set(shipped.map((e) => bc(e).transaction_context!.cart_context!.payment_context!.shipping_context!.shipping_method!.carrier));
    expect(carriers).toEqual(new Set(['fedex', 'ups', 'dhl', 'usps']));
    const methods = new Set(events.flatMap((e) => bc(e).transaction_context?.cart_context?.payment_context?.payment_methods ?? []).map((m) => m.method_type));
    expect(methods).toEqual(new Set(['credit_card', 'debit_card', 'digital_wallet', 'bnpl', 'crypto']));
  });

  test('touchpoint journeys: attribution weights sum to 1, in time order', () => {
    for (let n = 1; n <= 8; n++) expect(attributionWeights(n).reduce((a, w) => a + Math.round(w * 1000), 0)).toBe(1000);
    const journeys = events.map((e) => bc(e).interaction_context?.touchpoint_journey).filter((j) => j !== undefined);
    expect(journeys.length / N).toBeGreaterThan(0.1);
    for (const j of journeys) {
      expect(Math.abs(j.reduce((a, t) => a + t.attribution_weight!, 0) - 1)).toBeLessThan(1e-9);
      for (let i = 1; i < j.length; i++) expect(j[i].timestamp! > j[i - 1].timestamp!).toBe(true);
    }
    // Conversions carry the journey (attribution).
    for (const e of ofSubtype('purchase')) expect(bc(e).interaction_context!.touchpoint_journey!.length).toBeGreaterThan(0);
  });

  test('browsing events carry page load metrics and user interactions; page_type only from the brief set', () => {
    const browsing = ofType('user_interaction');
    expect(share((e) => bc(e).interaction_context?.page_context?.page_load_metrics !== undefined, browsing)).toBeGreaterThan(0.6);
    expect(share((e) => (bc(e).interaction_context?.page_context?.user_interactions?.length ?? 0) > 0, browsing)).toBeGreaterThan(0.6);
    const bySession = new Map<string, number>();
    const wrong: unknown[] = [];
    const metrics = 'time_to_first_byte,first_contentful_paint,largest_contentful_paint,cumulative_layout_shift,first_input_delay';
    for (const e of events) {
      const page = bc(e).interaction_context?.page_context;
      if (!page) continue;
      if (page.page_load_metrics && Object.keys(page.page_load_metrics).join() !== metrics) wrong.push(page.page_load_metrics);
      for (const i of page.user_interactions ?? []) {
        const sid = e.event_data.user_context.session_data.session_id;
        const ok = Object.keys(i).join() === 'interaction_type,element_id,timestamp,coordinates,interaction_sequence' && Object.keys(i.coordinates!).join() === 'x,y';
        // interaction_sequence grows through the session.
        if (!ok || i.interaction_sequence! <= (bySession.get(sid) ?? 0)) wrong.push(i);
        bySession.set(sid, i.interaction_sequence!);
      }
    }
    expect(wrong).toEqual([]);
    const pageTypes = new Set(events.map((e) => bc(e).interaction_context?.page_context?.page_type).filter(Boolean));
    expect(pageTypes).toEqual(new Set(['product_detail', 'category', 'checkout', 'search_results']));
    for (const e of ofSubtype('login')) expect(bc(e).interaction_context!.page_context!.page_type).toBeUndefined();
  });

  test('experiments and feature flags in the brief shapes', () => {
    const ctx = events.map((e) => bc(e).interaction_context?.experiment_context).filter((x) => x !== undefined);
    expect(ctx.length / N).toBeGreaterThan(0.3);
    for (const x of ctx.slice(0, 2000)) {
      for (const a of x.active_experiments!) expect(Object.keys(a)).toEqual(['experiment_id', 'variant', 'allocation_timestamp', 'experiment_type']);
      for (const f of x.feature_flags!) expect(Object.keys(f)).toEqual(['flag_name', 'enabled', 'variant', 'rollout_percentage']);
    }
    expect(new Set(ctx.flatMap((x) => x.active_experiments!.map((a) => a.experiment_type)))).toEqual(new Set(['ui_test', 'algorithm_test', 'feature_flag']));
  });

  test('technical context on every event; lineage on transactions; full telemetry on platform events', () => {
    const wrong: unknown[] = [];
    for (const e of events) {
      const tc = e.event_data.technical_context!;
      const im = tc.infrastructure_metadata!;
      const pt = tc.performance_telemetry!;
      const type = e.event_data.event_type;
      const ok =
        typeof im.processing_region === 'string' && typeof im.availability_zone === 'string' && typeof im.server_instance === 'string' &&
        typeof pt.request_id === 'string' && /^[0-9a-f]{32}$/.test(pt.trace_id!) && typeof pt.processing_time_ms === 'number' &&
        tc.security_context?.security_flags !== undefined && typeof tc.security_context.rate_limit_remaining === 'number' &&
        (type === 'user_interaction' || Array.isArray(tc.data_lineage?.upstream_systems)) &&
        (type !== 'system_event' || (typeof pt.memory_usage_mb === 'number' && typeof pt.cpu_utilization === 'number')) &&
        (type !== 'system_event' || e.event_data.event_subtype === 'deployment' || typeof pt.status_code === 'number');
      if (!ok) wrong.push(e);
    }
    expect(wrong).toEqual([]);
    for (const e of ofSubtype('rate_limit_hit')) expect(e.event_data.technical_context!.security_context!.rate_limit_remaining).toBe(0);
    for (const e of ofSubtype('deployment')) expect(e.event_data.technical_context!.infrastructure_metadata).toMatchObject({ service_name: expect.any(String), service_version: expect.any(String) });
  });

  test('ml_context: each inference carries its model score in the brief shape; payments carry the fraud score', () => {
    for (const e of ofType('ml_inference')) {
      const ms = e.ml_context!.model_scores!;
      expect(e.ml_context!.feature_vectors!.user_features).toHaveLength(5);
      const sub = e.event_data.event_subtype;
      if (sub === 'fraud_score') expect(ms.fraud_detection).toEqual({ model_version: expect.any(String), score: expect.any(Number), confidence: expect.any(Number), explanation: expect.any(Array) });
      else if (sub === 'recommendation') {
        expect(ms.recommendation!.model_version).toEqual(expect.any(String));
        for (const r of ms.recommendation!.recommendations!) expect(Object.keys(r)).toEqual(['product_id', 'score', 'reason']);
      } else {
        expect(sub).toBe('churn_prediction');
        expect(Object.keys(ms.churn_prediction!)).toEqual(['model_version', 'churn_probability', 'days_to_churn', 'intervention_recommended']);
      }
    }
    for (const e of ofSubtype('payment_attempt').concat(ofSubtype('purchase'))) expect(e.ml_context!.model_scores!.fraud_detection!.score).toBeGreaterThanOrEqual(0);
    // The model sees fraud: labelled fraud payments score higher on average.
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const scores = (fraud: boolean) => all.filter((x) => x.label.fraud === fraud && x.event.event_data.event_subtype === 'payment_attempt').map((x) => x.event.ml_context!.model_scores!.fraud_detection!.score);
    expect(mean(scores(true))).toBeGreaterThan(mean(scores(false)) + 0.2);
  });

  test('bots hit rate limits inside their labelled session', () => {
    const limited = all.filter((x) => x.event.event_data.event_subtype === 'rate_limit_hit' && x.label.fraud);
    expect(limited.length).toBeGreaterThan(0);
    for (const x of limited) {
      expect(x.label.scenario).toBe('bot');
      expect(x.event.event_data.event_type).toBe('system_event');
      expect(x.event.event_data.user_context.anonymous_id).toBeDefined();
    }
  });
});
