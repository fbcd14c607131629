// The rtap event as TypeScript types. `RtapEvent` is the current version, 2.1, in the brief's exact
// shapes (../shared/SPEC.md; a complete example is test/fixtures/event-2.1-full.json). `EventV20`
// (types-v20.ts) and `EventV10` are older forms that readers still accept through upcasters
// (registry.ts). The JSON Schemas in json-schemas.ts are the runtime contract; keep both in step.
// Objects are open: fields beyond these are carried through untouched.
import type { EventV20 } from './types-v20';

export type { EventV20 } from './types-v20';

export type SourceSystem = 'web_app' | 'mobile_app' | 'api' | 'batch_import';
export type EventType = 'user_interaction' | 'transaction' | 'system_event' | 'ml_inference';

/**
 * A descriptive value: the brief names a known set, but an unknown value is accepted (and reported
 * as a data-quality warning), so the type stays open while editors still suggest the known ones.
 */
export type Known<T extends string> = T | (string & {});

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
  /** Event time, ISO-8601; normalized to UTC with microseconds at ingestion. */
  timestamp: string;
  ingestion_timestamp?: string;
  source_system: SourceSystem;
  event_version?: string;
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

export interface UserAgentParsed {
  browser?: { name?: string; version?: string };
  os?: { name?: string; version?: string };
  device?: { type?: string; brand?: string };
}

export interface SessionAttributes {
  device_fingerprint?: string;
  geolocation?: Geolocation;
  user_agent_parsed?: UserAgentParsed;
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
  account_type?: Known<'premium' | 'standard' | 'trial' | 'enterprise'>;
  registration_date?: string;
  verification_status?: Known<'verified' | 'pending' | 'unverified'>;
  risk_profile?: { fraud_score?: number; credit_rating?: Known<'A' | 'B' | 'C' | 'D'>; behavioral_flags?: string[] };
  preferences?: {
    communication_channels?: string[];
    privacy_settings?: { tracking_consent?: boolean; marketing_consent?: boolean; analytics_consent?: boolean };
  };
  segmentation?: {
    customer_tier?: Known<'platinum' | 'gold' | 'silver' | 'bronze'>;
    lifecycle_stage?: Known<'acquisition' | 'activation' | 'retention' | 'resurrection'>;
    behavioral_segments?: string[];
    predictive_scores?: { churn_probability?: number; lifetime_value?: number; next_purchase_days?: number };
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
  product_hierarchy?: { category_l1?: string; category_l2?: string; category_l3?: string; brand?: string; model?: string };
  pricing?: {
    list_price?: number;
    sale_price?: number;
    cost_basis?: number;
    margin_percentage?: number;
    tax_category?: Known<'standard' | 'luxury' | 'exempt'>;
    currency?: string;
  };
  inventory?: {
    sku_availability?: Known<'in_stock' | 'low_stock' | 'backorder' | 'discontinued'>;
    quantity_available?: number;
    warehouse_location?: string;
    supplier_id?: string;
  };
  /** Units in the cart (not in the brief's product; an rtap extension the open object allows). */
  quantity?: number;
  /** Free-form product attributes; `condition` is one of the brief's value sets. */
  attributes?: { condition?: Known<'new' | 'refurbished' | 'used'>; [k: string]: unknown };
  performance_metrics?: Record<string, number>;
}

export interface Address {
  /** Keyed token of the address (tokenization replaces `address_line` with this). */
  address_hash?: string;
  /** PII: the raw address line; removed by tokenization. */
  address_line?: string;
  country?: string;
  postal_code?: string;
  address_type?: Known<'residential' | 'commercial' | 'po_box'>;
  same_as_billing?: boolean;
}

export interface PaymentMethod {
  method_type?: Known<'credit_card' | 'debit_card' | 'digital_wallet' | 'bnpl' | 'crypto'>;
  provider?: Known<'visa' | 'mastercard' | 'amex' | 'paypal' | 'apple_pay' | 'klarna'>;
  /** PII: payment token / card fingerprint; tokenized at ingestion. */
  tokenized_identifier?: string;
  billing_address?: Address;
  risk_signals?: { first_time_payment?: boolean; velocity_flag?: boolean; geo_mismatch?: boolean; fraud_score?: number };
  /** rtap extensions (open object): the authorization outcome of this attempt. */
  authorization_status?: 'approved' | 'declined' | 'pending';
  decline_code?: string;
  amount?: number;
}

export interface ShippingContext {
  shipping_address?: Address;
  shipping_method?: {
    carrier?: Known<'fedex' | 'ups' | 'dhl' | 'usps'>;
    service_level?: Known<'ground' | 'express' | 'overnight' | 'same_day'>;
    estimated_delivery?: string;
    tracking_enabled?: boolean;
    signature_required?: boolean;
  };
}

export interface TaxLine {
  type: string;
  rate?: number;
  amount: number;
}

export interface Discount {
  discount_id?: string;
  discount_type?: Known<'percentage' | 'fixed_amount' | 'buy_x_get_y'>;
  discount_value?: number;
  discount_amount: number;
  eligibility_rules?: string[];
}

export interface CartValue {
  subtotal?: number;
  tax_breakdown?: TaxLine[];
  shipping_costs?: { base_shipping?: number; expedited_fee?: number; insurance?: number };
  discounts_applied?: Discount[];
  loyalty_benefits?: { points_earned?: number; points_redeemed?: number; tier_bonus_multiplier?: number; cashback_percentage?: number };
  final_total: number;
  /** rtap extension: ISO 4217 currency of the cart (the brief carries it per product). */
  currency?: string;
}

export interface CartContext {
  cart_id: string;
  cart_value?: CartValue;
  /** The brief nests shipping inside the payment context. */
  payment_context?: { payment_methods?: PaymentMethod[]; shipping_context?: ShippingContext };
}

export interface Touchpoint {
  touchpoint: string;
  campaign_id?: string;
  timestamp?: string;
  attribution_weight?: number;
}

export interface UserInteraction {
  interaction_type: Known<'click' | 'scroll' | 'hover' | 'form_input'>;
  element_id?: string;
  timestamp?: string;
  coordinates?: { x: number; y: number };
  interaction_sequence?: number;
}

export interface ActiveExperiment {
  experiment_id: string;
  variant?: string;
  allocation_timestamp?: string;
  experiment_type?: Known<'ui_test' | 'algorithm_test' | 'feature_flag'>;
}

export interface FeatureFlag {
  flag_name: string;
  enabled?: boolean;
  variant?: string;
  rollout_percentage?: number;
}

export interface PageContext {
  page_type?: Known<'product_detail' | 'category' | 'checkout' | 'search_results'>;
  page_url?: string;
  referrer_url?: string;
  /** Web vitals in ms (cumulative_layout_shift unitless), e.g. time_to_first_byte, largest_contentful_paint. */
  page_load_metrics?: Record<string, number>;
  user_interactions?: UserInteraction[];
}

export interface BusinessContext {
  tenant_metadata?: {
    merchant_id?: string;
    merchant_tier?: Known<'enterprise' | 'standard' | 'startup'>;
    industry_vertical?: Known<'fashion' | 'electronics' | 'grocery' | 'services'>;
    geographic_markets?: string[];
    business_model?: Known<'b2c' | 'b2b' | 'marketplace' | 'subscription'>;
  };
  transaction_context?: { products?: Product[]; cart_context?: CartContext };
  interaction_context?: {
    touchpoint_journey?: Touchpoint[];
    page_context?: PageContext;
    experiment_context?: { active_experiments?: ActiveExperiment[]; feature_flags?: FeatureFlag[] };
  };
}

export interface TechnicalContext {
  infrastructure_metadata?: Record<string, string>;
  performance_telemetry?: { request_id?: string; trace_id?: string; processing_time_ms?: number; [k: string]: unknown };
  security_context?: {
    request_signature?: string;
    api_key_hash?: string;
    rate_limit_remaining?: number;
    security_flags?: { suspicious_user_agent?: boolean; tor_exit_node?: boolean; known_bot?: boolean; geo_blocked?: boolean };
  };
  data_lineage?: Record<string, unknown>;
}

export interface EventData {
  event_type: EventType;
  event_subtype: string;
  user_context: UserContext;
  business_context?: BusinessContext;
  technical_context?: TechnicalContext;
}

export interface ModelScores {
  fraud_detection?: { model_version?: string; score: number; confidence?: number; explanation?: string[] };
  recommendation?: { model_version?: string; recommendations?: { product_id: string; score?: number; reason?: string }[] };
  churn_prediction?: { model_version?: string; churn_probability: number; days_to_churn?: number; intervention_recommended?: string };
}

export interface MlContext {
  feature_vectors?: Record<string, number[]>;
  model_scores?: ModelScores;
}

/** Schema 2.1: the current event. */
export interface RtapEvent {
  schema_version: '2.1';
  tenant_id: string;
  /** The Kafka key: `tenant_id:user_id` (or `tenant_id:anonymous_id`) from rtap's clients; any bounded string from others. */
  partition_key: string;
  event_metadata: EventMetadata;
  event_data: EventData;
  ml_context?: MlContext;
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
