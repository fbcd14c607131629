// Duplicates: the same (tenant_id, event_id) always lands in one Kafka partition (key
// tenant:user), and both layers keep its first occurrence by offset. The batch SQL deduplicates
// over everything below its cut; the speed layer remembers the ids of the last `horizonOffsets`
// offsets of each partition, so a duplicate further behind its original than that is counted
// twice by the speed layer until a batch cut covers it (docs/measures.md).
import type { MeasureInput } from './fields';

export interface DeduplicatorOptions {
  /** Offsets of a partition an id is remembered for. */
  horizonOffsets: number;
}

export interface Deduplicator {
  /** True for the first occurrence of (tenant_id, event_id) within the horizon; remembers it. */
  firstSeen(input: Pick<MeasureInput, 'tenant_id' | 'event_id' | 'partition' | 'offset'>): boolean;
  /** Ids remembered, over all partitions. */
  readonly size: number;
}

/**
 * The ids of one partition's last `horizon` offsets: a ring of slots indexed by offset mod horizon
 * (the key seen at that offset and the offset), and a map key → its offset. Writing an offset's
 * slot forgets whatever the slot held (an offset `horizon` or more behind); ids left in slots that
 * gaps in the offsets skipped are treated as forgotten by the lookup's offset check, so the answer
 * is exactly "seen within the last `horizon` offsets". Fixed memory (16 bytes a slot), no queue to
 * compact.
 */
interface PartitionIds {
  ids: Map<string, number>;
  keys: (string | undefined)[];
  offsets: Float64Array;
}

/** Injective text of (tenant, event id): the tenant's length says where it ends. */
const idKey = (tenant: string, eventId: string) => `${tenant.length}:${tenant}${eventId}`;

export function createDeduplicator(opts: DeduplicatorOptions): Deduplicator {
  const horizon = opts.horizonOffsets;
  if (!Number.isSafeInteger(horizon) || horizon < 1) throw new RangeError(`dedup horizon ${horizon} is not a positive integer`);
  const partitions = new Map<number, PartitionIds>();
  let size = 0;
  return {
    get size() {
      return size;
    },
    firstSeen(input) {
      let p = partitions.get(input.partition);
      if (!p) {
        p = { ids: new Map(), keys: new Array<string | undefined>(horizon).fill(undefined), offsets: new Float64Array(horizon) };
        partitions.set(input.partition, p);
      }
      const offset = input.offset;
      const key = idKey(input.tenant_id, input.event_id);
      const seen = p.ids.get(key);
      if (seen !== undefined && seen >= offset - horizon) return false;
      const slot = offset % horizon;
      let held = seen !== undefined; // (expired: re-set below)
      const old = p.keys[slot];
      if (old !== undefined && p.ids.get(old) === p.offsets[slot]) {
        p.ids.delete(old);
        size--;
        if (old === key) held = false;
      }
      if (!held) size++;
      p.ids.set(key, offset);
      p.keys[slot] = key;
      p.offsets[slot] = offset;
      return true;
    },
  };
}
