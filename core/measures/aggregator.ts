// The speed layer's incremental aggregation, derived from the declaration: add() folds one
// event into one cell per rollup, keyed by (rollup, tenant, window, dimension value, Kafka
// partition, offset bucket). Cells hold additive parts only; the batch SQL (sql.ts) computes the
// same cells from the lake, register for register.
//
// Layout (docs/speed-bench.md, "Where the time went"): cells sit in nested maps, partition →
// offset bucket → tenant → window → slot, where a slot number stands for (rollup, dimension value)
// through a small dictionary of dimension values. An event then costs a few lookups with short or
// integer keys instead of building and hashing one long string key per rollup in a map of every
// cell, and the cells of a partition, a bucket or a tenant's minute are found without a scan.
import { CopyOnWrite, type DeferredRecords } from './copy-on-write';
import { cloneParts, emptyParts, encodeCellKey, mergeParts, type Cell, type CellKey, type PartValue } from './cells';
import { DEFAULT_OFFSET_BUCKET_SIZE, validateDeclaration, WINDOW_US, type MeasuresDeclaration } from './declaration';
import { digestBucket, type Digest } from './digest';
import type { MeasureInput } from './fields';
import { hllPacked, type HllSketch } from './hll';

export interface AggregatorOptions {
  /** B of the offset buckets floor(offset / B); must equal the batch cut's alignment. Default 10,000. */
  offsetBucketSize?: number;
}

/** Which cells cellsOf() walks: one partition, window starts in [fromUs, toUs), optionally one rollup. */
export interface CellRange {
  partition: number;
  fromUs: number;
  toUs: number;
  rollup?: string;
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
  /** The cells of a partition whose window starts in a range (without visiting the others). */
  cellsOf(range: CellRange): IterableIterator<Cell>;
  /**
   * The cells changed since the previous call (the changelog delta: each with its full, current
   * parts — an idempotent upsert, so replaying a compacted changelog rebuilds the state), and
   * forgets that they changed. The returned cells are live: encode them before the next add().
   */
  takeChanged(): Cell[];
  /**
   * takeChanged() whose cells are encoded later, a slice at a time (`encodeSome`), with their
   * parts as they are now: a cell written before its turn is encoded first (copy on write). The
   * caller can then let events in between slices instead of stalling them behind every cell.
   * A take still unfinished when the next one starts is finished first.
   */
  takeChangedDeferred<T>(encode: (cell: Cell) => T): DeferredRecords<T>;
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

/**
 * Dimension values given a number (slot = rollup · DIMENSION_IDS + id). Values beyond it — only a
 * stream of ever new values gets there — are keyed by text instead, so the dictionary is bounded.
 */
const DIMENSION_IDS = 1 << 16;
/** Window starts are keyed by their minute (small integers for V8's maps). */
const MINUTE_US = WINDOW_US.minute;

/** A held cell: the live object takeChanged() hands out, with its bookkeeping. */
interface LiveCell extends Cell {
  /** In the changed list since the last takeChanged(). */
  changed: boolean;
  /** Deleted or dropped (a stale entry of the changed list). */
  removed: boolean;
  /** encodeCellKey(key), once it was needed (a held cell is written to the changelog again and again; its key never changes). */
  keyText: string | undefined;
  /** Its index in the pending deferred take's `out`, while not encoded yet; -1 otherwise. */
  pending: number;
}

/** A cell's changelog key text (`encodeCellKey`): computed once for a held cell, then reused. */
export function cellKeyText(cell: Cell): string {
  const live = cell as Partial<LiveCell>;
  if (!('keyText' in live)) return encodeCellKey(cell.key);
  return (live.keyText ??= encodeCellKey(cell.key));
}

type Slots = Map<number | string, LiveCell>;
/** window minute → slots */
type Windows = Map<number, Slots>;
/** tenant → windows */
type Tenants = Map<string, Windows>;
/** partition → bucket → tenants */
type Index = Map<number, Map<number, Tenants>>;

function mapOf<K, V>(m: Map<K, V>, k: K, make: () => V): V {
  let v = m.get(k);
  if (v === undefined) m.set(k, (v = make()));
  return v;
}

export function createAggregator(decl: MeasuresDeclaration, opts: AggregatorOptions = {}): Aggregator {
  validateDeclaration(decl);
  const B = opts.offsetBucketSize ?? DEFAULT_OFFSET_BUCKET_SIZE;
  if (!Number.isSafeInteger(B) || B < 1) throw new RangeError(`offset bucket size ${B} is not a positive integer`);
  const rollups = decl.rollups.map((r, i) => ({ index: i, name: r.name, window: WINDOW_US[r.window], dimension: r.dimension }));
  const rollupIndex = new Map(rollups.map((r) => [r.name, r.index]));
  // rollups grouped by window size: an event looks its tenant's window up once per size
  const sizes = [...new Set(rollups.map((r) => r.window))].map((window) => ({ window, rollups: rollups.filter((r) => r.window === window) }));
  const parts = decl.parts.map((p) => ({ ...p, allowed: p.where ? new Set(p.where.in) : undefined }));
  const kinds = parts.map((p) => p.kind);
  const index: Index = new Map();
  let size = 0;
  let changed: LiveCell[] = [];
  // dimension value → id (0 stands for NULL)
  const dimensionIds = new Map<string, number>();
  // Per-event contributions (part index, value), reused across add() calls (single-threaded).
  const touched = new Array<number>(parts.length).fill(0);
  const contrib = new Array<number>(parts.length).fill(0);

  /** The slot of (rollup, dimension value); `add` gives new values an id while there is room. */
  function slotOf(rollup: number, dimension: string | null, add: boolean): number | string {
    if (dimension === null) return rollup * DIMENSION_IDS;
    let id = dimensionIds.get(dimension);
    if (id === undefined) {
      if (!add || dimensionIds.size >= DIMENSION_IDS - 1) return `${rollup}\u0000${dimension}`;
      dimensionIds.set(dimension, (id = dimensionIds.size + 1));
    }
    return rollup * DIMENSION_IDS + id;
  }

  function slotsOf(k: CellKey, create: boolean): { slots: Slots; slot: number | string } | undefined {
    const r = rollupIndex.get(k.rollup);
    if (r === undefined) throw new RangeError(`unknown rollup ${k.rollup}`);
    const minute = k.window_start_us / MINUTE_US;
    const slot = slotOf(r, k.dimension, create);
    if (create) {
      const buckets = mapOf(index, k.partition, () => new Map<number, Tenants>());
      const windows = mapOf(mapOf(buckets, k.bucket, (): Tenants => new Map()), k.tenant_id, (): Windows => new Map());
      return { slots: mapOf(windows, minute, (): Slots => new Map()), slot };
    }
    const slots = index.get(k.partition)?.get(k.bucket)?.get(k.tenant_id)?.get(minute);
    return slots && { slots, slot };
  }

  // the (partition, bucket) of the previous event: consecutive events share it
  let lastPartition = -1;
  let lastBucket = -1;
  let lastTenants: Tenants | undefined;

  /** The changed cells of a deferred take, encoded as of the take (copy on write). */
  const cow = new CopyOnWrite<LiveCell>();

  /** The changed cells still held, in the order they changed; forgets that they changed (a deferred take still encoding is finished first). */
  function takeCells(): LiveCell[] {
    cow.encodeSome(Infinity);
    const out: LiveCell[] = [];
    for (const c of changed) {
      c.changed = false;
      if (!c.removed) out.push(c);
    }
    changed = [];
    return out;
  }

  const markChanged = (c: LiveCell) => {
    // every write of a cell's parts goes through here first
    if (c.pending >= 0) cow.freeze(c);
    if (!c.changed) {
      c.changed = true;
      changed.push(c);
    }
  };

  function put(k: CellKey, p: PartValue[]): void {
    const at = slotsOf(k, true)!;
    const old = at.slots.get(at.slot);
    if (old) old.removed = true;
    else size++;
    const c: LiveCell = { key: { ...k }, parts: p, changed: false, removed: false, keyText: undefined, pending: -1 };
    at.slots.set(at.slot, c);
    markChanged(c);
  }

  /** Removes a cell from its slots and the maps above it that become empty. */
  function remove(k: CellKey): boolean {
    const buckets = index.get(k.partition);
    const tenants = buckets?.get(k.bucket);
    const windows = tenants?.get(k.tenant_id);
    const minute = k.window_start_us / MINUTE_US;
    const slots = windows?.get(minute);
    const r = rollupIndex.get(k.rollup);
    if (!slots || r === undefined) return false;
    const slot = slotOf(r, k.dimension, false);
    const c = slots.get(slot);
    if (!c) return false;
    c.removed = true;
    slots.delete(slot);
    size--;
    if (slots.size === 0 && windows!.delete(minute) && windows!.size === 0 && tenants!.delete(k.tenant_id) && tenants!.size === 0) {
      buckets!.delete(k.bucket);
      if (buckets!.size === 0) index.delete(k.partition);
      lastTenants = undefined;
    }
    return true;
  }

  function get(key: CellKey): LiveCell | undefined {
    const at = slotsOf(key, false);
    return at?.slots.get(at.slot);
  }

  function* walk(tenants: Tenants, fromMinute: number, toMinute: number, rollup: number | undefined): Generator<Cell> {
    for (const windows of tenants.values()) {
      for (const [minute, slots] of windows) {
        if (minute < fromMinute || minute >= toMinute) continue;
        for (const c of slots.values()) if (rollup === undefined || c.key.rollup === rollups[rollup].name) yield c;
      }
    }
  }

  return {
    declaration: decl,
    offsetBucketSize: B,
    get size() {
      return size;
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
          else if (p.kind === 'hll') c = hllPacked(v as string, decl.hllPrecision);
          else if (p.kind === 'digest') c = digestBucket(v as number, decl.digestSubBuckets);
          else c = v as number;
        }
        if (c === null) continue;
        touched[active] = i;
        contrib[active++] = c;
      }
      const bucket = Math.floor(input.offset / B);
      if (input.partition !== lastPartition || bucket !== lastBucket || lastTenants === undefined) {
        lastTenants = mapOf(mapOf(index, input.partition, () => new Map<number, Tenants>()), bucket, (): Tenants => new Map());
        lastPartition = input.partition;
        lastBucket = bucket;
      }
      // (the hot path spells out mapOf: no closure per lookup)
      let windows = lastTenants.get(input.tenant_id);
      if (windows === undefined) lastTenants.set(input.tenant_id, (windows = new Map()));
      for (const s of sizes) {
        const window = Math.floor(input.event_time_us / s.window) * s.window;
        let slots = windows.get(window / MINUTE_US);
        if (slots === undefined) windows.set(window / MINUTE_US, (slots = new Map()));
        for (const r of s.rollups) {
          const dimension = r.dimension === null ? null : (rec[r.dimension] as string | null);
          const slot = slotOf(r.index, dimension, true);
          let cell = slots.get(slot);
          if (cell === undefined) {
            cell = {
              key: { rollup: r.name, tenant_id: input.tenant_id, window_start_us: window, dimension, partition: input.partition, bucket },
              parts: emptyParts(decl),
              changed: false,
              removed: false,
              keyText: undefined,
              pending: -1,
            };
            slots.set(slot, cell);
            size++;
          }
          markChanged(cell);
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
      }
    },

    get,

    *cells(): IterableIterator<Cell> {
      for (const buckets of index.values()) for (const tenants of buckets.values()) yield* walk(tenants, -Infinity, Infinity, undefined);
    },

    *cellsOf(range: CellRange): IterableIterator<Cell> {
      const r = range.rollup === undefined ? undefined : rollupIndex.get(range.rollup);
      if (range.rollup !== undefined && r === undefined) throw new RangeError(`unknown rollup ${range.rollup}`);
      const buckets = index.get(range.partition);
      if (!buckets) return;
      for (const tenants of buckets.values()) yield* walk(tenants, range.fromUs / MINUTE_US, range.toUs / MINUTE_US, r);
    },

    takeChangedDeferred<T>(encode: (cell: Cell) => T): DeferredRecords<T> {
      return cow.takeEach(takeCells(), encode);
    },

    takeChanged: takeCells,

    restore(cell: Cell): void {
      if (cell.parts.length !== decl.parts.length) throw new RangeError('cell parts do not match the declaration');
      put(cell.key, cell.parts as PartValue[]);
    },

    delete(key: CellKey): boolean {
      return remove(key);
    },

    merge(cell: Cell): void {
      const have = get(cell.key);
      if (have) {
        markChanged(have);
        mergeParts(decl, have.parts, cell.parts);
      } else put(cell.key, cloneParts(decl, cell.parts));
    },

    dropCovered(cut: ReadonlyMap<number, number>): CellKey[] {
      const dropped: CellKey[] = [];
      for (const [partition, at] of cut) {
        const buckets = index.get(partition);
        if (!buckets) continue;
        for (const [bucket, tenants] of buckets) {
          if ((bucket + 1) * B > at) continue;
          for (const c of walk(tenants, -Infinity, Infinity, undefined)) {
            (c as LiveCell).removed = true;
            dropped.push(c.key);
          }
          buckets.delete(bucket);
        }
        if (buckets.size === 0) index.delete(partition);
      }
      size -= dropped.length;
      lastTenants = undefined;
      return dropped;
    },
  };
}
