// Event → MeasureInput, reading exactly what the lake sink writes. The JSON paths and extraction
// kinds come from the sink's own column list (core/lake-columns.ts FLAT_COLUMNS), and the
// conversions mirror its DuckDB casts, so an event counts in the speed layer with the same
// tenant, time, dimensions and amounts as its raw row in the lake — and is refused for the same
// reasons the sink sends it to the DLQ.
import { FLAT_COLUMNS, type FlatColumn, type RejectReason } from '../lake-columns';
import { FIELD_COLUMNS, isNumberField, type MeasureField, type MeasureInput } from './fields';

export type MeasureInputResult = { ok: true; input: MeasureInput } | { ok: false; reason: RejectReason };

export type Step = string | number;

interface Reader {
  column: FlatColumn;
  paths: Step[][];
}

/** A JSON path of core/lake-columns.ts (`$.a.b[0].c`) as its steps. */
export function compilePath(path: string): Step[] {
  const steps: Step[] = [];
  const re = /\.([A-Za-z_][A-Za-z0-9_]*)|\[(\d+)\]/y;
  if (!path.startsWith('$')) throw new Error(`unsupported JSON path ${path}`);
  re.lastIndex = 1;
  while (re.lastIndex < path.length) {
    const m = re.exec(path);
    if (!m) throw new Error(`unsupported JSON path ${path}`);
    steps.push(m[1] !== undefined ? m[1] : Number(m[2]));
  }
  return steps;
}

function reader(name: string): Reader {
  const column = FLAT_COLUMNS.find((c) => c.name === name);
  if (!column) throw new Error(`core/measures: lake column ${name} is not in core/lake-columns FLAT_COLUMNS`);
  const kind = column.kind ?? 'text';
  if (kind !== 'text' && kind !== 'string') throw new Error(`core/measures: lake column ${name} of kind ${kind} is not readable as a measure field`);
  return { column, paths: column.paths.map(compilePath) };
}

const own = Object.prototype.hasOwnProperty;

/** json_extract semantics: a key only in an object, an index only in an array; JSON null → undefined. */
function at(root: unknown, steps: Step[]): unknown {
  let node = root;
  for (const s of steps) {
    if (typeof s === 'number') {
      if (!Array.isArray(node)) return undefined;
      node = node[s];
    } else {
      if (node === null || typeof node !== 'object' || Array.isArray(node) || !own.call(node, s)) return undefined;
      node = (node as Record<string, unknown>)[s];
    }
  }
  return node === null ? undefined : node;
}

/** json_extract_string of a present value: a string as is, anything else as JSON text. */
function jsonText(v: unknown): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' && Number.isSafeInteger(v)) return String(v);
  return JSON.stringify(v);
}

const WS = '[ \\t\\n\\v\\f\\r]*';
const DOUBLE = new RegExp(`^${WS}([+-]?(?:\\d+(?:_\\d+)*(?:\\.(?:\\d+(?:_\\d+)*)?)?|\\.\\d+(?:_\\d+)*)(?:[eE][+-]?\\d+(?:_\\d+)*)?)${WS}$`);

/** DuckDB `TRY_CAST(text AS DOUBLE)`, then the sink's "not finite → NULL". */
export function castDouble(text: string): number | null {
  const m = DOUBLE.exec(text);
  if (!m) return null;
  const x = Number(m[1].replace(/_/g, ''));
  return Number.isFinite(x) ? x : null;
}

const TIMESTAMP = new RegExp(
  `^${WS}(\\d{4})([-/])(\\d{1,2})\\2(\\d{1,2})` +
    `(?:[T ](\\d{1,2}):(\\d{1,2}):(\\d{1,2})(?:\\.(\\d*))?(?:(Z)|([+-])(\\d{2})(?::?(\\d{2})(?::(\\d{2}))?)?| +(?:[Uu][Tt][Cc]|[Gg][Mm][Tt]))?${WS})?$`,
);
const MIN_LAKE_US = 0; // 1970-01-01
const MAX_LAKE_US = Date.UTC(3000, 0, 1) * 1000;

/**
 * The sink's event time: DuckDB `TRY_CAST(TRY_CAST(text AS TIMESTAMPTZ) AS TIMESTAMP)` (TimeZone
 * UTC), as µs since the epoch, for the ISO-8601 forms: `YYYY-MM-DD`, or date, `T` or space, H:M:S
 * (1–2 digits each; `24:00:00` is the next midnight), any fraction (truncated to µs), and an
 * optional zone `Z`, `±HH`, `±HHMM`, `±HH:MM[:SS]`, ` UTC`, ` GMT`. DuckDB also reads zone names
 * (`Europe/Berlin`), `epoch` and a few other spellings this does not; the ingestion API only lets
 * RFC 3339 through (normalized to UTC µs), so they can only come from producers straight to Kafka.
 * Exact up to 2255-06-05 (2^53 µs); later times are rounded down to a double (`microsOf`).
 */
export function parseLakeTimestamp(text: string): number | null {
  const m = TIMESTAMP.exec(text);
  if (!m) return null;
  const year = Number(m[1]);
  const month = Number(m[3]);
  const day = Number(m[4]);
  if (month < 1 || month > 12 || day < 1) return null;
  const dayMs = Date.UTC(year, month - 1, day);
  if (new Date(dayMs).getUTCDate() !== day || new Date(dayMs).getUTCFullYear() !== year) return null;
  if (m[5] === undefined) return dayMs * 1000;
  const [h, min, s] = [Number(m[5]), Number(m[6]), Number(m[7])];
  const fraction = m[8] ?? '';
  const midnight = h === 24 && min === 0 && s === 0 && /^0*$/.test(fraction);
  if (!midnight && (h > 23 || min > 59 || s > 59)) return null;
  let offsetS = 0;
  if (m[10] !== undefined) offsetS = (m[10] === '-' ? -1 : 1) * (Number(m[11]) * 3600 + Number(m[12] ?? 0) * 60 + Number(m[13] ?? 0));
  const micros = Number(fraction.padEnd(6, '0').slice(0, 6));
  return microsOf(dayMs + ((h * 60 + min) * 60 + s - offsetS) * 1000, micros);
}

/** Beyond this many µs from the epoch (±2^53 − 1000: 2255-06-05, or 1684 before it) ms·1000 + µs may not be exact in a double. */
const EXACT_US = Number.MAX_SAFE_INTEGER - 1000;
const bits = new Float64Array(1);
const bitsAsInt = new BigInt64Array(bits.buffer);

/**
 * `ms` · 1000 + `micros` (0 ≤ micros < 1000) as a double: exact while it is within ±2^53, else the
 * largest double not above the exact value (rounded down, never to nearest). Rounding down keeps
 * the lake's range check exact — `us < MAX_LAKE_US` (a double) holds exactly when the exact time
 * is before 3000-01-01, where nearest rounding took `2999-12-31T23:59:59.999999Z` to the bound
 * itself and refused it — and keeps every window boundary a multiple of the double spacing
 * (4 µs up to 3111) on the same side as the exact time. Computing `ms · 1000` first and adding the
 * µs rounded twice, to a value up to 2 µs off either way.
 */
function microsOf(ms: number, micros: number): number {
  const approx = ms * 1000;
  if (approx > -EXACT_US && approx < EXACT_US) return approx + micros;
  const exact = BigInt(ms) * 1000n + BigInt(micros);
  const nearest = Number(exact);
  if (BigInt(nearest) <= exact) return nearest;
  // One double down: its bit pattern minus one above zero, plus one below (|x| grows).
  bits[0] = nearest;
  bitsAsInt[0] += nearest > 0 ? -1n : 1n;
  return bits[0];
}

/** Value of a `text`-kind VARCHAR column: first path present. */
function readVarchar(r: Reader, event: unknown): string | null {
  for (const p of r.paths) {
    const v = at(event, p);
    if (v !== undefined) return jsonText(v);
  }
  return null;
}

/** Value of a `string`-kind column: first path holding a JSON string. */
function readString(r: Reader, event: unknown): string | null {
  for (const p of r.paths) {
    const v = at(event, p);
    if (typeof v === 'string') return v;
  }
  return null;
}

/** Value of a DOUBLE column: first path whose value casts to a finite number. */
function readDouble(r: Reader, event: unknown): number | null {
  for (const p of r.paths) {
    const v = at(event, p);
    if (typeof v === 'number') {
      if (Number.isFinite(v)) return v;
    } else if (typeof v === 'string') {
      const x = castDouble(v);
      if (x !== null) return x;
    }
  }
  return null;
}

interface FieldReader {
  field: MeasureField;
  read: (event: unknown) => string | number | null;
}

function fieldReader(field: MeasureField): FieldReader {
  const r = reader(FIELD_COLUMNS[field]);
  if (isNumberField(field)) {
    if (r.column.type !== 'DOUBLE') throw new Error(`core/measures: ${field} needs a DOUBLE lake column`);
    return { field, read: (e) => readDouble(r, e) };
  }
  if (r.column.type !== 'VARCHAR') throw new Error(`core/measures: ${field} needs a VARCHAR lake column`);
  return { field, read: (r.column.kind ?? 'text') === 'string' ? (e) => readString(r, e) : (e) => readVarchar(r, e) };
}

const TENANT = reader('tenant_id');
const EVENT_ID = reader('event_id');
const EVENT_TIME = reader('event_time');
const FIELDS: readonly FieldReader[] = (Object.keys(FIELD_COLUMNS) as MeasureField[]).map(fieldReader);

/**
 * The MeasureInput of a parsed event (any version: the paths include the lake's fallbacks), or the
 * reason the lake sink would dead-letter it. `coords` are the event's Kafka partition and offset.
 */
export function measureInputFromEvent(event: unknown, coords: { partition: number; offset: number }): MeasureInputResult {
  if (event === null || typeof event !== 'object' || Array.isArray(event)) return { ok: false, reason: 'not_an_object' };
  const tenant = readVarchar(TENANT, event);
  if (tenant === null || tenant === '') return { ok: false, reason: 'missing_tenant_id' };
  const eventId = readVarchar(EVENT_ID, event);
  if (eventId === null || eventId === '') return { ok: false, reason: 'missing_event_id' };
  let timeText = false;
  let us: number | null = null;
  for (const p of EVENT_TIME.paths) {
    const v = at(event, p);
    if (v === undefined) continue;
    timeText = true;
    if (typeof v === 'string') us = parseLakeTimestamp(v);
    if (us !== null) break;
  }
  if (!timeText) return { ok: false, reason: 'missing_timestamp' };
  if (us === null || us < MIN_LAKE_US || us >= MAX_LAKE_US) return { ok: false, reason: 'invalid_timestamp' };
  const input = {
    tenant_id: tenant,
    event_id: eventId,
    event_time_us: us,
    partition: coords.partition,
    offset: coords.offset,
  } as MeasureInput;
  const rec = input as unknown as Record<string, string | number | null>;
  for (const f of FIELDS) rec[f.field] = f.read(event);
  return { ok: true, input };
}
