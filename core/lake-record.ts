// The lake record header (`x-rtap-l`): the lake's flattened columns of one event (FLAT_COLUMNS,
// core/lake-columns.ts), computed in TypeScript by whoever already holds the parsed event (the
// ingestion API), so the lake sink need not extract them from the JSON in DuckDB. Records without
// it (produced by others, older, or events this encoder declines) take the sink's DuckDB
// extraction path; the values are the same either way (test/unit/lake-record.test.ts runs both
// paths over the same events and compares the Parquet files byte for byte).
//
// Header value (UTF-8 text, docs/lake.md "Lake record header"): the lake format, then one field
// per FLAT_COLUMNS entry in order, separated by 0x01; a NULL value is the single byte 0x02.
//   VARCHAR    the string itself (never holds a byte below 0x20)
//   DOUBLE     JavaScript's shortest round-trip spelling of a finite number (`144.39`, `1e+21`)
//   TIMESTAMP  the event's text, cast by the sink exactly as its extraction casts it
//   VARCHAR[]  a JSON array of strings and nulls
// The fields are laid out as the sink's input-file fields, so the sink frames a record by copying
// the header's bytes; it only checks that the header has the current format and the right number
// of fields (a malformed header sends the record down the DuckDB path, never fails a flush).
//
// The encoder declines (no header: the DuckDB path decides) wherever TypeScript could disagree with
// DuckDB's extraction: a `text` VARCHAR or TIMESTAMP column whose value is not a JSON string
// (DuckDB writes the value's JSON text in its own spelling), a TIMESTAMP column with more than one
// of its paths present (the extraction takes the first that casts), a DOUBLE column fed by a string (left
// to DuckDB's TRY_CAST), a string with a control character (U+0000–U+001F: not representable in the
// framed input) or a lone surrogate, a non-finite number in a sum, a value that is not an object.
// None of these occur in an event the ingestion API accepted except by a client's choice (a
// control character in a string field). Whether the lake takes the event (tenant, event id, event
// time) is decided by the sink from the header's fields with the same SQL as from extracted ones.
import { FLAT_COLUMNS } from './lake-columns';
import { LAKE_FORMAT } from './lake';
import { compilePath, type Step } from './measures/extract';

export const LAKE_HEADER = 'x-rtap-l';
/** Field separator inside the header and in the sink's input file. */
export const LAKE_FIELD_SEP = '\u0001';
/** A NULL field. */
export const LAKE_NULL = '\u0002';
/** Header version: the lake format its columns are (a sink of another format ignores the header). */
export const LAKE_HEADER_VERSION = LAKE_FORMAT;

/** Fields in a header: the version, then one per flat column. */
export const LAKE_HEADER_FIELDS = 1 + FLAT_COLUMNS.length;

/**
 * Every path of FLAT_COLUMNS as one trie, its nodes numbered so that a parent comes before its
 * children: the encoder reads each shared prefix once (`event_data.user_context.session_data…`
 * is read once, not once per column).
 */
const parents: number[] = [-1];
const steps: Step[] = [''];
const children = new Map<string, number>();
function nodeOf(path: string): number {
  let node = 0;
  for (const step of compilePath(path)) {
    const id = `${node}\u0000${typeof step}\u0000${step}`;
    let child = children.get(id);
    if (child === undefined) {
      child = parents.push(node) - 1;
      steps.push(step);
      children.set(id, child);
    }
    node = child;
  }
  return node;
}

/** Characters a text field may not hold: the control characters, among them the framing's own. */
// eslint-disable-next-line no-control-regex -- control characters are exactly what it looks for
const CONTROL = /[\u0000-\u001f]/;
/** A lone surrogate (not valid UTF-8; DuckDB reads the event's `\ud800` escape its own way). */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
/** Returned by a helper when the value must be left to DuckDB. */
const DECLINE = '\u0000decline';
const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** A `text` DOUBLE path: its field, or undefined to try the next path (as DuckDB's coalesce of TRY_CASTs). */
function num(v: unknown): string | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : undefined; // ±inf: "not finite → NULL", the next path
  if (typeof v === 'string') return DECLINE; // TRY_CAST of text: left to DuckDB
  return undefined; // absent, or booleans, objects, arrays: their JSON text never casts
}

/** A `strings` field: each element's first string field, or the element when it is a string, else null. */
function strings(a: unknown[] | undefined, fields: readonly string[]): string {
  if (a === undefined) return LAKE_NULL;
  const out = new Array<string | null>(a.length);
  for (let i = 0; i < a.length; i++) {
    const x = a[i];
    let s: string | null = null;
    if (typeof x === 'string') s = x;
    else if (isObject(x)) {
      for (const f of fields) {
        const y = x[f];
        if (typeof y === 'string' && Object.hasOwn(x, f)) {
          s = y;
          break;
        }
      }
    }
    out[i] = s;
  }
  return JSON.stringify(out);
}

/** A `sum` field: the sum of each element's first field holding a number; 0 for none. */
function sum(a: unknown[] | undefined, fields: readonly string[]): string {
  if (a === undefined) return LAKE_NULL;
  let total = 0;
  for (const x of a) {
    if (!isObject(x)) continue;
    for (const f of fields) {
      const y = x[f];
      if (typeof y === 'number' && Object.hasOwn(x, f)) {
        if (!Number.isFinite(y)) return DECLINE;
        total += y;
        break;
      }
    }
  }
  return Number.isFinite(total) ? String(total) : LAKE_NULL;
}

/**
 * The encoder as straight-line code, generated once from the (constant) FLAT_COLUMNS: every
 * property read is its own site with a constant key, so V8 caches it for the event shapes it
 * sees. (A loop over the trie with a variable key made each read a generic lookup: ~9 µs of CPU
 * per event instead of ~3, bench/ingest/hot-path.ts.) json_extract semantics at every node, as
 * core/measures/extract.ts `at`: a key only in an object, an index only in an array, JSON null as
 * absent. A key is a plain property read: no FLAT_COLUMNS key is an Object.prototype name, and a
 * JSON array has no named properties.
 */
function compileEncoder(): (event: unknown) => string | undefined {
  const nodes = FLAT_COLUMNS.map((c) => c.paths.map(nodeOf));
  const code = ['"use strict";', 'return function encodeLakeFields(v0) {', '  let t, x;'];
  for (let i = 1; i < parents.length; i++) {
    const p = `v${parents[i]}`;
    const step = steps[i];
    code.push(
      typeof step === 'number'
        ? `  t = Array.isArray(${p}) ? ${p}[${step}] : undefined;`
        : `  t = typeof ${p} === 'object' && ${p} !== null && !Array.isArray(${p}) ? ${p}[${JSON.stringify(step)}] : undefined;`,
      `  const v${i} = t === null ? undefined : t;`,
    );
  }
  code.push(`  let h = ${JSON.stringify(String(LAKE_HEADER_VERSION))};`);
  const first = (vs: string[], test: (v: string) => string) => vs.reduceRight((rest, v) => `${test(v)} ? ${v} : ${rest}`, 'undefined');
  FLAT_COLUMNS.forEach((c, i) => {
    const vs = nodes[i].map((n) => `v${n}`);
    const kind = c.kind ?? 'text';
    let expr: string;
    if (kind === 'text' && c.type === 'DOUBLE') expr = `${vs.map((v) => `num(${v})`).join(' ?? ')} ?? NULL`;
    // text TIMESTAMP: the value present, when it is a string (the sink casts it as the extraction
    // does); with more than one path present the extraction takes the first that casts, so DuckDB decides
    else if (kind === 'text' && c.type === 'TIMESTAMP') {
      const present = vs.map((v) => `(${v} !== undefined ? 1 : 0)`).join(' + ');
      expr = `${first(vs, (v) => `${v} !== undefined`)}; x = x === undefined ? NULL : typeof x === 'string' && !CONTROL.test(x) && ${present} === 1 ? x : DECLINE`;
    }
    // text VARCHAR: the first value present, when it is a string
    else if (kind === 'text') expr = `${first(vs, (v) => `${v} !== undefined`)}; x = x === undefined ? NULL : typeof x === 'string' && !CONTROL.test(x) ? x : DECLINE`;
    else if (kind === 'string') expr = `${first(vs, (v) => `typeof ${v} === 'string'`)}; x = x === undefined ? NULL : CONTROL.test(x) ? DECLINE : x`;
    else expr = `${kind}(${first(vs, (v) => `Array.isArray(${v})`)}, FIELDS[${i}])`;
    code.push(`  x = ${expr}; // ${c.name}`, '  if (x === DECLINE) return undefined;', `  h += SEP + x;`);
  });
  code.push('  return h;', '};');
  const helpers = { CONTROL, num, strings, sum, NULL: LAKE_NULL, DECLINE, SEP: LAKE_FIELD_SEP, FIELDS: FLAT_COLUMNS.map((c) => c.fields ?? []) };
  // Code generated from the constant FLAT_COLUMNS declarations only, never from input.
  return new Function(...Object.keys(helpers), code.join('\n'))(...Object.values(helpers)) as (event: unknown) => string | undefined;
}

let encoder: ((event: unknown) => string | undefined) | undefined;

/**
 * The `x-rtap-l` header of a parsed event, or undefined when the event is better left to the
 * sink's DuckDB extraction (see the top of this file). `event` must be the value the record's
 * JSON is the serialization of (its `JSON.stringify`). Whether the lake takes the event (tenant,
 * event id, event time) is decided by the sink from these fields, as from extracted ones.
 */
export function encodeLakeHeader(event: unknown): string | undefined {
  if (!isObject(event)) return undefined;
  encoder ??= compileEncoder();
  const header = encoder(event);
  // Strings were checked for control characters one by one; lone surrogates once, here.
  return header === undefined || LONE_SURROGATE.test(header) ? undefined : header;
}

const SEP_BYTE = 0x01;
const LF = 0x0a;
const CR = 0x0d;
const VERSION_PREFIX = Buffer.from(`${LAKE_HEADER_VERSION}${LAKE_FIELD_SEP}`, 'latin1');

/**
 * The fields of a received header as the sink frames them (the bytes after the version), or
 * undefined when it is not a header of the current format with the right number of fields and no
 * line break: the record then takes the DuckDB path. UTF-8 validity is the caller's check.
 */
export function lakeHeaderFields(header: Buffer): Buffer | undefined {
  if (header.length <= VERSION_PREFIX.length || header.compare(VERSION_PREFIX, 0, VERSION_PREFIX.length, 0, VERSION_PREFIX.length) !== 0) return undefined;
  let seps = 1;
  for (let i = VERSION_PREFIX.length; i < header.length; i++) {
    const b = header[i];
    if (b < 0x0e) {
      if (b === SEP_BYTE) seps++;
      else if (b === LF || b === CR || b === 0) return undefined;
    }
  }
  return seps === LAKE_HEADER_FIELDS - 1 ? header.subarray(VERSION_PREFIX.length) : undefined;
}
