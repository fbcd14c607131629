// The feature store as a speed-layer per-event processor (speed-layer/state.ts EventProcessor):
// one store per source partition, so its state goes to the changelog on the partition its events
// came from (`h:features:<kind \0 tenant \0 id>`), is restored from it, and is forgotten with the
// partition on a rebalance. Reads merge the partitions this instance holds:
// - exact for an entity seen on one partition — every user (the Kafka key is tenant:user);
// - for entities spread over partitions (cards, devices, geo, tenant): window counts and sums, total
//   count, first/last seen, the last gap and distinct sets (union) are exact over the partitions
//   held; the usual amount is the count-weighted pooled mean and variance of the per-partition
//   EWMAs (an approximation), and last amount / z from the partition seen last.
//
// Snapshots: the entities changed since the last snapshot go to the changelog every
// `snapshotEveryMs` (default 5 s) per partition, the partitions in turn (see dueForSnapshot), not at
// every checkpoint — several entities change per event,
// so writing them every 300 ms was over half of the changelog's bytes. A snapshot also writes,
// per partition, the offset its state is as of (`h:features:@snapshot`, in the same transaction);
// on restore the speed layer replays the partition's events from there (SpeedState.replay), and
// since a store's updates depend only on its partition's events in offset order, the replayed
// store equals the one that was lost. The price: a restore reads up to `snapshotEveryMs` more of
// `events`.
import type { DeferredRecords, MeasureInput } from '../../core/measures';
import { entityIdsFromEvent, type EntityIds } from '../../core/speed-record';
import type { OutRecord } from '../state';
import { createFeatureStore, ENTITY_KINDS, KIND_INDEX, mergedSnapshot, snapshotOf, type Entity, type EntityKind, type FeatureSnapshot, type FeatureStore, type FeatureStoreOptions } from './store';

export interface FeatureProcessorOptions extends FeatureStoreOptions {
  /** Wall-clock time between snapshots of the changed entities (0: at every checkpoint). Default 5,000. */
  snapshotEveryMs?: number;
}

/** The changelog key (under `h:features:`) of a partition's snapshot offset; entity keys start with their kind. */
export const SNAPSHOT_KEY = '@snapshot';

export interface FeatureProcessor {
  readonly name: 'features';
  onEvent(input: MeasureInput, event: unknown, entities?: EntityIds): void;
  takeChanged(): OutRecord[];
  /** takeChanged() encoded later, a slice at a time, as of now (the store's copy on write); complete once encodeSome returned true. */
  takeChangedDeferred(): DeferredRecords<OutRecord>;
  restore(partition: number, key: string, value: string | null): void;
  dropPartition(partition: number): void;
  replayFrom(partition: number): number | undefined;
  /** The entity's features over the partitions held, as of `atUs` (default: the latest event time seen). */
  get(kind: EntityKind, tenant: string, id?: string, atUs?: number): FeatureSnapshot | undefined;
  /** Partitions held. */
  partitions(): number[];
  /** Entities held, over the partitions. */
  readonly size: number;
}

export function createFeatureProcessor(opts: FeatureProcessorOptions = {}): FeatureProcessor {
  const snapshotEveryMs = opts.snapshotEveryMs ?? 5000;
  const stores = new Map<number, FeatureStore>();
  /** partition → offset after the last event the store took (the offset a snapshot is as of) */
  const seen = new Map<number, number>();
  /** partition → the restored snapshot's offset (events from there are replayed into the store) */
  const restoredAt = new Map<number, number>();
  /** partition → when its store was last snapshotted (wall clock, ms) */
  const lastSnapshotMs = new Map<number, number>();
  /** when the last staggered snapshot (below) was taken */
  let lastSlotMs = -Infinity;
  /**
   * tenant → kind → id → the entity in each partition's store that holds it (most: one), kept by
   * the stores as entities come and go: a read looks it up once instead of in every store (a miss
   * in each of six large maps was most of a user's read).
   */
  const directory = new Map<string, Map<string, Readonly<Entity> | Readonly<Entity>[]>[]>();
  function indexed(e: Readonly<Entity>, present: boolean): void {
    let byKind = directory.get(e.tenant);
    if (present) {
      if (!byKind) directory.set(e.tenant, (byKind = ENTITY_KINDS.map(() => new Map())));
      const m = byKind[KIND_INDEX[e.kind]];
      const held = m.get(e.id);
      if (held === undefined) m.set(e.id, e);
      else if (Array.isArray(held)) held.push(e);
      else m.set(e.id, [held, e]);
      return;
    }
    const m = byKind?.[KIND_INDEX[e.kind]];
    const held = m?.get(e.id);
    if (m === undefined || held === undefined) return;
    if (held === e) m.delete(e.id);
    else if (Array.isArray(held)) {
      const i = held.indexOf(e);
      if (i >= 0) held.splice(i, 1);
      if (held.length === 1) m.set(e.id, held[0]);
    }
  }
  const storeOptions: FeatureStoreOptions = { ...opts, onIndexed: indexed };
  const storeOf = (p: number): FeatureStore => {
    let s = stores.get(p);
    if (!s) stores.set(p, (s = createFeatureStore(storeOptions)));
    return s;
  };
  const now = () => {
    let max = -Infinity;
    for (const s of stores.values()) if (s.nowUs > max) max = s.nowUs;
    return max;
  };

  /**
   * The partitions whose changed entities go out with this checkpoint: a partition's first
   * checkpoint (a restore needs a snapshot to replay from), then one partition per
   * `snapshotEveryMs / partitions`, the one snapshotted longest ago — each still about every
   * `snapshotEveryMs` (rounded up to checkpoints), but staggered: all of them at once was a
   * checkpoint of ~50,000 records every 5 s at 10,000 events/s, hundreds of ms in which no event
   * was processed.
   */
  function dueForSnapshot(nowMs: number): number[] {
    if (snapshotEveryMs === 0) return [...stores.keys()];
    const due = [...stores.keys()].filter((p) => !lastSnapshotMs.has(p));
    if (nowMs - lastSlotMs >= snapshotEveryMs / Math.max(1, stores.size)) {
      // (lastSnapshotMs holds only partitions with a store: dropPartition deletes both)
      let oldest: number | undefined;
      let oldestAt = Infinity;
      for (const [p, at] of lastSnapshotMs) {
        if (at < oldestAt) {
          oldest = p;
          oldestAt = at;
        }
      }
      if (oldest !== undefined) due.push(oldest);
    }
    if (due.length > 0) lastSlotMs = nowMs;
    for (const p of due) lastSnapshotMs.set(p, nowMs);
    return due;
  }

  /** The due partitions' changed entities (and each one's snapshot offset, as of now), encoded up to `max` per partition per call. */
  function takeDeferred(): DeferredRecords<OutRecord> {
    const takes = dueForSnapshot(Date.now()).map((partition) => {
      const take = stores.get(partition)!.takeChangedDeferred();
      return { partition, take, snapshotOffset: take.out.length > 0 ? seen.get(partition) : undefined };
    });
    const out: OutRecord[] = [];
    let next = 0;
    return {
      out,
      encodeSome(max) {
        for (; next < takes.length; next++) {
          const { partition, take, snapshotOffset } = takes[next];
          if (!take.encodeSome(max)) return false;
          for (const r of take.out) out.push({ partition, key: r.key, value: r.value });
          if (snapshotOffset !== undefined) out.push({ partition, key: SNAPSHOT_KEY, value: JSON.stringify({ next_offset: snapshotOffset }) });
        }
        return true;
      },
    };
  }

  return {
    name: 'features',
    onEvent(input, event, entities) {
      storeOf(input.partition).update({ input, entities: entities ?? entityIdsFromEvent(event) });
      seen.set(input.partition, input.offset + 1);
    },
    takeChanged() {
      const take = takeDeferred();
      take.encodeSome(Infinity);
      return take.out;
    },
    takeChangedDeferred: takeDeferred,
    restore(partition, key, value) {
      if (key !== SNAPSHOT_KEY) storeOf(partition).restore([{ key, value }]);
      else {
        const at = value === null ? undefined : (JSON.parse(value) as { next_offset?: unknown }).next_offset;
        if (typeof at === 'number' && Number.isSafeInteger(at)) restoredAt.set(partition, at);
        else restoredAt.delete(partition);
      }
    },
    dropPartition(partition) {
      const store = stores.get(partition);
      if (store) for (const e of [...store.entities()]) indexed(e, false);
      stores.delete(partition);
      seen.delete(partition);
      lastSnapshotMs.delete(partition);
      restoredAt.delete(partition);
    },
    replayFrom: (partition) => restoredAt.get(partition),
    partitions: () => [...stores.keys()],
    get size() {
      let n = 0;
      for (const s of stores.values()) n += s.size;
      return n;
    },

    get(kind, tenant, id = '', atUs) {
      const found = directory.get(tenant)?.[KIND_INDEX[kind]].get(kind === 'tenant' ? '' : id);
      if (found === undefined) return undefined;
      const at = atUs ?? now();
      return Array.isArray(found) ? mergedSnapshot(found, at) : snapshotOf(found, at);
    },
  };
}
