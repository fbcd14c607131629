import type { PartitionRecord } from '../../core/lake';
import { flushDue, highWaterBehind, offsetsToCommit, planChunk, planResume, staleKeys } from '../../ingest/offsets';

const msgs = (...offsets: number[]) => offsets.map((offset) => ({ offset }));
const record = (pending: PartitionRecord['pending'], next = 0): PartitionRecord => ({ format: 1, topic: 't', partition: 0, next_offset: next, pending, updated_at: '' });

describe('planChunk', () => {
  it('takes the whole buffer normally, named first..last offset', () => {
    expect(planChunk(2, msgs(10, 11, 13))).toEqual({ partition: 2, start: 10, end: 13, count: 3 });
    expect(planChunk(2, [])).toBeUndefined();
  });

  it('replays an uncommitted chunk with its exact boundaries', () => {
    const replay = { start: 10, end: 20 };
    expect(planChunk(0, msgs(10, 11, 12), replay)).toBeUndefined(); // not reached yet: wait
    expect(planChunk(0, msgs(10, 15, 20, 21, 22), replay)).toEqual({ partition: 0, start: 10, end: 20, count: 3 });
    expect(planChunk(0, msgs(10, 15, 21), replay)).toEqual({ partition: 0, start: 10, end: 20, count: 2 }); // gap at 20
  });
});

describe('offsetsToCommit', () => {
  it('commits one past each durable chunk, only forward', () => {
    const committed = new Map([[0, 50], [1, 10]]);
    expect(offsetsToCommit([{ partition: 1, end: 19 }, { partition: 0, end: 40 }, { partition: 3, end: 0 }], committed)).toEqual([
      { partition: 1, offset: 20 },
      { partition: 3, offset: 1 },
    ]);
    expect(offsetsToCommit([{ partition: 0, end: 5 }, { partition: 0, end: 9 }], new Map())).toEqual([{ partition: 0, offset: 10 }]);
    expect(offsetsToCommit([], new Map())).toEqual([]);
  });
});

describe('planResume', () => {
  it('ignores a committed pending chunk', () => {
    expect(planResume(record({ start: 0, end: 9, keys: ['a'] }, 10), 10)).toEqual({ orphanKeys: [] });
    expect(planResume(undefined, 0)).toEqual({ orphanKeys: [] });
    expect(planResume(record(null, 10), 10)).toEqual({ orphanKeys: [] });
  });

  it('replays an uncommitted chunk that starts at the resume offset', () => {
    const pending = { start: 10, end: 19, keys: ['k1', 'k2'] };
    expect(planResume(record(pending, 10), 10)).toEqual({ replay: pending, orphanKeys: ['k1', 'k2'] });
  });

  it('falls back to deleting orphans when the chunk cannot be replayed exactly', () => {
    expect(planResume(record({ start: 10, end: 19, keys: ['k1'] }, 10), 12)).toEqual({ orphanKeys: ['k1'] });
  });
});

describe('staleKeys', () => {
  it('keeps keys the new chunk rewrites and deletes the rest', () => {
    expect(staleKeys(['a', 'b', 'c'], ['b', 'd'])).toEqual(['a', 'c']);
    expect(staleKeys([], ['x'])).toEqual([]);
  });
});

describe('flushDue', () => {
  const t = { maxRows: 100, maxBytes: 1000, flushIntervalMs: 30_000 };
  it('flushes by rows, bytes or age', () => {
    expect(flushDue({ rows: 0, bytes: 0, oldestAtMs: 0 }, t, 1e9)).toBeUndefined();
    expect(flushDue({ rows: 100, bytes: 1, oldestAtMs: 0 }, t, 0)).toBe('rows');
    expect(flushDue({ rows: 1, bytes: 1000, oldestAtMs: 0 }, t, 0)).toBe('bytes');
    expect(flushDue({ rows: 1, bytes: 1, oldestAtMs: 0 }, t, 29_999)).toBeUndefined();
    expect(flushDue({ rows: 1, bytes: 1, oldestAtMs: 0 }, t, 30_000)).toBe('time');
  });
});

describe('highWaterBehind', () => {
  it('names the partitions whose published mark is below this sink\'s committed offset (lost to a concurrent writer), and only those', () => {
    const committed = new Map([
      [0, 2100],
      [1, 2100],
      [2, 900],
    ]);
    expect(highWaterBehind(committed, { '0': 2100, '1': 1800, '2': 1200 })).toEqual({ '1': 2100 });
    expect(highWaterBehind(committed, {})).toEqual({ '0': 2100, '1': 2100, '2': 900 });
    expect(highWaterBehind(committed, { '0': 2100, '1': 2100, '2': 900, '3': 5 })).toEqual({});
    expect(highWaterBehind(new Map(), { '0': 1 })).toEqual({});
  });
});
