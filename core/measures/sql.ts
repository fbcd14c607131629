// The batch layer's computation, derived from the declaration: one DuckDB query that computes
// every rollup's cells over raw lake rows, with the speed layer's keys (rollup, tenant, window,
// dimension, Kafka partition, offset bucket) and the same parts, register for register.
import { CELL_KEY_COLUMNS } from './cells';
import { DEFAULT_OFFSET_BUCKET_SIZE, validateDeclaration, WINDOW_US, type Filter, type MeasuresDeclaration, type PartDecl } from './declaration';
import { digestBucketSql } from './digest';
import { FIELD_COLUMNS, type MeasureField } from './fields';
import { hllCanonicalSql, hllPackedSql } from './hll';

export interface MeasuresSqlOptions {
  /**
   * A relation of raw lake rows with the lake's column names, e.g. core/lake.ts
   * `rawEventsRelation(files)` or `read_parquet([...])` of format-2 objects.
   */
  source: string;
  /** B of the offset buckets floor(_offset / B). Default 10,000. */
  offsetBucketSize?: number;
  /** The batch cut: only rows with _offset < cut[_partition]; partitions not in it are left out. */
  cut?: ReadonlyMap<number, number>;
  /** Rollups to compute (default: all). */
  rollups?: readonly string[];
  /**
   * Keep the cells keyed by Kafka partition and offset bucket (default true). False folds them
   * together (partition and bucket −1 in the output): what a batch view at a cut needs, since
   * serving merges it whole with the speed layer's cells at or after the cut.
   */
  byOffsetBucket?: boolean;
}

const quote = (s: string) => `'${s.replace(/'/g, "''")}'`;
const ident = (s: string) => `"${s.replace(/"/g, '""')}"`;

function filterSql(where: Filter | undefined, extra?: string): string {
  const conds = [...(where ? [`${where.field} IN (${where.in.map(quote).join(', ')})`] : []), ...(extra ? [extra] : [])];
  return conds.length === 0 ? '' : ` FILTER (WHERE ${conds.join(' AND ')})`;
}

/** Column names of the helper values in the `events` relation. */
const helper = (p: PartDecl) => `_${p.kind}_${p.name}`;

function aggregateSql(p: PartDecl): string {
  const name = ident(p.name);
  switch (p.kind) {
    case 'count':
      return `count(${p.field ?? '*'})${filterSql(p.where)} AS ${name}`;
    case 'sum':
      return `coalesce(sum(${p.field})${filterSql(p.where)}, 0)::DOUBLE AS ${name}`;
    case 'min':
    case 'max':
      return `${p.kind}(${p.field})${filterSql(p.where)}::DOUBLE AS ${name}`;
    case 'hll':
      // sorted packed values; the outer query keeps each register's largest rank (equal values
      // are neighbours in the sorted list, so that also drops repeats: no list_distinct needed)
      return `list_sort(coalesce(list(${helper(p)})${filterSql(p.where, `${helper(p)} IS NOT NULL`)}, [])) AS ${name}`;
    case 'digest':
      return `list_sort(coalesce(map_entries(histogram(${helper(p)})${filterSql(p.where, `${helper(p)} IS NOT NULL`)}), [])) AS ${name}`;
  }
}

/**
 * DuckDB SQL computing the cells of the declaration's rollups over raw lake rows: one row per
 * cell with the CELL_KEY_COLUMNS, then one column per part, named after it — count BIGINT, sum /
 * min / max DOUBLE, hll UINTEGER[] (canonical packed registers), digest STRUCT(key INTEGER, value
 * UBIGINT)[] (bucket, count). Events are deduplicated by (tenant_id, event_id), keeping the
 * lowest offset. Read rows into cells with cells.ts cellFromSqlRow, or COPY them to a batch view.
 */
export function measuresSql(decl: MeasuresDeclaration, opts: MeasuresSqlOptions): string {
  return `WITH events AS MATERIALIZED (
${measureEventsSql(decl, opts)}
)
${cellsFromEventsSql(decl, { ...opts, events: 'events' })}`;
}

export interface MeasureEventsOptions {
  /** A relation of raw lake rows (as MeasuresSqlOptions.source). */
  source: string;
  offsetBucketSize?: number;
  cut?: ReadonlyMap<number, number>;
  /**
   * The source holds each (tenant_id, event_id) once already (e.g. core/views-sql.ts hourRowsSql,
   * which applies the same firstSeenSql rule): skip the deduplication window.
   */
  deduplicated?: boolean;
}

/**
 * The first half of measuresSql: one row per distinct event below the cut, with the key fields,
 * the offset bucket and each part's helper values (sketch hashes, digest buckets) computed once.
 * Materialize it (a CTE or a temp table) and compute cells from it with cellsFromEventsSql.
 */
export function measureEventsSql(decl: MeasuresDeclaration, opts: MeasureEventsOptions): string {
  validateDeclaration(decl);
  const B = opts.offsetBucketSize ?? DEFAULT_OFFSET_BUCKET_SIZE;
  if (!Number.isSafeInteger(B) || B < 1) throw new RangeError(`offset bucket size ${B} is not a positive integer`);
  const fields = Object.keys(FIELD_COLUMNS) as MeasureField[];
  const cut = opts.cut ? `WHERE ${cutPredicateSql(opts.cut)}` : '';
  const helpers = decl.parts.flatMap((p) => {
    if (p.kind === 'hll') return [`${hllPackedSql(p.field, decl.hllPrecision)} AS ${helper(p)}`];
    if (p.kind === 'digest') return digestBucketSql(p.field, decl.digestSubBuckets, helper(p));
    return [];
  });
  return `WITH src AS (
  SELECT tenant_id, event_id, epoch_us(event_time) AS event_time_us, _partition AS "partition", _offset AS "offset",
    ${fields.map((f) => `${FIELD_COLUMNS[f]} AS ${f}`).join(', ')}
  FROM ${opts.source} AS raw ${cut}
),
first_seen AS (
  SELECT * FROM src ${opts.deduplicated ? '' : firstSeenSql('"offset"', '"partition"')}
)
SELECT *, "offset" // ${B} AS bucket${helpers.map((h) => `,\n    ${h}`).join('')}
FROM first_seen`;
}

export interface CellsFromEventsOptions {
  /** A relation of measureEventsSql rows. */
  events: string;
  rollups?: readonly string[];
  byOffsetBucket?: boolean;
}

/** The second half of measuresSql: every rollup's cells of measureEventsSql rows (its output columns and types). */
export function cellsFromEventsSql(decl: MeasuresDeclaration, opts: CellsFromEventsOptions): string {
  validateDeclaration(decl);
  const names = opts.rollups ?? decl.rollups.map((r) => r.name);
  const rollups = names.map((n) => decl.rollups.find((r) => r.name === n) ?? fail(`unknown rollup ${n}`));
  if (rollups.length === 0) fail('no rollups to compute');
  const aggregates = decl.parts.map(aggregateSql);
  const selects = rollups.map((r) => {
    const w = WINDOW_US[r.window];
    const offsets = opts.byOffsetBucket === false ? '-1::INTEGER AS "partition", -1::BIGINT AS bucket' : '"partition", bucket';
    return `  SELECT ${quote(r.name)} AS rollup, tenant_id, event_time_us // ${w} * ${w} AS window_start_us, ${r.dimension ?? 'NULL::VARCHAR'} AS dimension, ${offsets},
    ${aggregates.join(',\n    ')}
  FROM ${opts.events} GROUP BY ALL`;
  });
  const canonical = decl.parts.filter((p) => p.kind === 'hll').map((p) => `${hllCanonicalSql(ident(p.name))} AS ${ident(p.name)}`);
  return `SELECT ${[...CELL_KEY_COLUMNS.map(ident), ...decl.parts.map((p) => ident(p.name))].join(', ')} FROM (
  SELECT * ${canonical.length > 0 ? `REPLACE (${canonical.join(', ')})` : ''} FROM (
${selects.join('\n  UNION ALL\n')}
  )
)`;
}

/**
 * The rows of raw lake columns a batch cut covers: `_offset < cut[_partition]`; partitions not in
 * the cut are left out (an empty cut covers nothing).
 */
export function cutPredicateSql(cut: ReadonlyMap<number, number>): string {
  const terms = [...cut].map(([p, o]) => {
    if (!Number.isInteger(p) || !Number.isSafeInteger(o)) throw new RangeError(`invalid cut ${p}:${o}`);
    return `(_partition = ${p} AND _offset < ${o})`;
  });
  return terms.length === 0 ? 'false' : `(${terms.join(' OR ')})`;
}

/**
 * The QUALIFY clause keeping the first occurrence (lowest offset) of each (tenant_id, event_id):
 * both layers' duplicate rule (docs/measures.md), given the offset and partition column names.
 */
export function firstSeenSql(offset = '_offset', partition = '_partition'): string {
  return `QUALIFY row_number() OVER (PARTITION BY tenant_id, event_id ORDER BY ${offset}, ${partition}) = 1`;
}

const WINDOW_SQL_US: Readonly<Record<'hour' | 'day', number>> = { hour: 3_600_000_000, day: 86_400_000_000 };

export interface MergeCellsOptions {
  /** A relation of cells as measuresSql outputs them (the key columns, then one column per part). */
  source: string;
  /** The coarser window the cells are merged into (UTC hours or days). */
  window: 'hour' | 'day';
  /** The `rollup` value of the merged cells (the view's name). */
  rollup: string;
}

/**
 * DuckDB SQL merging cells into a coarser window, part by part, exactly as cells.ts mergeParts
 * does: counts and sums added, min/max kept, sketches by register-wise max (the union of the
 * packed registers, sorted, keeping each register's largest rank), digests by bucket-wise sums.
 * Cells with the same tenant and dimension fold together whatever their partition and bucket
 * (the output has −1 there). Output columns and types are measuresSql's.
 */
export function mergeCellsSql(decl: MeasuresDeclaration, opts: MergeCellsOptions): string {
  validateDeclaration(decl);
  const w = WINDOW_SQL_US[opts.window];
  const merged = decl.parts.map((p) => {
    const name = ident(p.name);
    switch (p.kind) {
      case 'count':
        return `sum(${name})::BIGINT AS ${name}`;
      case 'sum':
        // in window order: the same cells always add up to the same bits, whatever the threads
        // (collected with their windows below and added in the outer query: cheaper than ORDER BY)
        return [];
      case 'min':
      case 'max':
        return `${p.kind}(${name})::DOUBLE AS ${name}`;
      case 'hll':
        return `list_sort(flatten(list(${name}))) AS ${name}`;
      case 'digest':
        return [];
    }
  });
  // Sums added in window order, bit for bit what `sum(x ORDER BY window_start_us)` gives (a left
  // fold from 0 in that order): sorting the collected (window, sums…) structs sorts by window, and
  // list_sum adds in list order. Where windows tie (cells of several partitions or buckets folded
  // together) the values break the tie: still one defined order, where ORDER BY left it open.
  const sums = decl.parts.filter((p) => p.kind === 'sum');
  const sumList = sums.length === 0 ? [] : [`list_sort(list({'w': window_start_us, ${sums.map((p, i) => `'s${i}': ${ident(p.name)}`).join(', ')}})) AS _sums`];
  // Digests: their (bucket, count) entries unnested and added per bucket in a join, not in a
  // correlated subquery per cell (what the merge spent most of its time on).
  const digests = decl.parts.filter((p) => p.kind === 'digest');
  const out = decl.parts.map((p) => {
    const name = ident(p.name);
    switch (p.kind) {
      case 'sum':
        return `list_sum(list_transform(m._sums, x -> x.s${sums.indexOf(p)}))::DOUBLE AS ${name}`;
      case 'hll':
        return `${hllCanonicalSql(`m.${name}`)} AS ${name}`;
      case 'digest':
        return `coalesce(d${digests.indexOf(p)}.entries, [])::STRUCT(key INTEGER, value UBIGINT)[] AS ${name}`;
      default:
        return `m.${name}`;
    }
  });
  const key = 'tenant_id, merged_window, dimension';
  const joinOn = (alias: string) => `${alias}.tenant_id = m.tenant_id AND ${alias}.merged_window = m.merged_window AND ${alias}.dimension IS NOT DISTINCT FROM m.dimension`;
  const digestCtes = digests.map((p, i) => `d${i} AS (
  SELECT ${key}, list_sort(list({'key': k, 'value': v})) AS entries FROM (
    SELECT ${key}, e.key AS k, sum(e.value)::UBIGINT AS v FROM (SELECT ${key}, unnest(${ident(p.name)}) AS e FROM src) GROUP BY ${key}, k
  ) GROUP BY ${key}
)`);
  return `SELECT * FROM (
WITH src AS MATERIALIZED (SELECT *, window_start_us // ${w} * ${w} AS merged_window FROM ${opts.source}),
m AS (
    SELECT ${quote(opts.rollup)} AS rollup, ${key},
      -1::INTEGER AS "partition", -1::BIGINT AS bucket,
      ${[...merged.flat(), ...sumList].join(',\n      ')}
    FROM src GROUP BY ${key}
)${digestCtes.map((c) => `,\n${c}`).join('')}
SELECT m.rollup, m.tenant_id, m.merged_window AS window_start_us, m.dimension, m."partition", m.bucket, ${out.join(', ')}
FROM m${digests.map((_, i) => ` LEFT JOIN d${i} ON ${joinOn(`d${i}`)}`).join('')}
)`;
}

function fail(msg: string): never {
  throw new Error(`measuresSql: ${msg}`);
}
