// Pure decisions of the sink: which buffered messages form the next chunk of a partition, what
// offset is safe to commit, when to flush, and how to resume after a crash. No I/O here, so
// every rule of the exactly-once argument (docs/lake.md) is unit-tested alone.
import type { PartitionRecord, PendingChunk } from '../core/lake';

export interface ChunkPlan {
  partition: number;
  /** First offset of the chunk (inclusive); names the objects. */
  start: number;
  /** Last offset of the chunk (inclusive); names the objects. */
  end: number;
  /** How many buffered messages (from the head of the buffer) the chunk takes. */
  count: number;
}

/**
 * The next chunk of a partition from its buffer (offsets ascending, no repeats).
 * Normally the whole buffer. When the partition is replaying an uncommitted chunk left by a
 * crash, the chunk must be exactly that chunk's range again, so its object names come out
 * identical: nothing is flushed until the buffer reaches `replay.end`, and then only up to it.
 */
export function planChunk(
  partition: number,
  buffer: readonly { offset: number }[],
  replay?: Pick<PendingChunk, 'start' | 'end'>,
): ChunkPlan | undefined {
  if (buffer.length === 0) return undefined;
  const first = buffer[0].offset;
  const last = buffer[buffer.length - 1].offset;
  if (!replay) return { partition, start: first, end: last, count: buffer.length };
  if (last < replay.end) return undefined;
  let count = 0;
  while (count < buffer.length && buffer[count].offset <= replay.end) count++;
  return { partition, start: replay.start, end: replay.end, count };
}

/**
 * Offsets safe to commit after the given chunks are durable (objects uploaded, rejects sent to
 * the DLQ): one past each chunk's end, and only where that moves a partition forward. Kafka's
 * committed offset is the next offset to read, so everything below it must be in the lake.
 */
export function offsetsToCommit(
  durableChunks: readonly Pick<ChunkPlan, 'partition' | 'end'>[],
  committed: ReadonlyMap<number, number>,
): { partition: number; offset: number }[] {
  const next = new Map<number, number>();
  for (const c of durableChunks) next.set(c.partition, Math.max(next.get(c.partition) ?? -1, c.end + 1));
  const out: { partition: number; offset: number }[] = [];
  for (const [partition, offset] of [...next].sort((a, b) => a[0] - b[0])) {
    if (offset > (committed.get(partition) ?? -1)) out.push({ partition, offset });
  }
  return out;
}

export interface ResumePlan {
  /** Forced chunk boundaries for the first chunk after (re)assignment. */
  replay?: PendingChunk;
  /** Objects of an uncommitted chunk that a new chunk must delete unless it rewrites the same name. */
  orphanKeys: string[];
}

/**
 * What a partition must do when the sink (re)starts reading it at `firstOffset` (the first
 * record at or after the committed offset). A pending chunk whose end is below firstOffset was
 * committed: nothing to do. A pending chunk that starts exactly at firstOffset is replayed with
 * the same boundaries. Anything else (records gone by retention) deletes the orphans instead.
 */
export function planResume(record: PartitionRecord | undefined, firstOffset: number): ResumePlan {
  const pending = record?.pending;
  if (!pending || pending.end < firstOffset) return { orphanKeys: [] };
  if (pending.start === firstOffset) return { replay: pending, orphanKeys: pending.keys };
  return { orphanKeys: pending.keys };
}

/** Keys of an uncommitted chunk that the new chunk does not overwrite: delete them before writing. */
export function staleKeys(orphanKeys: readonly string[], newKeys: readonly string[]): string[] {
  const keep = new Set(newKeys);
  return orphanKeys.filter((k) => !keep.has(k));
}

export interface FlushThresholds {
  maxRows: number;
  maxBytes: number;
  flushIntervalMs: number;
}

export type FlushReason = 'rows' | 'bytes' | 'time';

/** Whether buffered data must be flushed now, and why. oldestAtMs is when the oldest buffered message arrived. */
export function flushDue(
  buffered: { rows: number; bytes: number; oldestAtMs: number | undefined },
  t: FlushThresholds,
  nowMs: number,
): FlushReason | undefined {
  if (buffered.rows === 0) return undefined;
  if (buffered.rows >= t.maxRows) return 'rows';
  if (buffered.bytes >= t.maxBytes) return 'bytes';
  if (buffered.oldestAtMs !== undefined && nowMs - buffered.oldestAtMs >= t.flushIntervalMs) return 'time';
  return undefined;
}

/**
 * The partitions whose published high-water mark is below what this sink has committed, with the
 * committed offset to publish again. Sinks write the one high-water object by conditional
 * read-merge-write, but a writer that does not (an older sink, a hand edit) can overwrite an update
 * with an older mark; committed offsets are durable, so publishing them again is always safe.
 */
export function highWaterBehind(committed: ReadonlyMap<number, number>, published: Readonly<Record<string, number>>): Record<string, number> {
  const behind: Record<string, number> = {};
  for (const [partition, offset] of committed) {
    if ((published[String(partition)] ?? -1) < offset) behind[String(partition)] = offset;
  }
  return behind;
}
