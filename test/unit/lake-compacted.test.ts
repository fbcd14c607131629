// The compacted layer's pure rules: names, the input digest and the planner's "touched" test,
// tenant grouping, what a new manifest supersedes, and what a sweep may delete.
import {
  COMPACTION_FORMAT,
  DEFAULT_COMPACTION_LAYOUT,
  SHARED_GROUP,
  assignGroups,
  committedChunks,
  compactedFileKey,
  compactedFileName,
  filesOfTenant,
  hourManifestKey,
  hourManifestVersions,
  inputDelta,
  inputDigest,
  parseCompactedFileKey,
  parseHourManifest,
  parseHourManifestKey,
  planHours,
  planSweep,
  rowBudgets,
  stageBatches,
  supersededAfter,
  type CompactedFile,
  type HourManifest,
  type InputChunk,
} from '../../core/lake-compacted';
import { rawChunkKey } from '../../core/lake';

const H = { dt: '2026-03-01', hour: 10 };
const layout = DEFAULT_COMPACTION_LAYOUT;
const chunk = (partition: number, start: number, end: number, etag = `e${partition}-${start}`, hour = H): InputChunk => ({
  key: rawChunkKey('lake', { ...hour, partition, startOffset: start, endOffset: end }),
  etag,
  size: 1000,
});
const file = (key: string, rows = 10, lo = 'a', hi = 'z'): CompactedFile => ({ key, rows, bytes: 100, min_tenant: lo, max_tenant: hi });

function manifest(over: Partial<HourManifest> = {}): HourManifest {
  return {
    format: COMPACTION_FORMAT,
    ...H,
    version: 1,
    input_digest: '0123456789abcdef',
    layout,
    budgets: rowBudgets(layout, { bytes: 1000, rows: 10, uncompressedBytes: 5000 }),
    inputs: [],
    high_water: {},
    raw_rows: 0,
    rows: 0,
    groups: [],
    superseded: [],
    published_at: '2026-03-01T11:05:00.000Z',
    ...over,
  };
}

describe('compacted names', () => {
  it('puts the tenant level under tenant_group=, never tenant_id=, and parses back', () => {
    const key = compactedFileKey('lake', { group: 't_00042', ...H, name: compactedFileName('0123456789abcdef', 3) });
    expect(key).toBe('lake/compacted/tenant_group=t_00042/dt=2026-03-01/hour=10/0123456789abcdef-0003.parquet');
    expect(parseCompactedFileKey(key)).toEqual({ group: 't_00042', ...H, name: '0123456789abcdef-0003' });
    expect(compactedFileKey('', { group: SHARED_GROUP, ...H, name: 'x-0000' })).toBe('compacted/tenant_group=_shared/dt=2026-03-01/hour=10/x-0000.parquet');
  });

  it('refuses groups that are not path-safe tenant ids, and impossible hours', () => {
    expect(() => compactedFileKey('', { group: '../x', ...H, name: 'a' })).toThrow(RangeError);
    expect(() => compactedFileKey('', { group: 'Tenant', ...H, name: 'a' })).toThrow(RangeError);
    expect(() => compactedFileKey('', { group: 't', dt: '2026-02-30x', hour: 1, name: 'a' })).toThrow(RangeError);
    expect(() => compactedFileKey('', { group: 't', dt: '2026-02-01', hour: 24, name: 'a' })).toThrow(RangeError);
  });

  it('names manifest versions so the greatest name is the current one', () => {
    const k = (v: number) => hourManifestKey('lake', H, v, 'abcdefabcdef0123');
    expect(k(2)).toBe('lake/manifests/compaction/dt=2026-03-01/hour=10/v00000002-abcdefabcdef0123.json');
    expect(parseHourManifestKey(k(2))).toMatchObject({ ...H, version: 2, digest: 'abcdefabcdef0123' });
    const versions = hourManifestVersions([k(10), k(9), k(1), 'lake/manifests/compaction/junk.json']);
    expect([...versions.keys()]).toEqual(['2026-03-01T10']);
    expect(versions.get('2026-03-01T10')!.map((v) => v.version)).toEqual([1, 9, 10]);
    expect(() => hourManifestKey('', H, 0, 'abcdefabcdef0123')).toThrow(RangeError);
    expect(() => hourManifestKey('', H, 1, 'not-a-digest')).toThrow(RangeError);
  });
});

describe('inputs and planning', () => {
  it('counts a chunk as committed only when it lies wholly below its partition mark', () => {
    const inputs = [chunk(0, 0, 99), chunk(0, 100, 199), chunk(1, 0, 49), { key: 'lake/raw/other.txt', etag: 'x', size: 1 }];
    const { committed, pending } = committedChunks(inputs, { 0: 100 });
    expect(committed.map((c) => c.key)).toEqual([inputs[0].key]);
    expect(pending.map((c) => c.key)).toEqual([inputs[1].key, inputs[2].key]); // partition 1 has no mark
  });

  it('digests the input set: order-free, sensitive to a rewritten chunk (ETag) and to the layout', () => {
    const a = [chunk(0, 0, 9), chunk(1, 0, 9)];
    expect(inputDigest(a, layout)).toMatch(/^[0-9a-f]{16}$/);
    expect(inputDigest([...a].reverse(), layout)).toBe(inputDigest(a, layout));
    expect(inputDigest([chunk(0, 0, 9, 'other'), a[1]], layout)).not.toBe(inputDigest(a, layout));
    expect(inputDigest(a, { ...layout, targetFileBytes: 1 })).not.toBe(inputDigest(a, layout));
  });

  it('says what changed between two input sets', () => {
    const before = [chunk(0, 0, 9), chunk(1, 0, 9), chunk(2, 0, 9)];
    const after = [chunk(0, 0, 9), chunk(1, 0, 9, 'rewritten'), chunk(0, 10, 19)];
    const d = inputDelta(before, after);
    expect(d.added.map((c) => c.key)).toEqual([after[2].key]);
    expect(d.changed.map((c) => c.etag)).toEqual(['rewritten']);
    expect(d.removed.map((c) => c.key)).toEqual([before[2].key]);
  });

  it('plans the hours whose committed inputs differ from their current manifest, never the ones without committed input', () => {
    const h11 = { dt: '2026-03-01', hour: 11 };
    const h12 = { dt: '2026-03-01', hour: 12 };
    const raw = [chunk(0, 0, 9), chunk(0, 0, 9, 'x', h11), chunk(0, 10, 19, 'y', h11), chunk(0, 20, 29, 'z', h12)];
    const marks = { 0: 20 }; // the hour-12 chunk is pending
    const done = hourManifestKey('lake', H, 3, inputDigest([raw[0]], layout));
    const stale = hourManifestKey('lake', h11, 1, inputDigest([raw[1]], layout));
    const gone = hourManifestKey('lake', { dt: '2026-02-01', hour: 0 }, 1, 'ffffffffffffffff');
    const plan = planHours(raw, marks, [done, stale, gone], layout);
    expect(plan).toEqual({ hours: [h11], hoursWithInput: 2, upToDate: 1, committedChunks: 3, pendingChunks: 1 });
    // Once the mark passes the pending chunk, its hour is planned too.
    expect(planHours(raw, { 0: 30 }, [done, stale], layout).hours).toEqual([h11, h12]);
  });
});

describe('tenant groups', () => {
  it('gives big tenants a directory, puts small ones and unsafe ids in the shared group', () => {
    const { groupOf, rewrite } = assignGroups({ counts: new Map([['big', 500], ['small', 3], ['Weird Id', 900]]), minDedicatedRows: 100 });
    expect(Object.fromEntries(groupOf)).toEqual({ big: 'big', small: SHARED_GROUP, 'Weird Id': SHARED_GROUP });
    expect([...rewrite].sort()).toEqual([SHARED_GROUP, 'big']);
  });

  it('incrementally: untouched tenants keep their group, a tenant that outgrew the shared files leaves them', () => {
    const previous = new Map([['big', 'big'], ['grower', SHARED_GROUP], ['quiet', SHARED_GROUP], ['other', 'other']]);
    const counts = new Map([['grower', 150], ['quiet', 2], ['big', 700]]);
    const { groupOf, rewrite } = assignGroups({ counts, minDedicatedRows: 100, previous, touched: new Set(['grower', 'big']) });
    expect(Object.fromEntries(groupOf)).toEqual({ grower: 'grower', quiet: SHARED_GROUP, big: 'big' });
    expect([...rewrite].sort()).toEqual([SHARED_GROUP, 'big', 'grower']);
    // Only a new small tenant touched: just the shared group.
    const only = assignGroups({ counts: new Map([['newbie', 1], ['quiet', 2]]), minDedicatedRows: 100, previous, touched: new Set(['newbie']) });
    expect([...only.rewrite]).toEqual([SHARED_GROUP]);
  });

  it('turns the layout into row budgets from the raw bytes per row', () => {
    expect(rowBudgets({ targetFileBytes: 1000, minDedicatedBytes: 250 }, { bytes: 5000, rows: 50, uncompressedBytes: 50 * 4096 })).toEqual({
      bytes_per_row: 100,
      rows_per_file: 10,
      min_dedicated_rows: 3,
      row_group_rows: 8192, // 32 MiB of 4 KiB rows
    });
    expect(rowBudgets(layout, { bytes: 0, rows: 0, uncompressedBytes: 0 })).toMatchObject({ rows_per_file: layout.targetFileBytes, row_group_rows: 122_880 });
    expect(rowBudgets(layout, { bytes: 1e9, rows: 10, uncompressedBytes: 1e10 }).row_group_rows).toBe(1024);
  });

  it('finds the live files that can hold a tenant', () => {
    const m = manifest({
      groups: [
        { group: SHARED_GROUP, tenants: ['a', 'c', 'e'], rows: 3, written_by: 'd', files: [file('f0', 2, 'a', 'c'), file('f1', 1, 'e', 'e')] },
        { group: 'big', tenants: ['big'], rows: 9, written_by: 'd', files: [file('b0', 5, 'big', 'big'), file('b1', 4, 'big', 'big')] },
      ],
    });
    expect(filesOfTenant(m, 'c').map((f) => f.key)).toEqual(['f0']);
    expect(filesOfTenant(m, 'big').map((f) => f.key)).toEqual(['b0', 'b1']);
    expect(filesOfTenant(m, 'zzz')).toEqual([]);
  });
});

describe('manifest versions', () => {
  const now = Date.parse('2026-03-02T00:00:00Z');

  it('supersedes the previous live files it no longer lists, carries earlier entries, forgets very old ones', () => {
    const previous = manifest({
      groups: [{ group: 'g', tenants: ['g'], rows: 2, written_by: 'd', files: [file('old-a'), file('kept')] }],
      superseded: [
        { key: 'older', superseded_at: '2026-03-01T00:00:00.000Z' },
        { key: 'ancient', superseded_at: '2026-02-01T00:00:00.000Z' },
        { key: 'back-again', superseded_at: '2026-03-01T00:00:00.000Z' },
      ],
    });
    expect(supersededAfter(previous, new Set(['kept', 'new', 'back-again']), now)).toEqual([
      { key: 'old-a', superseded_at: '2026-03-02T00:00:00.000Z' },
      { key: 'older', superseded_at: '2026-03-01T00:00:00.000Z' },
    ]);
    expect(supersededAfter(undefined, new Set(['x']), now)).toEqual([]);
  });

  it('parses its own output and refuses anything else', () => {
    const m = manifest({ groups: [{ group: 'g', tenants: ['g'], rows: 1, written_by: 'd', files: [file('k', 1)] }] });
    expect(parseHourManifest(JSON.stringify(m))).toEqual(m);
    expect(parseHourManifest('{')).toBeUndefined();
    expect(parseHourManifest(JSON.stringify({ ...m, format: 99 }))).toBeUndefined();
    expect(parseHourManifest(JSON.stringify({ ...m, groups: [{ group: 'g', files: 'no' }] }))).toBeUndefined();
    expect(parseHourManifest(JSON.stringify({ ...m, inputs: [{ key: 1 }] }))).toBeUndefined();
  });
});

describe('sweep plan', () => {
  const hour = 3_600_000;
  const now = Date.parse('2026-03-02T00:00:00Z');
  const key = (name: string, h = H) => compactedFileKey('lake', { group: 'g', ...h, name });
  const v1 = hourManifestKey('lake', H, 1, 'aaaaaaaaaaaaaaaa');
  const v2 = hourManifestKey('lake', H, 2, 'bbbbbbbbbbbbbbbb');
  const current = manifest({
    version: 2,
    published_at: new Date(now - 2 * hour).toISOString(),
    groups: [{ group: 'g', tenants: ['g'], rows: 1, written_by: 'b', files: [file(key('live-0000'))] }],
    superseded: [
      { key: key('old-0000'), superseded_at: new Date(now - 2 * hour).toISOString() },
      { key: key('recent-0000'), superseded_at: new Date(now - 10 * 60_000).toISOString() },
    ],
  });
  const files = [
    { key: key('live-0000'), lastModified: now - 100 * hour },
    { key: key('old-0000'), lastModified: now - 100 * hour },
    { key: key('recent-0000'), lastModified: now - 100 * hour },
    { key: key('orphan-young-0000'), lastModified: now - hour },
    { key: key('orphan-old-0000'), lastModified: now - 10 * hour },
    { key: key('no-manifest-0000', { dt: '2026-03-01', hour: 9 }), lastModified: now - 10 * hour },
    { key: 'lake/compacted/not-ours.txt', lastModified: 0 },
  ];

  it('deletes superseded files after grace, orphans after theirs, replaced manifest versions; never a live file', () => {
    const plan = planSweep({ files, manifestKeys: [v1, v2], current: new Map([['2026-03-01T10', current]]), nowMs: now, graceMs: hour, orphanGraceMs: 6 * hour });
    expect(plan.deleteFiles).toEqual([key('no-manifest-0000', { dt: '2026-03-01', hour: 9 }), key('old-0000'), key('orphan-old-0000')].sort());
    expect(plan.deleteManifests).toEqual([v1]);
    expect(plan).toMatchObject({ superseded: 1, orphans: 2, waiting: 2 });
  });

  it('keeps old manifest versions while the current one is younger than the grace period', () => {
    const young = { ...current, published_at: new Date(now - 60_000).toISOString() };
    expect(planSweep({ files: [], manifestKeys: [v1, v2], current: new Map([['2026-03-01T10', young]]), nowMs: now, graceMs: hour, orphanGraceMs: hour }).deleteManifests).toEqual([]);
  });

  it('leaves an hour alone when its current manifest cannot be read', () => {
    const plan = planSweep({ files, manifestKeys: [v1, v2], current: new Map([['2026-03-01T10', undefined]]), nowMs: now, graceMs: 0, orphanGraceMs: 0 });
    expect(plan.deleteFiles).toEqual([key('no-manifest-0000', { dt: '2026-03-01', hour: 9 })]);
    expect(plan.deleteManifests).toEqual([]);
  });
});

describe('stage batches', () => {
  it('packs files in order under the budget; an oversized file goes alone', () => {
    const f = (rows: number) => ({ rows });
    expect(stageBatches([f(10), f(20), f(30), f(100), f(5)], 2, 100).map((b) => b.map((x) => x.rows))).toEqual([[10, 20], [30], [100], [5]]);
    expect(stageBatches([], 1, 1)).toEqual([]);
  });
});
