// The feature store for the fraud engine (docs/speed-bench.md, "Feature store"): per entity — user,
// card token, device, geo (country/city) and tenant — event counts and amount sums over 1 min / 1 h /
// 24 h sliding horizons (ring counters, ring.ts), distinct cards/devices/countries/users seen in
// 24 h (small bounded sets), time since the last event, and the amount against the entity's usual
// (exponentially weighted mean and variance → z-score). Read in-process with get() in about a
// microsecond; fed with speed records (core/speed-record.ts).
//
// Time is event time only: "now" is the largest event time the store has seen (or the time a
// read asks for), never the wall clock, so a replay of the same records in the same order gives
// the same state. Window counts and sums do not depend on the order of events within a ring's
// reach; the EWMA and "previous gap" do (per partition the order is Kafka's; entities that span
// partitions — card, device, geo, tenant — see the interleaving the consumer saw).
//
// Memory is bounded: an entity with at most 8 events keeps them as a short log (~200 B: most
// cards, devices and users in a day), a busier one ~1.6 KB of ring buckets (93 × count + sum); idle
// entities (no event for `idleTtlUs` of event time, default 25 h: past every horizon) are dropped by
// a sweep that examines a few entities per update, each at least once every `sweepEvery` updates
// (core/sweep.ts), and beyond `maxEntities` the least recently seen (by event
// time) are dropped, down to 90 % of the cap at once (an LRU in event time, amortized). A dropped
// entity reads as unknown (undefined), as a new one.
//
// Checkpointing: takeChanged() gives the records changed (or dropped: value null) since its last
// call, one per entity, keyed by entity — for a compacted changelog — and restore() loads them.
import { CopyOnWrite, type DeferredRecords } from '../../core/measures';
import { createIncrementalSweep } from '../../core/sweep';
import type { SpeedRecord } from '../../core/speed-record';
import { BUCKETS, HOUR_US, logRead, RINGS, ringAdd, ringRead, type WindowSum } from './ring';

export type EntityKind = 'user' | 'card' | 'device' | 'geo' | 'tenant';
export const ENTITY_KINDS: readonly EntityKind[] = ['user', 'card', 'device', 'geo', 'tenant'];

export type DistinctDim = 'cards' | 'devices' | 'countries' | 'users';
/** Which distinct counts each kind keeps. */
export const DISTINCT_DIMS: Readonly<Record<EntityKind, readonly DistinctDim[]>> = {
  user: ['cards', 'devices', 'countries'],
  card: ['users', 'devices', 'countries'],
  device: ['users', 'cards'],
  geo: [],
  tenant: [],
};

export interface WindowFeature {
  count: number;
  /** Sum of the amounts (final_total of amount events) in the window. */
  sum: number;
}

export interface FeatureSnapshot {
  kind: EntityKind;
  tenant: string;
  id: string;
  /** The event time the snapshot is as of, µs. */
  asOfUs: number;
  w1m: WindowFeature;
  w1h: WindowFeature;
  w24h: WindowFeature;
  /** Events since the entity was first seen (or last dropped). */
  totalCount: number;
  firstSeenUs: number;
  lastSeenUs: number;
  /** asOf − lastSeen, µs (≥ 0). */
  sinceLastUs: number;
  /** Gap between the entity's last two events, µs; null after one event. */
  lastGapUs: number | null;
  /** The entity's usual amount: EWMA mean and standard deviation over `count` amount events. */
  amount: { count: number; mean: number; std: number; last: number | null; lastZ: number | null };
  /** Distinct values seen in the last 24 h (of the kind's dimensions); saturates at `distinctCap`. */
  distinct: Partial<Record<DistinctDim, number>>;
}

export interface FeatureStoreOptions {
  /** Entities held at most (all kinds together); the least recently updated are dropped beyond. Default 100,000. */
  maxEntities?: number;
  /** Event time without an update after which an entity is dropped. Default 25 h. */
  idleTtlUs?: number;
  /** The idle sweep examines every entity at least once per this many updates (a few per update). Default 16,384. */
  sweepEvery?: number;
  /** EWMA weight of a new amount. Default 0.05 (~20-event memory). */
  ewmaAlpha?: number;
  /** Amount events before a z-score is given. Default 5. */
  zMinCount?: number;
  /** Values kept per distinct set. Default 16. */
  distinctCap?: number;
  /** Events an entity keeps as a plain log before it gets ring buckets (same results, cheaper for rare entities). Default 8. */
  logMax?: number;
  /** event_subtype values whose final_total is an amount (sums and EWMA). Default ['purchase']. */
  amountSubtypes?: readonly string[];
  /** Told when an entity object enters (true) or leaves (false) the store: the processor's directory over its partitions' stores. */
  onIndexed?: (e: Entity, present: boolean) => void;
}

export interface ChangelogRecord {
  /** The entity key (kind \0 tenant \0 id). */
  key: string;
  /** The entity's record (JSON), or null when it was dropped (a tombstone). */
  value: string | null;
}

export interface FeatureStore {
  /** Folds one event into the features of each of its entities. */
  update(rec: SpeedRecord): void;
  /** An entity's features as of `atUs` (default: the store's event-time now); undefined if unknown. For kind 'tenant', id is ignored. */
  get(kind: EntityKind, tenant: string, id?: string, atUs?: number): FeatureSnapshot | undefined;
  /** Every entity held, read-only (merged reads over several partitions' stores: mergedSnapshot). */
  entities(): IterableIterator<Readonly<Entity>>;
  /** z-score of `amount` against the entity's usual, or null (unknown entity, too few amounts, no spread). */
  zScore(kind: EntityKind, tenant: string, id: string, amount: number): number | null;
  /** The largest event time seen, µs (-Infinity before any). */
  readonly nowUs: number;
  /** Entities held. */
  readonly size: number;
  /** Drops entities idle for longer than the TTL as of `nowUs`; returns how many. */
  evictIdle(nowUs?: number): number;
  /** Changelog delta since the previous call: changed entities' records and tombstones of dropped ones. */
  takeChanged(): ChangelogRecord[];
  /**
   * takeChanged() whose entity values are encoded later, a slice at a time, as they are now: an
   * entity updated before its turn is encoded first (copy on write; one dropped meanwhile keeps
   * its state), so the events in between need not wait for every entity. A take still unfinished
   * when the next starts is finished first.
   */
  takeChangedDeferred(): DeferredRecords<ChangelogRecord>;
  /** Every entity's record (a full snapshot). */
  snapshot(): ChangelogRecord[];
  /** Loads records (later ones win; null values delete). */
  restore(records: Iterable<ChangelogRecord>): void;
}

interface Distinct {
  values: string[];
  lastUs: number[];
}

/** An entity's state (internal; exported for the record codec). */
export interface Entity {
  kind: EntityKind;
  tenant: string;
  id: string;
  /** entityKey(kind, tenant, id): its changelog key. */
  key: string;
  /** Listed for the next takeChanged(). */
  changed: boolean;
  /** Dropped from the store (a stale entry of the changed list). */
  removed: boolean;
  firstUs: number;
  lastUs: number;
  prevUs: number;
  total: number;
  /** Ring buckets (ring.ts), once the entity has more than `logMax` events; null before. */
  cells: Float64Array | null;
  heads: number[] | null;
  /** `[us, amount, …]` of its events while it has at most `logMax` (most entities: cheap to create). */
  log: number[] | null;
  n: number;
  mean: number;
  variance: number;
  lastAmount: number | null;
  lastZ: number | null;
  distinct: Partial<Record<DistinctDim, Distinct>>;
  /** Its last window reads in a merged read (windowReads): not state, never encoded; null before one. */
  reads: Float64Array | null;
  /** Its record's index in a deferred take still encoding (takeChangedDeferred); -1: none. */
  pending: number;
}

const DAY_US = 24 * HOUR_US;
/** A kind's place in ENTITY_KINDS. */
export const KIND_INDEX: Readonly<Record<EntityKind, number>> = { user: 0, card: 1, device: 2, geo: 3, tenant: 4 };

/** A tenant's entities, one map (id → entity) per kind in ENTITY_KINDS order. */
type TenantEntities = Map<string, Entity>[];

export function entityKey(kind: EntityKind, tenant: string, id: string): string {
  return `${kind}\u0000${tenant}\u0000${id}`;
}

export function createFeatureStore(opts: FeatureStoreOptions = {}): FeatureStore {
  const maxEntities = opts.maxEntities ?? 100_000;
  const idleTtlUs = opts.idleTtlUs ?? 25 * HOUR_US;
  const sweepEvery = opts.sweepEvery ?? 16_384;
  const alpha = opts.ewmaAlpha ?? 0.05;
  const zMin = opts.zMinCount ?? 5;
  const cap = opts.distinctCap ?? 16;
  const logMax = opts.logMax ?? 8;
  const amountSubtypes = new Set(opts.amountSubtypes ?? ['purchase']);
  const onIndexed = opts.onIndexed;
  if (!(maxEntities >= 1) || !(idleTtlUs > 0) || !(alpha > 0 && alpha <= 1) || !(cap >= 1)) throw new RangeError('feature store: invalid options');

  // tenant → kind → id → entity: an update looks the tenant up once, then each entity by its id
  // (no key string built per entity and event). Not reordered on update (a Map delete + re-insert
  // per update costs microseconds in V8 with tens of thousands of keys): eviction scans instead,
  // amortized over many updates.
  const tenants = new Map<string, TenantEntities>();
  let size = 0;
  let changed: Entity[] = [];
  /** Keys of entities dropped since the last takeChanged() (tombstones), unless created again. */
  const dropped = new Set<string>();
  let nowUs = -Infinity;
  /** The changed entities of a deferred take, encoded as of the take (copy on write). */
  const cow = new CopyOnWrite<Entity>();

  const entitiesOf = (tenant: string): TenantEntities => {
    let t = tenants.get(tenant);
    if (t === undefined) tenants.set(tenant, (t = ENTITY_KINDS.map(() => new Map<string, Entity>())));
    return t;
  };
  const find = (kind: EntityKind, tenant: string, id: string): Entity | undefined => tenants.get(tenant)?.[KIND_INDEX[kind]].get(kind === 'tenant' ? '' : id);
  function* all(): Generator<Entity> {
    for (const t of tenants.values()) for (const m of t) yield* m.values();
  }
  const markChanged = (e: Entity) => {
    if (!e.changed) {
      e.changed = true;
      changed.push(e);
    }
  };
  function insert(e: Entity): void {
    const m = entitiesOf(e.tenant)[KIND_INDEX[e.kind]];
    const old = m.get(e.id);
    if (old) {
      old.removed = true;
      onIndexed?.(old, false);
    } else size++;
    m.set(e.id, e);
    dropped.delete(e.key);
    onIndexed?.(e, true);
  }

  const fresh = (kind: EntityKind, tenant: string, id: string, us: number): Entity => ({
    kind,
    tenant,
    id,
    key: entityKey(kind, tenant, id),
    changed: false,
    removed: false,
    firstUs: us,
    lastUs: us,
    prevUs: -Infinity,
    total: 0,
    cells: null,
    heads: null,
    log: [],
    n: 0,
    mean: 0,
    variance: 0,
    lastAmount: null,
    lastZ: null,
    distinct: {},
    reads: null,
    pending: -1,
  });

  const z = (e: Entity, x: number): number | null => {
    if (e.n < zMin || !(e.variance > 0)) return null;
    return (x - e.mean) / Math.sqrt(e.variance);
  };

  function touch(byKind: TenantEntities, kind: EntityKind, tenant: string, id: string, us: number, amount: number | null, dims: Partial<Record<DistinctDim, string | null>>): void {
    let e = byKind[KIND_INDEX[kind]].get(id);
    if (!e) {
      e = fresh(kind, tenant, id, us);
      insert(e);
    } else if (e.pending >= 0) cow.freeze(e);
    markChanged(e);
    e.total++;
    if (us >= e.lastUs) {
      e.prevUs = e.total > 1 ? e.lastUs : -Infinity;
      e.lastUs = us;
    } else if (us > e.prevUs) {
      e.prevUs = us;
    }
    if (us < e.firstUs) e.firstUs = us;
    if (e.log) {
      // a new entity's first event: an exact-size array, not push()'s 17 slots
      if (e.log.length === 0) e.log = [us, amount ?? 0];
      else e.log.push(us, amount ?? 0);
      if (e.log.length > 2 * logMax) {
        const cells = new Float64Array(2 * BUCKETS);
        const heads = RINGS.map(() => -Infinity);
        for (let k = 0; k < e.log.length; k += 2) for (let r = 0; r < RINGS.length; r++) ringAdd(cells, heads, r, e.log[k], e.log[k + 1]);
        e.cells = cells;
        e.heads = heads;
        e.log = null;
      }
    } else {
      for (let r = 0; r < RINGS.length; r++) ringAdd(e.cells!, e.heads!, r, us, amount ?? 0);
    }
    if (amount !== null) {
      e.lastZ = z(e, amount);
      e.lastAmount = amount;
      // West's EWMA mean and variance
      if (e.n === 0) {
        e.mean = amount;
        e.variance = 0;
      } else {
        const diff = amount - e.mean;
        const inc = alpha * diff;
        e.mean += inc;
        e.variance = (1 - alpha) * (e.variance + diff * inc);
      }
      e.n++;
    }
    for (const dim of DISTINCT_DIMS[kind]) {
      const v = dims[dim];
      if (v) addDistinct(e, dim, v, us);
    }
  }

  function addDistinct(e: Entity, dim: DistinctDim, v: string, us: number): void {
    const d = e.distinct[dim];
    if (d === undefined) {
      e.distinct[dim] = { values: [v], lastUs: [us] };
      return;
    }
    const i = d.values.indexOf(v);
    if (i >= 0) {
      if (us > d.lastUs[i]) d.lastUs[i] = us;
      return;
    }
    if (d.values.length < cap) {
      d.values.push(v);
      d.lastUs.push(us);
      return;
    }
    // full: replace the value seen least recently
    let oldest = 0;
    for (let k = 1; k < d.lastUs.length; k++) if (d.lastUs[k] < d.lastUs[oldest]) oldest = k;
    if (us <= d.lastUs[oldest]) return;
    d.values[oldest] = v;
    d.lastUs[oldest] = us;
  }

  function drop(e: Entity): void {
    const t = tenants.get(e.tenant);
    if (!t || t[KIND_INDEX[e.kind]].get(e.id) !== e) return;
    t[KIND_INDEX[e.kind]].delete(e.id);
    if (t.every((m) => m.size === 0)) tenants.delete(e.tenant);
    e.removed = true;
    size--;
    dropped.add(e.key);
    onIndexed?.(e, false);
  }

  function evictIdle(at = nowUs): number {
    let n = 0;
    for (const e of all()) {
      if (at - e.lastUs > idleTtlUs) {
        drop(e);
        n++;
      }
    }
    return n;
  }

  const idleSweep = createIncrementalSweep({
    items: all,
    size: () => size,
    every: sweepEvery,
    visit: (e) => {
      if (nowUs - e.lastUs > idleTtlUs) drop(e);
    },
  });

  /** Over the cap: drops the least recently seen (event time) down to 90 % of the cap. */
  function evictOverCap(): void {
    const excess = size - Math.floor(maxEntities * 0.9);
    // plain loops, not the all() generator: with ~100,000 entities, two passes through a generator
    // and an array built from one held the update that crossed the cap for 65–130 ms (~10 ms now)
    const last = new Float64Array(size);
    let n = 0;
    for (const t of tenants.values()) for (const m of t) for (const e of m.values()) last[n++] = e.lastUs;
    const cut = kthSmallest(last.subarray(0, n), excess - 1);
    let left = excess;
    for (const t of tenants.values()) {
      for (const m of t) {
        for (const e of m.values()) {
          if (left === 0) return;
          if (e.lastUs <= cut) {
            drop(e);
            left--;
          }
        }
      }
    }
  }

  function takeDeferred(): DeferredRecords<ChangelogRecord> {
    cow.encodeSome(Infinity);
    // tombstones first: an entity dropped and created again in the interval ends up with its value
    const out: ChangelogRecord[] = [...dropped].map((key) => ({ key, value: null }));
    dropped.clear();
    const entities: Entity[] = [];
    for (const e of changed) {
      e.changed = false;
      if (e.removed) continue;
      e.pending = out.length;
      out.push({ key: e.key, value: null });
      entities.push(e);
    }
    changed = [];
    return { out, encodeSome: cow.start(entities, (e, slot) => (out[slot].value = encodeEntity(e))) };
  }

  /** The entity a changelog key names (tenant ids may hold \0 in principle: every split is tried). */
  function byKey(key: string): Entity | undefined {
    const k = key.indexOf('\u0000');
    const kind = key.slice(0, k) as EntityKind;
    if (KIND_INDEX[kind] === undefined) return undefined;
    for (let i = key.indexOf('\u0000', k + 1); i >= 0; i = key.indexOf('\u0000', i + 1)) {
      const e = tenants.get(key.slice(k + 1, i))?.[KIND_INDEX[kind]].get(key.slice(i + 1));
      if (e?.key === key) return e;
    }
    return undefined;
  }

  return {
    update({ input, entities: ids }: SpeedRecord): void {
      const us = input.event_time_us;
      if (us > nowUs) nowUs = us;
      const tenant = input.tenant_id;
      const amount = input.final_total !== null && input.event_subtype !== null && amountSubtypes.has(input.event_subtype) ? input.final_total : null;
      const country = input.country;
      const dims = { cards: ids.card, devices: ids.device, countries: country, users: input.user_id };
      const t = entitiesOf(tenant);
      if (input.user_id) touch(t, 'user', tenant, input.user_id, us, amount, dims);
      if (ids.card) touch(t, 'card', tenant, ids.card, us, amount, dims);
      if (ids.device) touch(t, 'device', tenant, ids.device, us, amount, dims);
      if (country) touch(t, 'geo', tenant, ids.city ? `${country}/${ids.city}` : country, us, amount, dims);
      touch(t, 'tenant', tenant, '', us, amount, dims);
      idleSweep.step();
      if (size > maxEntities) evictOverCap();
    },

    get(kind, tenant, id = '', atUs) {
      const e = find(kind, tenant, id);
      if (!e) return undefined;
      return snapshotOf(e, atUs ?? Math.max(nowUs, e.lastUs));
    },

    entities: all,

    zScore(kind, tenant, id, amount) {
      const e = find(kind, tenant, id);
      return e ? z(e, amount) : null;
    },

    get nowUs() {
      return nowUs;
    },
    get size() {
      return size;
    },
    evictIdle,

    takeChanged() {
      const take = takeDeferred();
      take.encodeSome(Infinity);
      return take.out;
    },

    takeChangedDeferred: takeDeferred,

    snapshot() {
      return [...all()].map((e) => ({ key: e.key, value: encodeEntity(e) }));
    },

    restore(records) {
      for (const { key, value } of records) {
        const old = byKey(key);
        if (old) drop(old);
        dropped.delete(key);
        if (value === null) continue;
        const e = decodeEntity(value);
        if (e.key !== key) throw new Error(`feature store: record of ${JSON.stringify(e.key)} under key ${JSON.stringify(key)}`);
        insert(e);
        if (e.lastUs > nowUs) nowUs = e.lastUs;
      }
    },
  };
}

const windowOf = (e: Readonly<Entity>, r: number, at: number, out?: WindowSum): WindowSum =>
  e.log ? logRead(e.log, e.lastUs, r, at, out) : ringRead(e.cells!, e.heads!, r, at, out);

/** Where the counts and sums start in an entity's `reads`: after its total and the bucket of `at` in each ring. */
const READS_AT = 1 + RINGS.length;
const scratch: WindowSum = { count: 0, sum: 0 };

/**
 * The entity's count and sum in each ring as of `at` (`[count, sum]` per ring from READS_AT on),
 * remembered until its next event (its total changes) or until `at` moves to another bucket of a
 * ring, the only two things a read depends on. An entity on every partition (tenant, geo) is read
 * at each event of every partition while only the event's own partition's copy changed; the others'
 * ring reads (93 buckets each) are then taken from here.
 */
function windowReads(e: Readonly<Entity>, at: number): Float64Array {
  // the memo is not the entity's state: written on a read-only view on purpose
  const m = e.reads ?? ((e as Entity).reads = new Float64Array(READS_AT + 2 * RINGS.length).fill(NaN));
  let same = m[0] === e.total;
  for (let r = 0; r < RINGS.length; r++) {
    const bucket = Math.floor(at / RINGS[r].widthUs);
    if (m[1 + r] !== bucket) {
      same = false;
      m[1 + r] = bucket;
    }
  }
  if (!same) {
    m[0] = e.total;
    for (let r = 0; r < RINGS.length; r++) {
      windowOf(e, r, at, scratch);
      m[READS_AT + 2 * r] = scratch.count;
      m[READS_AT + 2 * r + 1] = scratch.sum;
    }
  }
  return m;
}

/** Values of a distinct set seen in the 24 h up to `at`. */
const inDay = (lastUs: number, at: number): boolean => lastUs > at - DAY_US && lastUs <= at;

/** An entity's features as of event time `at`. */
export function snapshotOf(e: Readonly<Entity>, at: number): FeatureSnapshot {
  const distinct: Partial<Record<DistinctDim, number>> = {};
  for (const dim of DISTINCT_DIMS[e.kind]) {
    const d = e.distinct[dim];
    let c = 0;
    if (d) for (let k = 0; k < d.lastUs.length; k++) if (inDay(d.lastUs[k], at)) c++;
    distinct[dim] = c;
  }
  return {
    kind: e.kind,
    tenant: e.tenant,
    id: e.id,
    asOfUs: at,
    w1m: windowOf(e, 0, at),
    w1h: windowOf(e, 1, at),
    w24h: windowOf(e, 2, at),
    totalCount: e.total,
    firstSeenUs: e.firstUs,
    lastSeenUs: e.lastUs,
    sinceLastUs: Math.max(0, at - e.lastUs),
    lastGapUs: e.prevUs === -Infinity ? null : e.lastUs - e.prevUs,
    amount: { count: e.n, mean: e.mean, std: Math.sqrt(e.variance), last: e.lastAmount, lastZ: e.lastZ },
    distinct,
  };
}

/**
 * One entity's features over several partitions' stores (the same kind, tenant and id in each),
 * as of `at`, read from the entities' state in one pass (a snapshot per store and then a merge
 * allocated ~10 objects per store; tenant and geo entities are on every partition and read per
 * event): window counts and sums, total count, first/last seen, the last gap and distinct sets
 * (union) are exact; the usual amount is the count-weighted pooled mean and variance of the
 * per-partition EWMAs, and last amount / z are those of the partition seen last (the first of
 * `entities` with the latest event on a tie).
 */
export function mergedSnapshot(entities: readonly Readonly<Entity>[], at: number): FeatureSnapshot {
  if (entities.length === 1) return snapshotOf(entities[0], at);
  let latest = entities[0];
  for (const e of entities) if (e.lastUs > latest.lastUs) latest = e;
  const w = [
    { count: 0, sum: 0 },
    { count: 0, sum: 0 },
    { count: 0, sum: 0 },
  ];
  let total = 0;
  let firstUs = Infinity;
  // the event before the latest: the latest's own previous one, or another partition's last
  let prevUs = latest.prevUs;
  let n = 0;
  let weighted = 0;
  for (const e of entities) {
    const reads = windowReads(e, at);
    for (let r = 0; r < 3; r++) {
      w[r].count += reads[READS_AT + 2 * r];
      w[r].sum += reads[READS_AT + 2 * r + 1];
    }
    total += e.total;
    if (e.firstUs < firstUs) firstUs = e.firstUs;
    if (e !== latest && e.lastUs > prevUs) prevUs = e.lastUs;
    n += e.n;
    weighted += e.n * e.mean;
  }
  const mean = n === 0 ? 0 : weighted / n;
  let spread = 0;
  for (const e of entities) spread += e.n * (e.variance + (e.mean - mean) ** 2);
  const distinct: Partial<Record<DistinctDim, number>> = {};
  for (const dim of DISTINCT_DIMS[latest.kind]) {
    const union: string[] = [];
    for (const e of entities) {
      const d = e.distinct[dim];
      if (d) for (let k = 0; k < d.values.length; k++) if (inDay(d.lastUs[k], at) && !union.includes(d.values[k])) union.push(d.values[k]);
    }
    distinct[dim] = union.length;
  }
  return {
    kind: latest.kind,
    tenant: latest.tenant,
    id: latest.id,
    asOfUs: at,
    w1m: w[0],
    w1h: w[1],
    w24h: w[2],
    totalCount: total,
    firstSeenUs: firstUs,
    lastSeenUs: latest.lastUs,
    sinceLastUs: Math.max(0, at - latest.lastUs),
    lastGapUs: prevUs === -Infinity ? null : latest.lastUs - prevUs,
    amount: { count: n, mean, std: n === 0 ? 0 : Math.sqrt(spread / n), last: latest.lastAmount, lastZ: latest.lastZ },
    distinct,
  };
}

/**
 * An entity's changelog record: JSON with the non-empty buckets only (a typical entity is a few
 * hundred bytes). Version 1: `{v,k,t,i,f,l,p,c,(g:[us,amount,…] | h:[heads],b:[slot,count,sum,…]),e:[n,mean,var,last,lastZ],d:{dim:[[value,us],…]}}`.
 */
export function encodeEntity(e: Entity): string {
  const b: number[] = [];
  const cells = e.cells;
  if (cells) for (let s = 0; s < BUCKETS; s++) if (cells[2 * s] !== 0 || cells[2 * s + 1] !== 0) b.push(s, cells[2 * s], cells[2 * s + 1]);
  const d: Record<string, [string, number][]> = {};
  for (const [dim, set] of Object.entries(e.distinct)) d[dim] = set.values.map((v, i) => [v, set.lastUs[i]]);
  const fin = (x: number) => (x === -Infinity ? null : x);
  return JSON.stringify({
    v: 1,
    k: e.kind,
    t: e.tenant,
    i: e.id,
    f: e.firstUs,
    l: e.lastUs,
    p: fin(e.prevUs),
    c: e.total,
    ...(e.log ? { g: e.log } : { h: e.heads!.map(fin), b }),
    e: [e.n, e.mean, e.variance, e.lastAmount, e.lastZ],
    d,
  });
}

interface EntityRecord {
  v: number;
  k: EntityKind;
  t: string;
  i: string;
  f: number;
  l: number;
  p: number | null;
  c: number;
  h?: (number | null)[];
  b?: number[];
  g?: number[];
  e: [number, number, number, number | null, number | null];
  d: Record<string, [string, number][]>;
}

export function decodeEntity(value: string): Entity {
  const r = JSON.parse(value) as EntityRecord;
  if (r.v !== 1 || !ENTITY_KINDS.includes(r.k) || !(r.g || (r.h?.length === RINGS.length && r.b))) throw new Error(`feature store: unknown entity record ${value.slice(0, 80)}`);
  let cells: Float64Array | null = null;
  if (r.b) {
    cells = new Float64Array(2 * BUCKETS);
    for (let j = 0; j + 2 < r.b.length; j += 3) {
      cells[2 * r.b[j]] = r.b[j + 1];
      cells[2 * r.b[j] + 1] = r.b[j + 2];
    }
  }
  const distinct: Partial<Record<DistinctDim, Distinct>> = {};
  for (const [dim, pairs] of Object.entries(r.d)) distinct[dim as DistinctDim] = { values: pairs.map((p) => p[0]), lastUs: pairs.map((p) => p[1]) };
  return {
    kind: r.k,
    tenant: r.t,
    id: r.i,
    key: entityKey(r.k, r.t, r.i),
    changed: false,
    removed: false,
    firstUs: r.f,
    lastUs: r.l,
    prevUs: r.p ?? -Infinity,
    total: r.c,
    cells,
    heads: r.h ? r.h.map((x) => x ?? -Infinity) : null,
    log: r.g ?? null,
    n: r.e[0],
    mean: r.e[1],
    variance: r.e[2],
    lastAmount: r.e[3],
    lastZ: r.e[4],
    distinct,
    reads: null,
    pending: -1,
  };
}

/** The k-th smallest (0-based) of `values`, reordering them (quickselect: linear on average, a sort was ~9 ms per 100,000). */
export function kthSmallest(values: Float64Array, k: number): number {
  if (!(k >= 0 && k < values.length)) throw new RangeError(`k ${k} out of 0..${values.length - 1}`);
  let lo = 0;
  let hi = values.length - 1;
  while (lo < hi) {
    // median of three as the pivot, then Hoare's partition
    const mid = (lo + hi) >>> 1;
    const a = values[lo];
    const b = values[mid];
    const c = values[hi];
    const pivot = a < b ? (b < c ? b : a < c ? c : a) : a < c ? a : b < c ? c : b;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (values[i] < pivot) i++;
      while (values[j] > pivot) j--;
      if (i <= j) {
        const t = values[i];
        values[i] = values[j];
        values[j] = t;
        i++;
        j--;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return values[k];
  }
  return values[k];
}
