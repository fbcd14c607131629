// The feature store as a speed-layer per-event processor (speed-layer/state.ts EventProcessor):
// one store per source partition, so its state goes to the changelog on the partition its events
// came from (`h:features:<kind \0 tenant \0 id>`), is restored from it, and is forgotten with the
// partition on a rebalance. Reads merge the partitions this instance holds:
// - exact for an entity seen on one partition — every user (the Kafka key is tenant:user);
// - for entities spread over partitions (cards, devices, geo, tenant): window counts and sums, total
//   count, first/last seen, the last gap and distinct sets (union) are exact over the partitions
//   held; the usual amount is the count-weighted pooled mean and variance of the per-partition
//   EWMAs (an approximation), and last amount / z from the partition seen last.
import type { MeasureInput } from '../../core/measures';
import { entityIdsFromEvent, type EntityIds } from '../../core/speed-record';
import { createFeatureStore, DISTINCT_DIMS, type EntityKind, type FeatureSnapshot, type FeatureStore, type FeatureStoreOptions } from './store';

export interface FeatureProcessor {
  readonly name: 'features';
  onEvent(input: MeasureInput, event: unknown, entities?: EntityIds): void;
  takeChanged(): { partition: number; key: string; value: string | null }[];
  restore(partition: number, key: string, value: string): void;
  dropPartition(partition: number): void;
  /** The entity's features over the partitions held, as of `atUs` (default: the latest event time seen). */
  get(kind: EntityKind, tenant: string, id?: string, atUs?: number): FeatureSnapshot | undefined;
  /** Partitions held. */
  partitions(): number[];
}

export function createFeatureProcessor(opts: FeatureStoreOptions = {}): FeatureProcessor {
  const stores = new Map<number, FeatureStore>();
  const storeOf = (p: number): FeatureStore => {
    let s = stores.get(p);
    if (!s) stores.set(p, (s = createFeatureStore(opts)));
    return s;
  };
  const now = () => Math.max(...[...stores.values()].map((s) => s.nowUs));

  return {
    name: 'features',
    onEvent(input, event, entities) {
      storeOf(input.partition).update({ input, entities: entities ?? entityIdsFromEvent(event) });
    },
    takeChanged() {
      const out: { partition: number; key: string; value: string | null }[] = [];
      for (const [partition, s] of stores) for (const r of s.takeChanged()) out.push({ partition, key: r.key, value: r.value });
      return out;
    },
    restore(partition, key, value) {
      storeOf(partition).restore([{ key, value }]);
    },
    dropPartition(partition) {
      stores.delete(partition);
    },
    partitions: () => [...stores.keys()],

    get(kind, tenant, id = '', atUs) {
      if (stores.size === 0) return undefined;
      const at = atUs ?? now();
      const found: { store: FeatureStore; snap: FeatureSnapshot }[] = [];
      for (const store of stores.values()) {
        const snap = store.get(kind, tenant, id, at);
        if (snap) found.push({ store, snap });
      }
      if (found.length === 0) return undefined;
      if (found.length === 1) return found[0].snap;
      const snaps = found.map((f) => f.snap);
      const latest = snaps.reduce((a, b) => (b.lastSeenUs > a.lastSeenUs ? b : a));
      const sumW = (w: 'w1m' | 'w1h' | 'w24h') => ({ count: snaps.reduce((x, s) => x + s[w].count, 0), sum: snaps.reduce((x, s) => x + s[w].sum, 0) });
      // the event before the latest: the latest's own previous one, or another partition's last
      let prev = latest.lastGapUs === null ? -Infinity : latest.lastSeenUs - latest.lastGapUs;
      for (const s of snaps) if (s !== latest && s.lastSeenUs > prev) prev = s.lastSeenUs;
      const n = snaps.reduce((x, s) => x + s.amount.count, 0);
      const mean = n === 0 ? 0 : snaps.reduce((x, s) => x + s.amount.count * s.amount.mean, 0) / n;
      const variance = n === 0 ? 0 : snaps.reduce((x, s) => x + s.amount.count * (s.amount.std ** 2 + (s.amount.mean - mean) ** 2), 0) / n;
      const distinct: FeatureSnapshot['distinct'] = {};
      for (const dim of DISTINCT_DIMS[kind]) {
        const union = new Set<string>();
        for (const f of found) for (const v of f.store.distinctValues(kind, tenant, id, dim, at)) union.add(v);
        distinct[dim] = union.size;
      }
      return {
        ...latest,
        w1m: sumW('w1m'),
        w1h: sumW('w1h'),
        w24h: sumW('w24h'),
        totalCount: snaps.reduce((x, s) => x + s.totalCount, 0),
        firstSeenUs: Math.min(...snaps.map((s) => s.firstSeenUs)),
        lastGapUs: prev === -Infinity ? null : latest.lastSeenUs - prev,
        amount: { count: n, mean, std: Math.sqrt(variance), last: latest.amount.last, lastZ: latest.amount.lastZ },
        distinct,
      };
    },
  };
}
