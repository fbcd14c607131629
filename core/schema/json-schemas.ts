// JSON Schemas (draft-07, as ajv reads them) for every registered event version. Objects are open
// (additionalProperties: true) so a reader of 2.1 accepts a 2.2 event that only adds optional
// fields; required lists and types are the contract the compatibility checker guards.

export type JsonSchema = {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  items?: JsonSchema;
  enum?: readonly (string | number | boolean | null)[];
  const?: string | number | boolean;
  format?: string;
  pattern?: string;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  $id?: string;
  title?: string;
  description?: string;
};

// Every string, number and array is bounded: a schema-valid event can never carry a
// 200,000-character key, an infinite amount (JSON.parse reads 1e400 as Infinity) or a
// million-element list into Kafka, the lake or a metric label.
export const MAX_ID_LENGTH = 256;
export const MAX_TEXT_LENGTH = 2048;
export const MAX_LABEL_LENGTH = 128;
export const MAX_ITEMS = 1000;
/** Largest magnitude of any number: finite, and exact as an integer in a double. */
export const MAX_NUMBER = 1e15;
/** A tenant id: lowercase letters, digits, `_` and `-`, as the control plane registers them. */
export const TENANT_ID_PATTERN_SOURCE = '^[a-z0-9][a-z0-9_-]{0,63}$';

const str = (extra: JsonSchema = {}): JsonSchema => ({ type: 'string', minLength: 1, maxLength: MAX_TEXT_LENGTH, ...extra });
/** Identifiers and keys. */
const id = (): JsonSchema => str({ maxLength: MAX_ID_LENGTH });
/** Descriptive values and short names (the open value sets are checked apart, see value-sets.ts). */
const label = (): JsonSchema => str({ maxLength: MAX_LABEL_LENGTH });
const num = (extra: JsonSchema = {}): JsonSchema => ({ type: 'number', minimum: -MAX_NUMBER, maximum: MAX_NUMBER, ...extra });
const int = (extra: JsonSchema = {}): JsonSchema => ({ type: 'integer', minimum: -MAX_NUMBER, maximum: MAX_NUMBER, ...extra });
const bool = (): JsonSchema => ({ type: 'boolean' });
/** RFC 3339 with a zone; the `date-time` format is core/schema/timestamps.ts's parser. */
const ts = (): JsonSchema => ({ type: 'string', format: 'date-time' });
const uuid = (): JsonSchema => ({ type: 'string', format: 'uuid' });
const oneOf = (values: readonly string[]): JsonSchema => ({ type: 'string', enum: values });
const arr = (items: JsonSchema, extra: JsonSchema = {}): JsonSchema => ({ type: 'array', items, maxItems: MAX_ITEMS, ...extra });
const obj = (properties: Record<string, JsonSchema>, required: string[] = []): JsonSchema => ({
  type: 'object',
  properties,
  required,
  additionalProperties: true,
});
/** A free-form object of numbers (metrics), each bounded. */
const numbers = (): JsonSchema => ({ type: 'object', additionalProperties: num() });
const money = () => num({ minimum: 0, maximum: 1e12 });
const currency = () => str({ pattern: '^[A-Z]{3}$' });
const country = () => str({ pattern: '^[A-Z]{2}$' });
const score = () => num({ minimum: 0, maximum: 1 });
const tenantId = () => str({ maxLength: 64, pattern: TENANT_ID_PATTERN_SOURCE });

export const SOURCE_SYSTEMS = ['web_app', 'mobile_app', 'api', 'batch_import'] as const;
export const EVENT_TYPES = ['user_interaction', 'transaction', 'system_event', 'ml_inference'] as const;

function address(): JsonSchema {
  return obj(
    {
      address_hash: str(),
      address_line: str(),
      country: country(),
      postal_code: str(),
      address_type: oneOf(['residential', 'commercial', 'po_box', 'freight_forwarder']),
      same_as_billing: bool(),
    },
    ['country'],
  );
}

/**
 * Schema 2.0: the nested shapes rtap used before it adopted the brief's exact 2.1 shapes (see
 * types-v20.ts). Read through the 2.0 → 2.1 upcaster.
 */
function v20Schema(): JsonSchema {
  const segmentation: Record<string, JsonSchema> = {
    customer_tier: str(),
    lifecycle_stage: str(),
    behavioral_segments: arr(str()),
  };

  const metadata: Record<string, JsonSchema> = {
    event_id: uuid(),
    correlation_id: id(),
    causation_id: { type: ['string', 'null'], maxLength: MAX_ID_LENGTH },
    timestamp: ts(),
    ingestion_timestamp: ts(),
    source_system: oneOf(SOURCE_SYSTEMS),
    event_version: str(),
  };

  const technical: Record<string, JsonSchema> = {
    infrastructure_metadata: obj({}),
    performance_telemetry: obj({ request_id: str(), trace_id: str(), processing_time_ms: num({ minimum: 0 }) }),
    security_context: obj({
      api_key_hash: str(),
      rate_limit_remaining: int({ minimum: 0 }),
      security_flags: obj(
        { suspicious_user_agent: bool(), tor_exit_node: bool(), known_bot: bool(), geo_blocked: bool() },
        ['suspicious_user_agent', 'tor_exit_node', 'known_bot', 'geo_blocked'],
      ),
    }),
  };

  const product = obj(
    {
      product_id: str(),
      product_hierarchy: obj({ category_l1: str(), category_l2: str(), category_l3: str(), brand: str(), model: str() }, ['category_l1']),
      pricing: obj(
        {
          list_price: money(),
          sale_price: money(),
          cost_basis: money(),
          margin_percentage: num(),
          tax_category: str(),
          currency: currency(),
        },
        ['list_price', 'sale_price', 'currency'],
      ),
      inventory: obj(
        { sku_availability: str(), quantity_available: int(), warehouse_location: str(), supplier_id: str() },
        ['sku_availability', 'quantity_available'],
      ),
      quantity: int({ minimum: 1 }),
      attributes: obj({}),
      performance_metrics: obj({}),
    },
    ['product_id'],
  );

  const paymentMethod = obj(
    {
      method_type: oneOf(['card', 'wallet', 'bank_transfer', 'bnpl', 'gift_card']),
      provider: str(),
      tokenized_identifier: str(),
      billing_address: address(),
      authorization_status: oneOf(['approved', 'declined', 'pending']),
      decline_code: str(),
      amount: money(),
      risk_signals: obj({ first_time_payment: bool(), velocity_flag: bool(), geo_mismatch: bool(), fraud_score: score() }),
    },
    ['tokenized_identifier'],
  );

  const cart = obj(
    {
      cart_id: str(),
      cart_value: obj(
        {
          subtotal: money(),
          tax_breakdown: arr(obj({ tax_type: str(), amount: money() }, ['tax_type', 'amount'])),
          shipping_costs: money(),
          discounts_applied: arr(obj({ code: str(), amount: money(), type: str() }, ['code', 'amount'])),
          loyalty_benefits: money(),
          final_total: money(),
          currency: currency(),
        },
        ['final_total'],
      ),
      payment_context: obj({ payment_methods: arr(paymentMethod, { minItems: 1 }) }, ['payment_methods']),
      shipping_context: obj({
        shipping_address: address(),
        shipping_method: obj({ carrier: str(), service_level: str(), estimated_days: int({ minimum: 0 }) }, ['carrier', 'service_level']),
      }),
    },
    ['cart_id'],
  );

  const schema = obj(
    {
      schema_version: { type: 'string', const: '2.0' },
      tenant_id: tenantId(),
      partition_key: id(),
      event_metadata: obj(metadata, ['event_id', 'correlation_id', 'timestamp', 'source_system']),
      event_data: obj(
        {
          event_type: oneOf(EVENT_TYPES),
          event_subtype: str(),
          user_context: obj(
            {
              user_id: str(),
              anonymous_id: str(),
              email: str(),
              session_data: obj(
                {
                  session_id: str(),
                  session_start: ts(),
                  session_sequence: int({ minimum: 0 }),
                  session_attributes: obj({
                    device_fingerprint: str(),
                    user_agent: str(),
                    geolocation: obj(
                      {
                        country: country(),
                        region: str(),
                        city: str(),
                        coordinates: obj({ lat: num({ minimum: -90, maximum: 90 }), lon: num({ minimum: -180, maximum: 180 }) }, ['lat', 'lon']),
                        accuracy_meters: num({ minimum: 0 }),
                        ip_derived: bool(),
                        timezone: str(),
                      },
                      ['country'],
                    ),
                    user_agent_parsed: obj({ browser: str(), os: str(), device: str() }, ['browser', 'os', 'device']),
                  }),
                },
                ['session_id'],
              ),
              user_profile: obj({
                account_type: oneOf(['guest', 'registered', 'business']),
                registration_date: ts(),
                verification_status: oneOf(['unverified', 'email_verified', 'phone_verified', 'kyc_verified']),
                risk_profile: obj({ fraud_score: score(), credit_rating: str(), behavioral_flags: arr(str()) }, ['fraud_score']),
                preferences: obj({
                  communication_channels: arr(str()),
                  privacy_settings: obj(
                    { tracking_consent: bool(), marketing_consent: bool(), analytics_consent: bool() },
                    ['tracking_consent', 'marketing_consent', 'analytics_consent'],
                  ),
                }),
                segmentation: obj(segmentation),
              }),
            },
            ['session_data'],
          ),
          business_context: obj({
            tenant_metadata: obj(
              {
                merchant_id: str(),
                merchant_tier: str(),
                industry_vertical: str(),
                geographic_markets: arr(country()),
                business_model: str(),
              },
              ['merchant_id'],
            ),
            transaction_context: obj({ products: arr(product), cart_context: cart }),
            interaction_context: obj({
              touchpoint_journey: arr(
                obj({ touchpoint: str(), campaign_id: str(), timestamp: ts(), attribution_weight: score() }, ['touchpoint', 'timestamp', 'attribution_weight']),
              ),
              page_context: obj({
                page_type: str(),
                page_url: str(),
                referrer_url: str(),
                page_load_metrics: obj({}),
                user_interactions: arr(obj({ type: str(), target: str(), offset_ms: num({ minimum: 0 }) }, ['type'])),
              }),
              experiment_context: obj({ active_experiments: arr(str()), feature_flags: arr(str()) }),
            }),
          }),
          technical_context: obj(technical),
        },
        ['event_type', 'event_subtype', 'user_context'],
      ),
    },
    ['schema_version', 'tenant_id', 'partition_key', 'event_metadata', 'event_data'],
  );
  schema.$id = 'https://rtap.dev/schemas/event/2.0.json';
  schema.title = 'rtap event 2.0';
  return schema;
}

/**
 * Schema 2.1: the brief's event, in the brief's exact shapes (../shared/SPEC.md; the complete
 * example is test/fixtures/event-2.1-full.json). Required are only what the pipeline computes
 * with: ids, event time, event type, the cart total, and the key fields of list entries.
 * Descriptive values (account_type, carrier, page_type…) are plain bounded strings here; their
 * known sets are checked apart and only warn (value-sets.ts).
 */
function v21Schema(): JsonSchema {
  const address = obj({
    address_hash: id(),
    address_line: str(),
    country: country(),
    postal_code: label(),
    address_type: label(),
    same_as_billing: bool(),
  });
  const product = obj(
    {
      product_id: id(),
      product_hierarchy: obj({ category_l1: label(), category_l2: label(), category_l3: label(), brand: label(), model: label() }),
      pricing: obj({
        list_price: money(),
        sale_price: money(),
        cost_basis: money(),
        margin_percentage: num(),
        tax_category: label(),
        currency: currency(),
      }),
      inventory: obj({ sku_availability: label(), quantity_available: int(), warehouse_location: label(), supplier_id: id() }),
      quantity: int({ minimum: 1 }),
      attributes: obj({ condition: label() }),
      performance_metrics: numbers(),
    },
    ['product_id'],
  );
  const paymentMethod = obj({
    method_type: label(),
    provider: label(),
    tokenized_identifier: id(),
    billing_address: address,
    risk_signals: obj({ first_time_payment: bool(), velocity_flag: bool(), geo_mismatch: bool(), fraud_score: score() }),
    authorization_status: oneOf(['approved', 'declined', 'pending']),
    decline_code: label(),
    amount: money(),
  });
  const shipping = obj({
    shipping_address: address,
    shipping_method: obj({
      carrier: label(),
      service_level: label(),
      estimated_delivery: ts(),
      tracking_enabled: bool(),
      signature_required: bool(),
    }),
  });
  const cart = obj(
    {
      cart_id: id(),
      cart_value: obj(
        {
          subtotal: money(),
          tax_breakdown: arr(obj({ type: label(), rate: num({ minimum: 0, maximum: 1 }), amount: money() }, ['type', 'amount'])),
          shipping_costs: obj({ base_shipping: money(), expedited_fee: money(), insurance: money() }),
          discounts_applied: arr(
            obj(
              { discount_id: id(), discount_type: label(), discount_value: num({ minimum: 0 }), discount_amount: money(), eligibility_rules: arr(label()) },
              ['discount_amount'],
            ),
          ),
          loyalty_benefits: obj({
            points_earned: int({ minimum: 0 }),
            points_redeemed: int({ minimum: 0 }),
            tier_bonus_multiplier: num({ minimum: 0 }),
            cashback_percentage: num({ minimum: 0, maximum: 1 }),
          }),
          final_total: money(),
          currency: currency(),
        },
        ['final_total'],
      ),
      payment_context: obj({ payment_methods: arr(paymentMethod, { maxItems: 20 }), shipping_context: shipping }),
    },
    ['cart_id'],
  );
  const interaction = obj({
    touchpoint_journey: arr(obj({ touchpoint: label(), campaign_id: id(), timestamp: ts(), attribution_weight: score() }, ['touchpoint'])),
    page_context: obj({
      page_type: label(),
      page_url: str(),
      referrer_url: str(),
      page_load_metrics: numbers(),
      user_interactions: arr(
        obj(
          {
            interaction_type: label(),
            element_id: id(),
            timestamp: ts(),
            coordinates: obj({ x: num(), y: num() }, ['x', 'y']),
            interaction_sequence: int({ minimum: 0 }),
          },
          ['interaction_type'],
        ),
      ),
    }),
    experiment_context: obj({
      active_experiments: arr(obj({ experiment_id: id(), variant: label(), allocation_timestamp: ts(), experiment_type: label() }, ['experiment_id'])),
      feature_flags: arr(obj({ flag_name: id(), enabled: bool(), variant: label(), rollout_percentage: num({ minimum: 0, maximum: 100 }) }, ['flag_name'])),
    }),
  });
  const userContext = obj(
    {
      user_id: id(),
      anonymous_id: id(),
      email: str({ maxLength: 320 }),
      session_data: obj(
        {
          session_id: id(),
          session_start: ts(),
          session_sequence: int({ minimum: 0 }),
          session_attributes: obj({
            device_fingerprint: id(),
            user_agent: str(),
            geolocation: obj({
              country: country(),
              region: label(),
              city: label(),
              coordinates: obj({ lat: num({ minimum: -90, maximum: 90 }), lon: num({ minimum: -180, maximum: 180 }) }, ['lat', 'lon']),
              accuracy_meters: num({ minimum: 0 }),
              ip_derived: bool(),
              timezone: label(),
            }),
            user_agent_parsed: obj({
              browser: obj({ name: label(), version: label() }),
              os: obj({ name: label(), version: label() }),
              device: obj({ type: label(), brand: label() }),
            }),
          }),
        },
        ['session_id'],
      ),
      user_profile: obj({
        account_type: label(),
        registration_date: ts(),
        verification_status: label(),
        risk_profile: obj({ fraud_score: score(), credit_rating: label(), behavioral_flags: arr(label()) }),
        preferences: obj({
          communication_channels: arr(label()),
          privacy_settings: obj({ tracking_consent: bool(), marketing_consent: bool(), analytics_consent: bool() }),
        }),
        segmentation: obj({
          customer_tier: label(),
          lifecycle_stage: label(),
          behavioral_segments: arr(label()),
          predictive_scores: obj({ churn_probability: score(), lifetime_value: money(), next_purchase_days: num({ minimum: 0 }) }),
        }),
      }),
    },
    ['session_data'],
  );
  const schema = obj(
    {
      schema_version: { type: 'string', const: '2.1' },
      tenant_id: tenantId(),
      partition_key: id(),
      event_metadata: obj(
        {
          event_id: uuid(),
          correlation_id: id(),
          causation_id: { type: ['string', 'null'], maxLength: MAX_ID_LENGTH },
          timestamp: ts(),
          ingestion_timestamp: ts(),
          source_system: oneOf(SOURCE_SYSTEMS),
          event_version: label(),
          processing_flags: obj({ requires_enrichment: bool(), pii_contains: bool(), gdpr_subject: bool(), audit_required: bool() }),
        },
        ['event_id', 'correlation_id', 'timestamp', 'source_system'],
      ),
      event_data: obj(
        {
          event_type: oneOf(EVENT_TYPES),
          event_subtype: label(),
          user_context: userContext,
          business_context: obj({
            tenant_metadata: obj({
              merchant_id: id(),
              merchant_tier: label(),
              industry_vertical: label(),
              geographic_markets: arr(country()),
              business_model: label(),
            }),
            transaction_context: obj({ products: arr(product, { maxItems: 500 }), cart_context: cart }),
            interaction_context: interaction,
          }),
          technical_context: obj({
            infrastructure_metadata: obj({}),
            performance_telemetry: obj({ request_id: id(), trace_id: id(), processing_time_ms: num({ minimum: 0 }) }),
            security_context: obj({
              request_signature: id(),
              api_key_hash: id(),
              rate_limit_remaining: int({ minimum: 0 }),
              security_flags: obj({ suspicious_user_agent: bool(), tor_exit_node: bool(), known_bot: bool(), geo_blocked: bool() }),
            }),
            data_lineage: obj({}),
          }),
        },
        ['event_type', 'event_subtype', 'user_context'],
      ),
      ml_context: obj({
        feature_vectors: { type: 'object', additionalProperties: arr(num(), { maxItems: 4096 }) },
        model_scores: obj({
          fraud_detection: obj({ model_version: label(), score: score(), confidence: score(), explanation: arr(label()) }, ['score']),
          recommendation: obj({
            model_version: label(),
            recommendations: arr(obj({ product_id: id(), score: num(), reason: label() }, ['product_id'])),
          }),
          churn_prediction: obj(
            { model_version: label(), churn_probability: score(), days_to_churn: num({ minimum: 0 }), intervention_recommended: label() },
            ['churn_probability'],
          ),
        }),
      }),
    },
    ['schema_version', 'tenant_id', 'partition_key', 'event_metadata', 'event_data'],
  );
  schema.$id = 'https://rtap.dev/schemas/event/2.1.json';
  schema.title = 'rtap event 2.1';
  return schema;
}

function flatSchema(): JsonSchema {
  return {
    ...obj(
      {
        schema_version: { type: 'string', const: '1.0' },
        event_id: uuid(),
        tenant_id: tenantId(),
        user_id: id(),
        session_id: id(),
        event_type: str(),
        timestamp: ts(),
        received_at: ts(),
        source: oneOf(['web', 'mobile', 'api', 'batch']),
        device_id: str(),
        user_agent: str(),
        email: str(),
        country: country(),
        city: str(),
        latitude: num({ minimum: -90, maximum: 90 }),
        longitude: num({ minimum: -180, maximum: 180 }),
        page_url: str(),
        referrer: str(),
        order_id: str(),
        amount: money(),
        currency: currency(),
        payment_token: str(),
        product_ids: arr(str()),
      },
      ['schema_version', 'event_id', 'tenant_id', 'session_id', 'event_type', 'timestamp', 'source'],
    ),
    $id: 'https://rtap.dev/schemas/event/1.0.json',
    title: 'rtap event 1.0 (flat)',
  };
}

export const EVENT_SCHEMAS = {
  '1.0': flatSchema(),
  '2.0': v20Schema(),
  '2.1': v21Schema(),
} as const satisfies Record<string, JsonSchema>;
