// The speed layer's state machine, pure (no Kafka): one event in → an outcome value; one
// checkpoint out → the changelog records, window results and offsets that the runtime writes in
// one Kafka transaction. Cells come from core/measures (declared once for both layers); windows
// and sessions from ./windows; per-event processors (the feature store) plug in as `processors`
// and are checkpointed and restored with the rest.
import {
  createAggregator,
  cellKeyText,
  createDeduplicator,
  decodeCellKey,
  decodeParts,
  encodeCellKey,
  encodeParts,
  evaluateMeasures,
  mergeParts,
  emptyParts,
  MEASURES,
  type Aggregator,
  type Deduplicator,
  type DeferredRecords,
  type MeasureInput,
  type MeasuresDeclaration,
  type PartValue,
} from '../core/measures';
import type { IHeaders } from 'kafkajs';
import { readSpeedRecord, type EntityIds } from '../core/speed-record';
import { parseChangelogKey, parseProgress, processorKey, progressKey, sessionKey, type PartitionProgress, type SessionState } from '../core/speed-changelog';
import { createWindowState, MINUTE_US, SLIDING_MINUTES, type WindowState } from './windows';

/** A per-event processor whose state is checkpointed with the speed layer's (e.g. the feature store). */
export interface EventProcessor {
  /** Names its changelog keys (`h:<name>:<key>`); no ':' in it. */
  readonly name: string;
  /**
   * A deduplicated, accepted event: what measures read, and the entity ids the feature store keys
   * by (from the ingestion API's header, or read from the parsed value when there is none).
   * `event`: the record value (Buffer or text), and `headers` the record's, for processors that
   * read more than the speed header.
   */
  onEvent(input: MeasureInput, event: unknown, entities?: EntityIds, headers?: IHeaders): void;
  /** An event replayed after a restore (see replayFrom); default onEvent. */
  onReplay?(input: MeasureInput, event: unknown, entities?: EntityIds, headers?: IHeaders): void;
  /** State changed since the last call, per source partition; value null deletes the key. */
  takeChanged(): OutRecord[];
  /**
   * takeChanged() whose values are encoded later, a slice at a time, as they are now (copy on
   * write), for checkpoints with `deferEncoding`; the records are complete once encodeSome returned true.
   */
  takeChangedDeferred?(): DeferredRecords<OutRecord>;
  /** A record of its state read back from the changelog (null: a tombstone). */
  restore(partition: number, key: string, value: string | null): void;
  /** Forgets a partition this instance no longer owns. */
  dropPartition(partition: number): void;
  /**
   * After its records are restored: the offset of the partition its restored state is as of, when
   * that is behind the partition's progress (a processor that writes its state less often than
   * every checkpoint, or one that rebuilds its state by replay); the events from there on are
   * replayed into it (SpeedState.replay). `nextOffset`: the partition's restored progress.
   */
  replayFrom?(partition: number, nextOffset?: number): number | undefined;
  /** Records for the `anomalies` topic, taken by the checkpoint into its transaction. */
  takeOutputs?(): OutRecord[];
  /** Outputs waiting for a checkpoint (the runtime commits sooner while there are some). */
  pendingOutputs?(): number;
}

export type EventOutcome =
  | { kind: 'counted'; late: boolean }
  | { kind: 'duplicate' }
  | { kind: 'rejected'; reason: string }
  /** At or below the partition's committed progress (re-delivered after a restore): nothing done. */
  | { kind: 'skipped' };

export interface OutRecord {
  partition: number;
  key: string;
  /** null: a tombstone. */
  value: string | null;
}

export interface Checkpoint {
  /** To the compacted changelog, each on its source partition (with `deferEncoding`, complete once encodeSome returned true). */
  changelog: OutRecord[];
  /** Window results (tumbling 1 min, sliding 5 min, sessions), each on its source partition. */
  results: OutRecord[];
  /** partition → next offset to process (for sendOffsets), partitions that moved only. */
  offsets: Map<number, number>;
  /** Processors' outputs (anomaly records) for the `anomalies` topic, keyed, in the same transaction. */
  anomalies: OutRecord[];
  /**
   * With `deferEncoding`: encodes up to `max` more of the changed cells' values into `changelog`
   * (their records are there already, values as of the checkpoint: copy on write), then the
   * changed users' sessions (appended when complete, copy on write too), then the processors' that defer theirs (the feature store's snapshots; appended to `changelog` when
   * complete, up to `max` per partition per call), then the window results of the minutes it
   * closed (put in front of `results` when complete, max / RESULT_STEP_COST per call); true when
   * none is left. Without it, always true. Taking the next checkpoint finishes this one first.
   */
  encodeSome(max: number): boolean;
}

export interface CheckpointOptions {
  /**
   * Leave the changed cells' values, the changed sessions, the feature store's entities and the
   * closed minutes' window results to `encodeSome` (in slices, events processed in between) instead of encoding them all
   * now: most of a checkpoint's synchronous time.
   */
  deferEncoding?: boolean;
}

export interface SpeedStateOptions {
  allowedLatenessMs: number;
  sessionGapMs: number;
  dedupHorizonOffsets: number;
  offsetBucketSize?: number;
  declaration?: MeasuresDeclaration;
  processors?: readonly EventProcessor[];
}

export interface SpeedState {
  readonly aggregator: Aggregator;
  readonly windows: WindowState;
  /** `headers` carry the ingestion API's speed header (core/speed-record.ts): no JSON.parse then. */
  process(partition: number, offset: number, value: Buffer | string | null, headers?: IHeaders): EventOutcome;
  /**
   * An event below the partition's progress, read again while restoring (in offset order, from
   * `replayStart` − the dedup horizon): its id is remembered for deduplication, and a processor
   * whose restored state is older than it gets it again if it counts (cells, windows and sessions
   * are restored as of the progress and are not touched).
   */
  replay(partition: number, offset: number, value: Buffer | string | null, headers?: IHeaders): void;
  /** The offset from which restored processors need events replayed (undefined: none). */
  replayStart(partition: number): number | undefined;
  /** A changelog record (value null: tombstone) read back while restoring. */
  restoreRecord(partition: number, key: string, value: string | null): void;
  /** The partition's progress: next offset to process (undefined: never processed). */
  nextOffset(partition: number): number | undefined;
  /** Drops cells a published batch cut covers; their tombstones go out with the next checkpoint. */
  applyCut(cut: ReadonlyMap<number, number>): number;
  /** Closes windows the watermarks passed and collects everything to write in one transaction. */
  checkpoint(nowMs: number, opts?: CheckpointOptions): Checkpoint;
  dropPartition(partition: number): void;
  /** Partitions with state. */
  partitions(): number[];
  /** Processor outputs waiting for the next checkpoint. */
  pendingOutputs(): number;
  /** Takes the processors' outputs now (delivered outside the checkpoint: runtime `anomalyDelivery: 'immediate'`). */
  takeOutputs(): OutRecord[];
}

/** Cells merged per step of the minute results' job (a step ≈ one result record). */
const CELLS_PER_STEP = 16;
/** A minute result's cost in cells encoded (~2–3 µs each): encodeSome(max) runs max / this steps of the results. */
const RESULT_STEP_COST = 4;

/** Measures put in window result records. */
export const RESULT_MEASURES = ['events', 'orders', 'revenue', 'refunds', 'refund_amount', 'checkouts', 'distinct_users', 'sessions', 'conversion', 'page_load_p95'] as const;

export function createSpeedState(opts: SpeedStateOptions): SpeedState {
  const decl = opts.declaration ?? MEASURES;
  const aggregator = createAggregator(decl, { offsetBucketSize: opts.offsetBucketSize });
  // one per partition, so a partition handed to another instance takes its ids with it
  const dedups = new Map<number, Deduplicator>();
  const dedup = (partition: number) => {
    let d = dedups.get(partition);
    if (!d) dedups.set(partition, (d = createDeduplicator({ horizonOffsets: opts.dedupHorizonOffsets })));
    return d;
  };
  const windows = createWindowState({ allowedLatenessMs: opts.allowedLatenessMs, sessionGapMs: opts.sessionGapMs });
  const processors = opts.processors ?? [];
  for (const p of processors) if (!/^[A-Za-z0-9_.-]+$/.test(p.name)) throw new RangeError(`processor name ${JSON.stringify(p.name)} must be [A-Za-z0-9_.-]+`);
  // the first minute rollup: every event is in exactly one of its cells, so its cells of a
  // (tenant, partition, minute) merge to the tenant's totals of that minute
  const totalsRollup = decl.rollups.find((r) => r.window === 'minute')?.name;
  const next = new Map<number, number>();
  const moved = new Set<number>();
  let tombstones: OutRecord[] = [];
  /** The last deferred checkpoint's encodeSome while it has work left. */
  let unfinished: ((max: number) => boolean) | undefined;

  /**
   * The window results of the minutes a checkpoint closed (`ranges`: per partition), pushed to
   * `out`, as a job that pauses every few cells merged and every record (one result is ~10 µs of
   * HLL and digest merges and JSON): a deferred checkpoint runs it a slice at a time, so the events
   * behind it need not wait for a minute's ~5,000 results. Cells are read as they are when their
   * slice runs: an event processed in between (late for that minute) may be in its result.
   */
  function* minuteResults(ranges: Map<number, { fromUs: number; untilUs: number }>, out: OutRecord[]): Generator<void, void, void> {
    if (ranges.size === 0 || totalsRollup === undefined) return;
    // partition → tenant → minute → merged parts, for the minutes the results need
    const merged = new Map<number, Map<string, Map<number, PartValue[]>>>();
    const cells = [...ranges].flatMap(([partition, r]) => [...aggregator.cellsOf({ partition, fromUs: r.fromUs - (SLIDING_MINUTES - 1) * MINUTE_US, toUs: r.untilUs, rollup: totalsRollup })]);
    for (let i = 0; i < cells.length; i++) {
      const k = cells[i].key;
      let byTenant = merged.get(k.partition);
      if (!byTenant) merged.set(k.partition, (byTenant = new Map()));
      let byMinute = byTenant.get(k.tenant_id);
      if (!byMinute) byTenant.set(k.tenant_id, (byMinute = new Map()));
      let parts = byMinute.get(k.window_start_us);
      if (!parts) byMinute.set(k.window_start_us, (parts = emptyParts(decl)));
      mergeParts(decl, parts, cells[i].parts);
      if (i % CELLS_PER_STEP === CELLS_PER_STEP - 1) yield;
    }
    const record = (partition: number, tenant: string, type: string, startUs: number, endUs: number, parts: PartValue[]) => {
      const value = { type, tenant_id: tenant, partition, window_start: new Date(startUs / 1000).toISOString(), window_end: new Date(endUs / 1000).toISOString(), measures: evaluateMeasures(decl, parts, RESULT_MEASURES) };
      out.push({ partition, key: tenant, value: JSON.stringify(value) });
    };
    for (const [partition, byTenant] of merged) {
      const r = ranges.get(partition)!;
      for (const [tenant, byMinute] of byTenant) {
        for (let w = r.fromUs; w < r.untilUs; w += MINUTE_US) {
          const tumbling = byMinute.get(w);
          if (tumbling) {
            record(partition, tenant, 'tumbling_1m', w, w + MINUTE_US, tumbling);
            yield;
          }
          const end = w + MINUTE_US;
          const slide = emptyParts(decl);
          let any = false;
          for (let m = end - SLIDING_MINUTES * MINUTE_US; m < end; m += MINUTE_US) {
            const p = byMinute.get(m);
            if (p) {
              mergeParts(decl, slide, p);
              any = true;
            }
          }
          if (any) {
            record(partition, tenant, 'sliding_5m', end - SLIDING_MINUTES * MINUTE_US, end, slide);
            yield;
          }
        }
      }
    }
  }

  return {
    aggregator,
    windows,
    process(partition, offset, value, headers) {
      const have = next.get(partition);
      if (have !== undefined && offset < have) return { kind: 'skipped' };
      next.set(partition, offset + 1);
      moved.add(partition);
      const r = readSpeedRecord({ value, headers }, { partition, offset });
      if (!r.ok) return { kind: 'rejected', reason: r.reason };
      if (!dedup(partition).firstSeen(r.input)) return { kind: 'duplicate' };
      aggregator.add(r.input);
      const late = windows.observe(partition, r.input.event_time_us);
      if (r.input.user_id !== null) windows.addToSession(partition, r.input.tenant_id, r.input.user_id, r.input.event_time_us);
      for (const p of processors) p.onEvent(r.input, value, r.entities, headers);
      return { kind: 'counted', late };
    },
    replay(partition, offset, value, headers) {
      const r = readSpeedRecord({ value, headers }, { partition, offset });
      if (!r.ok || !dedup(partition).firstSeen(r.input)) return;
      const n = next.get(partition);
      for (const p of processors) {
        const from = p.replayFrom?.(partition, n);
        if (from === undefined || offset < from) continue;
        if (p.onReplay) p.onReplay(r.input, value, r.entities, headers);
        else p.onEvent(r.input, value, r.entities, headers);
      }
    },
    replayStart(partition) {
      let start: number | undefined;
      const n = next.get(partition);
      for (const p of processors) {
        const from = p.replayFrom?.(partition, n);
        if (from !== undefined && (start === undefined || from < start)) start = from;
      }
      return start === undefined || n === undefined || start >= n ? undefined : start;
    },
    restoreRecord(partition, key, value) {
      const rec = parseChangelogKey(key);
      if (!rec) return;
      switch (rec.kind) {
        case 'cell': {
          const k = decodeCellKey(key);
          if (value === null) aggregator.delete(k);
          else aggregator.restore({ key: k, parts: decodeParts(decl, value) });
          break;
        }
        case 'progress': {
          const p = value === null ? undefined : parseProgress(value);
          if (p) {
            next.set(rec.partition, p.next_offset);
            windows.restoreClock(rec.partition, p);
          }
          break;
        }
        case 'session':
          windows.restoreSessions(partition, rec.tenant_id, rec.user_id, value === null ? [] : (JSON.parse(value) as SessionState[]));
          break;
        case 'processor': {
          const p = processors.find((x) => x.name === rec.processor);
          // tombstones too: a dropped entity's earlier value must not come back
          if (p) p.restore(partition, rec.key, value);
          break;
        }
      }
    },
    nextOffset: (partition) => next.get(partition),
    applyCut(cut) {
      const dropped = aggregator.dropCovered(cut);
      for (const k of dropped) tombstones.push({ partition: k.partition, key: encodeCellKey(k), value: null });
      return dropped.length;
    },
    checkpoint(nowMs, opts = {}) {
      // a deferred checkpoint still unfinished is finished first (its results read the cells as they are)
      unfinished?.(Infinity);
      const changelog: OutRecord[] = tombstones;
      tombstones = [];
      // the cells' records now (in their place: after the tombstones), their values when encoded
      const cells = aggregator.takeChangedDeferred((c): OutRecord => ({ partition: c.key.partition, key: cellKeyText(c), value: encodeParts(decl, c.parts) }));
      const firstCell = changelog.length;
      changelog.length += cells.out.length;
      // processors' records encoded later too (those that can), appended when complete
      const deferredTakes: { name: string; take: DeferredRecords<OutRecord> }[] = [];
      const ranges = new Map<number, { fromUs: number; untilUs: number }>();
      const results: OutRecord[] = [];
      // the minute results first, as before (results of sessions are pushed below, then these moved in front)
      const minuteOut: OutRecord[] = [];
      const minuteJob = minuteResults(ranges, minuteOut);
      let cellsEncoded = false;
      let sessionsEncoded = false;
      let encoded = false;
      const encodeSome = (max: number): boolean => {
        if (encoded) return true;
        if (!cellsEncoded) {
          if (!cells.encodeSome(max)) return false;
          for (let i = 0; i < cells.out.length; i++) changelog[firstCell + i] = cells.out[i];
          cellsEncoded = true;
        }
        if (!sessionsEncoded) {
          if (!sessions.encodeSome(max)) return false;
          for (const r of sessions.out) changelog.push(r);
          sessionsEncoded = true;
        }
        while (deferredTakes.length > 0) {
          const { name, take } = deferredTakes[0];
          if (!take.encodeSome(max)) return false;
          for (const c of take.out) changelog.push({ partition: c.partition, key: processorKey(name, c.key), value: c.value });
          deferredTakes.shift();
        }
        // a result costs a few cells' encoding: fewer steps per slice
        for (let step = 0, steps = Math.max(1, Math.floor(max / RESULT_STEP_COST)); step < steps; step++) {
          if (minuteJob.next().done) {
            results.unshift(...minuteOut);
            return (encoded = true);
          }
        }
        return false;
      };
      for (const p of moved) {
        const r = windows.closeMinutes(p);
        if (r) ranges.set(p, r);
        for (const s of windows.closeSessions(p)) {
          const value = { type: 'session', tenant_id: s.tenant_id, user_id: s.user_id, partition: p, session_start: new Date(s.start_us / 1000).toISOString(), session_last_event: new Date(s.last_us / 1000).toISOString(), events: s.events };
          results.push({ partition: p, key: s.tenant_id, value: JSON.stringify(value) });
        }
      }
      const sessions = windows.takeChangedSessionsDeferred((u): OutRecord => ({ partition: u.partition, key: sessionKey(u.tenant_id, u.user_id), value: u.sessions.length === 0 ? null : JSON.stringify(u.sessions) }));
      for (const proc of processors) {
        if (opts.deferEncoding && proc.takeChangedDeferred) deferredTakes.push({ name: proc.name, take: proc.takeChangedDeferred() });
        else for (const c of proc.takeChanged()) changelog.push({ partition: c.partition, key: processorKey(proc.name, c.key), value: c.value });
      }
      const offsets = new Map<number, number>();
      for (const p of moved) {
        const n = next.get(p)!;
        const c = windows.clock(p);
        const progress: PartitionProgress = { next_offset: n, max_event_us: c.maxEventUs, watermark_us: c.watermarkUs, emitted_until_us: c.emittedUntilUs, committed_at_ms: nowMs };
        changelog.push({ partition: p, key: progressKey(p), value: JSON.stringify(progress) });
        offsets.set(p, n);
      }
      moved.clear();
      const anomalies = processors.flatMap((p) => p.takeOutputs?.() ?? []);
      if (!opts.deferEncoding) encodeSome(Infinity);
      else unfinished = (max) => encodeSome(max) || ((unfinished = undefined), true);
      return { changelog, results, offsets, anomalies, encodeSome };
    },
    dropPartition(partition) {
      aggregator.dropCovered(new Map([[partition, Number.POSITIVE_INFINITY]]));
      windows.dropPartition(partition);
      for (const p of processors) p.dropPartition(partition);
      next.delete(partition);
      moved.delete(partition);
      tombstones = tombstones.filter((t) => t.partition !== partition);
      dedups.delete(partition);
    },
    partitions: () => [...next.keys()],
    takeOutputs: () => processors.flatMap((p) => p.takeOutputs?.() ?? []),
    pendingOutputs() {
      let n = 0;
      for (const p of processors) n += p.pendingOutputs?.() ?? 0;
      return n;
    },
  };

}
