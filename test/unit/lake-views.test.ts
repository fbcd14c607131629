// The batch views' pure logic (core/lake-views.ts): the cut, the plan from raw chunk names, the
// composition of a version from the units it recomputed and those it references, the names, and
// the pointer's compatibility with the speed layer's reader.
import { cutOf, parseViewsManifest, rawChunkKey } from '../../core/lake';
import {
  alignCut,
  changedHours,
  chunksBelowCut,
  composeUnits,
  cutRegression,
  daysOfHours,
  feedbackDaysOf,
  hourRecordKey,
  parseHourRecordKey,
  parseVersionManifest,
  parseViewsPointer,
  planViewsSweep,
  pointerOf,
  validateCut,
  viewCatalog,
  viewFileKey,
  viewFileKeys,
  VIEWS,
  VIEWS_FORMAT,
  viewByName,
  type ViewsVersionManifest,
} from '../../core/lake-views';
import { MEASURES } from '../../core/measures';

const chunk = (dt: string, hour: number, partition: number, startOffset: number, endOffset: number) => rawChunkKey('lake/', { dt, hour, partition, startOffset, endOffset });

describe('the cut', () => {
  it('is the high-water mark rounded down to B, per partition', () => {
    expect(alignCut({ '0': 12_345, '1': 9_999, '2': 20_000 }, 10_000)).toEqual({ '0': 10_000, '1': 0, '2': 20_000 });
  });

  it('never moves below the published cut, and keeps partitions the mark does not name', () => {
    expect(alignCut({ '0': 15_000 }, 10_000, { '0': 10_000, '1': 30_000 })).toEqual({ '0': 10_000, '1': 30_000 });
    expect(alignCut({ '0': 35_000, '1': 30_000 }, 10_000, { '0': 20_000, '1': 30_000 })).toEqual({ '0': 30_000, '1': 30_000 });
  });

  it('refuses a bucket size that is not a positive integer', () => {
    expect(() => alignCut({ '0': 5 }, 0)).toThrow(RangeError);
    expect(() => alignCut({ '0': 5 }, 1.5)).toThrow(RangeError);
  });

  it('names a regression: any partition behind, or missing', () => {
    expect(cutRegression({ '0': 100, '1': 200 }, { '0': 100, '1': 300 })).toBeUndefined();
    expect(cutRegression({ '0': 100, '1': 200 }, { '0': 99, '1': 300 })).toMatch(/partition 0/);
    expect(cutRegression({ '0': 100, '1': 200 }, { '0': 100 })).toMatch(/partition 1: cut absent/);
  });

  it('validates untrusted cuts', () => {
    expect(validateCut({ '00': 10, '3': 0 })).toEqual({ '0': 10, '3': 0 });
    expect(() => validateCut({ a: 1 })).toThrow(/partition/);
    expect(() => validateCut({ '0': -1 })).toThrow(/offset/);
    expect(() => validateCut({ '0': 1.5 })).toThrow(/offset/);
    expect(() => validateCut([1])).toThrow(/object/);
  });
});

describe('the plan: hours whose input changed between two cuts', () => {
  const keys = [
    chunk('2026-01-05', 10, 0, 0, 99), // below the previous cut of p0
    chunk('2026-01-05', 11, 0, 0, 99),
    chunk('2026-01-05', 11, 0, 100, 199), // straddles the previous cut 150
    chunk('2026-01-05', 12, 0, 100, 199),
    chunk('2026-01-05', 12, 0, 200, 299), // wholly at or after the new cut 200
    chunk('2026-01-06', 3, 1, 0, 49), // p1: new offsets 0..49 (no previous cut)
    chunk('2026-01-07', 0, 2, 0, 10), // p2 is not in the new cut
    'lake/raw/dt=2026-01-05/hour=10/p=00/not-a-chunk.parquet',
  ];
  const previous = { '0': 150 };
  const next = { '0': 200, '1': 50 };

  it('takes every hour of a chunk holding an offset in [previous, next)', () => {
    expect(changedHours(keys, previous, next)).toEqual([
      { dt: '2026-01-05', hour: 11 },
      { dt: '2026-01-05', hour: 12 },
      { dt: '2026-01-06', hour: 3 },
    ]);
  });

  it('full: every hour with a chunk below the new cut', () => {
    expect(changedHours(keys, previous, next, true).map((h) => `${h.dt}T${h.hour}`)).toEqual(['2026-01-05T10', '2026-01-05T11', '2026-01-05T12', '2026-01-06T3']);
  });

  it('nothing when the cut did not move; a previous cut ahead of the new one plans nothing for that partition', () => {
    expect(changedHours(keys, next, next)).toEqual([]);
    expect(changedHours(keys, { '0': 500 }, { '0': 200 })).toEqual([]);
  });

  it('a computation reads only chunks holding offsets below the cut', () => {
    const refs = [
      { partition: 0, startOffset: 0 },
      { partition: 0, startOffset: 200 },
      { partition: 1, startOffset: 0 },
      { partition: 2, startOffset: 0 },
    ];
    expect(chunksBelowCut(refs, next)).toEqual([refs[0], refs[2]]);
  });

  it('days, and the fraud-label days whose feedback window holds a changed day', () => {
    expect(daysOfHours([{ dt: '2026-01-06', hour: 1 }, { dt: '2026-01-05', hour: 3 }, { dt: '2026-01-06', hour: 0 }])).toEqual(['2026-01-05', '2026-01-06']);
    expect(feedbackDaysOf(['2026-03-02'], 2)).toEqual(['2026-02-28', '2026-03-01', '2026-03-02']);
    expect(feedbackDaysOf(['2026-01-05', '2026-01-06'], 1)).toEqual(['2026-01-04', '2026-01-05', '2026-01-06']);
  });
});

describe('a version: recomputed units plus references to earlier versions', () => {
  const base = {
    hour: { '2026-01-05T10': 'v1', '2026-01-05T11': 'v1', '2026-01-06T03': 'v1' },
    day: { '2026-01-05': 'v1', '2026-01-06': 'v1' },
    feedback_day: { '2026-01-05': 'v1' },
    version: 'v1',
  };

  it('points recomputed units at the new version, keeps the others, drops those now empty', () => {
    const units = composeUnits(base, 'v2', {
      hours: [
        { label: '2026-01-05T11', empty: false },
        { label: '2026-01-06T03', empty: true },
        { label: '2026-01-07T00', empty: false },
      ],
      days: [
        { dt: '2026-01-05', empty: false },
        { dt: '2026-01-06', empty: true },
        { dt: '2026-01-07', empty: false },
      ],
      feedbackDays: [{ dt: '2026-01-07', empty: false }],
      cohorts: { empty: false },
    });
    expect(units).toEqual({
      hour: { '2026-01-05T10': 'v1', '2026-01-05T11': 'v2', '2026-01-07T00': 'v2' },
      day: { '2026-01-05': 'v2', '2026-01-07': 'v2' },
      feedback_day: { '2026-01-05': 'v1', '2026-01-07': 'v2' },
      version: 'v2',
    });
    expect(base.hour['2026-01-06T03']).toBe('v1'); // the base is not modified
  });

  it('with nothing recomputed, the new version is the base under a new name', () => {
    expect(composeUnits(base, 'v2', { hours: [] })).toEqual(base);
    expect(composeUnits(undefined, 'v1', { hours: [] })).toEqual({ hour: {}, day: {}, feedback_day: {}, version: null });
  });

  it("a view's files are its units' files in the versions holding them", () => {
    const keys = viewFileKeys('lake', { units: base }, 'country_1h');
    expect(keys).toEqual([
      'lake/views/country_1h/version=v1/dt=2026-01-05/hour=10/data.parquet',
      'lake/views/country_1h/version=v1/dt=2026-01-05/hour=11/data.parquet',
      'lake/views/country_1h/version=v1/dt=2026-01-06/hour=03/data.parquet',
    ]);
    expect(viewFileKeys('', { units: base }, 'funnel_1d')).toEqual(['views/funnel_1d/version=v1/dt=2026-01-05/data.parquet', 'views/funnel_1d/version=v1/dt=2026-01-06/data.parquet']);
    expect(viewFileKeys('', { units: base }, 'fraud_labels_1d')).toEqual(['views/fraud_labels_1d/version=v1/dt=2026-01-05/data.parquet']);
    expect(viewFileKeys('', { units: base }, 'cohorts_weekly')).toEqual(['views/cohorts_weekly/version=v1/data.parquet']);
    expect(viewFileKeys('', { units: { ...base, version: null } }, 'cohorts_weekly')).toEqual([]);
  });
});

describe('views and names', () => {
  it('every rollup at its window and every coarser grain up to the day, then the funnel, cohort, attribution and fraud views', () => {
    const names = VIEWS.map((v) => v.name);
    for (const r of MEASURES.rollups) expect(names).toContain(r.name);
    expect(names).toEqual(expect.arrayContaining(['country_1m', 'country_1h', 'country_1d', 'totals_1h', 'totals_1d', 'funnel_1d', 'cohorts_weekly', 'attribution_purchases', 'fraud_events', 'fraud_labels_1d']));
    expect(names).not.toContain('totals_1m');
    expect(viewByName('country_1d').mergedFrom).toBe('country_1h');
    expect(viewByName('country_1h').mergedFrom).toBe('country_1m');
    expect(viewByName('totals_1d').mergedFrom).toBe('totals_1h');
    expect(new Set(names).size).toBe(names.length);
  });

  it('refuses a declaration whose rollups differ only in their window suffix', () => {
    const decl = { ...MEASURES, rollups: [...MEASURES.rollups, { name: 'country_1h', window: 'hour' as const, dimension: 'country' as const, description: 'x' }] };
    expect(() => viewCatalog(decl)).toThrow(/two views named country_1h/);
  });

  it('file names are Hive-style and validated', () => {
    expect(viewFileKey('p/', viewByName('browser_1m'), '20261127T100000Z-ab-1', '2026-11-27T09')).toBe('p/views/browser_1m/version=20261127T100000Z-ab-1/dt=2026-11-27/hour=09/data.parquet');
    expect(() => viewFileKey('', viewByName('browser_1m'), 'v1', '2026-11-27')).toThrow(/invalid hour/);
    expect(() => viewFileKey('', viewByName('funnel_1d'), 'v1', '2026-02-30')).toThrow(/invalid day/);
    expect(() => viewFileKey('', viewByName('funnel_1d'), '../v1', '2026-02-03')).toThrow(/version/);
  });

  it('hour records say in their name whether the hour had rows', () => {
    const h = { dt: '2026-01-05', hour: 7 };
    expect(parseHourRecordKey(hourRecordKey('p', 'v1', h, false))).toEqual({ label: '2026-01-05T07', empty: false });
    expect(parseHourRecordKey(hourRecordKey('p', 'v1', h, true))).toEqual({ label: '2026-01-05T07', empty: true });
    expect(parseHourRecordKey('p/manifests/views/work/v1/days.json')).toBeUndefined();
  });
});

describe('manifests', () => {
  const manifest: ViewsVersionManifest = {
    format: VIEWS_FORMAT,
    version: 'v2',
    cut: { '0': 200, '1': 50 },
    offset_bucket_size: 50,
    measures_version: MEASURES.version,
    created_at: '2026-11-27T10:00:00.000Z',
    published_at: '2026-11-27T10:00:01.000Z',
    previous: { version: 'v1', cut: { '0': 150 } },
    recomputed: { hours: ['2026-01-05T11'], days: ['2026-01-05'], feedback_days: [], cohorts: true },
    units: { hour: { '2026-01-05T11': 'v2' }, day: { '2026-01-05': 'v2' }, feedback_day: {}, version: 'v2' },
    views: {},
  };

  it("the pointer is what the speed layer's reader expects, plus where the version manifest is", () => {
    const text = JSON.stringify(pointerOf(manifest));
    const old = parseViewsManifest(text)!;
    expect(old).toEqual({ version: 'v2', cut: { '0': 200, '1': 50 }, published_at: '2026-11-27T10:00:01.000Z' });
    expect([...cutOf(old)]).toEqual([
      [0, 200],
      [1, 50],
    ]);
    expect(parseViewsPointer(text)).toMatchObject({ created_at: manifest.created_at, manifest: 'manifests/views/versions/v2.json', offset_bucket_size: 50 });
    // a pointer written before version manifests existed still parses
    expect(parseViewsPointer('{"version":"v0","cut":{"0":10}}')).toEqual({ version: 'v0', cut: { '0': 10 } });
  });

  it('a version manifest round-trips and junk is refused', () => {
    expect(parseVersionManifest(JSON.stringify(manifest))).toEqual(manifest);
    expect(parseVersionManifest(JSON.stringify({ ...manifest, units: { hour: { x: '../a' }, day: {}, feedback_day: {}, version: null } }))).toBeUndefined();
    expect(parseVersionManifest('{"version":"v2","cut":{}}')).toBeUndefined();
  });
});

describe('the views sweep', () => {
  const H = 3_600_000;
  const now = Date.parse('2026-11-27T12:00:00Z');
  const totals = viewByName('totals_1h');
  const views = { totals_1h: { unit: totals.unit, grain: totals.grain, kind: totals.kind } };
  const manifest = (version: string, publishedMs: number, hour: Record<string, string>) => ({ version, published_at: new Date(publishedMs).toISOString(), units: { hour, day: {}, feedback_day: {}, version: null }, views });
  const file = (version: string, hour: string, ageMs = 10 * H) => ({ key: viewFileKey('lake/', totals, version, hour), lastModified: now - ageMs });
  // v1 computed two hours; v2 recomputed one and references v1 for the other; v3 recomputed the other
  const v1 = manifest('v1', now - 5 * H, { '2026-11-01T00': 'v1', '2026-11-01T01': 'v1' });
  const v2 = manifest('v2', now - 4 * H, { '2026-11-01T00': 'v2', '2026-11-01T01': 'v1' });
  const v3 = manifest('v3', now - 30 * 60_000, { '2026-11-01T00': 'v2', '2026-11-01T01': 'v3' });
  const files = [file('v1', '2026-11-01T00'), file('v1', '2026-11-01T01'), file('v2', '2026-11-01T00'), file('v3', '2026-11-01T01')];
  const base = { prefix: 'lake/', viewFiles: files, workObjects: [], manifests: [v1, v2, v3], current: 'v3', nowMs: now, graceMs: H, orphanGraceMs: 24 * H };

  it('keeps what the current version and the one current when the grace began reference, even old files', () => {
    const plan = planViewsSweep(base);
    // v2 was current an hour ago; v3 within the hour. v1's hour 01 is referenced by v2 and stays.
    expect(plan.retained).toEqual(['v2', 'v3']);
    expect(plan.deleteKeys).toEqual([file('v1', '2026-11-01T00').key]);
    expect(plan.superseded).toBe(1);
  });

  it('once the grace has passed for v3 as well, only what v3 references stays', () => {
    const plan = planViewsSweep({ ...base, nowMs: now + 2 * H });
    expect(plan.retained).toEqual(['v3']);
    expect(plan.deleteKeys.sort()).toEqual([file('v1', '2026-11-01T00').key, file('v1', '2026-11-01T01').key].sort());
    expect(plan.deleteKeys).not.toContain(file('v2', '2026-11-01T00').key);
  });

  it('an unpublished version waits out the orphan grace from its newest write, then goes with its work records', () => {
    const running = { ...base, viewFiles: [...files, file('v4', '2026-11-01T00', 2 * H)], workObjects: [{ key: 'lake/manifests/views/work/v4/hours/2026-11-01T00.json', lastModified: now - 60_000 }] };
    const early = planViewsSweep(running);
    expect(early.deleteKeys.some((k) => k.includes('v4'))).toBe(false);
    expect(early.waiting).toBe(1);
    const late = planViewsSweep({ ...running, nowMs: now + 25 * H });
    expect(late.orphans).toBe(1);
    expect(late.deleteKeys).toEqual(expect.arrayContaining([file('v4', '2026-11-01T00').key, 'lake/manifests/views/work/v4/hours/2026-11-01T00.json']));
  });

  it('work records of replaced versions go; those of retained versions stay', () => {
    const work = ['v1', 'v3'].map((v) => ({ key: `lake/manifests/views/work/${v}/days.json`, lastModified: now - 5 * H }));
    const plan = planViewsSweep({ ...base, workObjects: work });
    expect(plan.deleteKeys).toContain('lake/manifests/views/work/v1/days.json');
    expect(plan.deleteKeys).not.toContain('lake/manifests/views/work/v3/days.json');
  });

  it('touches nothing before the first publication or when the current manifest could not be read', () => {
    expect(planViewsSweep({ ...base, current: undefined }).deleteKeys).toEqual([]);
    expect(planViewsSweep({ ...base, manifests: [v1, v2] }).deleteKeys).toEqual([]);
  });
});
