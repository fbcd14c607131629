// The rtap event as TypeScript types. `RtapEvent` is the current version (2.1, nested); `EventV20`
// and `EventV10` are the older forms that readers still accept through upcasters (registry.ts).
// The JSON Schemas in json-schemas.ts are the runtime contract; keep both in step.

export type SourceSystem = 'web_app' | 'mobile_app' | 'api' | 'batch_import';
export type EventType = 'user_interaction' | 'transaction' | 'system_event' | 'ml_inference';

export interface ProcessingFlags {
  requires_enrichment: boolean;
  pii_contains: boolean;
  gdpr_subject: boolean;
  audit_required: boolean;
}

export interface EventMetadata {
  event_id: string;
  /** The session the event belongs to. */
  correlation_id: string;
  /** The event that caused this one (previous event of the session), when known. */
  causation_id?: string | null;
  /** Event time, ISO-8601 UTC with microseconds. */
  timestamp: string;
  ingestion_timestamp?: string;
  source_system: SourceSystem;
  event_version?: string;
  /** Added in 2.1. */
  processing_flags?: ProcessingFlags;
}

export interface Coordinates {
  lat: number;
  lon: number;
}

export interface Geolocation {
  country: string;
  region?: string;
  city?: string;
  coordinates?: Coordinates;
  accuracy_meters?: number;
  ip_derived?: boolean;
  timezone?: string;
}

export interface SessionAttributes {
  device_fingerprint?: string;
  geolocation?: Geolocation;
  user_agent_parsed?: { browser: string; os: string; device: string };
  /** Raw user agent string (carried over from 1.0 events). */
  user_agent?: string;
}

export interface SessionData {
  session_id: string;
  session_start?: string;
  session_sequence?: number;
  session_attributes?: SessionAttributes;
}

export interface UserProfile {
  account_type?: 'guest' | 'registered' | 'business';
  registration_date?: string;
  verification_status?: 'unverified' | 'email_verified' | 'phone_verified' | 'kyc_verified';
  risk_profile?: { fraud_score: number; credit_rating?: string; behavioral_flags?: string[] };
  preferences?: {
    communication_channels?: string[];
    privacy_settings?: { tracking_consent: boolean; marketing_consent: boolean; analytics_consent: boolean };
  };
  segmentation?: {
    customer_tier?: string;
    lifecycle_stage?: string;
    behavioral_segments?: string[];
    /** Added in 2.1. */
    predictive_scores?: { churn_probability: number; lifetime_value: number; next_purchase_days: number };
  };
}

export interface UserContext {
  /** Tokenized (`tok_v1_…`) once the event has passed ingestion; raw before. */
  user_id?: string;
  anonymous_id?: string;
  /** PII: tokenized at ingestion. */
  email?: string;
  session_data: SessionData;
  user_profile?: UserProfile;
}

export interface Product {
  product_id: string;
  product_hierarchy?: { category_l1: string; category_l2?: string; category_l3?: string; brand?: string; model?: string };
  pricing?: {
    list_price: number;
    sale_price: number;
    cost_basis?: number;
    margin_percentage?: number;
    tax_category?: string;
    currency: string;
  };
  inventory?: { sku_availability: string; quantity_available: number; warehouse_location?: string; supplier_id?: string };
  quantity?: number;
  attributes?: Record<string, string | number | boolean>;
  performance_metrics?: Record<string, number>;
}

export interface Address {
  /** Keyed token of the address (tokenization replaces `address_line` with this). */
  address_hash?: string;
  /** PII: the raw address line; removed by tokenization. */
  address_line?: string;
  country: string;
  postal_code?: string;
  address_type?: 'residential' | 'commercial' | 'po_box' | 'freight_forwarder';
  same_as_billing?: boolean;
}

export interface PaymentMethod {
  method_type?: 'card' | 'wallet' | 'bank_transfer' | 'bnpl' | 'gift_card';
  provider?: string;
  /** PII: payment token / card fingerprint; tokenized at ingestion. */
  tokenized_identifier: string;
  billing_address?: Address;
  authorization_status?: 'approved' | 'declined' | 'pending';
  decline_code?: string;
  amount?: number;
  risk_signals?: { first_time_payment: boolean; velocity_flag: boolean; geo_mismatch: boolean; fraud_score: number };
}

export interface CartContext {
  cart_id: string;
  cart_value?: {
    subtotal?: number;
    tax_breakdown?: { tax_type: string; amount: number }[];
    shipping_costs?: number;
    discounts_applied?: { code: string; amount: number; type?: string }[];
    loyalty_benefits?: number;
    final_total: number;
    currency?: string;
  };
  payment_context?: { payment_methods: PaymentMethod[] };
  shipping_context?: {
    shipping_address?: Address;
    shipping_method?: { carrier: string; service_level: string; estimated_days?: number };
  };
}

export interface BusinessContext {
  tenant_metadata?: {
    merchant_id: string;
    merchant_tier?: string;
    industry_vertical?: string;
    geographic_markets?: string[];
    business_model?: string;
  };
  transaction_context?: { products?: Product[]; cart_context?: CartContext };
  interaction_context?: {
    touchpoint_journey?: { touchpoint: string; campaign_id?: string; timestamp: string; attribution_weight: number }[];
    page_context?: {
      page_type?: string;
      page_url?: string;
      referrer_url?: string;
      page_load_metrics?: Record<string, number>;
      user_interactions?: { type: string; target?: string; offset_ms?: number }[];
    };
    experiment_context?: { active_experiments?: string[]; feature_flags?: string[] };
  };
}

export interface TechnicalContext {
  infrastructure_metadata?: Record<string, string>;
  performance_telemetry?: { request_id?: string; trace_id?: string; processing_time_ms?: number; [k: string]: unknown };
  security_context?: {
    api_key_hash?: string;
    rate_limit_remaining?: number;
    security_flags?: { suspicious_user_agent: boolean; tor_exit_node: boolean; known_bot: boolean; geo_blocked: boolean };
  };
  /** Added in 2.1. */
  data_lineage?: Record<string, unknown>;
}

export interface EventData {
  event_type: EventType;
  event_subtype: string;
  user_context: UserContext;
  business_context?: BusinessContext;
  technical_context?: TechnicalContext;
}

export interface MlContext {
  feature_vectors?: Record<string, number[]>;
  model_scores?: { fraud_detection?: number; recommendation?: number; churn_prediction?: number };
}

/** Schema 2.1: the current event. */
export interface RtapEvent {
  schema_version: '2.1';
  tenant_id: string;
  /** `tenant_id:user_id` (or `tenant_id:anonymous_id`); the Kafka key. */
  partition_key: string;
  event_metadata: EventMetadata;
  event_data: EventData;
  /** Added in 2.1. */
  ml_context?: MlContext;
}

/** Schema 2.0: as 2.1 without processing_flags, data_lineage, predictive_scores and ml_context. */
export interface EventV20 extends Omit<RtapEvent, 'schema_version' | 'ml_context'> {
  schema_version: '2.0';
}

/** Schema 1.0: the flat early form. `event_type` there is what 2.x calls the subtype. */
export interface EventV10 {
  schema_version: '1.0';
  event_id: string;
  tenant_id: string;
  user_id?: string;
  session_id: string;
  event_type: string;
  /** ISO-8601 (millisecond precision in practice). */
  timestamp: string;
  received_at?: string;
  source: 'web' | 'mobile' | 'api' | 'batch';
  device_id?: string;
  user_agent?: string;
  email?: string;
  country?: string;
  city?: string;
  latitude?: number;
  longitude?: number;
  page_url?: string;
  referrer?: string;
  order_id?: string;
  amount?: number;
  currency?: string;
  payment_token?: string;
  product_ids?: string[];
}

export type AnyEvent = EventV10 | EventV20 | RtapEvent;
