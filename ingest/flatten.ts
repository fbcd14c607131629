// Flatten: raw Kafka values → sorted Parquet files, one per (partition, event hour), done in
// DuckDB SQL over a delimited temp file. JS only frames each message as one input line (no
// JSON.parse on the hot path); DuckDB validates the JSON, extracts the flattened columns of the
// current lake format (core/lake.ts LAKE_FORMAT) and reports the rows that must go to the DLQ
// with a reason.
import { isUtf8 } from 'node:buffer';
import * as fsSync from 'node:fs';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { sqlLiteral } from '../core/duckdb';
import { FORMAT_COLUMN, LAKE_FORMAT, RAW_COLUMNS, type RawColumnType } from '../core/lake';
import { FLAT_COLUMNS, type FlatColumn, type RejectReason } from '../core/lake-columns';
import { LAKE_NULL } from '../core/lake-record';

// The column declarations are pure data shared with the speed layer (core/lake-columns.ts).
export { FLAT_COLUMNS, REJECT_REASONS, type Extraction, type FlatColumn, type RejectReason } from '../core/lake-columns';

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

const LF = 0x0a;
const CR = 0x0d;
const SEP_BYTE = 0x01;
/**
 * `\ud`: the start of a surrogate escape. JSON.stringify writes a lone surrogate that way, and
 * DuckDB's JSON reader refuses it (the event is dead-lettered as invalid_json), so a value holding
 * one anywhere (or a literal `\\ud…`, rarely) takes the extraction path, which decides.
 */
const SURROGATE_ESCAPE = Buffer.from('\\ud');
/** Size of the input file's pieces in memory: a flush's input is a few of them, not a buffer per event. */
const INPUT_PIECE_BYTES = 4 * 1024 * 1024;

/**
 * The input file as bytes, for the sink: the lines encodeInputLine would frame, byte for byte
 * (unit-tested), but a value that needs nothing done to it (valid UTF-8, no line break, no
 * separator: every event the API writes) is copied in as it is, with no UTF-8 decode and
 * re-encode per event; anything else goes through encodeInputLine. Lines are written into a few
 * large pieces: one Buffer per event would make V8 account (and collect) each one.
 */
export class InputFileBuilder {
  /** Pieces filled so far, then the one being filled; kept across `reset` (see there). */
  private readonly pieces: Buffer[] = [Buffer.allocUnsafeSlow(INPUT_PIECE_BYTES)];
  private current = 0;
  private at = 0;
  private lengths: number[] = [];
  /** Lines added since the last reset. */
  rows = 0;

  private get piece(): Buffer {
    return this.pieces[this.current];
  }

  /**
   * Empties the builder for the next file and keeps its pieces: a sink flushes every few seconds,
   * and allocating tens of MB of buffers each time made V8 run full collections for them (the
   * builder cost more CPU than text lines until its pieces were reused).
   */
  reset(): void {
    this.current = 0;
    this.at = 0;
    this.lengths = [];
    this.rows = 0;
  }

  /** Adds one message's line; returns why the message can never be a lake row instead, if so. */
  add(m: InputMessage): RejectReason | undefined {
    const v = m.value;
    if (v === null || v.length === 0 || v.length > MAX_EVENT_BYTES || v.includes(LF) || v.includes(CR) || v.includes(SEP_BYTE) || !isUtf8(v)) {
      const framed = encodeInputLine(m);
      if ('reason' in framed) return framed.reason;
      this.room(Buffer.byteLength(framed.line));
      this.at += this.piece.write(framed.line, this.at, 'utf8');
      this.rows++;
      return undefined;
    }
    const head = `${m.partition}${SEP}${m.offset}${SEP}${m.timestampMs}${SEP}`;
    this.room(head.length + v.length + 1);
    this.at += this.piece.write(head, this.at, 'latin1');
    this.at += v.copy(this.piece, this.at);
    this.piece[this.at++] = LF;
    this.rows++;
    return undefined;
  }

  /**
   * Adds one message of the typed input (flattenToParquet's `typedInputFile`): its flat columns are
   * `fields`, the lake record header's fields (core/lake-record.ts lakeHeaderFields), copied as they
   * are. Returns false, adding nothing, when the value or the fields cannot be framed as they are
   * (the message then goes through `add`, and DuckDB extracts its columns).
   */
  addTyped(m: InputMessage, fields: Buffer): boolean {
    const v = m.value;
    if (
      v === null ||
      v.length === 0 ||
      v.length > MAX_EVENT_BYTES ||
      v.includes(LF) ||
      v.includes(CR) ||
      v.includes(SEP_BYTE) ||
      v.includes(SURROGATE_ESCAPE) ||
      !isUtf8(v) ||
      !isUtf8(fields)
    ) {
      return false;
    }
    const head = `${m.partition}${SEP}${m.offset}${SEP}${m.timestampMs}${SEP}`;
    this.room(head.length + fields.length + v.length + 2);
    this.at += this.piece.write(head, this.at, 'latin1');
    this.at += fields.copy(this.piece, this.at);
    this.piece[this.at++] = SEP_BYTE;
    this.at += v.copy(this.piece, this.at);
    this.piece[this.at++] = LF;
    this.rows++;
    return true;
  }

  /**
   * Writes the file; returns its size in bytes. Synchronously: the file is a few tens of MB into
   * the page cache (tens of ms), and the flush it feeds is the sink's critical path — awaiting each
   * piece let the next fetch's decoding run in between and delayed the flatten by up to ~0.5 s.
   */
  writeTo(file: string): number {
    const fd = fsSync.openSync(file, 'w');
    let bytes = 0;
    try {
      for (let i = 0; i <= this.current; i++) {
        const length = i < this.current ? this.lengths[i] : this.at;
        for (let at = 0; at < length; ) at += fsSync.writeSync(fd, this.pieces[i], at, length - at);
        bytes += length;
      }
    } finally {
      fsSync.closeSync(fd);
    }
    return bytes;
  }

  private room(bytes: number): void {
    if (this.at + bytes <= this.piece.length) return;
    this.lengths[this.current] = this.at;
    this.current++;
    this.at = 0;
    if (this.current === this.pieces.length || this.pieces[this.current].length < bytes) {
      this.pieces[this.current] = Buffer.allocUnsafeSlow(Math.max(INPUT_PIECE_BYTES, bytes));
    }
  }
}

/** Columns of the raw object after the flattened ones: how each is computed from the input. */
const TAIL_COLUMNS: Record<string, string> = {
  event_json: 'line',
  _partition: 'p',
  _offset: 'o',
  _ingested_at: 'make_timestamp(ts * 1000)',
  [FORMAT_COLUMN]: `${LAKE_FORMAT}::INTEGER`,
};

/** Every column of a raw Parquet object, in order, with its DuckDB/Parquet type (core/lake.ts). */
export { RAW_COLUMNS };

// FLAT_COLUMNS then TAIL_COLUMNS must be core/lake's RAW_COLUMNS, in order (a unit test says so too).
if (
  [...FLAT_COLUMNS.map((c) => `${c.name} ${c.type}`), ...Object.keys(TAIL_COLUMNS)].join() !==
  RAW_COLUMNS.map((c, i) => (i < FLAT_COLUMNS.length ? `${c.name} ${c.type}` : c.name)).join()
) {
  throw new Error('ingest/flatten: FLAT_COLUMNS and TAIL_COLUMNS do not match core/lake RAW_COLUMNS');
}

const finite = (x: string) => `(CASE WHEN isfinite(${x}) THEN ${x} END)`;

function castText(type: RawColumnType, text: string): string {
  if (type === 'VARCHAR') return text;
  if (type === 'DOUBLE') return finite(`TRY_CAST(${text} AS DOUBLE)`);
  if (type === 'TIMESTAMP') return `TRY_CAST(TRY_CAST(${text} AS TIMESTAMPTZ) AS TIMESTAMP)`; // ISO-8601 with zone → UTC wall time (TimeZone=UTC)
  throw new Error(`no text extraction for ${type}`);
}

/** A JSON value → its string when it is a JSON string, else NULL. */
const jsonString = (json: string) => `CASE WHEN json_type(${json}) = 'VARCHAR' THEN ${json}->>'$' END`;

function elementString(e: string, fields: string[]): string {
  const byField = fields.map((f) => `CASE WHEN json_type(${e}, '$.${f}') = 'VARCHAR' THEN ${e}->>'$.${f}' END`);
  return `CASE json_type(${e}) WHEN 'VARCHAR' THEN ${e}->>'$' WHEN 'OBJECT' THEN ${byField.length === 1 ? byField[0] : `coalesce(${byField.join(', ')})`} END`;
}

function elementNumber(e: string, fields: string[]): string {
  const byField = fields.map((f) => `CASE WHEN json_type(${e}, '$.${f}') IN ('BIGINT', 'UBIGINT', 'DOUBLE') THEN TRY_CAST(${e}->>'$.${f}' AS DOUBLE) END`);
  return byField.length === 1 ? byField[0] : `coalesce(${byField.join(', ')})`;
}

function jsonExpr(c: FlatColumn, json: string): string {
  const fields = c.fields ?? [];
  switch (c.kind) {
    case 'string':
      return jsonString(json);
    case 'strings':
      return `CASE WHEN json_type(${json}) = 'ARRAY' THEN [${elementString('e', fields)} FOR e IN json_extract(${json}, '$[*]')] END`;
    case 'sum':
      return finite(`CASE WHEN json_type(${json}) = 'ARRAY' THEN coalesce(list_sum([${elementNumber('e', fields)} FOR e IN json_extract(${json}, '$[*]')]), 0) END`);
    default:
      throw new Error(`${c.name}: not a JSON extraction`);
  }
}

export interface FlatSelect {
  /** Paths extracted as text, in `j` (json_extract_string: one parse of the event for all). */
  paths: string[];
  /** Paths extracted as JSON values, in `k` (json_extract: one more parse for all). */
  jsonPaths: string[];
  /** `<expr> AS <column>` for every flat column, in order. */
  select: string[];
}

/** SQL select list that maps the extracted lists `j` (text) and `k` (JSON) to the flat columns. Exported for tests. */
export function flatSelectList(columns: readonly FlatColumn[] = FLAT_COLUMNS): FlatSelect {
  const paths: string[] = [];
  const jsonPaths: string[] = [];
  const slot = (list: string[], p: string) => {
    let i = list.indexOf(p);
    if (i < 0) i = list.push(p) - 1;
    return i + 1;
  };
  const select = columns.map((c) => {
    const kind = c.kind ?? 'text';
    const parts = c.paths.map((p) => (kind === 'text' ? castText(c.type, `j[${slot(paths, p)}]`) : jsonExpr(c, `k[${slot(jsonPaths, p)}]`)));
    const expr = parts.length === 1 ? parts[0] : `coalesce(${parts.join(', ')})`;
    return `${expr} AS ${c.name}`;
  });
  return { paths, jsonPaths, select };
}

export interface FlattenedObject {
  partition: number;
  dt: string;
  hour: number;
  rows: number;
  /** Where the Parquet object was written (see FlattenTarget), sorted by tenant_id, event_time, _offset. */
  file: string;
}

/**
 * Where the flatten writes each (partition, event hour) object: a local directory (the sink
 * uploads the files itself, after recording them as pending), or a function naming each object,
 * e.g. its s3:// URL (ingest/lay-down.ts writes the lake directly).
 */
export type FlattenTarget = string | ((object: { partition: number; dt: string; hour: number }) => string);

export interface FlattenResult {
  objects: FlattenedObject[];
  rejects: { partition: number; offset: number; reason: RejectReason }[];
  rows: number;
  /** The objects were written in one partitioned pass (copyPartitioned), not one COPY each. */
  onePass: boolean;
}

/** Runs once per connection: the sink's session settings. */
export async function prepareConnection(conn: DuckDBConnection): Promise<void> {
  await conn.run(`SET TimeZone = 'UTC'`);
}

const readCsvOptions = `delim = ${sqlLiteral(SEP)}, quote = '', escape = '', header = false, auto_detect = false, max_line_size = ${MAX_EVENT_BYTES * 2 + 100}`;

/**
 * Reads the framed input file, validates and flattens every line, and writes one Parquet file per
 * (partition, UTC event hour) to `out`. Returns the files and the rejected (partition, offset)s.
 * `typedInputFile`, when given, holds more messages whose flat columns were computed already (the
 * lake record header, core/lake-record.ts), framed by InputFileBuilder.addTyped: their columns are
 * read as they are instead of being extracted from the JSON. `inputFile` may then be undefined.
 */
export async function flattenToParquet(conn: DuckDBConnection, inputFile: string | undefined, out: FlattenTarget, typedInputFile?: string): Promise<FlattenResult> {
  return flattenRelation(
    conn,
    inputFile === undefined
      ? undefined
      : `SELECT p, o, ts, line
     FROM read_csv(${sqlLiteral(inputFile)},
       columns = {'p': 'INTEGER', 'o': 'BIGINT', 'ts': 'BIGINT', 'line': 'VARCHAR'}, ${readCsvOptions})`,
    out,
    typedInputFile === undefined ? undefined : typedRelation(typedInputFile),
  );
}

/** A typed input field → its column's value (the header's spelling, core/lake-record.ts). */
function typedExpr(c: FlatColumn, field: string): string {
  switch (c.type) {
    case 'VARCHAR':
      return field;
    case 'DOUBLE':
    case 'TIMESTAMP':
      return castText(c.type, field); // the extraction's own cast of the text
    case 'VARCHAR[]':
      return `TRY(from_json(${field}, '["VARCHAR"]'))`;
    default:
      throw new Error(`${c.name}: no typed input for ${c.type}`);
  }
}

/** The typed input file as rows of the same columns, in the same order, as the extraction's. */
function typedRelation(file: string): string {
  const field = (i: number) => `f${i}`;
  const columns = ["'p': 'INTEGER'", "'o': 'BIGINT'", "'ts': 'BIGINT'", ...FLAT_COLUMNS.map((_, i) => `'${field(i)}': 'VARCHAR'`), "'line': 'VARCHAR'"];
  const eventTime = FLAT_COLUMNS.findIndex((c) => c.name === 'event_time');
  return `SELECT ${FLAT_COLUMNS.map((c, i) => `${typedExpr(c, field(i))} AS ${c.name}`).join(', ')},
      ${Object.entries(TAIL_COLUMNS).map(([name, expr]) => `${expr} AS ${name}`).join(', ')},
      false AS _invalid, true AS _is_object, ${field(eventTime)} AS _ts_text
    FROM read_csv(${sqlLiteral(file)}, columns = {${columns.join(', ')}}, nullstr = ${sqlLiteral(LAKE_NULL)}, ${readCsvOptions})`;
}

/**
 * The flatten step over any relation with columns `p` (partition), `o` (offset), `ts` (Kafka
 * timestamp, epoch ms) and `line` (the event's JSON text): the sink's input file, or the rows of
 * an older-format object being rewritten (ingest/lake-migrate.ts). Same rows in ⇒ same files out.
 * `typed` is a relation of rows whose flat columns are given (see flattenToParquet), added to them.
 */
export async function flattenRelation(conn: DuckDBConnection, input: string | undefined, out: FlattenTarget, typed?: string): Promise<FlattenResult> {
  const { paths, jsonPaths, select } = flatSelectList();
  const list = (ps: string[]) => `[${ps.map(sqlLiteral).join(', ')}]`;
  const parts: string[] = [];
  if (input !== undefined) {
    // Each json_extract parses the event once for all its paths; TRY turns malformed JSON into a
    // NULL list (a valid document always yields a list), so no json_valid pass over every event is
    // needed: only a NULL list is checked with json_valid, and if the JSON was valid after all
    // (TRY swallowed some other error) the flush fails and is retried rather than dead-lettering a
    // good event.
    await conn.run(`
      CREATE OR REPLACE TEMP TABLE sink_x AS
      SELECT p, o, ts, line,
        regexp_matches(line, '^[ \\t\\n\\r]*\\{') AS is_object,
        TRY(json_extract_string(line, ${list(paths)})) AS j,
        TRY(json_extract(line, ${list(jsonPaths)})) AS k
      FROM (${input})`);
    parts.push(`
      SELECT ${select.join(',\n        ')},
        ${Object.entries(TAIL_COLUMNS).map(([name, expr]) => `${expr} AS ${name}`).join(', ')},
        j IS NULL AS _invalid, is_object AS _is_object,
        coalesce(j[${paths.indexOf('$.event_metadata.timestamp') + 1}], j[${paths.indexOf('$.timestamp') + 1}]) AS _ts_text
      FROM sink_x`);
  }
  if (typed !== undefined) parts.push(typed);
  if (parts.length === 0) return { objects: [], rejects: [], rows: 0, onePass: false };
  await conn.run(`
    CREATE OR REPLACE TEMP TABLE sink_rows AS
    SELECT *, CASE
        WHEN _invalid THEN CASE WHEN json_valid(event_json) THEN error('json_extract failed on valid JSON at ' || _partition || ':' || _offset) ELSE 'invalid_json' END
        WHEN NOT _is_object THEN 'not_an_object'
        WHEN tenant_id IS NULL OR tenant_id = '' THEN 'missing_tenant_id'
        WHEN event_id IS NULL OR event_id = '' THEN 'missing_event_id'
        WHEN _ts_text IS NULL THEN 'missing_timestamp'
        WHEN event_time IS NULL OR event_time < TIMESTAMP '1970-01-01' OR event_time >= TIMESTAMP '3000-01-01'
          THEN 'invalid_timestamp'
      END AS _reject
    FROM (${parts.join('\n    UNION ALL\n')})`);

  const rejectReader = await conn.runAndReadAll(`
    SELECT _partition AS partition, _offset AS "offset", _reject AS reason FROM sink_rows WHERE _reject IS NOT NULL ORDER BY 1, 2`);
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

  const partitioned = typeof out === 'string' && groups.length > 1 ? await copyPartitioned(conn, out, groups) : undefined;
  const objects = partitioned ?? (await copyEach(conn, out, groups));
  const rows = groups.reduce((n, g) => n + g.rows, 0);
  await conn.run('DROP TABLE IF EXISTS sink_x; DROP TABLE IF EXISTS sink_rows;');
  return { objects, rejects, rows, onePass: partitioned !== undefined };
}

type ObjectGroup = Omit<FlattenedObject, 'file'>;

const RAW_COLUMN_LIST = RAW_COLUMNS.map((c) => c.name).join(', ');
const OBJECT_ORDER = 'tenant_id, event_time, _offset';
// zstd level 1, not DuckDB's default 3: the COPYs took ~20 % less CPU (22.6 → 17.8 µs per row,
// 20,000 generator events, alternating) for objects of the same size (10.2 vs 10.3 MB).
const PARQUET_OPTIONS = 'FORMAT parquet, COMPRESSION zstd, COMPRESSION_LEVEL 1';

/** The local file of one object of a flush in directory `dir`. */
const objectFile = (dir: string, g: ObjectGroup) => path.join(dir, `p${g.partition}-${g.dt}-${g.hour}.parquet`);

/** One `COPY` per (partition, event hour) object of `sink_rows`, each a filtered scan. */
async function copyEach(conn: DuckDBConnection, out: FlattenTarget, groups: ObjectGroup[]): Promise<FlattenedObject[]> {
  const objects: FlattenedObject[] = [];
  for (const g of groups) {
    const file = typeof out === 'string' ? objectFile(out, g) : out(g);
    const start = `TIMESTAMP ${sqlLiteral(`${g.dt} ${String(g.hour).padStart(2, '0')}:00:00`)}`;
    await conn.run(`
      COPY (
        SELECT ${RAW_COLUMN_LIST} FROM sink_rows
        WHERE _reject IS NULL AND _partition = ${g.partition}
          AND event_time >= ${start} AND event_time < ${start} + INTERVAL 1 HOUR
        ORDER BY ${OBJECT_ORDER}
      ) TO ${sqlLiteral(file)} (${PARQUET_OPTIONS})`);
    objects.push({ ...g, file });
  }
  return objects;
}

/**
 * Every object of a flush in one sorted pass: `COPY … PARTITION_BY` writes a file per (partition,
 * day, hour) directory, in order, and the files are moved to the names copyEach gives. The same
 * rows, columns and order as copyEach (unit-tested); ~30 % less CPU than one filtered scan per
 * object (18 objects of a 20,000-row flush: 20.4 → 14.7 µs per row). DuckDB writes one file per
 * thread to each directory, so unless every directory holds exactly one file (e.g. with more
 * DuckDB threads) this returns undefined and the caller falls back to copyEach.
 */
async function copyPartitioned(conn: DuckDBConnection, dir: string, groups: ObjectGroup[]): Promise<FlattenedObject[] | undefined> {
  const root = path.join(dir, 'partitioned');
  await conn.run(`
    COPY (
      SELECT ${RAW_COLUMN_LIST}, _partition AS k_partition, strftime(event_time, '%Y-%m-%d') AS k_dt, hour(event_time) AS k_hour
      FROM sink_rows WHERE _reject IS NULL
      ORDER BY k_partition, k_dt, k_hour, ${OBJECT_ORDER}
    ) TO ${sqlLiteral(root)} (${PARQUET_OPTIONS}, PARTITION_BY (k_partition, k_dt, k_hour), WRITE_PARTITION_COLUMNS false)`);
  const written = await Promise.all(
    groups.map(async (g) => {
      const leaf = path.join(root, `k_partition=${g.partition}`, `k_dt=${g.dt}`, `k_hour=${g.hour}`);
      const files = await fs.readdir(leaf).catch(() => [] as string[]);
      return files.length === 1 ? path.join(leaf, files[0]) : undefined;
    }),
  );
  const total = (await fs.readdir(root, { recursive: true, withFileTypes: true })).filter((e) => e.isFile()).length;
  if (written.some((f) => f === undefined) || total !== groups.length) {
    await fs.rm(root, { recursive: true, force: true });
    return undefined;
  }
  const objects = await Promise.all(
    groups.map(async (g, i) => {
      const file = objectFile(dir, g);
      await fs.rename(written[i]!, file);
      return { ...g, file };
    }),
  );
  await fs.rm(root, { recursive: true, force: true });
  return objects;
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
