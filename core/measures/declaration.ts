// Measures and rollups, declared once as data (docs/measures.md). Both layers derive their
// computation from MEASURES: the speed layer's incremental aggregator (aggregator.ts) and the
// batch layer's DuckDB SQL (sql.ts). A cell stores only additive PARTS (counts, sums, min, max,
// sketch registers, digest buckets); MEASURES are read from the parts at query time, so cells
// merge exactly across partitions, offset buckets, windows and layers.
import { NUMBER_FIELDS, STRING_FIELDS, type MeasureField, type NumberField, type StringField } from './fields';

/** Rows a part looks at: those whose string field is one of the values (NULL never matches). */
export interface Filter {
  field: StringField;
  in: readonly string[];
}

interface PartBase {
  name: string;
  description: string;
  where?: Filter;
}

/** An additive piece of state of every cell. */
export type PartDecl =
  /** Rows (with `field`: rows where it is not NULL). Merge: +. */
  | (PartBase & { kind: 'count'; field?: MeasureField })
  /** Sum / min / max of a number over rows where it is not NULL. Merge: +, min, max. */
  | (PartBase & { kind: 'sum' | 'min' | 'max'; field: NumberField })
  /** HyperLogLog registers of a string field (hll.ts). Merge: register-wise max. */
  | (PartBase & { kind: 'hll'; field: StringField })
  /** Log-linear histogram of a number ≥ 0 (digest.ts). Merge: bucket-wise +. */
  | (PartBase & { kind: 'digest'; field: NumberField });

export type PartKind = PartDecl['kind'];

interface MeasureBase {
  name: string;
  description: string;
  unit: string;
}

/** What a query returns, computed from a (merged) cell's parts at read time. */
export type MeasureDecl =
  /** A part as is (count, sum, min, max) or a sketch's estimate (hll). */
  | (MeasureBase & { kind: 'value'; part: string })
  /**
   * numerator / denominator (both `value` measures); NULL when the denominator is 0. With
   * `complement`: 1 − ratio, clamped to [0, 1].
   */
  | (MeasureBase & { kind: 'ratio'; numerator: string; denominator: string; complement?: boolean })
  /** The q-quantile (nearest rank) of a digest part. */
  | (MeasureBase & { kind: 'quantile'; part: string; q: number });

export type WindowSize = 'minute' | 'hour';

export const WINDOW_US: Readonly<Record<WindowSize, number>> = Object.freeze({ minute: 60_000_000, hour: 3_600_000_000 });

/** One rollup: cells keyed by tenant × window × (dimension value) × Kafka partition × offset bucket. */
export interface RollupDecl {
  name: string;
  description: string;
  window: WindowSize;
  /** The dimension grouped by (its NULL is a value of its own), or null for tenant totals. */
  dimension: StringField | null;
}

export interface MeasuresDeclaration {
  /** Bumped whenever a definition changes meaning (batch views and changelogs are keyed by it). */
  version: number;
  /** HyperLogLog precision p: 2^p registers (hll.ts). */
  hllPrecision: number;
  /** Linear sub-buckets per power of two in digests (a power of two; digest.ts). */
  digestSubBuckets: number;
  parts: readonly PartDecl[];
  measures: readonly MeasureDecl[];
  rollups: readonly RollupDecl[];
}

/** Offsets per bucket `floor(offset / B)` (DESIGN: the offset cut); batch cuts are aligned to it. */
export const DEFAULT_OFFSET_BUCKET_SIZE = 10_000;

const purchase: Filter = { field: 'event_subtype', in: ['purchase'] };
const refund: Filter = { field: 'event_subtype', in: ['refund'] };
const checkout: Filter = { field: 'event_subtype', in: ['checkout'] };

/** THE declaration: every measure and rollup of the platform. */
export const MEASURES: MeasuresDeclaration = deepFreeze({
  version: 1,
  hllPrecision: 14,
  digestSubBuckets: 64,
  parts: [
    { name: 'events', kind: 'count', description: 'events' },
    { name: 'orders', kind: 'count', where: purchase, description: 'purchase events' },
    { name: 'revenue', kind: 'sum', field: 'final_total', where: purchase, description: 'sum of final_total over purchases' },
    { name: 'order_min', kind: 'min', field: 'final_total', where: purchase, description: 'smallest purchase final_total' },
    { name: 'order_max', kind: 'max', field: 'final_total', where: purchase, description: 'largest purchase final_total' },
    { name: 'refunds', kind: 'count', where: refund, description: 'refund events' },
    { name: 'refund_amount', kind: 'sum', field: 'final_total', where: refund, description: 'sum of final_total over refunds' },
    { name: 'checkouts', kind: 'count', where: checkout, description: 'checkout events' },
    { name: 'users', kind: 'hll', field: 'user_id', description: 'HyperLogLog of user_id' },
    { name: 'sessions', kind: 'hll', field: 'session_id', description: 'HyperLogLog of session_id' },
    { name: 'page_loads', kind: 'count', field: 'lcp_ms', description: 'events with a largest_contentful_paint' },
    { name: 'lcp_sum', kind: 'sum', field: 'lcp_ms', description: 'sum of largest_contentful_paint (ms)' },
    { name: 'lcp', kind: 'digest', field: 'lcp_ms', description: 'digest of largest_contentful_paint (ms)' },
  ],
  measures: [
    { name: 'events', kind: 'value', part: 'events', unit: 'events', description: 'events' },
    { name: 'orders', kind: 'value', part: 'orders', unit: 'orders', description: 'purchases' },
    { name: 'revenue', kind: 'value', part: 'revenue', unit: 'currency', description: 'sum of purchase final_total (mixed currencies are summed as is)' },
    { name: 'average_order_value', kind: 'ratio', numerator: 'revenue', denominator: 'orders', unit: 'currency', description: 'revenue / orders' },
    { name: 'smallest_order', kind: 'value', part: 'order_min', unit: 'currency', description: 'smallest purchase final_total' },
    { name: 'largest_order', kind: 'value', part: 'order_max', unit: 'currency', description: 'largest purchase final_total' },
    { name: 'refunds', kind: 'value', part: 'refunds', unit: 'refunds', description: 'refund events' },
    { name: 'refund_amount', kind: 'value', part: 'refund_amount', unit: 'currency', description: 'sum of refund final_total' },
    { name: 'checkouts', kind: 'value', part: 'checkouts', unit: 'checkouts', description: 'checkout events' },
    { name: 'distinct_users', kind: 'value', part: 'users', unit: 'users', description: 'distinct user_id (HyperLogLog, ~0.8 % standard error)' },
    { name: 'sessions', kind: 'value', part: 'sessions', unit: 'sessions', description: 'distinct session_id (HyperLogLog, ~0.8 % standard error)' },
    { name: 'conversion', kind: 'ratio', numerator: 'orders', denominator: 'sessions', unit: 'ratio', description: 'orders / sessions' },
    {
      name: 'cart_abandonment',
      kind: 'ratio',
      numerator: 'orders',
      denominator: 'checkouts',
      complement: true,
      unit: 'ratio',
      description: '1 − orders / checkouts, clamped to [0, 1] (mergeable stand-in for "sessions that checked out without buying")',
    },
    { name: 'page_loads', kind: 'value', part: 'page_loads', unit: 'page loads', description: 'events with a largest_contentful_paint' },
    { name: 'page_load_avg', kind: 'ratio', numerator: 'page_load_sum', denominator: 'page_loads', unit: 'ms', description: 'mean largest_contentful_paint' },
    { name: 'page_load_sum', kind: 'value', part: 'lcp_sum', unit: 'ms', description: 'sum of largest_contentful_paint' },
    { name: 'page_load_p50', kind: 'quantile', part: 'lcp', q: 0.5, unit: 'ms', description: 'median largest_contentful_paint (≤ 0.78 % relative error)' },
    { name: 'page_load_p95', kind: 'quantile', part: 'lcp', q: 0.95, unit: 'ms', description: '95th percentile largest_contentful_paint (≤ 0.78 % relative error)' },
  ],
  rollups: [
    { name: 'event_type_1m', window: 'minute', dimension: 'event_type', description: 'tenant × minute × event_type' },
    { name: 'country_1m', window: 'minute', dimension: 'country', description: 'tenant × minute × country' },
    { name: 'device_type_1m', window: 'minute', dimension: 'device_type', description: 'tenant × minute × device type' },
    { name: 'browser_1m', window: 'minute', dimension: 'browser_name', description: 'tenant × minute × browser' },
    { name: 'payment_provider_1m', window: 'minute', dimension: 'payment_provider', description: 'tenant × minute × payment provider' },
    { name: 'category_l1_1m', window: 'minute', dimension: 'category_l1', description: 'tenant × minute × first product category_l1' },
    { name: 'source_system_1m', window: 'minute', dimension: 'source_system', description: 'tenant × minute × source_system' },
    { name: 'totals_1h', window: 'hour', dimension: null, description: 'tenant × hour totals' },
  ],
});

const NAME = /^[a-z][a-z0-9_]*$/;
const RESERVED = new Set([
  ...['rollup', 'tenant_id', 'event_id', 'event_time_us', 'window_start_us', 'dimension', 'partition', 'offset', 'bucket'],
  ...STRING_FIELDS,
  ...NUMBER_FIELDS,
]);

/** Throws when the declaration is inconsistent (unknown references, duplicate or unsafe names, bad parameters). */
export function validateDeclaration(decl: MeasuresDeclaration): void {
  const fail = (msg: string): never => {
    throw new Error(`measures declaration: ${msg}`);
  };
  if (!Number.isInteger(decl.hllPrecision) || decl.hllPrecision < 4 || decl.hllPrecision > 18) fail(`hllPrecision ${decl.hllPrecision} not in 4..18`);
  const s = decl.digestSubBuckets;
  if (!Number.isInteger(s) || s < 1 || s > 1024 || (s & (s - 1)) !== 0) fail(`digestSubBuckets ${s} is not a power of two in 1..1024`);
  const unique = (what: string, names: string[]) => {
    for (const n of names) if (!NAME.test(n)) fail(`${what} name ${JSON.stringify(n)} is not snake_case`);
    if (new Set(names).size !== names.length) fail(`duplicate ${what} names`);
  };
  unique('part', decl.parts.map((p) => p.name));
  unique('measure', decl.measures.map((m) => m.name));
  unique('rollup', decl.rollups.map((r) => r.name));
  for (const p of decl.parts) {
    if (p.where && p.where.in.length === 0) fail(`part ${p.name}: empty filter`);
    // parts are columns of the batch SQL next to the key columns and the fields
    if (RESERVED.has(p.name)) fail(`part name ${p.name} is reserved`);
  }
  const part = (name: string) => decl.parts.find((p) => p.name === name) ?? fail(`unknown part ${name}`);
  const measure = (name: string) => decl.measures.find((m) => m.name === name) ?? fail(`unknown measure ${name}`);
  for (const m of decl.measures) {
    if (m.kind === 'value') {
      if (part(m.part).kind === 'digest') fail(`measure ${m.name}: a digest is read with a quantile`);
    } else if (m.kind === 'quantile') {
      if (part(m.part).kind !== 'digest') fail(`measure ${m.name}: quantile of a non-digest part`);
      if (!(m.q > 0 && m.q <= 1)) fail(`measure ${m.name}: q ${m.q} not in (0, 1]`);
    } else {
      for (const ref of [m.numerator, m.denominator]) if (measure(ref).kind !== 'value') fail(`measure ${m.name}: ${ref} is not a value measure`);
    }
  }
  if (decl.rollups.length === 0) fail('no rollups');
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object' && !Object.isFrozen(o)) {
    Object.freeze(o);
    for (const v of Object.values(o)) deepFreeze(v);
  }
  return o;
}
