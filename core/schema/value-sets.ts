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

const MAX_REPORTED_VALUE = 64;
/** Enough to see a pattern; an event with more unknown values is reported by its first ones. */
const MAX_WARNINGS = 20;

/**
 * Unknown values of the brief's descriptive sets in a (schema-valid) 2.1 event, in VALUE_SETS
 * order (and array order within a set), at most MAX_WARNINGS. Walks only the declared paths, so
 * the cost does not grow with the rest of the event; a path string is built only for a value that
 * warns (every event walks all the sets, few warn).
 */
export function valueWarnings(event: unknown): ValueWarning[] {
  const out: ValueWarning[] = [];
  walker ??= compileWalker();
  walker(event, out);
  return out;
}

let walker: ((event: unknown, out: ValueWarning[]) => void) | undefined;

/** Adds the warning of set `s` for `value` (its array positions `indices`) unless MAX_WARNINGS are already there. */
function warn(out: ValueWarning[], s: number, value: string, indices: readonly number[]): void {
  if (out.length >= MAX_WARNINGS) return;
  const vs = VALUE_SETS[s];
  out.push({
    field: vs.field,
    path: pathOf(vs.path, indices),
    value: value.length > MAX_REPORTED_VALUE ? `${value.slice(0, MAX_REPORTED_VALUE)}…` : value,
    reason: `not one of the known values ${vs.values.join(', ')}; accepted`,
  });
}

/**
 * The walk as straight-line code, generated once from the (constant) VALUE_SETS: each property
 * read has a constant key, so V8 caches it for the event shapes it sees, and each known set is a
 * chain of comparisons. (A loop over the paths with a variable key made every read a generic
 * lookup: 1.5–2 µs of the API's CPU per event, docs/ingestion.md.) At every step, as JSONPath
 * reads: a key only in an object (not an array), `*` only in an array, a value only when a string.
 * A key is a plain property read: no path step is an Object.prototype name (checked here), and a
 * parsed JSON object has no other inherited properties.
 */
function compileWalker(): (event: unknown, out: ValueWarning[]) => void {
  const code = ['"use strict";', 'return function valueWarningsOf(v0, out) {', '  let t;'];
  let vars = 0;
  VALUE_SETS.forEach((vs, s) => {
    let node = 'v0';
    const indices: string[] = [];
    let closing = '';
    code.push(`  // ${vs.field}: $.${vs.path.join('.')}`, '  {');
    for (const step of vs.path) {
      if (step === '*') {
        const i = `i${++vars}`;
        const element = `v${++vars}`;
        code.push(`  if (Array.isArray(${node})) for (let ${i} = 0; ${i} < ${node}.length; ${i}++) { const ${element} = ${node}[${i}];`);
        indices.push(i);
        closing += ' }';
        node = element;
      } else {
        if (step in Object.prototype) throw new Error(`value set ${vs.field}: path step ${step} is an Object.prototype name`);
        const next = `v${++vars}`;
        code.push(`  t = ${node}; const ${next} = t !== null && typeof t === 'object' && !Array.isArray(t) ? t[${JSON.stringify(step)}] : undefined;`);
        node = next;
      }
    }
    const known = vs.values.map((v) => `${node} !== ${JSON.stringify(v)}`).join(' && ');
    code.push(`  if (typeof ${node} === 'string' && ${known}) warn(out, ${s}, ${node}, [${indices.join(', ')}]);${closing}`, '  }');
  });
  code.push('};');
  // Code generated from the constant VALUE_SETS declarations only, never from input.
  return new Function('warn', code.join('\n'))(warn) as (event: unknown, out: ValueWarning[]) => void;
}

/** `$.a.b[3].c` of a set's path, `*` steps replaced by the positions taken. */
function pathOf(path: readonly string[], indices: readonly number[]): string {
  let at = '$';
  let k = 0;
  for (const step of path) at += step === '*' ? `[${indices[k++]}]` : `.${step}`;
  return at;
}
