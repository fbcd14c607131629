// The exact merge of batch and live (DESIGN: the offset cut). Batch views cover the events with
// _offset < cut[p]; the speed layer's cells are keyed by offset bucket, and only the buckets at or
// after the cut are read. Every event is counted once whatever its event time: parts (counts,
// sums, min/max, sketches, digests) are merged, then measures are read from the merged parts.
import { emptyParts, evaluateMeasures, mergeParts, MEASURES, type Cell, type MeasuresDeclaration, type PartValue } from '../../core/measures';
import { partsFor, type SpeedReader } from '../../core/speed-reader';
import type { BatchViews } from './batch-views';
import { bucketOf, GRAIN_US, passes, rollupFor, viewGrainFor, viewNameFor, type AnalyticsQuery } from './query-model';

export interface ResultRow {
  window_start: string;
  /** The dimension's value (present when the query groups by one). */
  [column: string]: string | number | null;
}

export interface MergeMeta {
  /** The published views version the batch part read (null: nothing published yet). */
  batch_version: string | null;
  /** Partition → first offset NOT in the batch part. */
  batch_cut: Record<string, number>;
  /** Partition → next offset the speed layer had processed: the answer covers every event below max(cut, this). */
  live_offsets: Record<string, number>;
  /** Now − the newest event time the speed layer has seen (ms); null before any event. */
  freshness_ms: number | null;
  /** The batch view read, and cells from each side (for lineage and debugging). */
  batch_view: string | null;
  batch_cells: number;
  live_cells: number;
  grain: AnalyticsQuery['grain'];
  time_range: { from: string; to: string };
  total_rows: number;
}

export interface MergeResult {
  rows: ResultRow[];
  meta: MergeMeta;
}

export interface MergeDeps {
  batch: BatchViews;
  speed: SpeedReader;
  declaration?: MeasuresDeclaration;
  now?: () => number;
}

const usToIso = (us: number) => new Date(Math.floor(us / 1000)).toISOString();
/** Snapshot reads before giving up on a batch cut that lags the speed layer's (each re-reads S3). */
const MAX_SNAPSHOT_ATTEMPTS = 3;

export async function mergedQuery(deps: MergeDeps, q: AnalyticsQuery): Promise<MergeResult> {
  const decl = deps.declaration ?? MEASURES;
  const needed = partsFor(decl, q.measures);
  const partNames = needed.map((i) => decl.parts[i].name);
  const { rollup, collapse } = rollupFor(q.dimension);

  // The batch side is read first (it awaits S3 and DuckDB); the live side, its offsets and the
  // check below run in one synchronous block, so they see one state of the changelog.
  for (let attempt = 1; ; attempt++) {
    const snap = await deps.batch.snapshot(attempt > 1);
    const cut = new Map(Object.entries(snap?.cut ?? {}).map(([p, o]) => [Number(p), o]));
    let batchView: string | null = null;
    let batchCells: Cell[] = [];
    if (snap) {
      batchView = viewNameFor(rollup, viewGrainFor(q));
      batchCells = await deps.batch.cells(snap, batchView, q.tenant, q.fromUs, q.toUs, partNames);
    }
    // The speed layer drops cells once a published cut covers them. If it applied a newer cut
    // than this snapshot, the events between the two would be in neither side: read again.
    const stale = [...deps.speed.droppedBelow()].some(([p, below]) => (cut.get(p) ?? 0) < below);
    if (stale) {
      if (attempt < MAX_SNAPSHOT_ATTEMPTS) continue;
      throw new Error('the published batch cut is behind the cut the speed layer applied; not answering with a gap');
    }
    const groups = new Map<string, { window: number; dimension: string | null; parts: PartValue[] }>();
    const add = (windowStartUs: number, dimension: string | null, parts: readonly PartValue[]) => {
      if (!passes(q.filters, dimension)) return;
      const dim = collapse ? null : dimension;
      const w = bucketOf(q, windowStartUs);
      const k = `${w}\u0000${dim ?? '\u0001'}`;
      let g = groups.get(k);
      if (!g) groups.set(k, (g = { window: w, dimension: dim, parts: emptyParts(decl) }));
      mergeParts(decl, g.parts, parts, needed);
    };
    for (const c of batchCells) add(c.key.window_start_us, c.key.dimension, c.parts);
    // The speed layer keeps minute and hour grains; days and 'all' are merged from hours or minutes.
    const hourAligned = q.fromUs % GRAIN_US.hour === 0 && q.toUs % GRAIN_US.hour === 0;
    const speedGrain = q.grain === 'minute' || !hourAligned ? 'minute' : 'hour';
    const live = deps.speed.query({ tenant: q.tenant, rollup, fromUs: q.fromUs, toUs: q.toUs, grain: speedGrain, measures: q.measures, cut });
    for (const r of live) add(r.window_start_us, r.dimension, r.parts);
    const liveOffsets: Record<string, number> = {};
    let newestEventUs: number | null = null;
    for (const [p, pr] of deps.speed.progress()) {
      liveOffsets[String(p)] = pr.next_offset;
      if (pr.max_event_us !== null) newestEventUs = Math.max(newestEventUs ?? 0, pr.max_event_us);
    }
    return finish(q, decl, groups, {
      batch_version: snap?.version ?? null,
      batch_cut: snap?.cut ?? {},
      live_offsets: liveOffsets,
      freshness_ms: newestEventUs === null ? null : Math.max(0, (deps.now ?? Date.now)() - Math.floor(newestEventUs / 1000)),
      batch_view: batchView,
      batch_cells: batchCells.length,
      live_cells: live.length,
      grain: q.grain,
      time_range: { from: usToIso(q.fromUs), to: usToIso(q.toUs) },
      total_rows: 0,
    });
  }
}

/** Measures from the merged parts, sorted and paged. */
function finish(q: AnalyticsQuery, decl: MeasuresDeclaration, groups: Map<string, { window: number; dimension: string | null; parts: PartValue[] }>, meta: MergeMeta): MergeResult {
  const rows: ResultRow[] = [...groups.values()].map((g) => {
    const row: ResultRow = { window_start: usToIso(g.window) };
    if (q.dimension) row[q.dimension] = g.dimension;
    Object.assign(row, evaluateMeasures(decl, g.parts, q.measures));
    return row;
  });
  rows.sort(comparator(q));
  return { rows: rows.slice(q.offset, q.offset + q.limit), meta: { ...meta, total_rows: rows.length } };
}

function comparator(q: AnalyticsQuery): (a: ResultRow, b: ResultRow) => number {
  const keys = [...q.sort, { field: 'window_start', order: 'asc' as const }, ...(q.dimension ? [{ field: q.dimension, order: 'asc' as const }] : [])];
  return (a, b) => {
    for (const { field, order } of keys) {
      const x = a[field];
      const y = b[field];
      if (x === y) continue;
      // NULLs last whatever the order, as in SQL's NULLS LAST
      if (x === null || x === undefined) return 1;
      if (y === null || y === undefined) return -1;
      const c = typeof x === 'number' && typeof y === 'number' ? x - y : String(x) < String(y) ? -1 : 1;
      return order === 'asc' ? c : -c;
    }
    return 0;
  };
}
