// The speed layer's incremental aggregation, derived from the declaration: add() folds one
// event into one cell per rollup, keyed by (rollup, tenant, window, dimension value, Kafka
// partition, offset bucket). Cells hold additive parts only; the batch SQL (sql.ts) computes the
// same cells from the lake, register for register.
import { cloneParts, emptyParts, mergeParts, type Cell, type CellKey, type PartValue } from './cells';
import { DEFAULT_OFFSET_BUCKET_SIZE, validateDeclaration, WINDOW_US, type MeasuresDeclaration } from './declaration';
import { digestBucket, type Digest } from './digest';
import type { MeasureInput } from './fields';
import { hllPacked, type HllSketch } from './hll';

export interface AggregatorOptions {
  /** B of the offset buckets floor(offset / B); must equal the batch cut's alignment. Default 10,000. */
  offsetBucketSize?: number;
}

export interface Aggregator {
  readonly declaration: MeasuresDeclaration;
  readonly offsetBucketSize: number;
  /** Cells held. */
  readonly size: number;
  /** Folds one (deduplicated) event into its cell of every rollup. */
  add(input: MeasureInput): void;
  get(key: CellKey): Cell | undefined;
  cells(): IterableIterator<Cell>;
  /**
   * The cells changed since the previous call (the changelog delta: each with its full, current
   * parts — an idempotent upsert, so replaying a compacted changelog rebuilds the state), and
   * forgets that they changed. The returned cells are live: encode them before the next add().
   */
  takeChanged(): Cell[];
  /** Sets a cell's parts (restoring from a changelog); the parts are taken over, not copied. */
  restore(cell: Cell): void;
  /** Removes one cell (a changelog tombstone read back on restore); true when it was held. */
  delete(key: CellKey): boolean;
  /** Adds a cell's parts into the cell with its key (a copy is kept). */
  merge(cell: Cell): void;
  /**
   * Drops the cells whose offset bucket a published batch cut covers (bucket + 1) · B ≤ cut[p],
   * and returns their keys (for changelog tombstones).
   */
  dropCovered(cut: ReadonlyMap<number, number>): CellKey[];
}

/** Sketch hashes remembered per aggregator (then forgotten all at once). */
const HASH_CACHE_SIZE = 100_000;

/** Map key of a cell: injective over keys (strings holding \0 or starting with \1/\2 are escaped). add() builds the same. */
function mapKey(rollup: number, tenant: string, window: number, dimension: string | null, partition: number, bucket: number): string {
  return `${partition}\u0000${bucket}\u0000${esc(tenant)}\u0000${rollup}\u0000${window}\u0000${dimension === null ? '\u0001' : esc(dimension)}`;
}

function esc(s: string): string {
  if (s.includes('\u0000') || s.startsWith('\u0001') || s.startsWith('\u0002')) return `\u0002${JSON.stringify(s)}`;
  return s;
}

export function createAggregator(decl: MeasuresDeclaration, opts: AggregatorOptions = {}): Aggregator {
  validateDeclaration(decl);
  const B = opts.offsetBucketSize ?? DEFAULT_OFFSET_BUCKET_SIZE;
  if (!Number.isSafeInteger(B) || B < 1) throw new RangeError(`offset bucket size ${B} is not a positive integer`);
  const rollups = decl.rollups.map((r, i) => ({ index: i, name: r.name, window: WINDOW_US[r.window], dimension: r.dimension }));
  const rollupIndex = new Map(rollups.map((r) => [r.name, r.index]));
  const parts = decl.parts.map((p) => ({ ...p, allowed: p.where ? new Set(p.where.in) : undefined }));
  const cells = new Map<string, Cell>();
  let changed = new Set<string>();
  const kinds = parts.map((p) => p.kind);
  // Per-event contributions (part index, value), reused across add() calls (single-threaded).
  const touched = new Array<number>(parts.length).fill(0);
  const contrib = new Array<number>(parts.length).fill(0);
  // md5 of recent sketch values: ids repeat across a session's events and across rollups
  let hashes = new Map<string, number>();
  const packedOf = (value: string): number => {
    let h = hashes.get(value);
    if (h === undefined) {
      h = hllPacked(value, decl.hllPrecision);
      if (hashes.size >= HASH_CACHE_SIZE) hashes = new Map();
      hashes.set(value, h);
    }
    return h;
  };

  const keyOf = (k: CellKey) => {
    const r = rollupIndex.get(k.rollup);
    if (r === undefined) throw new RangeError(`unknown rollup ${k.rollup}`);
    return mapKey(r, k.tenant_id, k.window_start_us, k.dimension, k.partition, k.bucket);
  };

  return {
    declaration: decl,
    offsetBucketSize: B,
    get size() {
      return cells.size;
    },

    add(input: MeasureInput): void {
      const rec = input as unknown as Record<string, string | number | null>;
      // What the event contributes, computed once for all rollups: the parts it touches and how.
      let active = 0;
      for (let i = 0; i < parts.length; i++) {
        const p = parts[i];
        if (p.allowed && !p.allowed.has(rec[p.where!.field] as string)) continue;
        let c: number | null;
        if (p.kind === 'count') c = p.field === undefined || rec[p.field] !== null ? 1 : null;
        else {
          const v = rec[p.field];
          if (v === null) c = null;
          else if (p.kind === 'hll') c = packedOf(v as string);
          else if (p.kind === 'digest') c = digestBucket(v as number, decl.digestSubBuckets);
          else c = v as number;
        }
        if (c === null) continue;
        touched[active] = i;
        contrib[active++] = c;
      }
      const bucket = Math.floor(input.offset / B);
      const prefix = `${input.partition}\u0000${bucket}\u0000${esc(input.tenant_id)}\u0000`;
      for (const r of rollups) {
        const window = Math.floor(input.event_time_us / r.window) * r.window;
        const dimension = r.dimension === null ? null : (rec[r.dimension] as string | null);
        const k = `${prefix}${r.index}\u0000${window}\u0000${dimension === null ? '\u0001' : esc(dimension)}`;
        let cell = cells.get(k);
        if (!cell) {
          cell = {
            key: { rollup: r.name, tenant_id: input.tenant_id, window_start_us: window, dimension, partition: input.partition, bucket },
            parts: emptyParts(decl),
          };
          cells.set(k, cell);
        }
        changed.add(k);
        const v = cell.parts;
        for (let a = 0; a < active; a++) {
          const i = touched[a];
          const c = contrib[a];
          switch (kinds[i]) {
            case 'count':
            case 'sum':
              (v[i] as number) += c;
              break;
            case 'min':
              if (v[i] === null || c < (v[i] as number)) v[i] = c;
              break;
            case 'max':
              if (v[i] === null || c > (v[i] as number)) v[i] = c;
              break;
            case 'hll':
              (v[i] as HllSketch).add(c);
              break;
            case 'digest':
              (v[i] as Digest).addBucket(c, 1);
              break;
          }
        }
      }
    },

    get(key: CellKey): Cell | undefined {
      return cells.get(keyOf(key));
    },

    cells(): IterableIterator<Cell> {
      return cells.values();
    },

    takeChanged(): Cell[] {
      const out: Cell[] = [];
      for (const k of changed) {
        const c = cells.get(k);
        if (c) out.push(c);
      }
      changed = new Set();
      return out;
    },

    restore(cell: Cell): void {
      if (cell.parts.length !== decl.parts.length) throw new RangeError('cell parts do not match the declaration');
      cells.set(keyOf(cell.key), { key: { ...cell.key }, parts: cell.parts as PartValue[] });
    },

    delete(key: CellKey): boolean {
      const k = keyOf(key);
      changed.delete(k);
      return cells.delete(k);
    },

    merge(cell: Cell): void {
      const k = keyOf(cell.key);
      const have = cells.get(k);
      if (have) mergeParts(decl, have.parts, cell.parts);
      else cells.set(k, { key: { ...cell.key }, parts: cloneParts(decl, cell.parts) });
      changed.add(k);
    },

    dropCovered(cut: ReadonlyMap<number, number>): CellKey[] {
      const dropped: CellKey[] = [];
      for (const [k, c] of cells) {
        const at = cut.get(c.key.partition);
        if (at !== undefined && (c.key.bucket + 1) * B <= at) {
          cells.delete(k);
          changed.delete(k);
          dropped.push(c.key);
        }
      }
      return dropped;
    },
  };
}
