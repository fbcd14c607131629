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

const str = (extra: JsonSchema = {}): JsonSchema => ({ type: 'string', minLength: 1, ...extra });
const num = (extra: JsonSchema = {}): JsonSchema => ({ type: 'number', ...extra });
const int = (extra: JsonSchema = {}): JsonSchema => ({ type: 'integer', ...extra });
const bool = (): JsonSchema => ({ type: 'boolean' });
const ts = (): JsonSchema => ({ type: 'string', format: 'date-time' });
const uuid = (): JsonSchema => ({ type: 'string', format: 'uuid' });
const oneOf = (values: readonly string[]): JsonSchema => ({ type: 'string', enum: values });
const arr = (items: JsonSchema, extra: JsonSchema = {}): JsonSchema => ({ type: 'array', items, ...extra });
const obj = (properties: Record<string, JsonSchema>, required: string[] = []): JsonSchema => ({
  type: 'object',
  properties,
  required,
  additionalProperties: true,
});
const money = () => num({ minimum: 0 });
const currency = () => str({ pattern: '^[A-Z]{3}$' });
const country = () => str({ pattern: '^[A-Z]{2}$' });
const score = () => num({ minimum: 0, maximum: 1 });

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

/** 2.0 and 2.1 share their shape; 2.1 adds only optional fields (see the registry notes). */
function nestedSchema(minor: 0 | 1): JsonSchema {
  const v21 = minor === 1;
  const segmentation: Record<string, JsonSchema> = {
    customer_tier: str(),
    lifecycle_stage: str(),
    behavioral_segments: arr(str()),
  };
  if (v21) segmentation.predictive_scores = obj({ churn_probability: score(), lifetime_value: money(), next_purchase_days: num({ minimum: 0 }) });

  const metadata: Record<string, JsonSchema> = {
    event_id: uuid(),
    correlation_id: str(),
    causation_id: { type: ['string', 'null'] },
    timestamp: ts(),
    ingestion_timestamp: ts(),
    source_system: oneOf(SOURCE_SYSTEMS),
    event_version: str(),
  };
  if (v21) {
    metadata.processing_flags = obj(
      { requires_enrichment: bool(), pii_contains: bool(), gdpr_subject: bool(), audit_required: bool() },
      ['requires_enrichment', 'pii_contains', 'gdpr_subject', 'audit_required'],
    );
  }

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
  if (v21) technical.data_lineage = obj({});

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
      schema_version: { type: 'string', const: v21 ? '2.1' : '2.0' },
      tenant_id: str(),
      partition_key: str(),
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
  if (v21) {
    schema.properties!.ml_context = obj({
      feature_vectors: obj({}),
      model_scores: obj({ fraud_detection: score(), recommendation: score(), churn_prediction: score() }),
    });
  }
  schema.$id = `https://rtap.dev/schemas/event/${v21 ? '2.1' : '2.0'}.json`;
  schema.title = `rtap event ${v21 ? '2.1' : '2.0'}`;
  return schema;
}

function flatSchema(): JsonSchema {
  return {
    ...obj(
      {
        schema_version: { type: 'string', const: '1.0' },
        event_id: uuid(),
        tenant_id: str(),
        user_id: str(),
        session_id: str(),
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
  '2.0': nestedSchema(0),
  '2.1': nestedSchema(1),
} as const satisfies Record<string, JsonSchema>;
