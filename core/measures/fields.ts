// The fields measures read, and where each one lives in the lake. A `MeasureInput` is what the
// speed layer's aggregator takes per event; the batch SQL reads the same fields from the raw
// columns named here. Field names are the lake's column names where they are the same thing.

/** Dimension and filter fields: strings (NULL when the event does not carry them). */
export type StringField =
  | 'event_type'
  | 'event_subtype'
  | 'source_system'
  | 'country'
  | 'device_type'
  | 'browser_name'
  | 'payment_provider'
  | 'category_l1'
  | 'user_id'
  | 'session_id';

/** Numeric fields (finite numbers or NULL). */
export type NumberField = 'final_total' | 'lcp_ms';

export type MeasureField = StringField | NumberField;

/** One event, reduced to what measures and rollups read. */
export interface MeasureInput {
  tenant_id: string;
  event_id: string;
  /** Event time, µs since the Unix epoch (UTC). */
  event_time_us: number;
  /** Kafka coordinates: the offset cut keys every cell by them. */
  partition: number;
  offset: number;
  event_type: string | null;
  event_subtype: string | null;
  source_system: string | null;
  country: string | null;
  device_type: string | null;
  browser_name: string | null;
  payment_provider: string | null;
  category_l1: string | null;
  user_id: string | null;
  session_id: string | null;
  /** `cart_value.final_total`. */
  final_total: number | null;
  /** `page_context.page_load_metrics.largest_contentful_paint`, ms. */
  lcp_ms: number | null;
}

/** The raw lake column (core/lake.ts RAW_COLUMNS) each field is read from. */
export const FIELD_COLUMNS: Readonly<Record<MeasureField, string>> = Object.freeze({
  event_type: 'event_type',
  event_subtype: 'event_subtype',
  source_system: 'source_system',
  country: 'country',
  device_type: 'device_type',
  browser_name: 'browser_name',
  payment_provider: 'payment_provider',
  category_l1: 'category_l1',
  user_id: 'user_id',
  session_id: 'session_id',
  final_total: 'final_total',
  lcp_ms: 'largest_contentful_paint',
});

export const STRING_FIELDS: readonly StringField[] = [
  'event_type',
  'event_subtype',
  'source_system',
  'country',
  'device_type',
  'browser_name',
  'payment_provider',
  'category_l1',
  'user_id',
  'session_id',
];

export const NUMBER_FIELDS: readonly NumberField[] = ['final_total', 'lcp_ms'];

export const isNumberField = (f: MeasureField): f is NumberField => f === 'final_total' || f === 'lcp_ms';
