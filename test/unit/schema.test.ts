/* eslint-disable @typescript-eslint/no-explicit-any -- tests break events on purpose through loose casts */
import { checkCompatibility, EVENT_SCHEMAS, parseEvent, readEvent, UPCAST_BRIDGES, upcast, validateEvent, type EventV10, type EventV20, type JsonSchema } from '../../core/schema';
import { loadFixture } from '../contract/brief-event';

const clone = <T>(x: T): T => JSON.parse(JSON.stringify(x)) as T;

/** The brief's complete 2.1 purchase event, to mutate. */
const sampleEvent = () => loadFixture() as Record<string, any>;

describe('compatibility checker', () => {
  const base = (): JsonSchema => clone(EVENT_SCHEMAS['2.1']) as JsonSchema;

  test("the registry itself: 2.0 → 2.1 breaks exactly where 2.1 took the brief's shapes, and an upcaster bridges it", () => {
    const r = checkCompatibility(EVENT_SCHEMAS['2.0'], EVENT_SCHEMAS['2.1']);
    expect(r.compatible).toBe(false);
    const reshaped = [
      'user_agent_parsed',
      'tax_breakdown',
      'shipping_costs',
      'discounts_applied',
      'loyalty_benefits',
      'user_interactions',
      'active_experiments',
      'feature_flags',
      'shipping_context',
      // Required in 2.0, optional in 2.1 (the brief does not require them).
      'geolocation.country',
      'tenant_metadata.merchant_id',
      'product_hierarchy.category_l1',
      'pricing',
      'inventory',
      'payment_methods',
      'risk_profile.fraud_score',
      'privacy_settings',
      'security_flags',
      'shipping_method',
      'touchpoint_journey[].timestamp',
      'touchpoint_journey[].attribution_weight',
      'billing_address.country',
      'shipping_address.country',
      // 2.0 closed these value sets; 2.1 leaves them open (warnings).
      'account_type',
      'verification_status',
      'address_type',
      'method_type',
    ];
    for (const c of r.breaking) expect(reshaped.some((field) => c.path.includes(field))).toBe(true);
    expect(UPCAST_BRIDGES['2.0 → 2.1']).toBeDefined();
  });

  test('accepts an added optional field', () => {
    const next = base();
    next.properties!.event_metadata.properties!.priority = { type: 'integer' };
    const r = checkCompatibility(base(), next);
    expect(r.compatible).toBe(true);
    expect(r.safe).toEqual([{ path: '$.event_metadata.priority', kind: 'added_optional', detail: 'new optional field' }]);
  });

  test('rejects removing a required field', () => {
    const next = base();
    delete next.properties!.event_metadata.properties!.correlation_id;
    next.properties!.event_metadata.required = next.properties!.event_metadata.required!.filter((f) => f !== 'correlation_id');
    const r = checkCompatibility(base(), next);
    expect(r.compatible).toBe(false);
    expect(r.breaking).toEqual([expect.objectContaining({ path: '$.event_metadata.correlation_id', kind: 'removed_required' })]);
  });

  test('rejects retyping a required field', () => {
    const next = base();
    next.properties!.tenant_id = { type: 'integer' };
    const r = checkCompatibility(base(), next);
    expect(r.compatible).toBe(false);
    expect(r.breaking).toEqual([expect.objectContaining({ path: '$.tenant_id', kind: 'type_changed' })]);
  });

  test('rejects adding a required field and making an optional one required; warns on a widened enum', () => {
    const next = base();
    next.properties!.region = { type: 'string' };
    next.required = [...next.required!, 'region'];
    const md = next.properties!.event_metadata;
    md.required = [...md.required!, 'ingestion_timestamp'];
    md.properties!.source_system = { type: 'string', enum: [...(md.properties!.source_system.enum ?? []), 'iot'] };
    const r = checkCompatibility(base(), next);
    expect(r.breaking.map((c) => [c.path, c.kind])).toEqual(
      expect.arrayContaining([
        ['$.region', 'added_required'],
        ['$.event_metadata.ingestion_timestamp', 'made_required'],
      ]),
    );
    expect(r.warnings.map((c) => c.kind)).toEqual(['enum_widened']);
  });

  test('looks inside arrays', () => {
    const next = base();
    const pm = next.properties!.event_data.properties!.business_context.properties!.transaction_context.properties!.cart_context.properties!.payment_context.properties!.payment_methods.items!;
    pm.properties!.tokenized_identifier = { type: 'number' };
    const r = checkCompatibility(base(), next);
    expect(r.breaking[0].path).toBe('$.event_data.business_context.transaction_context.cart_context.payment_context.payment_methods[].tokenized_identifier');
  });
});

describe('validator', () => {
  test("the brief's complete event is valid 2.1", () => {
    expect(validateEvent(sampleEvent())).toEqual({ ok: true, version: '2.1' });
  });

  test('reports every violation with its JSON path and reason', () => {
    const e = sampleEvent() as unknown as Record<string, any>;
    delete e.tenant_id;
    e.event_metadata.timestamp = 'yesterday';
    e.event_metadata.source_system = 'fax';
    e.event_data.user_context.session_data.session_sequence = '3';
    e.event_data.business_context.transaction_context.cart_context.payment_context.payment_methods[0].risk_signals.fraud_score = 7;
    delete e.event_data.business_context.transaction_context.cart_context.cart_id;
    const r = validateEvent(e);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.reason.code).toBe('schema_invalid');
    expect(r.reason.schema_version).toBe('2.1');
    const cart = '$.event_data.business_context.transaction_context.cart_context';
    expect(r.reason.violations).toEqual(
      expect.arrayContaining([
        { path: '$.tenant_id', reason: 'is required' },
        { path: '$.event_metadata.timestamp', reason: 'must be a valid date-time' },
        { path: '$.event_metadata.source_system', reason: expect.stringContaining('must be one of "web_app"') },
        { path: '$.event_data.user_context.session_data.session_sequence', reason: 'must be integer' },
        { path: `${cart}.payment_context.payment_methods[0].risk_signals.fraud_score`, reason: 'must be <= 1' },
        { path: `${cart}.cart_id`, reason: 'is required' },
      ]),
    );
    expect(r.reason.violations).toHaveLength(6);
  });

  test('non-objects, missing and unknown versions, and bad JSON go to the DLQ with a code', () => {
    expect(validateEvent([])).toMatchObject({ ok: false, reason: { code: 'not_object' } });
    expect(validateEvent({ tenant_id: 't' })).toMatchObject({ ok: false, reason: { code: 'missing_version', violations: [{ path: '$.schema_version' }] } });
    expect(validateEvent({ schema_version: '9.0' })).toMatchObject({ ok: false, reason: { code: 'unknown_version', schema_version: '9.0' } });
    expect(parseEvent('{"schema_version":')).toMatchObject({ ok: false, reason: { code: 'not_json' } });
  });

  test('a newer minor of a known major is read with the newest known minor (forward compatible)', () => {
    const e = { ...sampleEvent(), schema_version: '2.9', new_field: { x: 1 } };
    const r = validateEvent(e);
    expect(r).toEqual({ ok: true, version: '2.1' });
    const bad = { ...e, tenant_id: 5 };
    expect(validateEvent(bad)).toMatchObject({ ok: false, reason: { violations: [{ path: '$.tenant_id', reason: 'must be string' }] } });
  });
});

describe('upcasting', () => {
  const v10: EventV10 = {
    schema_version: '1.0',
    event_id: '0b7e3c2a-6f1d-4e8a-9c55-1d2e3f4a5b6c',
    tenant_id: 't_00001',
    user_id: 'u_1_7',
    session_id: 's_abc',
    event_type: 'purchase',
    timestamp: '2025-06-01T10:00:00.123Z',
    received_at: '2025-06-01T10:00:01+02:00',
    source: 'mobile',
    device_id: 'fp_dev1',
    user_agent: 'Mozilla/5.0 test',
    email: 'a@b.example',
    country: 'DE',
    city: 'Berlin',
    latitude: 52.5,
    longitude: 13.4,
    page_url: 'https://shop/x',
    referrer: 'https://ref/',
    order_id: 'o_1',
    amount: 99.5,
    currency: 'EUR',
    payment_token: 'pm_card_1',
    product_ids: ['p1', 'p2'],
  };

  test('1.0 → 2.1, field by field, and the result is valid 2.1', () => {
    const r = readEvent(v10);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.sourceVersion).toBe('1.0');
    expect(r.upcast).toBe(true);
    const e = r.event;
    expect(e.schema_version).toBe('2.1');
    expect(e.tenant_id).toBe('t_00001');
    expect(e.partition_key).toBe('t_00001:u_1_7');
    expect(e.event_metadata).toMatchObject({
      event_id: v10.event_id,
      correlation_id: 's_abc',
      timestamp: '2025-06-01T10:00:00.123000Z',
      ingestion_timestamp: '2025-06-01T08:00:01.000000Z',
      source_system: 'mobile_app',
      processing_flags: { pii_contains: true, gdpr_subject: true, audit_required: true, requires_enrichment: false },
    });
    expect(e.event_data.event_type).toBe('transaction');
    expect(e.event_data.event_subtype).toBe('purchase');
    const uc = e.event_data.user_context;
    expect(uc.user_id).toBe('u_1_7');
    expect(uc.email).toBe('a@b.example');
    expect(uc.session_data.session_id).toBe('s_abc');
    expect(uc.session_data.session_attributes).toEqual({
      device_fingerprint: 'fp_dev1',
      user_agent: 'Mozilla/5.0 test',
      geolocation: { country: 'DE', city: 'Berlin', coordinates: { lat: 52.5, lon: 13.4 } },
    });
    const tx = e.event_data.business_context!.transaction_context!;
    expect(tx.products).toEqual([{ product_id: 'p1' }, { product_id: 'p2' }]);
    expect(tx.cart_context).toEqual({ cart_id: 'o_1', cart_value: { final_total: 99.5, currency: 'EUR' }, payment_context: { payment_methods: [{ tokenized_identifier: 'pm_card_1' }] } });
    expect(e.event_data.business_context!.interaction_context!.page_context).toEqual({ page_url: 'https://shop/x', referrer_url: 'https://ref/' });
    expect(e.event_data.technical_context!.data_lineage).toEqual({ upcast_from: '1.0' });
    expect(validateEvent(e)).toEqual({ ok: true, version: '2.1' });
  });

  test('1.0 with only required fields maps a page view without optional contexts', () => {
    const minimal: EventV10 = { schema_version: '1.0', event_id: v10.event_id, tenant_id: 't', session_id: 's', event_type: 'page_view', timestamp: '2025-06-01T10:00:00Z', source: 'web' };
    const e = upcast(minimal, '1.0');
    expect(e.partition_key).toBe('t:s');
    expect(e.event_data.event_type).toBe('user_interaction');
    expect(e.event_data.user_context).toEqual({ session_data: { session_id: 's' } });
    expect(e.event_data.business_context).toBeUndefined();
    expect(e.event_metadata.timestamp).toBe('2025-06-01T10:00:00.000000Z');
    expect(e.event_metadata.processing_flags).toEqual({ requires_enrichment: true, pii_contains: false, gdpr_subject: false, audit_required: false });
    expect(validateEvent(e)).toEqual({ ok: true, version: '2.1' });
  });

  const v20: EventV20 = {
    schema_version: '2.0',
    tenant_id: 'acme',
    partition_key: 'acme:u_1',
    event_metadata: { event_id: '0b7e3c2a-6f1d-4e8a-9c55-1d2e3f4a5b6c', correlation_id: 's_1', timestamp: '2025-06-01T10:00:00.123456Z', source_system: 'web_app' },
    event_data: {
      event_type: 'transaction',
      event_subtype: 'purchase',
      user_context: {
        user_id: 'u_1',
        session_data: {
          session_id: 's_1',
          session_attributes: { device_fingerprint: 'fp_1', user_agent_parsed: { browser: 'Chrome', os: 'Windows', device: 'desktop' } },
        },
        user_profile: { account_type: 'registered', verification_status: 'kyc_verified' },
      },
      business_context: {
        transaction_context: {
          products: [{ product_id: 'p1', product_hierarchy: { category_l1: 'Shoes' } }],
          cart_context: {
            cart_id: 'c_1',
            cart_value: {
              subtotal: 100,
              tax_breakdown: [{ tax_type: 'sales_tax', amount: 8 }],
              shipping_costs: 4.99,
              discounts_applied: [{ code: 'SPRING15', amount: 15, type: 'percentage' }],
              loyalty_benefits: 2,
              final_total: 95.99,
              currency: 'USD',
            },
            payment_context: { payment_methods: [{ method_type: 'card', provider: 'visa', tokenized_identifier: 'pm_1' }] },
            shipping_context: { shipping_method: { carrier: 'ups', service_level: 'ground', estimated_days: 3 } },
          },
        },
        interaction_context: {
          page_context: { page_type: 'checkout', user_interactions: [{ type: 'click', target: 'buy', offset_ms: 10 }] },
          experiment_context: { active_experiments: ['exp_a'], feature_flags: ['ff_b'] },
        },
      },
    },
  };

  test("2.0 → 2.1 maps rtap's pre-brief shapes to the brief's, field by field, without mutating its input", () => {
    const before = clone(v20);
    const r = readEvent(v20);
    expect(v20).toEqual(before);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.sourceVersion).toBe('2.0');
    const e = r.event;
    expect(e.event_metadata.processing_flags).toEqual({ requires_enrichment: true, pii_contains: true, gdpr_subject: true, audit_required: true });
    expect(e.event_data.user_context.session_data.session_attributes).toEqual({
      device_fingerprint: 'fp_1',
      user_agent_parsed: { browser: { name: 'Chrome' }, os: { name: 'Windows' }, device: { type: 'desktop' } },
    });
    expect(e.event_data.user_context.user_profile).toEqual({ account_type: 'standard', verification_status: 'verified' });
    const cart = e.event_data.business_context!.transaction_context!.cart_context!;
    expect(cart.cart_value).toEqual({
      subtotal: 100,
      tax_breakdown: [{ type: 'sales_tax', amount: 8 }],
      shipping_costs: { base_shipping: 4.99 },
      discounts_applied: [{ discount_id: 'SPRING15', discount_amount: 15, discount_type: 'percentage' }],
      loyalty_benefits: { monetary_value: 2 },
      final_total: 95.99,
      currency: 'USD',
    });
    expect(cart.payment_context).toEqual({
      payment_methods: [{ method_type: 'credit_card', provider: 'visa', tokenized_identifier: 'pm_1' }],
      shipping_context: { shipping_method: { carrier: 'ups', service_level: 'ground', estimated_days: 3 } },
    });
    expect(e.event_data.business_context!.interaction_context).toEqual({
      page_context: { page_type: 'checkout', user_interactions: [{ interaction_type: 'click', element_id: 'buy', offset_ms: 10 }] },
      experiment_context: { active_experiments: [{ experiment_id: 'exp_a' }], feature_flags: [{ flag_name: 'ff_b', enabled: true }] },
    });
    expect(e.event_data.technical_context!.data_lineage).toEqual({ upcast_from: '2.0' });
    expect(validateEvent(e)).toEqual({ ok: true, version: '2.1' });
    expect(r.warnings).toEqual([]);
  });

  test('a 2.0 event is validated against the 2.0 schema, and the 2.1 shapes are not 2.0', () => {
    expect(validateEvent(v20)).toEqual({ ok: true, version: '2.0' });
    const brief = { ...sampleEvent(), schema_version: '2.0' };
    expect(validateEvent(brief)).toMatchObject({ ok: false, reason: { code: 'schema_invalid', schema_version: '2.0' } });
  });
});
