import {
  FORMAT_COLUMN,
  LAKE_FORMAT,
  RAW_COLUMNS,
  eventHour,
  highWaterKey,
  mergeHighWater,
  normalizePrefix,
  parseHighWater,
  parsePartitionRecord,
  parseRawChunkKey,
  partitionRecordKey,
  rawChunkKey,
  rawEventsRelation,
} from '../../core/lake';

describe('lake layout', () => {
  it('names raw chunks by event hour, partition and zero-padded offsets', () => {
    const key = rawChunkKey('', { dt: '2026-11-26', hour: 7, partition: 3, startOffset: 1200, endOffset: 1299 });
    expect(key).toBe('raw/dt=2026-11-26/hour=07/p=03/0000000000000001200-0000000000000001299.parquet');
    expect(parseRawChunkKey(key)).toEqual({ dt: '2026-11-26', hour: 7, partition: 3, startOffset: 1200, endOffset: 1299 });
  });

  it('is deterministic (a rewrite of the same offsets gives the same name) and sorts by offset', () => {
    const ref = { dt: '2026-11-26', hour: 23, partition: 0, startOffset: 9, endOffset: 10 };
    expect(rawChunkKey('x', ref)).toBe(rawChunkKey('x/', ref));
    const a = rawChunkKey('', { ...ref, startOffset: 9, endOffset: 99 });
    const b = rawChunkKey('', { ...ref, startOffset: 100, endOffset: 1000 });
    expect([b, a].sort()).toEqual([a, b]);
  });

  it('applies a root prefix and rejects impossible refs', () => {
    expect(normalizePrefix('/test/run-1/')).toBe('test/run-1/');
    expect(normalizePrefix('')).toBe('');
    expect(rawChunkKey('test/run-1', { dt: '2026-01-01', hour: 0, partition: 12, startOffset: 0, endOffset: 0 })).toMatch(/^test\/run-1\/raw\/dt=2026-01-01\/hour=00\/p=12\//);
    expect(parseRawChunkKey('test/run-1/raw/dt=2026-01-01/hour=00/p=12/0-5.parquet')?.partition).toBe(12);
    expect(() => rawChunkKey('', { dt: '2026-1-1', hour: 0, partition: 0, startOffset: 0, endOffset: 0 })).toThrow(RangeError);
    expect(() => rawChunkKey('', { dt: '2026-01-01', hour: 24, partition: 0, startOffset: 0, endOffset: 0 })).toThrow(RangeError);
    expect(() => rawChunkKey('', { dt: '2026-01-01', hour: 1, partition: 0, startOffset: 5, endOffset: 4 })).toThrow(RangeError);
    expect(parseRawChunkKey('compacted/tenant_id=a/dt=2026-01-01/hour=00/x.parquet')).toBeUndefined();
  });

  it('takes the event hour in UTC', () => {
    expect(eventHour(Date.parse('2026-11-26T23:59:59.999+01:00'))).toEqual({ dt: '2026-11-26', hour: 22 });
    expect(eventHour(Date.parse('2026-12-31T23:30:00Z'))).toEqual({ dt: '2026-12-31', hour: 23 });
  });

  it('merges the high-water mark monotonically', () => {
    expect(mergeHighWater({ '0': 100, '2': 50 }, { '0': 90, '1': 10, '2': 60 })).toEqual({ '0': 100, '1': 10, '2': 60 });
    expect(mergeHighWater(undefined, { '10': 5, '2': 1 })).toEqual({ '2': 1, '10': 5 });
    expect(Object.keys(mergeHighWater(undefined, { '10': 5, '2': 1 }))).toEqual(['2', '10']);
  });

  it('parses manifests defensively', () => {
    expect(highWaterKey('p')).toBe('p/manifests/sink/high-water.json');
    expect(partitionRecordKey('', 4)).toBe('manifests/sink/partitions/p=04.json');
    expect(parseHighWater('{"format":1,"topic":"events","updated_at":"t","partitions":{"0":5,"x":3,"1":"7"}}')?.partitions).toEqual({ '0': 5 });
    expect(parseHighWater('nope')).toBeUndefined();
    expect(parseHighWater('{"format":2,"partitions":{}}')).toBeUndefined();
    const rec = parsePartitionRecord('{"format":1,"topic":"e","partition":1,"next_offset":10,"pending":{"start":10,"end":19,"keys":["a",3]},"updated_at":"t"}');
    expect(rec?.pending).toEqual({ start: 10, end: 19, keys: ['a'] });
    expect(parsePartitionRecord('{"format":1,"partition":1,"next_offset":10,"pending":null}')?.pending).toBeNull();
  });

  it('carries the lake format in every row and reads any format through one relation', () => {
    expect(FORMAT_COLUMN).toBe('_format');
    expect(RAW_COLUMNS.at(-1)).toEqual({ name: '_format', type: 'INTEGER', since: 2 });
    expect(Math.max(...RAW_COLUMNS.map((c) => c.since))).toBe(LAKE_FORMAT);
    expect(new Set(RAW_COLUMNS.map((c) => c.name)).size).toBe(RAW_COLUMNS.length);
    const sql = rawEventsRelation(["lake/it's/*.parquet"]);
    expect(sql).toContain("read_parquet(['lake/it''s/*.parquet'], union_by_name = true, hive_partitioning = true)");
    expect(sql).toContain('UNION ALL BY NAME');
    expect(sql).toContain('coalesce(_format, 1)::INTEGER AS _format');
    expect(sql).toContain('NULL::VARCHAR[] AS touchpoints');
    expect(rawEventsRelation('x.parquet', { hivePartitioning: false, filename: true })).toContain(
      "read_parquet('x.parquet', union_by_name = true, hive_partitioning = false, filename = true)",
    );
  });
});
