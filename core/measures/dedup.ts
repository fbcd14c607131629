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

interface PartitionIds {
  ids: Map<string, number>;
  /** Remembered ids in offset order, for eviction: [key, offset] from `head`. */
  queue: [string, number][];
  head: number;
}

export function createDeduplicator(opts: DeduplicatorOptions): Deduplicator {
  if (!Number.isSafeInteger(opts.horizonOffsets) || opts.horizonOffsets < 1) throw new RangeError(`dedup horizon ${opts.horizonOffsets} is not a positive integer`);
  const partitions = new Map<number, PartitionIds>();
  let size = 0;
  return {
    get size() {
      return size;
    },
    firstSeen(input) {
      let p = partitions.get(input.partition);
      if (!p) {
        p = { ids: new Map(), queue: [], head: 0 };
        partitions.set(input.partition, p);
      }
      const floor = input.offset - opts.horizonOffsets;
      while (p.head < p.queue.length && p.queue[p.head][1] < floor) {
        const [k, o] = p.queue[p.head++];
        if (p.ids.get(k) === o) {
          p.ids.delete(k);
          size--;
        }
      }
      if (p.head > 1024 && p.head * 2 > p.queue.length) {
        p.queue = p.queue.slice(p.head);
        p.head = 0;
      }
      const key = JSON.stringify([input.tenant_id, input.event_id]);
      if (p.ids.has(key)) return false;
      p.ids.set(key, input.offset);
      p.queue.push([key, input.offset]);
      size++;
      return true;
    },
  };
}
