// The brief's descriptive value sets. They are open: a value outside the known set is accepted
// and reported as a data-quality warning (per-event result, /data/quality/validate,
// rtap_ingest_warnings_total{field,tenant}), never a rejection. Values the pipeline computes with
// (event_type, source_system, ids, times, amounts) are closed and live in the JSON Schema instead.
import type { ValueWarning } from './registry';

export interface ValueSet {
  /** The metric label and report name; also the last path segment. */
  field: string;
  /** Path from the event root; `*` steps into every element of an array. */
  path: readonly string[];
  values: readonly string[];
}

const PROFILE = ['event_data', 'user_context', 'user_profile'];
const TENANT = ['event_data', 'business_context', 'tenant_metadata'];
const PRODUCTS = ['event_data', 'business_context', 'transaction_context', 'products', '*'];
const CART = ['event_data', 'business_context', 'transaction_context', 'cart_context'];
const PAYMENT = [...CART, 'payment_context'];
const SHIPPING = [...PAYMENT, 'shipping_context'];
const INTERACTION = ['event_data', 'business_context', 'interaction_context'];

const set = (field: string, parent: readonly string[], values: readonly string[], leaf = field): ValueSet => ({ field, path: [...parent, leaf], values });

export const VALUE_SETS: readonly ValueSet[] = [
  set('account_type', PROFILE, ['premium', 'standard', 'trial', 'enterprise']),
  set('verification_status', PROFILE, ['verified', 'pending', 'unverified']),
  set('credit_rating', [...PROFILE, 'risk_profile'], ['A', 'B', 'C', 'D']),
  set('customer_tier', [...PROFILE, 'segmentation'], ['platinum', 'gold', 'silver', 'bronze']),
  set('lifecycle_stage', [...PROFILE, 'segmentation'], ['acquisition', 'activation', 'retention', 'resurrection']),
  set('merchant_tier', TENANT, ['enterprise', 'standard', 'startup']),
  set('industry_vertical', TENANT, ['fashion', 'electronics', 'grocery', 'services']),
  set('business_model', TENANT, ['b2c', 'b2b', 'marketplace', 'subscription']),
  set('tax_category', [...PRODUCTS, 'pricing'], ['standard', 'luxury', 'exempt']),
  set('sku_availability', [...PRODUCTS, 'inventory'], ['in_stock', 'low_stock', 'backorder', 'discontinued']),
  set('condition', [...PRODUCTS, 'attributes'], ['new', 'refurbished', 'used']),
  set('discount_type', [...CART, 'cart_value', 'discounts_applied', '*'], ['percentage', 'fixed_amount', 'buy_x_get_y']),
  set('method_type', [...PAYMENT, 'payment_methods', '*'], ['credit_card', 'debit_card', 'digital_wallet', 'bnpl', 'crypto']),
  set('provider', [...PAYMENT, 'payment_methods', '*'], ['visa', 'mastercard', 'amex', 'paypal', 'apple_pay', 'klarna']),
  set('address_type', [...PAYMENT, 'payment_methods', '*', 'billing_address'], ['residential', 'commercial', 'po_box']),
  set('address_type', [...SHIPPING, 'shipping_address'], ['residential', 'commercial', 'po_box']),
  set('carrier', [...SHIPPING, 'shipping_method'], ['fedex', 'ups', 'dhl', 'usps']),
  set('service_level', [...SHIPPING, 'shipping_method'], ['ground', 'express', 'overnight', 'same_day']),
  set('page_type', [...INTERACTION, 'page_context'], ['product_detail', 'category', 'checkout', 'search_results']),
  set('interaction_type', [...INTERACTION, 'page_context', 'user_interactions', '*'], ['click', 'scroll', 'hover', 'form_input']),
  set('experiment_type', [...INTERACTION, 'experiment_context', 'active_experiments', '*'], ['ui_test', 'algorithm_test', 'feature_flag']),
];

const KNOWN: readonly ReadonlySet<string>[] = VALUE_SETS.map((s) => new Set(s.values));
const MAX_REPORTED_VALUE = 64;
/** Enough to see a pattern; an event with more unknown values is reported by its first ones. */
const MAX_WARNINGS = 20;

/**
 * Unknown values of the brief's descriptive sets in a (schema-valid) 2.1 event. Walks only the
 * declared paths, so the cost does not grow with the rest of the event; a path string is built
 * only for a value that warns (every event walks all the sets, few warn).
 */
export function valueWarnings(event: unknown): ValueWarning[] {
  const out: ValueWarning[] = [];
  const indices: number[] = [];
  for (let i = 0; i < VALUE_SETS.length && out.length < MAX_WARNINGS; i++) visit(event, i, 0, indices, out);
  return out;
}

/** Steps into `node` along set `s`'s path from `depth`; `indices` holds the array positions taken so far. */
function visit(node: unknown, s: number, depth: number, indices: number[], out: ValueWarning[]): void {
  const vs = VALUE_SETS[s];
  if (depth === vs.path.length) {
    if (typeof node !== 'string' || KNOWN[s].has(node) || out.length >= MAX_WARNINGS) return;
    out.push({
      field: vs.field,
      path: pathOf(vs.path, indices),
      value: node.length > MAX_REPORTED_VALUE ? `${node.slice(0, MAX_REPORTED_VALUE)}…` : node,
      reason: `not one of the known values ${vs.values.join(', ')}; accepted`,
    });
    return;
  }
  if (node === null || typeof node !== 'object') return;
  const step = vs.path[depth];
  if (step === '*') {
    if (!Array.isArray(node)) return;
    for (let j = 0; j < node.length; j++) {
      indices.push(j);
      visit(node[j], s, depth + 1, indices, out);
      indices.pop();
    }
    return;
  }
  if (Array.isArray(node) || !Object.prototype.hasOwnProperty.call(node, step)) return;
  visit((node as Record<string, unknown>)[step], s, depth + 1, indices, out);
}

/** `$.a.b[3].c` of a set's path, `*` steps replaced by the positions taken. */
function pathOf(path: readonly string[], indices: readonly number[]): string {
  let at = '$';
  let k = 0;
  for (const step of path) at += step === '*' ? `[${indices[k++]}]` : `.${step}`;
  return at;
}
