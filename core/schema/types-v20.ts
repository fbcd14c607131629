// Schema 2.0: the nested shapes this project used before it adopted the brief's exact 2.1 shapes
// (string user-agent parts, flat cart money fields, string experiment/flag lists, shipping beside
// payment). Kept only so 2.0 events are still read: the 2.0 → 2.1 upcaster maps them to 2.1.
import type { EventType, SourceSystem } from './types';

export interface ProcessingFlagsV20 {
  requires_enrichment: boolean;
  pii_contains: boolean;
  gdpr_subject: boolean;
  audit_required: boolean;
}

export interface EventMetadataV20 {
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
  /** A 2.1 field; 2.0 events may carry it. */
  processing_flags?: ProcessingFlagsV20;
}

export interface CoordinatesV20 {
  lat: number;
  lon: number;
}

export interface GeolocationV20 {
  country: string;
  region?: string;
  city?: string;
  coordinates?: CoordinatesV20;
  accuracy_meters?: number;
  ip_derived?: boolean;
  timezone?: string;
}

export interface SessionAttributesV20 {
  device_fingerprint?: string;
  geolocation?: GeolocationV20;
  user_agent_parsed?: { browser: string; os: string; device: string };
  /** Raw user agent string (carried over from 1.0 events). */
  user_agent?: string;
}

export interface SessionDataV20 {
  session_id: string;
  session_start?: string;
  session_sequence?: number;
  session_attributes?: SessionAttributesV20;
}

export interface UserProfileV20 {
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
    /** A 2.1 field; 2.0 events may carry it. */
    predictive_scores?: { churn_probability: number; lifetime_value: number; next_purchase_days: number };
  };
}

export interface UserContextV20 {
  /** Tokenized (`tok_v1_…`) once the event has passed ingestion; raw before. */
  user_id?: string;
  anonymous_id?: string;
  /** PII: tokenized at ingestion. */
  email?: string;
  session_data: SessionDataV20;
  user_profile?: UserProfileV20;
}

export interface ProductV20 {
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

export interface AddressV20 {
  /** Keyed token of the address (tokenization replaces `address_line` with this). */
  address_hash?: string;
  /** PII: the raw address line; removed by tokenization. */
  address_line?: string;
  country: string;
  postal_code?: string;
  address_type?: 'residential' | 'commercial' | 'po_box' | 'freight_forwarder';
  same_as_billing?: boolean;
}

export interface PaymentMethodV20 {
  method_type?: 'card' | 'wallet' | 'bank_transfer' | 'bnpl' | 'gift_card';
  provider?: string;
  /** PII: payment token / card fingerprint; tokenized at ingestion. */
  tokenized_identifier: string;
  billing_address?: AddressV20;
  authorization_status?: 'approved' | 'declined' | 'pending';
  decline_code?: string;
  amount?: number;
  risk_signals?: { first_time_payment: boolean; velocity_flag: boolean; geo_mismatch: boolean; fraud_score: number };
}

export interface CartContextV20 {
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
  payment_context?: { payment_methods: PaymentMethodV20[] };
  shipping_context?: {
    shipping_address?: AddressV20;
    shipping_method?: { carrier: string; service_level: string; estimated_days?: number };
  };
}

export interface BusinessContextV20 {
  tenant_metadata?: {
    merchant_id: string;
    merchant_tier?: string;
    industry_vertical?: string;
    geographic_markets?: string[];
    business_model?: string;
  };
  transaction_context?: { products?: ProductV20[]; cart_context?: CartContextV20 };
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

export interface TechnicalContextV20 {
  infrastructure_metadata?: Record<string, string>;
  performance_telemetry?: { request_id?: string; trace_id?: string; processing_time_ms?: number; [k: string]: unknown };
  security_context?: {
    api_key_hash?: string;
    rate_limit_remaining?: number;
    security_flags?: { suspicious_user_agent: boolean; tor_exit_node: boolean; known_bot: boolean; geo_blocked: boolean };
  };
  /** A 2.1 field; 2.0 events may carry it. */
  data_lineage?: Record<string, unknown>;
}

export interface EventDataV20 {
  event_type: EventType;
  event_subtype: string;
  user_context: UserContextV20;
  business_context?: BusinessContextV20;
  technical_context?: TechnicalContextV20;
}

export interface EventV20 {
  schema_version: '2.0';
  tenant_id: string;
  partition_key: string;
  event_metadata: EventMetadataV20;
  event_data: EventDataV20;
}
