// What a raw lake row holds and how each flattened column reads an event (docs/lake.md "Columns of
// a raw object"), as pure data: the lake sink's DuckDB SQL (ingest/flatten.ts) and the speed
// layer's extraction (core/measures/extract.ts) both read these declarations, so the two layers
// see the same values for the same event.
import type { RawColumnType } from './lake';

/** Why an event was rejected to the DLQ (the `x-rtap-reason` header). */
export type RejectReason =
  | 'empty_value'
  | 'too_large'
  | 'invalid_json'
  | 'not_an_object'
  | 'missing_tenant_id'
  | 'missing_event_id'
  | 'missing_timestamp'
  | 'invalid_timestamp';

export const REJECT_REASONS: readonly RejectReason[] = [
  'empty_value',
  'too_large',
  'invalid_json',
  'not_an_object',
  'missing_tenant_id',
  'missing_event_id',
  'missing_timestamp',
  'invalid_timestamp',
];

/**
 * How a flattened column reads the event (docs/lake.md "Columns of a raw object"):
 * - `text` — the first path present, as text: a VARCHAR column gets the JSON text of a value of
 *   another type, a DOUBLE/TIMESTAMP column NULL when the text does not parse (the format-1
 *   columns keep these semantics; the sink's reject checks rely on them).
 * - `string` — the first path holding a JSON string; any other JSON type is NULL. A path may name
 *   a parent that older events filled with a plain string (`user_agent_parsed.browser: "Chrome"`).
 * - `strings` — the first path holding an array becomes a list with one entry per element, in
 *   array order: the element's first `fields` entry that is a string, or the element itself when
 *   it is a string (older events' string lists), else NULL — so list positions stay the array's.
 *   NULL when no path holds an array, `[]` for an empty one.
 * - `sum` — like `strings`, the sum of each element's first `fields` entry that is a JSON number;
 *   0 for an empty array.
 * DOUBLE results that are not finite (1e400, NaN) are NULL.
 */
export type Extraction = 'text' | 'string' | 'strings' | 'sum';

export interface FlatColumn {
  name: string;
  type: RawColumnType;
  /** JSON paths tried in order (SPEC 2.1 location first, then older/flat spellings). */
  paths: string[];
  /** Default `text`. */
  kind?: Extraction;
  /** Element fields, tried in order, for `strings` and `sum`. */
  fields?: string[];
}

const BC = '$.event_data.business_context';
const TX = `${BC}.transaction_context`;
const CART = `${TX}.cart_context`;
const SESSION = '$.event_data.user_context.session_data';
const UA = `${SESSION}.session_attributes.user_agent_parsed`;
const IC = `${BC}.interaction_context`;
const PAY = [`${CART}.payment_context.payment_methods[0]`, `${TX}.payment_context.payment_methods[0]`];

/** The flattened columns of a raw row (every RAW_COLUMNS entry before event_json), in file order. */
export const FLAT_COLUMNS: readonly FlatColumn[] = [
  // format 1
  { name: 'tenant_id', type: 'VARCHAR', paths: ['$.tenant_id'] },
  { name: 'event_id', type: 'VARCHAR', paths: ['$.event_metadata.event_id', '$.event_id'] },
  { name: 'event_time', type: 'TIMESTAMP', paths: ['$.event_metadata.timestamp', '$.timestamp'] },
  { name: 'ingestion_time', type: 'TIMESTAMP', paths: ['$.event_metadata.ingestion_timestamp', '$.ingestion_timestamp'] },
  { name: 'event_type', type: 'VARCHAR', paths: ['$.event_data.event_type', '$.event_type'] },
  { name: 'event_subtype', type: 'VARCHAR', paths: ['$.event_data.event_subtype', '$.event_subtype'] },
  { name: 'schema_version', type: 'VARCHAR', paths: ['$.schema_version'] },
  { name: 'source_system', type: 'VARCHAR', paths: ['$.event_metadata.source_system'] },
  { name: 'user_id', type: 'VARCHAR', paths: ['$.event_data.user_context.user_id', '$.user_id'] },
  { name: 'anonymous_id', type: 'VARCHAR', paths: ['$.event_data.user_context.anonymous_id'] },
  { name: 'session_id', type: 'VARCHAR', paths: [`${SESSION}.session_id`, '$.session_id'] },
  { name: 'correlation_id', type: 'VARCHAR', paths: ['$.event_metadata.correlation_id'] },
  { name: 'causation_id', type: 'VARCHAR', paths: ['$.event_metadata.causation_id'] },
  { name: 'device_fingerprint', type: 'VARCHAR', paths: [`${SESSION}.session_attributes.device_fingerprint`] },
  { name: 'country', type: 'VARCHAR', paths: [`${SESSION}.session_attributes.geolocation.country`] },
  { name: 'region', type: 'VARCHAR', paths: [`${SESSION}.session_attributes.geolocation.region`] },
  { name: 'city', type: 'VARCHAR', paths: [`${SESSION}.session_attributes.geolocation.city`] },
  { name: 'merchant_id', type: 'VARCHAR', paths: [`${BC}.tenant_metadata.merchant_id`] },
  { name: 'cart_id', type: 'VARCHAR', paths: [`${CART}.cart_id`] },
  { name: 'final_total', type: 'DOUBLE', paths: [`${CART}.cart_value.final_total`, `${TX}.cart_value.final_total`, '$.amount'] },
  { name: 'currency', type: 'VARCHAR', paths: [`${CART}.cart_value.currency`, `${TX}.products[0].pricing.currency`, '$.currency'] },
  { name: 'payment_method_type', type: 'VARCHAR', paths: PAY.map((p) => `${p}.method_type`) },
  { name: 'payment_provider', type: 'VARCHAR', paths: PAY.map((p) => `${p}.provider`) },
  { name: 'payment_token', type: 'VARCHAR', paths: PAY.map((p) => `${p}.tokenized_identifier`) },
  { name: 'page_type', type: 'VARCHAR', paths: [`${IC}.page_context.page_type`] },
  { name: 'fraud_score', type: 'DOUBLE', paths: ['$.ml_context.model_scores.fraud_detection.score', '$.ml_context.model_scores.fraud_detection'] },
  // format 2: the dimensions speed and batch views group by, so no view parses event_json
  { name: 'subtotal', type: 'DOUBLE', paths: [`${CART}.cart_value.subtotal`] },
  { name: 'discount_total', type: 'DOUBLE', kind: 'sum', paths: [`${CART}.cart_value.discounts_applied`], fields: ['discount_amount', 'amount'] },
  { name: 'browser_name', type: 'VARCHAR', kind: 'string', paths: [`${UA}.browser.name`, `${UA}.browser`] },
  { name: 'os_name', type: 'VARCHAR', kind: 'string', paths: [`${UA}.os.name`, `${UA}.os`] },
  { name: 'device_type', type: 'VARCHAR', kind: 'string', paths: [`${UA}.device.type`, `${UA}.device`] },
  { name: 'category_l1', type: 'VARCHAR', kind: 'string', paths: [`${TX}.products[0].product_hierarchy.category_l1`] },
  {
    name: 'shipping_carrier',
    type: 'VARCHAR',
    kind: 'string',
    paths: [`${CART}.payment_context.shipping_context.shipping_method.carrier`, `${CART}.shipping_context.shipping_method.carrier`],
  },
  { name: 'experiment_ids', type: 'VARCHAR[]', kind: 'strings', paths: [`${IC}.experiment_context.active_experiments`], fields: ['experiment_id'] },
  { name: 'touchpoints', type: 'VARCHAR[]', kind: 'strings', paths: [`${IC}.touchpoint_journey`], fields: ['touchpoint'] },
  // page load (ms) for the page_load_p50/p95 measures (core/measures)
  { name: 'largest_contentful_paint', type: 'DOUBLE', paths: [`${IC}.page_context.page_load_metrics.largest_contentful_paint`] },
];
