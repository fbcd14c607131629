// The records of the speed layer's compacted changelog `speed-windows` (docs/speed-layer.md).
// Changelog partition p holds the state derived from `events` partition p, so restoring a
// partition reads one changelog partition. Keys say what a record is:
// - a cell: its encodeCellKey text (a JSON array, `[rollup, tenant, window, dimension, p, bucket]`),
//   value encodeParts (the cell's full current parts), tombstone once a batch cut covers it;
// - `p:<partition>`: the partition's progress (next offset to process, watermark);
// - `s:<json [tenant, user]>`: a user's open sessions (tombstone when none is open);
// - `h:<processor>:<key>`: state of a per-event processor (the feature store), opaque here.
// Every record of one commit interval is written in one Kafka transaction with the consumer
// offsets, so a read_committed reader sees whole intervals only.

export interface PartitionProgress {
  /** Next `events` offset to process (= the consumer group's committed offset). */
  next_offset: number;
  /** Largest event time seen, µs (null: none yet). */
  max_event_us: number | null;
  /** max_event_us − allowed lateness (null: none yet). */
  watermark_us: number | null;
  /** Minute windows starting before this are closed and their results emitted (null: none yet). */
  emitted_until_us: number | null;
  /** Wall-clock time of the commit, ms. */
  committed_at_ms: number;
}

export interface SessionState {
  start_us: number;
  last_us: number;
  events: number;
}

export type ChangelogRecord =
  | { kind: 'cell'; key: string }
  | { kind: 'progress'; partition: number }
  | { kind: 'session'; tenant_id: string; user_id: string }
  | { kind: 'processor'; processor: string; key: string };

export const progressKey = (partition: number): string => `p:${partition}`;
export const sessionKey = (tenant: string, user: string): string => `s:${JSON.stringify([tenant, user])}`;
export const processorKey = (processor: string, key: string): string => `h:${processor}:${key}`;

/** What a changelog key names; undefined for keys of no known kind (skipped by readers). */
export function parseChangelogKey(key: string): ChangelogRecord | undefined {
  if (key.startsWith('[')) return { kind: 'cell', key };
  if (key.startsWith('p:')) {
    const partition = Number(key.slice(2));
    return Number.isInteger(partition) && partition >= 0 ? { kind: 'progress', partition } : undefined;
  }
  if (key.startsWith('s:')) {
    try {
      const a = JSON.parse(key.slice(2)) as unknown;
      if (Array.isArray(a) && a.length === 2 && typeof a[0] === 'string' && typeof a[1] === 'string') return { kind: 'session', tenant_id: a[0], user_id: a[1] };
    } catch {
      return undefined;
    }
    return undefined;
  }
  if (key.startsWith('h:')) {
    const i = key.indexOf(':', 2);
    if (i < 0) return undefined;
    return { kind: 'processor', processor: key.slice(2, i), key: key.slice(i + 1) };
  }
  return undefined;
}

export function parseProgress(text: string): PartitionProgress | undefined {
  try {
    const o = JSON.parse(text) as Partial<PartitionProgress>;
    if (typeof o.next_offset !== 'number' || !Number.isSafeInteger(o.next_offset) || o.next_offset < 0) return undefined;
    const n = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : null);
    return { next_offset: o.next_offset, max_event_us: n(o.max_event_us), watermark_us: n(o.watermark_us), emitted_until_us: n(o.emitted_until_us), committed_at_ms: n(o.committed_at_ms) ?? 0 };
  } catch {
    return undefined;
  }
}
