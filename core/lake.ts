// The lake layout contract (docs/lake.md): object names for raw chunks and the sink's
// manifests. Pure functions only, so every layer (sink, compaction, batch cut, SQL command)
// derives names the same way.

/** Offsets are zero-padded to this many digits so object names sort by offset (int64 fits in 19). */
export const OFFSET_DIGITS = 19;
/** Kafka partitions are zero-padded to at least this many digits in `p=PP`. */
export const PARTITION_DIGITS = 2;

/**
 * Format of the raw objects (their columns and what they mean), written into every row as
 * `_format`. Bumped whenever a column is added, removed or changes meaning; docs/lake.md keeps
 * the history. Format 1 (before `_format` existed) had no such column: a reader sees NULL there.
 */
export const LAKE_FORMAT = 2;
/** The column that carries a row's lake format. */
export const FORMAT_COLUMN = '_format';

export type RawColumnType = 'VARCHAR' | 'VARCHAR[]' | 'DOUBLE' | 'TIMESTAMP' | 'INTEGER' | 'BIGINT';

export interface RawColumn {
  name: string;
  /** DuckDB type; the Parquet files carry the matching physical/logical type. */
  type: RawColumnType;
  /** The lake format that introduced the column. */
  since: number;
}

const col = (name: string, type: RawColumnType, since = 1): RawColumn => ({ name, type, since });

/**
 * Every column of a raw Parquet object of the current format, in file order (docs/lake.md
 * "Columns of a raw object"). core/lake-columns.ts says where each flattened one comes from.
 */
export const RAW_COLUMNS: readonly RawColumn[] = [
  col('tenant_id', 'VARCHAR'),
  col('event_id', 'VARCHAR'),
  col('event_time', 'TIMESTAMP'),
  col('ingestion_time', 'TIMESTAMP'),
  col('event_type', 'VARCHAR'),
  col('event_subtype', 'VARCHAR'),
  col('schema_version', 'VARCHAR'),
  col('source_system', 'VARCHAR'),
  col('user_id', 'VARCHAR'),
  col('anonymous_id', 'VARCHAR'),
  col('session_id', 'VARCHAR'),
  col('correlation_id', 'VARCHAR'),
  col('causation_id', 'VARCHAR'),
  col('device_fingerprint', 'VARCHAR'),
  col('country', 'VARCHAR'),
  col('region', 'VARCHAR'),
  col('city', 'VARCHAR'),
  col('merchant_id', 'VARCHAR'),
  col('cart_id', 'VARCHAR'),
  col('final_total', 'DOUBLE'),
  col('currency', 'VARCHAR'),
  col('payment_method_type', 'VARCHAR'),
  col('payment_provider', 'VARCHAR'),
  col('payment_token', 'VARCHAR'),
  col('page_type', 'VARCHAR'),
  col('fraud_score', 'DOUBLE'),
  col('subtotal', 'DOUBLE', 2),
  col('discount_total', 'DOUBLE', 2),
  col('browser_name', 'VARCHAR', 2),
  col('os_name', 'VARCHAR', 2),
  col('device_type', 'VARCHAR', 2),
  col('category_l1', 'VARCHAR', 2),
  col('shipping_carrier', 'VARCHAR', 2),
  col('experiment_ids', 'VARCHAR[]', 2),
  col('touchpoints', 'VARCHAR[]', 2),
  col('largest_contentful_paint', 'DOUBLE', 2),
  col('event_json', 'VARCHAR'),
  col('_partition', 'INTEGER'),
  col('_offset', 'BIGINT'),
  col('_ingested_at', 'TIMESTAMP'),
  col(FORMAT_COLUMN, 'INTEGER', 2),
];

/** The columns an object of an older format holds (format 1: those with `since` 1). */
export function rawColumnsOfFormat(format: number): RawColumn[] {
  if (!Number.isInteger(format) || format < 1 || format > LAKE_FORMAT) throw new RangeError(`unknown lake format ${format}`);
  return RAW_COLUMNS.filter((c) => c.since <= format);
}

/** Quotes a string as a SQL literal (core/duckdb has the same; this module imports nothing). */
const literal = (value: string) => `'${value.replace(/'/g, "''")}'`;

export interface RawReadOptions {
  /** Adds the Hive path columns dt, hour, p (default true). */
  hivePartitioning?: boolean;
  /** Adds `filename` (default false). */
  filename?: boolean;
  /** Adds `file_row_number` (default false). */
  fileRowNumber?: boolean;
}

/**
 * A DuckDB relation (parenthesized subquery) over raw objects of ANY format: the current
 * format's columns in file order, NULL where an older object lacks a column, and `_format`
 * filled in (1 for objects written before `_format` existed). `files` is a path, a glob or a
 * list of them (local or s3://). Filters on columns push down into the Parquet scan.
 *
 * Example: `SELECT browser_name, count(*) FROM ${rawEventsRelation(files)} GROUP BY ALL`.
 */
export function rawEventsRelation(files: string | readonly string[], opts: RawReadOptions = {}): string {
  const list = typeof files === 'string' ? literal(files) : `[${files.map(literal).join(', ')}]`;
  const flags = [
    'union_by_name = true',
    `hive_partitioning = ${opts.hivePartitioning ?? true}`,
    ...(opts.filename ? ['filename = true'] : []),
    ...(opts.fileRowNumber ? ['file_row_number = true'] : []),
  ];
  // The typed, empty first branch fixes the column set, order and types; UNION ALL BY NAME
  // fills what an older file lacks with NULL.
  const template = RAW_COLUMNS.map((c) => `NULL::${c.type} AS ${c.name}`).join(', ');
  return (
    `(SELECT * REPLACE (coalesce(${FORMAT_COLUMN}, 1)::INTEGER AS ${FORMAT_COLUMN}) FROM (` +
    `SELECT ${template} WHERE false UNION ALL BY NAME SELECT * FROM read_parquet(${list}, ${flags.join(', ')})))`
  );
}

export const RAW_ROOT = 'raw';
export const SINK_MANIFEST_ROOT = 'manifests/sink';
export const HIGH_WATER_FILE = 'high-water.json';
export const MANIFEST_FORMAT = 1;

/** Where one raw Parquet object sits: event-time hour (UTC), Kafka partition, chunk offset range. */
export interface RawChunkRef {
  /** Event-time date in UTC, YYYY-MM-DD. */
  dt: string;
  /** Event-time hour in UTC, 0–23. */
  hour: number;
  partition: number;
  /** First Kafka offset of the chunk (inclusive). */
  startOffset: number;
  /** Last Kafka offset of the chunk (inclusive). */
  endOffset: number;
}

/** Normalizes a lake root prefix: '' stays '', anything else becomes 'a/b/' (no leading slash). */
export function normalizePrefix(prefix: string | undefined): string {
  const trimmed = (prefix ?? '').replace(/^\/+|\/+$/g, '');
  return trimmed === '' ? '' : `${trimmed}/`;
}

export function padOffset(offset: number): string {
  if (!Number.isSafeInteger(offset) || offset < 0) throw new RangeError(`invalid Kafka offset ${offset}`);
  return String(offset).padStart(OFFSET_DIGITS, '0');
}

export function partitionSegment(partition: number): string {
  if (!Number.isInteger(partition) || partition < 0) throw new RangeError(`invalid Kafka partition ${partition}`);
  return `p=${String(partition).padStart(PARTITION_DIGITS, '0')}`;
}

/** The UTC date and hour of an event time given in epoch milliseconds. */
export function eventHour(epochMs: number): { dt: string; hour: number } {
  const iso = new Date(epochMs).toISOString();
  return { dt: iso.slice(0, 10), hour: Number(iso.slice(11, 13)) };
}

/** `<prefix>raw/dt=YYYY-MM-DD/hour=HH/p=PP/<start>-<end>.parquet` */
export function rawChunkKey(prefix: string, ref: RawChunkRef): string {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(ref.dt)) throw new RangeError(`invalid dt ${ref.dt}`);
  if (!Number.isInteger(ref.hour) || ref.hour < 0 || ref.hour > 23) throw new RangeError(`invalid hour ${ref.hour}`);
  if (ref.endOffset < ref.startOffset) throw new RangeError(`chunk end ${ref.endOffset} before start ${ref.startOffset}`);
  return (
    `${normalizePrefix(prefix)}${RAW_ROOT}/dt=${ref.dt}/hour=${String(ref.hour).padStart(2, '0')}/` +
    `${partitionSegment(ref.partition)}/${padOffset(ref.startOffset)}-${padOffset(ref.endOffset)}.parquet`
  );
}

const RAW_KEY = /(?:^|\/)raw\/dt=(\d{4}-\d{2}-\d{2})\/hour=(\d{2})\/p=(\d+)\/(\d+)-(\d+)\.parquet$/;

/** Parses a raw chunk key (with or without a prefix); undefined for anything else. */
export function parseRawChunkKey(key: string): RawChunkRef | undefined {
  const m = RAW_KEY.exec(key);
  if (!m) return undefined;
  return { dt: m[1], hour: Number(m[2]), partition: Number(m[3]), startOffset: Number(m[4]), endOffset: Number(m[5]) };
}

/** `<prefix>raw/` — list under this to see every raw chunk. */
export function rawRoot(prefix: string): string {
  return `${normalizePrefix(prefix)}${RAW_ROOT}/`;
}

/** `<prefix>raw/dt=YYYY-MM-DD/hour=HH/` — every raw chunk of one event hour. */
export function rawHourPrefix(prefix: string, h: { dt: string; hour: number }): string {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(h.dt)) throw new RangeError(`invalid dt ${h.dt}`);
  if (!Number.isInteger(h.hour) || h.hour < 0 || h.hour > 23) throw new RangeError(`invalid hour ${h.hour}`);
  return `${rawRoot(prefix)}dt=${h.dt}/hour=${String(h.hour).padStart(2, '0')}/`;
}

/** The sink's published high-water mark: `<prefix>manifests/sink/high-water.json`. */
export function highWaterKey(prefix: string): string {
  return `${normalizePrefix(prefix)}${SINK_MANIFEST_ROOT}/${HIGH_WATER_FILE}`;
}

/** The sink's per-partition record (durable offset + the one uncommitted chunk, if any). */
export function partitionRecordKey(prefix: string, partition: number): string {
  return `${normalizePrefix(prefix)}${SINK_MANIFEST_ROOT}/partitions/${partitionSegment(partition)}.json`;
}

/**
 * The high-water manifest: for each partition, the next offset not yet durable in the lake.
 * Every event of partition p with offset < partitions[p] is in raw/ (or was sent to the DLQ).
 */
export interface HighWaterManifest {
  format: typeof MANIFEST_FORMAT;
  topic: string;
  updated_at: string;
  /** Partition number (as a string key) → next offset not yet durable. */
  partitions: Record<string, number>;
}

/** A chunk whose objects may be in S3 but whose offsets are not yet committed. */
export interface PendingChunk {
  start: number;
  end: number;
  keys: string[];
}

export interface PartitionRecord {
  format: typeof MANIFEST_FORMAT;
  topic: string;
  partition: number;
  /** Next offset not yet durable (equals the committed offset once the commit succeeded). */
  next_offset: number;
  /** Written before a chunk's uploads, cleared after its commit; drives the deterministic replay. */
  pending: PendingChunk | null;
  updated_at: string;
}

/** Monotonic merge: per partition the larger offset wins, so the manifest never moves back. */
export function mergeHighWater(
  current: Record<string, number> | undefined,
  update: Record<string, number>,
): Record<string, number> {
  const merged: Record<string, number> = { ...(current ?? {}) };
  for (const [partition, offset] of Object.entries(update)) {
    if (!Number.isSafeInteger(offset) || offset < 0) continue;
    merged[partition] = Math.max(merged[partition] ?? 0, offset);
  }
  return Object.fromEntries(Object.entries(merged).sort((a, b) => Number(a[0]) - Number(b[0])));
}

/** Reads a high-water manifest defensively; undefined when the JSON is not one. */
export function parseHighWater(text: string): HighWaterManifest | undefined {
  try {
    const value = JSON.parse(text) as Partial<HighWaterManifest>;
    if (value.format !== MANIFEST_FORMAT || typeof value.partitions !== 'object' || value.partitions === null) return undefined;
    const partitions: Record<string, number> = {};
    for (const [p, o] of Object.entries(value.partitions)) if (Number.isSafeInteger(o) && /^\d+$/.test(p)) partitions[p] = o;
    return { format: MANIFEST_FORMAT, topic: String(value.topic ?? ''), updated_at: String(value.updated_at ?? ''), partitions };
  } catch {
    return undefined;
  }
}

export function parsePartitionRecord(text: string): PartitionRecord | undefined {
  try {
    const value = JSON.parse(text) as Partial<PartitionRecord>;
    if (value.format !== MANIFEST_FORMAT || !Number.isSafeInteger(value.partition) || !Number.isSafeInteger(value.next_offset)) return undefined;
    const p = value.pending;
    const pending =
      p && Number.isSafeInteger(p.start) && Number.isSafeInteger(p.end) && Array.isArray(p.keys)
        ? { start: p.start, end: p.end, keys: p.keys.filter((k): k is string => typeof k === 'string') }
        : null;
    return {
      format: MANIFEST_FORMAT,
      topic: String(value.topic ?? ''),
      partition: value.partition as number,
      next_offset: value.next_offset as number,
      pending,
      updated_at: String(value.updated_at ?? ''),
    };
  } catch {
    return undefined;
  }
}

/** Whether a published high-water mark covers the given end offsets of every partition. */
export function highWaterCovers(marks: Record<string, number>, ends: Record<string, number>): boolean {
  return Object.entries(ends).every(([partition, end]) => (marks[partition] ?? 0) >= end);
}

/** Where the batch layer publishes the current views version and its cut (atomic pointer). */
export const VIEWS_MANIFEST = 'manifests/views/current.json';

export function viewsManifestKey(prefix: string): string {
  return `${normalizePrefix(prefix)}${VIEWS_MANIFEST}`;
}

/**
 * The published batch views: `version` names `views/<view>/version=<version>/`, and the views
 * cover exactly the events with `_offset < cut[p]` of each partition p (DESIGN: the offset cut;
 * cut offsets are aligned to the speed layer's offset bucket size). Partitions absent from `cut`
 * are not covered at all.
 */
export interface ViewsManifest {
  version: string;
  /** Partition number (as a string key) → first offset not covered. */
  cut: Record<string, number>;
  published_at?: string;
}

/** Reads a views manifest defensively; undefined when the JSON is not one. */
export function parseViewsManifest(text: string): ViewsManifest | undefined {
  try {
    const value = JSON.parse(text) as Partial<ViewsManifest>;
    if ((typeof value.version !== 'string' && typeof value.version !== 'number') || typeof value.cut !== 'object' || value.cut === null) return undefined;
    const cut: Record<string, number> = {};
    for (const [p, o] of Object.entries(value.cut)) {
      if (!/^\d+$/.test(p) || !Number.isSafeInteger(o) || (o as number) < 0) return undefined;
      cut[p] = o as number;
    }
    return { version: String(value.version), cut, ...(typeof value.published_at === 'string' ? { published_at: value.published_at } : {}) };
  } catch {
    return undefined;
  }
}

/** The cut as a partition → offset map. */
export function cutOf(m: ViewsManifest): Map<number, number> {
  return new Map(Object.entries(m.cut).map(([p, o]) => [Number(p), o]));
}
