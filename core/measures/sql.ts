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
      // sorted distinct packed values; the outer query keeps each register's largest rank
      return `list_sort(list_distinct(coalesce(list(${helper(p)})${filterSql(p.where, `${helper(p)} IS NOT NULL`)}, []))) AS ${name}`;
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
  validateDeclaration(decl);
  const B = opts.offsetBucketSize ?? DEFAULT_OFFSET_BUCKET_SIZE;
  if (!Number.isSafeInteger(B) || B < 1) throw new RangeError(`offset bucket size ${B} is not a positive integer`);
  const names = opts.rollups ?? decl.rollups.map((r) => r.name);
  const rollups = names.map((n) => decl.rollups.find((r) => r.name === n) ?? fail(`unknown rollup ${n}`));
  if (rollups.length === 0) fail('no rollups to compute');

  const fields = Object.keys(FIELD_COLUMNS) as MeasureField[];
  const cut = opts.cut ? `WHERE ${cutPredicateSql(opts.cut)}` : '';
  const helpers = decl.parts.flatMap((p) => {
    if (p.kind === 'hll') return [`${hllPackedSql(p.field, decl.hllPrecision)} AS ${helper(p)}`];
    if (p.kind === 'digest') return digestBucketSql(p.field, decl.digestSubBuckets, helper(p));
    return [];
  });
  const aggregates = decl.parts.map(aggregateSql);
  const selects = rollups.map((r) => {
    const w = WINDOW_US[r.window];
    const offsets = opts.byOffsetBucket === false ? '-1::INTEGER AS "partition", -1::BIGINT AS bucket' : '"partition", bucket';
    return `  SELECT ${quote(r.name)} AS rollup, tenant_id, event_time_us // ${w} * ${w} AS window_start_us, ${r.dimension ?? 'NULL::VARCHAR'} AS dimension, ${offsets},
    ${aggregates.join(',\n    ')}
  FROM events GROUP BY ALL`;
  });
  const canonical = decl.parts.filter((p) => p.kind === 'hll').map((p) => `${hllCanonicalSql(ident(p.name))} AS ${ident(p.name)}`);

  return `WITH src AS (
  SELECT tenant_id, event_id, epoch_us(event_time) AS event_time_us, _partition AS "partition", _offset AS "offset",
    ${fields.map((f) => `${FIELD_COLUMNS[f]} AS ${f}`).join(', ')}
  FROM ${opts.source} AS raw ${cut}
),
first_seen AS (
  SELECT * FROM src ${firstSeenSql('"offset"', '"partition"')}
),
events AS MATERIALIZED (
  SELECT *, "offset" // ${B} AS bucket${helpers.map((h) => `,\n    ${h}`).join('')}
  FROM first_seen
),
cells AS (
${selects.join('\n  UNION ALL\n')}
)
SELECT ${[...CELL_KEY_COLUMNS.map(ident), ...decl.parts.map((p) => ident(p.name))].join(', ')} FROM (
  SELECT * ${canonical.length > 0 ? `REPLACE (${canonical.join(', ')})` : ''} FROM cells
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
        return `sum(${name} ORDER BY window_start_us)::DOUBLE AS ${name}`;
      case 'min':
      case 'max':
        return `${p.kind}(${name})::DOUBLE AS ${name}`;
      case 'hll':
        return `list_sort(list_distinct(flatten(list(${name})))) AS ${name}`;
      case 'digest':
        return `flatten(list(${name})) AS ${name}`;
    }
  });
  const finish = decl.parts.flatMap((p) => {
    const name = ident(p.name);
    if (p.kind === 'hll') return [`${hllCanonicalSql(name)} AS ${name}`];
    if (p.kind === 'digest') {
      return [
        `(SELECT coalesce(list({'key': k, 'value': v} ORDER BY k), [])::STRUCT(key INTEGER, value UBIGINT)[] FROM (SELECT e.key AS k, sum(e.value)::UBIGINT AS v FROM unnest(${name}) AS t(e) GROUP BY k)) AS ${name}`,
      ];
    }
    return [];
  });
  return `SELECT ${[...CELL_KEY_COLUMNS.map(ident), ...decl.parts.map((p) => ident(p.name))].join(', ')} FROM (
  SELECT * ${finish.length > 0 ? `REPLACE (${finish.join(', ')})` : ''} FROM (
    SELECT ${quote(opts.rollup)} AS rollup, tenant_id, merged_window AS window_start_us, dimension,
      -1::INTEGER AS "partition", -1::BIGINT AS bucket,
      ${merged.join(',\n      ')}
    FROM (SELECT *, window_start_us // ${w} * ${w} AS merged_window FROM ${opts.source}) GROUP BY tenant_id, merged_window, dimension
  )
)`;
}

function fail(msg: string): never {
  throw new Error(`measuresSql: ${msg}`);
}
