// The analytics query model: what a caller may ask (measures × one dimension × grain × time
// range × filters × sort × page) and how it maps onto the declaration's rollups and the batch
// views built from them. Pure: the routes validate with it, the merge plans with it.
import { MEASURES, WINDOW_US, type MeasuresDeclaration } from '../../core/measures';

export type Grain = 'minute' | 'hour' | 'day' | 'all';

export const GRAINS: readonly Grain[] = ['minute', 'hour', 'day', 'all'];

export const GRAIN_US: Readonly<Record<Exclude<Grain, 'all'>, number>> = {
  minute: WINDOW_US.minute,
  hour: WINDOW_US.hour,
  day: 24 * WINDOW_US.hour,
};

/**
 * Public dimension names → the rollup that groups by it. Totals (no dimension) read the
 * event_type rollup summed over its values: every event has exactly one event_type (NULL is a
 * value of its own), so the sum is the tenant's total at minute grain, sketches included.
 */
export const DIMENSIONS: Readonly<Record<string, string>> = {
  event_type: 'event_type_1m',
  country: 'country_1m',
  device_type: 'device_type_1m',
  browser: 'browser_1m',
  payment_provider: 'payment_provider_1m',
  category_l1: 'category_l1_1m',
  source_system: 'source_system_1m',
};
const TOTALS_ROLLUP = 'event_type_1m';

export const MEASURE_NAMES: readonly string[] = MEASURES.measures.map((m) => m.name);

export interface Filter {
  dimension: string;
  op: 'in' | 'not_in';
  values: string[];
}

export interface SortKey {
  field: string;
  order: 'asc' | 'desc';
}

/** A validated query, times in µs since the epoch, [fromUs, toUs). */
export interface AnalyticsQuery {
  tenant: string;
  measures: string[];
  dimension: string | null;
  grain: Grain;
  fromUs: number;
  toUs: number;
  filters: Filter[];
  sort: SortKey[];
  limit: number;
  offset: number;
}

export const MAX_LIMIT = 10_000;
/** The widest range one query may span (batch views at day grain keep this cheap). */
export const MAX_RANGE_DAYS = 400;

export class QueryError extends Error {
  constructor(
    readonly path: string,
    readonly reason: string,
  ) {
    super(`${path}: ${reason}`);
  }
}

/** The rollup a query reads, and whether its dimension is summed away (totals). */
export function rollupFor(dimension: string | null): { rollup: string; collapse: boolean } {
  if (dimension === null) return { rollup: TOTALS_ROLLUP, collapse: true };
  const rollup = DIMENSIONS[dimension];
  if (!rollup) throw new QueryError('/dimensions', `unknown dimension ${JSON.stringify(dimension.slice(0, 64))}; known: ${Object.keys(DIMENSIONS).join(', ')}`);
  return { rollup, collapse: false };
}

/**
 * The batch view a query reads: the coarsest grain that still lines up with both the range's
 * bounds and the requested grain (a day view answers a day grain over whole days in one row per
 * day, instead of 1,440 minute rows).
 */
export function viewGrainFor(q: Pick<AnalyticsQuery, 'grain' | 'fromUs' | 'toUs'>): 'minute' | 'hour' | 'day' {
  const aligned = (g: 'minute' | 'hour' | 'day') => q.fromUs % GRAIN_US[g] === 0 && q.toUs % GRAIN_US[g] === 0;
  const finest: ('minute' | 'hour' | 'day')[] = q.grain === 'minute' ? ['minute'] : q.grain === 'hour' ? ['hour', 'minute'] : ['day', 'hour', 'minute'];
  return finest.find(aligned) ?? 'minute';
}

/** The batch view name of a rollup at a grain (core/lake-views.ts viewCatalog's names). */
export function viewNameFor(rollup: string, grain: 'minute' | 'hour' | 'day'): string {
  const base = rollup.replace(/_1[mh]$/, '');
  return `${base}_${grain === 'minute' ? '1m' : grain === 'hour' ? '1h' : '1d'}`;
}

/** The window a result row falls in at the query's grain ('all': the range start). */
export function bucketOf(q: Pick<AnalyticsQuery, 'grain' | 'fromUs'>, windowStartUs: number): number {
  if (q.grain === 'all') return q.fromUs;
  const g = GRAIN_US[q.grain];
  return Math.floor(windowStartUs / g) * g;
}

function isoToUs(value: unknown, path: string): number {
  if (typeof value !== 'string' || !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2})$/.test(value)) {
    throw new QueryError(path, 'an ISO-8601 instant with a zone, e.g. 2026-11-27T10:00:00Z');
  }
  const ms = Date.parse(value);
  if (!Number.isFinite(ms)) throw new QueryError(path, 'not a valid instant');
  return ms * 1000;
}

/**
 * Validates a query body (already shape-checked by the OpenAPI validator, checked again here so
 * the model never trusts its caller) into an AnalyticsQuery. Range bounds are snapped outward to
 * whole minutes, the finest windows the layers keep.
 */
export function parseQuery(tenant: string, body: Record<string, unknown>, decl: MeasuresDeclaration = MEASURES, defaults: { grain?: Grain } = {}): AnalyticsQuery {
  const measures = (body.measures as unknown[] | undefined) ?? ['events'];
  if (!Array.isArray(measures) || measures.length === 0 || measures.length > 32) throw new QueryError('/measures', 'a list of 1 to 32 measure names');
  measures.forEach((m, i) => {
    if (typeof m !== 'string' || !decl.measures.some((x) => x.name === m)) {
      throw new QueryError(`/measures/${i}`, `unknown measure ${JSON.stringify(String(m).slice(0, 64))}; known: ${decl.measures.map((x) => x.name).join(', ')}`);
    }
  });
  const dims = (body.dimensions as unknown[] | undefined) ?? [];
  if (!Array.isArray(dims) || dims.length > 1) throw new QueryError('/dimensions', 'at most one dimension per query (each rollup groups by one)');
  const dimension = dims.length === 1 ? String(dims[0]) : null;
  rollupFor(dimension);

  const grain = (body.grain as Grain | undefined) ?? defaults.grain ?? 'hour';
  if (!GRAINS.includes(grain)) throw new QueryError('/grain', `one of ${GRAINS.join(', ')}`);
  const range = body.time_range as { from?: unknown; to?: unknown } | undefined;
  if (!range || typeof range !== 'object') throw new QueryError('/time_range', 'required: {from, to}');
  const minute = GRAIN_US.minute;
  const fromUs = Math.floor(isoToUs(range.from, '/time_range/from') / minute) * minute;
  const toUs = Math.ceil(isoToUs(range.to, '/time_range/to') / minute) * minute;
  if (toUs <= fromUs) throw new QueryError('/time_range/to', 'must be after from');
  if (toUs - fromUs > MAX_RANGE_DAYS * GRAIN_US.day) throw new QueryError('/time_range', `spans more than ${MAX_RANGE_DAYS} days`);

  const filters = ((body.filters as unknown[] | undefined) ?? []).map((f, i): Filter => {
    const x = f as Partial<Filter>;
    if (!x || typeof x !== 'object') throw new QueryError(`/filters/${i}`, 'an object {dimension, op, values}');
    if (x.dimension !== dimension) throw new QueryError(`/filters/${i}/dimension`, 'filters apply to the grouped dimension (each rollup keeps one dimension)');
    if (x.op !== 'in' && x.op !== 'not_in') throw new QueryError(`/filters/${i}/op`, 'in or not_in');
    if (!Array.isArray(x.values) || x.values.length === 0 || x.values.length > 1000 || !x.values.every((v) => typeof v === 'string' && v.length <= 256)) {
      throw new QueryError(`/filters/${i}/values`, '1 to 1,000 strings of at most 256 characters');
    }
    return { dimension: x.dimension, op: x.op, values: x.values };
  });

  const sortable = new Set(['window_start', ...(dimension ? [dimension] : []), ...(measures as string[])]);
  const sort = ((body.sort as unknown[] | undefined) ?? [{ field: 'window_start', order: 'asc' }]).map((s, i): SortKey => {
    const x = s as Partial<SortKey>;
    if (!x || typeof x.field !== 'string' || !sortable.has(x.field)) throw new QueryError(`/sort/${i}/field`, `one of ${[...sortable].join(', ')}`);
    if (x.order !== undefined && x.order !== 'asc' && x.order !== 'desc') throw new QueryError(`/sort/${i}/order`, 'asc or desc');
    return { field: x.field, order: x.order ?? 'asc' };
  });
  const limit = body.limit === undefined ? 1000 : Number(body.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) throw new QueryError('/limit', `an integer in 1..${MAX_LIMIT}`);
  const offset = body.offset === undefined ? 0 : Number(body.offset);
  if (!Number.isInteger(offset) || offset < 0 || offset > 10_000_000) throw new QueryError('/offset', 'a non-negative integer');
  return { tenant, measures: measures as string[], dimension, grain, fromUs, toUs, filters, sort, limit, offset };
}

/** A range of whole UTC days [from, to), as the day-grained views (funnel, cohorts) answer. */
export interface DayRange {
  fromDay: string;
  toDay: string;
  fromUs: number;
  toUs: number;
}

/** A UTC day `YYYY-MM-DD` → µs since the epoch of its midnight; a QueryError naming `path` otherwise. */
export function parseDayUs(value: unknown, path: string): number {
  const ms = typeof value === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(value) ? Date.parse(`${value}T00:00:00Z`) : NaN;
  if (!Number.isFinite(ms) || new Date(ms).toISOString().slice(0, 10) !== value) throw new QueryError(path, 'a day, YYYY-MM-DD (UTC)');
  return ms * 1000;
}

/** `{from: 'YYYY-MM-DD', to: 'YYYY-MM-DD'}`, `to` exclusive, at most MAX_RANGE_DAYS days. */
export function parseDayRange(value: unknown, path = '/time_range'): DayRange {
  const range = value as { from?: unknown; to?: unknown } | undefined;
  if (!range || typeof range !== 'object') throw new QueryError(path, 'required: {from, to} as YYYY-MM-DD days, to exclusive');
  const fromUs = parseDayUs(range.from, `${path}/from`);
  const toUs = parseDayUs(range.to, `${path}/to`);
  if (toUs <= fromUs) throw new QueryError(`${path}/to`, 'must be after from (to is exclusive: one day is {from: D, to: D + 1})');
  if (toUs - fromUs > MAX_RANGE_DAYS * GRAIN_US.day) throw new QueryError(path, `spans more than ${MAX_RANGE_DAYS} days`);
  return { fromDay: String(range.from), toDay: String(range.to), fromUs, toUs };
}

/** Whether a dimension value passes the query's filters. */
export function passes(filters: readonly Filter[], value: string | null): boolean {
  return filters.every((f) => (f.op === 'in' ? value !== null && f.values.includes(value) : value === null || !f.values.includes(value)));
}
