// Aggregate cells: the key (rollup, tenant, window, dimension value, Kafka partition, offset
// bucket) and the additive parts of the declaration, in its order. Merging, the changelog
// encoding, the canonical form both layers are compared in, and reading measures at query time.
import { AsciiWriter } from './ascii-writer';
import type { MeasureDecl, MeasuresDeclaration, PartDecl } from './declaration';
import { Digest } from './digest';
import { HllSketch } from './hll';

export interface CellKey {
  rollup: string;
  tenant_id: string;
  /** Window start, µs since the epoch (a multiple of the rollup's window). */
  window_start_us: number;
  /** The rollup dimension's value (null: the event had none, or a rollup without a dimension). */
  dimension: string | null;
  partition: number;
  /** floor(offset / B). */
  bucket: number;
}

/** count and sum: number; min and max: number or null (no value yet); hll: HllSketch; digest: Digest. */
export type PartValue = number | null | HllSketch | Digest;

export interface Cell {
  key: CellKey;
  /** One value per declaration part, in declaration order. */
  parts: PartValue[];
}

/** The columns of a cell key, in order (also the leading columns of the batch SQL's output). */
export const CELL_KEY_COLUMNS = ['rollup', 'tenant_id', 'window_start_us', 'dimension', 'partition', 'bucket'] as const;

export function emptyPart(decl: MeasuresDeclaration, p: PartDecl): PartValue {
  switch (p.kind) {
    case 'count':
    case 'sum':
      return 0;
    case 'min':
    case 'max':
      return null;
    case 'hll':
      return new HllSketch(decl.hllPrecision);
    case 'digest':
      return new Digest(decl.digestSubBuckets);
  }
}

export function emptyParts(decl: MeasuresDeclaration): PartValue[] {
  return decl.parts.map((p) => emptyPart(decl, p));
}

/**
 * Adds `from` into `into` (both in declaration order); `from` is left untouched. With `indexes`,
 * only those parts (a query that needs a few measures need not merge every sketch).
 */
export function mergeParts(decl: MeasuresDeclaration, into: PartValue[], from: readonly PartValue[], indexes?: readonly number[]): void {
  if (indexes) for (const i of indexes) mergePart(decl.parts[i], into, from, i);
  else for (let i = 0; i < decl.parts.length; i++) mergePart(decl.parts[i], into, from, i);
}

function mergePart(p: PartDecl, into: PartValue[], from: readonly PartValue[], i: number): void {
  const a = into[i];
  const b = from[i];
  switch (p.kind) {
    case 'count':
    case 'sum':
      into[i] = (a as number) + (b as number);
      break;
    case 'min':
      if (b !== null && (a === null || (b as number) < (a as number))) into[i] = b;
      break;
    case 'max':
      if (b !== null && (a === null || (b as number) > (a as number))) into[i] = b;
      break;
    case 'hll':
      (a as HllSketch).merge(b as HllSketch);
      break;
    case 'digest':
      (a as Digest).merge(b as Digest);
      break;
  }
}

/** Merges any number of cells' parts into a new set of parts. */
export function mergeAll(decl: MeasuresDeclaration, parts: Iterable<readonly PartValue[]>): PartValue[] {
  const out = emptyParts(decl);
  for (const p of parts) mergeParts(decl, out, p);
  return out;
}

export function cloneParts(decl: MeasuresDeclaration, parts: readonly PartValue[]): PartValue[] {
  const out = emptyParts(decl);
  mergeParts(decl, out, parts);
  return out;
}

/** Stable text of a key (e.g. the Kafka record key of the cell in a compacted changelog). */
export function encodeCellKey(k: CellKey): string {
  return JSON.stringify([k.rollup, k.tenant_id, k.window_start_us, k.dimension, k.partition, k.bucket]);
}

export function decodeCellKey(text: string): CellKey {
  const a = JSON.parse(text) as unknown[];
  if (!Array.isArray(a) || a.length !== 6) throw new RangeError('not an encoded cell key');
  const [rollup, tenant_id, window_start_us, dimension, partition, bucket] = a;
  return { rollup: String(rollup), tenant_id: String(tenant_id), window_start_us: Number(window_start_us), dimension: dimension === null ? null : String(dimension), partition: Number(partition), bucket: Number(bucket) };
}

/**
 * Compact text of a cell's parts (the changelog value): `{"v": <declaration version>, "p": [...]}`
 * with numbers as is, sketches as HllSketch.encode() text and digests as flat [bucket, count, …]
 * — exactly JSON.stringify's text of that, written in one piece (ascii-writer.ts).
 */
export function encodeParts(decl: MeasuresDeclaration, parts: readonly PartValue[]): string {
  const w = partsWriter;
  w.text('{"v":');
  w.number(decl.version);
  w.text(',"p":[');
  for (let i = 0; i < decl.parts.length; i++) {
    if (i > 0) w.code(COMMA);
    const v = parts[i];
    const kind = decl.parts[i].kind;
    if (kind === 'hll') {
      w.code(QUOTE);
      (v as HllSketch).encodeTo(w);
      w.code(QUOTE);
    } else if (kind === 'digest') (v as Digest).encodeTo(w);
    else if (v === null) w.text('null');
    else w.number(v as number);
  }
  w.text(']}');
  return w.take();
}

/** encodeParts' text, reused (single-threaded). */
const partsWriter = new AsciiWriter();
const COMMA = ','.charCodeAt(0);
const QUOTE = '"'.charCodeAt(0);

/** encodeParts' list, parsed and checked against the declaration (its entries still encoded: decodePart). */
export function parseEncodedParts(decl: MeasuresDeclaration, text: string): unknown[] {
  const o = JSON.parse(text) as { v: number; p: unknown[] };
  if (o.v !== decl.version) throw new RangeError(`cell parts of declaration version ${o.v}, expected ${decl.version}`);
  if (!Array.isArray(o.p) || o.p.length !== decl.parts.length) throw new RangeError('cell parts do not match the declaration');
  return o.p;
}

/** One entry of encodeParts' list, decoded as the part `d`. */
export function decodePart(decl: MeasuresDeclaration, d: PartDecl, v: unknown): PartValue {
  if (d.kind === 'hll') return HllSketch.decode(decl.hllPrecision, String(v));
  if (d.kind === 'digest') return Digest.decode(decl.digestSubBuckets, v as number[]);
  return v === null ? null : Number(v);
}

export function decodeParts(decl: MeasuresDeclaration, text: string): PartValue[] {
  const raw = parseEncodedParts(decl, text);
  return decl.parts.map((d, i) => decodePart(decl, d, raw[i]));
}

/** Plain JSON form, the same for both layers: numbers, sketches as register lists, digests as [bucket, count] pairs. */
export type CanonicalPart = number | null | number[] | [number, number][];

export function canonicalParts(decl: MeasuresDeclaration, parts: readonly PartValue[]): Record<string, CanonicalPart> {
  const out: Record<string, CanonicalPart> = {};
  decl.parts.forEach((d, i) => {
    const v = parts[i];
    if (d.kind === 'hll') out[d.name] = (v as HllSketch).registers();
    else if (d.kind === 'digest') out[d.name] = (v as Digest).buckets();
    else out[d.name] = v as number | null;
  });
  return out;
}

/** A measure with its parts and operands resolved to positions. */
interface ResolvedMeasure {
  decl: MeasureDecl;
  /** Position of its part (value, quantile); -1 for a ratio. */
  part: number;
  /** Positions of a ratio's numerator and denominator measures; -1 otherwise. */
  numerator: number;
  denominator: number;
}

interface ResolvedDeclaration {
  measures: ResolvedMeasure[];
  byName: Map<string, number>;
  names: string[];
}

const resolved = new WeakMap<MeasuresDeclaration, ResolvedDeclaration>();

/** Names resolved to positions once per declaration (results are evaluated per window, tenant and query row). */
function resolve(decl: MeasuresDeclaration): ResolvedDeclaration {
  let r = resolved.get(decl);
  if (r) return r;
  const partIndex = new Map(decl.parts.map((p, i) => [p.name, i]));
  const byName = new Map(decl.measures.map((m, i) => [m.name, i]));
  const position = (map: Map<string, number>, name: string, what: string): number => {
    const i = map.get(name);
    if (i === undefined) throw new RangeError(`unknown ${what} ${name}`);
    return i;
  };
  const measures = decl.measures.map(
    (m): ResolvedMeasure =>
      m.kind === 'ratio'
        ? { decl: m, part: -1, numerator: position(byName, m.numerator, 'measure'), denominator: position(byName, m.denominator, 'measure') }
        : { decl: m, part: position(partIndex, m.part, 'part'), numerator: -1, denominator: -1 },
  );
  r = { measures, byName, names: decl.measures.map((m) => m.name) };
  resolved.set(decl, r);
  return r;
}

function measureValue(r: ResolvedDeclaration, parts: readonly PartValue[], i: number, values: (number | null | undefined)[]): number | null {
  const known = values[i];
  if (known !== undefined) return known;
  const m = r.measures[i];
  const d = m.decl;
  let out: number | null;
  if (d.kind === 'value') {
    const v = parts[m.part];
    out = v instanceof HllSketch ? v.estimate() : (v as number | null);
  } else if (d.kind === 'quantile') {
    out = (parts[m.part] as Digest).quantile(d.q);
  } else {
    const num = measureValue(r, parts, m.numerator, values);
    const den = measureValue(r, parts, m.denominator, values);
    out = num === null || den === null || den === 0 ? null : num / den;
    if (out !== null && d.complement) out = Math.min(1, Math.max(0, 1 - out));
  }
  values[i] = out;
  return out;
}

/** Measures read from (merged) parts; `names` limits which (default: all). */
export function evaluateMeasures(decl: MeasuresDeclaration, parts: readonly PartValue[], names?: readonly string[]): Record<string, number | null> {
  const r = resolve(decl);
  // each measure computed once per call (a ratio reads measures others read too)
  const values = new Array<number | null | undefined>(r.measures.length);
  const result: Record<string, number | null> = {};
  for (const n of names ?? r.names) {
    const i = r.byName.get(n);
    if (i === undefined) throw new RangeError(`unknown measure ${n}`);
    result[n] = measureValue(r, parts, i, values);
  }
  return result;
}

/**
 * A row of the batch SQL (sql.ts measuresSql), as DuckDB's getRowObjectsJson() returns it, → a
 * cell: numbers may come as strings (BIGINT), sketches as packed-register lists, digests as
 * [{key, value}] lists.
 */
export function cellFromSqlRow(decl: MeasuresDeclaration, row: Record<string, unknown>): Cell {
  const key: CellKey = {
    rollup: String(row.rollup),
    tenant_id: String(row.tenant_id),
    window_start_us: Number(row.window_start_us),
    dimension: row.dimension === null || row.dimension === undefined ? null : String(row.dimension),
    partition: Number(row.partition),
    bucket: Number(row.bucket),
  };
  const parts = decl.parts.map((d): PartValue => {
    const v = row[d.name];
    switch (d.kind) {
      case 'hll':
        return HllSketch.fromRegisters(decl.hllPrecision, ((v as unknown[] | null) ?? []).map(Number));
      case 'digest': {
        const digest = new Digest(decl.digestSubBuckets);
        for (const e of (v as { key: unknown; value: unknown }[] | null) ?? []) digest.addBucket(Number(e.key), Number(e.value));
        return digest;
      }
      default:
        return v === null || v === undefined ? (d.kind === 'min' || d.kind === 'max' ? null : 0) : Number(v);
    }
  });
  return { key, parts };
}
