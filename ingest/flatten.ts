// Flatten: raw Kafka values → sorted Parquet files, one per (partition, event hour), done in
// DuckDB SQL over a delimited temp file. JS only frames each message as one input line (no
// JSON.parse on the hot path); DuckDB validates the JSON, extracts the flattened columns and
// reports the rows that must go to the DLQ with a reason.
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { sqlLiteral } from '../core/duckdb';

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

/** Field separator of the input file: a raw 0x01 byte can never occur in valid JSON text. */
const SEP = '\u0001';
/** Messages above this go to the DLQ (`too_large`) instead of into the lake. */
export const MAX_EVENT_BYTES = 1024 * 1024;

export interface InputMessage {
  partition: number;
  offset: number;
  /** Kafka record timestamp, epoch ms (becomes `_ingested_at`). */
  timestampMs: number;
  value: Buffer | null;
}

/**
 * Frames one message as an input line `partition 0x01 offset 0x01 timestamp 0x01 json \n`, or
 * says why it can never be a lake row. Pretty-printed JSON (with line breaks) is re-serialized
 * compactly; that is the only case that parses in JS.
 */
export function encodeInputLine(m: InputMessage): { line: string } | { reason: RejectReason } {
  if (m.value === null || m.value.length === 0) return { reason: 'empty_value' };
  if (m.value.length > MAX_EVENT_BYTES) return { reason: 'too_large' };
  let text = m.value.toString('utf8');
  if (text.includes('\n') || text.includes('\r') || text.includes(SEP)) {
    try {
      text = JSON.stringify(JSON.parse(text));
    } catch {
      return { reason: 'invalid_json' };
    }
  }
  return { line: `${m.partition}${SEP}${m.offset}${SEP}${m.timestampMs}${SEP}${text}\n` };
}

type ColumnType = 'VARCHAR' | 'TIMESTAMP' | 'DOUBLE';

export interface FlatColumn {
  name: string;
  type: ColumnType;
  /** JSON paths tried in order (SPEC 2.1 location first, then older/flat spellings). */
  paths: string[];
}

const BC = '$.event_data.business_context';
const CART = `${BC}.transaction_context.cart_context`;
const SESSION = '$.event_data.user_context.session_data';
const PAY = [`${CART}.payment_context.payment_methods[0]`, `${BC}.transaction_context.payment_context.payment_methods[0]`];

/** The flattened columns of a raw row, in file order (before event_json and the _ columns). */
export const FLAT_COLUMNS: readonly FlatColumn[] = [
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
  { name: 'final_total', type: 'DOUBLE', paths: [`${CART}.cart_value.final_total`, `${BC}.transaction_context.cart_value.final_total`, '$.amount'] },
  {
    name: 'currency',
    type: 'VARCHAR',
    paths: [`${CART}.cart_value.currency`, `${BC}.transaction_context.products[0].pricing.currency`, '$.currency'],
  },
  { name: 'payment_method_type', type: 'VARCHAR', paths: PAY.map((p) => `${p}.method_type`) },
  { name: 'payment_provider', type: 'VARCHAR', paths: PAY.map((p) => `${p}.provider`) },
  { name: 'payment_token', type: 'VARCHAR', paths: PAY.map((p) => `${p}.tokenized_identifier`) },
  { name: 'page_type', type: 'VARCHAR', paths: [`${BC}.interaction_context.page_context.page_type`] },
  { name: 'fraud_score', type: 'DOUBLE', paths: ['$.ml_context.model_scores.fraud_detection.score', '$.ml_context.model_scores.fraud_detection'] },
];

/** Every column of a raw Parquet object, in order, with its DuckDB/Parquet type. */
export const RAW_COLUMNS: readonly { name: string; type: string }[] = [
  ...FLAT_COLUMNS.map((c) => ({ name: c.name, type: c.type })),
  { name: 'event_json', type: 'VARCHAR' },
  { name: '_partition', type: 'INTEGER' },
  { name: '_offset', type: 'BIGINT' },
  { name: '_ingested_at', type: 'TIMESTAMP' },
];

function castExpr(type: ColumnType, text: string): string {
  if (type === 'VARCHAR') return text;
  if (type === 'DOUBLE') return `TRY_CAST(${text} AS DOUBLE)`;
  // ISO-8601 with zone → UTC wall time; the connection runs with TimeZone=UTC.
  return `TRY_CAST(TRY_CAST(${text} AS TIMESTAMPTZ) AS TIMESTAMP)`;
}

/** SQL select list that maps the extracted path list `j` to the flat columns. Exported for tests. */
export function flatSelectList(columns: readonly FlatColumn[] = FLAT_COLUMNS): { paths: string[]; select: string[] } {
  const paths: string[] = [];
  const select = columns.map((c) => {
    const parts = c.paths.map((p) => {
      let i = paths.indexOf(p);
      if (i < 0) i = paths.push(p) - 1;
      return castExpr(c.type, `j[${i + 1}]`);
    });
    const expr = parts.length === 1 ? parts[0] : `coalesce(${parts.join(', ')})`;
    return `${expr} AS ${c.name}`;
  });
  return { paths, select };
}

export interface FlattenedObject {
  partition: number;
  dt: string;
  hour: number;
  rows: number;
  /** Local Parquet file, sorted by tenant_id, event_time, _offset. */
  file: string;
}

export interface FlattenResult {
  objects: FlattenedObject[];
  rejects: { partition: number; offset: number; reason: RejectReason }[];
  rows: number;
}

/** Runs once per connection: the sink's session settings. */
export async function prepareConnection(conn: DuckDBConnection): Promise<void> {
  await conn.run(`SET TimeZone = 'UTC'`);
}

/**
 * Reads the framed input file, validates and flattens every line, and writes one Parquet file per
 * (partition, UTC event hour) into outDir. Returns the files and the rejected (partition, offset)s.
 */
export async function flattenToParquet(conn: DuckDBConnection, inputFile: string, outDir: string): Promise<FlattenResult> {
  const { paths, select } = flatSelectList();
  const pathList = `[${paths.map(sqlLiteral).join(', ')}]`;
  await conn.run(`
    CREATE OR REPLACE TEMP TABLE sink_in AS
    SELECT p, o, ts, line, json_valid(line) AS ok
    FROM read_csv(${sqlLiteral(inputFile)},
      columns = {'p': 'INTEGER', 'o': 'BIGINT', 'ts': 'BIGINT', 'line': 'VARCHAR'},
      delim = ${sqlLiteral(SEP)}, quote = '', escape = '', header = false, auto_detect = false,
      max_line_size = ${MAX_EVENT_BYTES * 2 + 100})`);
  // Two steps on purpose: json_extract raises on malformed JSON, so it only sees valid lines.
  await conn.run(`
    CREATE OR REPLACE TEMP TABLE sink_x AS
    SELECT p, o, ts, line, json_type(line) AS jt, json_extract_string(line, ${pathList}) AS j
    FROM sink_in WHERE ok`);
  await conn.run(`
    CREATE OR REPLACE TEMP TABLE sink_rows AS
    SELECT *, CASE
        WHEN jt IS DISTINCT FROM 'OBJECT' THEN 'not_an_object'
        WHEN tenant_id IS NULL OR tenant_id = '' THEN 'missing_tenant_id'
        WHEN event_id IS NULL OR event_id = '' THEN 'missing_event_id'
        WHEN _ts_text IS NULL THEN 'missing_timestamp'
        WHEN event_time IS NULL OR event_time < TIMESTAMP '1970-01-01' OR event_time >= TIMESTAMP '3000-01-01'
          THEN 'invalid_timestamp'
      END AS _reject
    FROM (
      SELECT ${select.join(',\n        ')},
        line AS event_json, p AS _partition, o AS _offset, make_timestamp(ts * 1000) AS _ingested_at,
        jt, coalesce(j[${paths.indexOf('$.event_metadata.timestamp') + 1}], j[${paths.indexOf('$.timestamp') + 1}]) AS _ts_text
      FROM sink_x)`);

  const rejectReader = await conn.runAndReadAll(`
    SELECT p AS partition, o AS "offset", 'invalid_json' AS reason FROM sink_in WHERE NOT ok
    UNION ALL
    SELECT _partition, _offset, _reject FROM sink_rows WHERE _reject IS NOT NULL
    ORDER BY 1, 2`);
  const rejects = rejectReader.getRowObjectsJson().map((r) => ({
    partition: Number(r.partition),
    offset: Number(r.offset),
    reason: String(r.reason) as RejectReason,
  }));

  const groupReader = await conn.runAndReadAll(`
    SELECT _partition AS partition, strftime(event_time, '%Y-%m-%d') AS dt, hour(event_time) AS hour, count(*) AS n
    FROM sink_rows WHERE _reject IS NULL GROUP BY ALL ORDER BY ALL`);
  const groups = groupReader.getRowObjectsJson().map((r) => ({
    partition: Number(r.partition),
    dt: String(r.dt),
    hour: Number(r.hour),
    rows: Number(r.n),
  }));

  const columns = RAW_COLUMNS.map((c) => c.name).join(', ');
  const objects: FlattenedObject[] = [];
  let rows = 0;
  for (const g of groups) {
    const file = path.join(outDir, `p${g.partition}-${g.dt}-${g.hour}.parquet`);
    const start = `TIMESTAMP ${sqlLiteral(`${g.dt} ${String(g.hour).padStart(2, '0')}:00:00`)}`;
    await conn.run(`
      COPY (
        SELECT ${columns} FROM sink_rows
        WHERE _reject IS NULL AND _partition = ${g.partition}
          AND event_time >= ${start} AND event_time < ${start} + INTERVAL 1 HOUR
        ORDER BY tenant_id, event_time, _offset
      ) TO ${sqlLiteral(file)} (FORMAT parquet, COMPRESSION zstd)`);
    objects.push({ ...g, file });
    rows += g.rows;
  }
  await conn.run('DROP TABLE IF EXISTS sink_in; DROP TABLE IF EXISTS sink_x; DROP TABLE IF EXISTS sink_rows;');
  return { objects, rejects, rows };
}

/** Writes framed lines to a file, in pieces so a large chunk never becomes one giant string. */
export async function writeInputFile(file: string, lines: string[]): Promise<number> {
  const handle = await fs.open(file, 'w');
  let bytes = 0;
  try {
    const piece = 2000;
    for (let i = 0; i < lines.length; i += piece) {
      const text = lines.slice(i, i + piece).join('');
      bytes += Buffer.byteLength(text);
      await handle.write(text);
    }
  } finally {
    await handle.close();
  }
  return bytes;
}
