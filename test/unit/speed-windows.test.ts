// Window semantics of the speed layer on hand-built sequences: out of order, late beyond the
// allowed lateness, duplicates, session merges; then checkpoint → changelog → restore gives the
// same state, a batch cut tombstones covered cells, and the speed reader answers from the
// changelog what the state holds.
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { encodeCellKey } from '../../core/measures';
import { parseProgress } from '../../core/speed-changelog';
import { createSpeedReader } from '../../core/speed-reader';
import { createFeatureProcessor } from '../../speed-layer/features';
import { createSpeedState, type Checkpoint, type EventProcessor, type SpeedState } from '../../speed-layer/state';
import { createWindowState, MINUTE_US } from '../../speed-layer/windows';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a free-form event, edited by path
type Fixture = Record<string, any>;
const FIXTURE = JSON.parse(readFileSync(path.resolve(__dirname, '../fixtures/event-2.1-full.json'), 'utf8')) as Fixture;
const T0 = Date.UTC(2026, 10, 20, 12, 0, 0); // ms, a minute boundary

function event(id: string, atMs: number, opts: { user?: string; tenant?: string } = {}): string {
  const e = structuredClone(FIXTURE);
  e.event_metadata.event_id = id;
  e.event_metadata.timestamp = new Date(atMs).toISOString();
  if (opts.tenant) e.tenant_id = opts.tenant;
  if (opts.user) e.event_data.user_context.user_id = opts.user;
  return JSON.stringify(e);
}

const opts = { allowedLatenessMs: 10_000, sessionGapMs: 30 * 60_000, dedupHorizonOffsets: 1000, offsetBucketSize: 10 };

/** Events of the tenant's minute window (the first minute rollup), over all partitions and buckets. */
function minuteEvents(s: SpeedState, tenant: string, minuteStartMs: number): number {
  let n = 0;
  for (const c of s.aggregator.cells()) if (c.key.rollup === 'event_type_1m' && c.key.tenant_id === tenant && c.key.window_start_us === minuteStartMs * 1000) n += c.parts[0] as number;
  return n;
}

function results(cp: Checkpoint, type: string): Fixture[] {
  return cp.results.map((r) => JSON.parse(r.value!) as Fixture).filter((r) => r.type === type);
}

describe('speed layer windows', () => {
  test('out-of-order events within the lateness count in their minute and are not late', () => {
    const s = createSpeedState(opts);
    let o = 0;
    expect(s.process(0, o++, event('a', T0 + 5_000))).toEqual({ kind: 'counted', late: false });
    expect(s.process(0, o++, event('b', T0 + 65_000))).toEqual({ kind: 'counted', late: false });
    // 58 s behind the newest event, but its minute has not closed: watermark = 65 s − 10 s = 55 s
    expect(s.process(0, o++, event('c', T0 + 7_000))).toEqual({ kind: 'counted', late: false });
    expect(minuteEvents(s, 'northwind_outfitters', T0)).toBe(2);
    expect(minuteEvents(s, 'northwind_outfitters', T0 + 60_000)).toBe(1);
    const cp = s.checkpoint(Date.now());
    expect(results(cp, 'tumbling_1m')).toEqual([]); // watermark 55 s: no minute closed yet
    expect(cp.offsets.get(0)).toBe(3);
  });

  test('the watermark closes minutes; an event later than the lateness still counts and is late', () => {
    const s = createSpeedState(opts);
    let o = 0;
    s.process(0, o++, event('a', T0 + 5_000));
    s.process(0, o++, event('b', T0 + 30_000));
    s.process(0, o++, event('c', T0 + 75_000)); // watermark 65 s: minute [0, 60 s) closes
    const cp = s.checkpoint(Date.now());
    const tumbling = results(cp, 'tumbling_1m');
    expect(tumbling).toHaveLength(1);
    expect(tumbling[0]).toMatchObject({ tenant_id: 'northwind_outfitters', window_start: new Date(T0).toISOString(), measures: { events: 2 } });
    const sliding = results(cp, 'sliding_5m');
    expect(sliding).toHaveLength(1);
    expect(sliding[0]).toMatchObject({ window_start: new Date(T0 - 4 * 60_000).toISOString(), window_end: new Date(T0 + 60_000).toISOString(), measures: { events: 2 } });
    // beyond the lateness: its minute already emitted
    expect(s.process(0, o++, event('late', T0 + 1_000))).toEqual({ kind: 'counted', late: true });
    expect(minuteEvents(s, 'northwind_outfitters', T0)).toBe(3);
    // the late event's cell goes out in the next checkpoint (the changelog), without re-emitting the window
    const cp2 = s.checkpoint(Date.now());
    expect(results(cp2, 'tumbling_1m')).toEqual([]);
    expect(cp2.changelog.some((r) => r.key.startsWith('["event_type_1m"') && r.key.includes(String(T0 * 1000)))).toBe(true);
    const progress = parseProgress(cp2.changelog.find((r) => r.key === 'p:0')!.value!)!;
    expect(progress).toMatchObject({ next_offset: 4, max_event_us: (T0 + 75_000) * 1000, watermark_us: (T0 + 65_000) * 1000, emitted_until_us: (T0 + 60_000) * 1000 });
  });

  test('sliding 5-minute windows merge five minute cells', () => {
    const s = createSpeedState({ ...opts, allowedLatenessMs: 0 });
    let o = 0;
    for (let m = 0; m < 7; m++) s.process(0, o++, event(`e${m}`, T0 + m * 60_000 + 1_000));
    const sliding = results(s.checkpoint(Date.now()), 'sliding_5m');
    const byEnd = new Map(sliding.map((r) => [r.window_end, r.measures.events]));
    // minutes 0..5 closed (watermark at 6 min + 1 s); window ending at minute k+1 holds minutes k-4..k
    expect(byEnd.get(new Date(T0 + 60_000).toISOString())).toBe(1);
    expect(byEnd.get(new Date(T0 + 5 * 60_000).toISOString())).toBe(5);
    expect(byEnd.get(new Date(T0 + 6 * 60_000).toISOString())).toBe(5);
  });

  test('duplicates (tenant, event_id) count once within the horizon, per tenant', () => {
    const s = createSpeedState(opts);
    expect(s.process(0, 0, event('x', T0)).kind).toBe('counted');
    expect(s.process(0, 1, event('x', T0))).toEqual({ kind: 'duplicate' });
    expect(s.process(0, 2, event('x', T0, { tenant: 'other' })).kind).toBe('counted');
    expect(s.process(0, 3, 'not json')).toEqual({ kind: 'rejected', reason: 'invalid_json' });
    expect(s.process(0, 4, '{"tenant_id":"t"}')).toEqual({ kind: 'rejected', reason: 'missing_event_id' });
    expect(s.process(0, 2, event('y', T0))).toEqual({ kind: 'skipped' }); // already processed offset
    expect(minuteEvents(s, 'northwind_outfitters', T0)).toBe(1);
    // beyond the horizon (1000 offsets) the id is forgotten: documented double count until a batch cut covers it
    expect(s.process(0, 1500, event('x', T0)).kind).toBe('counted');
  });

  test('sessions: a gap splits, an out-of-order event bridging two sessions merges them', () => {
    const w = createWindowState({ allowedLatenessMs: 0, sessionGapMs: 30 * 60_000 });
    const us = (min: number) => (T0 + min * 60_000) * 1000;
    w.observe(0, us(0));
    w.addToSession(0, 't', 'u', us(0));
    w.addToSession(0, 't', 'u', us(20));
    w.addToSession(0, 't', 'u', us(70)); // 50 min after 20: a second session
    expect(w.sessionCount).toBe(2);
    w.addToSession(0, 't', 'u', us(45)); // within 30 min of both: one session 0..70
    expect(w.sessionCount).toBe(1);
    w.observe(0, us(99));
    expect(w.closeSessions(0)).toEqual([]); // 70 + 30 > 99
    w.observe(0, us(100));
    expect(w.closeSessions(0)).toEqual([{ partition: 0, tenant_id: 't', user_id: 'u', start_us: us(0), last_us: us(70), events: 4 }]);
    expect(w.sessionCount).toBe(0);
    const changed = w.takeChangedSessions();
    expect(changed[0].sessions).toEqual([]); // → a changelog tombstone
  });

  test('a deferred take of the changed sessions, encoded while later events extend, merge and close them, holds them as they were', () => {
    const w = createWindowState({ allowedLatenessMs: 0, sessionGapMs: 30 * 60_000 });
    const us = (min: number) => min * 60_000_000;
    const encode = (u: { tenant_id: string; user_id: string; sessions: readonly object[] }) => `${u.user_id} ${JSON.stringify(u.sessions)}`;
    for (const [user, min] of [['a', 0], ['b', 5], ['c', 10], ['a', 20], ['d', 100]] as const) w.addToSession(0, 't', user, us(min));
    // what a take now holds
    const twin = createWindowState({ allowedLatenessMs: 0, sessionGapMs: 30 * 60_000 });
    for (const [user, min] of [['a', 0], ['b', 5], ['c', 10], ['a', 20], ['d', 100]] as const) twin.addToSession(0, 't', user, us(min));
    const expected = twin.takeChangedSessions().map(encode);
    const take = w.takeChangedSessionsDeferred(encode);
    expect(take.encodeSome(1)).toBe(false);
    // later: a extended in place, b merged across a bridging event, c given a second session, then closed
    w.addToSession(0, 't', 'a', us(25));
    w.addToSession(0, 't', 'b', us(40));
    w.addToSession(0, 't', 'b', us(22));
    w.addToSession(0, 't', 'c', us(80));
    w.observe(0, us(200));
    expect(w.closeSessions(0).length).toBeGreaterThan(0);
    while (!take.encodeSome(1));
    expect(take.out).toEqual(expected);
    expect(expected).toHaveLength(4);
    // the next take has the later state
    expect(w.takeChangedSessions().map((u) => u.user_id).sort()).toEqual(['a', 'b', 'c', 'd']);
  });

  test('checkpoint → changelog → restore rebuilds the same cells, progress, sessions and processor state', () => {
    const seen: string[] = [];
    const proc = (): EventProcessor & { state: Map<string, string> } => {
      const state = new Map<string, string>();
      let changed: { partition: number; key: string; value: string | null }[] = [];
      return {
        name: 'counter',
        state,
        onEvent(input) {
          const v = String(Number(state.get(input.tenant_id) ?? 0) + 1);
          state.set(input.tenant_id, v);
          changed.push({ partition: input.partition, key: input.tenant_id, value: v });
          seen.push(input.event_id);
        },
        takeChanged() {
          const out = changed;
          changed = [];
          return out;
        },
        restore(_p, key, value) {
          if (value === null) state.delete(key);
          else state.set(key, value);
        },
        dropPartition() {
          state.clear();
        },
      };
    };
    const p1 = proc();
    const s = createSpeedState({ ...opts, processors: [p1] });
    const log: { partition: number; key: string; value: string | null }[] = [];
    let o = 0;
    for (let i = 0; i < 25; i++) {
      s.process(i % 2, o++, event(`e${i}`, T0 + i * 7_000, { user: `u${i % 3}` }));
      if (i % 6 === 5) log.push(...s.checkpoint(Date.now()).changelog);
    }
    log.push(...s.checkpoint(Date.now()).changelog);
    const p2 = proc();
    const r = createSpeedState({ ...opts, processors: [p2] });
    for (const rec of log) r.restoreRecord(rec.partition, rec.key, rec.value);
    const dump = (x: SpeedState) => [...x.aggregator.cells()].map((c) => `${encodeCellKey(c.key)} ${JSON.stringify(c.parts.map((v) => (typeof v === 'object' && v !== null ? JSON.stringify(v) : v)))}`).sort();
    expect(dump(r)).toEqual(dump(s));
    expect(r.nextOffset(0)).toBe(s.nextOffset(0));
    expect(r.nextOffset(1)).toBe(s.nextOffset(1));
    expect(r.windows.clock(0)).toEqual(s.windows.clock(0));
    expect(r.windows.sessionCount).toBe(s.windows.sessionCount);
    expect([...p2.state]).toEqual([...p1.state]);
    // re-delivered offsets after the restore are skipped
    expect(r.process(0, 0, event('e0', T0))).toEqual({ kind: 'skipped' });
  });

  test('a deferred checkpoint, encoded while later events are processed, holds what a plain one at its offsets holds', () => {
    // one offset bucket and the same minutes throughout: the later events write the taken cells
    const deferred = createSpeedState({ ...opts, offsetBucketSize: 1000 });
    const plain = createSpeedState({ ...opts, offsetBucketSize: 1000 });
    const send = (i: number) => event(`e${i}`, T0 + (i % 40) * 1_000, { user: `u${i % 4}` });
    for (let i = 0; i < 40; i++) for (const s of [deferred, plain]) s.process(i % 2, i, send(i));
    const now = Date.now();
    const cp = deferred.checkpoint(now, { deferEncoding: true });
    const expected = plain.checkpoint(now);
    // later events write the same cells before the deferred values are encoded
    for (let i = 40; i < 60; i++) {
      deferred.process(i % 2, i, send(i));
      cp.encodeSome(3);
    }
    while (!cp.encodeSome(3));
    const records = (c: Checkpoint) => c.changelog.map((r) => `${r.partition} ${r.key} ${r.value}`);
    expect(records(cp)).toEqual(records(expected));
    expect(cp.offsets).toEqual(expected.offsets);
    // and the next checkpoint carries the later events
    for (let i = 40; i < 60; i++) plain.process(i % 2, i, send(i));
    expect(records(deferred.checkpoint(now + 1))).toEqual(records(plain.checkpoint(now + 1)));
  });

  test('with the feature store: its deferred snapshot, encoded while later events update the entities, holds what a plain one holds', () => {
    const make = () => createSpeedState({ ...opts, offsetBucketSize: 1000, processors: [createFeatureProcessor({ snapshotEveryMs: 0 })] });
    const deferred = make();
    const plain = make();
    const send = (i: number) => event(`e${i}`, T0 + (i % 40) * 1_000, { user: `u${i % 4}` });
    for (let i = 0; i < 40; i++) for (const s of [deferred, plain]) s.process(i % 2, i, send(i));
    const now = Date.now();
    const cp = deferred.checkpoint(now, { deferEncoding: true });
    const expected = plain.checkpoint(now);
    // before any encoding, the feature records are not in the changelog yet
    expect(cp.changelog.some((r) => r.key.startsWith('h:features:'))).toBe(false);
    for (let i = 40; i < 60; i++) {
      deferred.process(i % 2, i, send(i));
      cp.encodeSome(2);
    }
    while (!cp.encodeSome(2));
    const sorted = (c: Checkpoint) => c.changelog.map((r) => `${r.partition} ${r.key} ${r.value}`).sort();
    expect(cp.changelog.filter((r) => r.key.startsWith('h:features:')).length).toBeGreaterThan(10);
    expect(sorted(cp)).toEqual(sorted(expected));
    for (let i = 40; i < 60; i++) plain.process(i % 2, i, send(i));
    expect(sorted(deferred.checkpoint(now + 1))).toEqual(sorted(plain.checkpoint(now + 1)));
  });

  test('deferred: the window results of the minutes a checkpoint closed come a few per slice, the same as a plain checkpoint\'s', () => {
    const deferred = createSpeedState(opts);
    const plain = createSpeedState(opts);
    // 12 tenants over three minutes, then an event that closes the first two
    for (let i = 0; i < 36; i++) for (const s of [deferred, plain]) s.process(i % 3, i, event(`e${i}`, T0 + (i % 3) * 60_000 + i * 100, { tenant: `t${i % 12}` }));
    for (const s of [deferred, plain]) for (let p = 0; p < 3; p++) s.process(p, 100 + p, event(`close${p}`, T0 + 3 * 60_000 + 20_000, { tenant: 't0' }));
    const now = Date.now();
    const cp = deferred.checkpoint(now, { deferEncoding: true });
    const expected = plain.checkpoint(now);
    expect(results(expected, 'tumbling_1m')).toHaveLength(12);
    // none before the slices run; all of them after, in the plain checkpoint's order
    expect(cp.results.filter((r) => r.value!.includes('"tumbling_1m"'))).toEqual([]);
    let slices = 1;
    while (!cp.encodeSome(4)) slices++;
    expect(slices).toBeGreaterThan(5);
    expect(cp.results).toEqual(expected.results);
    // a checkpoint taken before the last one is encoded finishes it first
    for (const s of [deferred, plain]) for (let p = 0; p < 3; p++) s.process(p, 200 + p, event(`close2-${p}`, T0 + 5 * 60_000, { tenant: 't1' }));
    const unfinished = deferred.checkpoint(now + 1, { deferEncoding: true });
    const expected2 = plain.checkpoint(now + 1);
    unfinished.encodeSome(1);
    deferred.checkpoint(now + 2);
    expect(unfinished.encodeSome(1)).toBe(true);
    expect(unfinished.results).toEqual(expected2.results);
  });

  test('feature snapshots older than the progress: restore + replay of the events since gives the same features', () => {
    // one snapshot (the first checkpoint), then checkpoints without feature records
    const live = createFeatureProcessor({ snapshotEveryMs: 1e12 });
    const s = createSpeedState({ ...opts, dedupHorizonOffsets: 5, processors: [live] });
    const log: { partition: number; key: string; value: string | null }[] = [];
    const sent: { partition: number; offset: number; value: string }[] = [];
    const offsets = [0, 0];
    for (let i = 0; i < 60; i++) {
      const partition = i % 2;
      // re-sends of earlier ids: the replay must deduplicate them as the live run did
      const id = i % 11 === 10 ? `e${i - 4}` : `e${i}`;
      const value = event(id, T0 + i * 5_000, { user: `u${i % 4}` });
      sent.push({ partition, offset: offsets[partition], value });
      s.process(partition, offsets[partition]++, value);
      if (i % 9 === 8) log.push(...s.checkpoint(Date.now()).changelog);
    }
    log.push(...s.checkpoint(Date.now()).changelog);
    expect(log.filter((r) => r.key.startsWith('h:features:')).length).toBeGreaterThan(0);
    expect(log.filter((r) => r.key === 'h:features:@snapshot').length).toBe(2); // once per partition

    const restored = createFeatureProcessor({ snapshotEveryMs: 1e12 });
    const r = createSpeedState({ ...opts, dedupHorizonOffsets: 5, processors: [restored] });
    for (const rec of log) r.restoreRecord(rec.partition, rec.key, rec.value);
    for (const p of [0, 1]) {
      const start = r.replayStart(p);
      expect(start).toBeDefined(); // the snapshot is behind the progress
      // what the runtime reads back from `events`: from the snapshot − the dedup horizon to the progress
      for (const m of sent) if (m.partition === p && m.offset >= Math.max(0, start! - 5) && m.offset < r.nextOffset(p)!) r.replay(p, m.offset, m.value);
    }
    for (const u of ['u0', 'u1', 'u2', 'u3']) expect(restored.get('user', 'northwind_outfitters', u)).toEqual(live.get('user', 'northwind_outfitters', u));
    expect(restored.get('tenant', 'northwind_outfitters')).toEqual(live.get('tenant', 'northwind_outfitters'));
    // and both go on alike
    for (const x of [s, r]) expect(x.process(0, offsets[0], event('next', T0 + 400_000, { user: 'u1' }))).toEqual({ kind: 'counted', late: false });
    expect(restored.get('user', 'northwind_outfitters', 'u1')).toEqual(live.get('user', 'northwind_outfitters', 'u1'));
  });

  test('a published cut drops covered offset buckets with tombstones; the reader follows the changelog', () => {
    const s = createSpeedState(opts); // bucket size 10
    for (let o = 0; o < 25; o++) s.process(0, o, event(`e${o}`, T0 + o * 1000));
    const reader = createSpeedReader({}, { offsetBucketSize: 10 });
    const feed = (cp: Checkpoint) => cp.changelog.forEach((r) => reader.apply(r.partition, r.key, r.value));
    feed(s.checkpoint(Date.now()));
    const q = { tenant: 'northwind_outfitters', rollup: 'event_type_1m', fromUs: T0 * 1000, toUs: (T0 + 3_600_000) * 1000, grain: 'minute' as const, measures: ['events'] };
    expect(reader.query(q).map((r) => r.measures.events)).toEqual([25]);
    expect(reader.query({ ...q, cut: new Map([[0, 20]]) }).map((r) => r.measures.events)).toEqual([5]);
    expect(reader.query({ ...q, grain: 'hour' }).map((r) => [r.window_start_us, r.measures.events])).toEqual([[T0 * 1000, 25]]);
    expect(reader.progress().get(0)?.next_offset).toBe(25);
    expect(s.applyCut(new Map([[0, 20]]))).toBe(2 * 8); // buckets 0 and 1, 8 rollups each
    const cp = s.checkpoint(Date.now());
    expect(cp.changelog.filter((r) => r.value === null)).toHaveLength(16);
    feed(cp);
    expect(reader.query(q).map((r) => r.measures.events)).toEqual([5]);
    expect(reader.size).toBe(8);
  });

  test('watermark delay: minute boundaries', () => {
    const w = createWindowState({ allowedLatenessMs: 0, sessionGapMs: 1000 });
    w.observe(3, (T0 + 1) * 1000);
    expect(w.closeMinutes(3)).toBeUndefined();
    w.observe(3, (T0 + 3 * 60_000) * 1000);
    expect(w.closeMinutes(3)).toEqual({ fromUs: T0 * 1000, untilUs: (T0 + 3 * 60_000) * 1000 });
    expect(w.clock(3).emittedUntilUs).toBe((T0 + 3 * MINUTE_US / 1000) * 1000);
  });
});

describe('sessions close exactly when the watermark passes their gap (the due queue)', () => {
  test('random in-order traffic of many users: every close returns exactly the sessions a brute-force model says have ended', () => {
    const gapMs = 60_000;
    const w = createWindowState({ allowedLatenessMs: 0, sessionGapMs: gapMs });
    const gapUs = gapMs * 1000;
    let seed = 11;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    // the model: per user, clusters of event times no more than the gap apart (events arrive in order)
    const model = new Map<string, { start: number; last: number; events: number; closed: boolean }[]>();
    const key = (s: { user_id: string; start_us: number; last_us: number; events: number }) => `${s.user_id}|${s.start_us}|${s.last_us}|${s.events}`;
    let t = T0 * 1000;
    let closes = 0;
    let closedTotal = 0;
    for (let i = 0; i < 20_000; i++) {
      t += Math.floor(random() * 40_000_000) + 1; // up to 40 s apart, odd microseconds: no ties with a gap's end
      const user = `u${Math.floor(random() ** 2 * 300)}`;
      w.observe(0, t);
      w.addToSession(0, 'acme', user, t);
      const list = model.get(user) ?? [];
      const open = list.filter((s) => !s.closed);
      const last = open[open.length - 1];
      if (last && t <= last.last + gapUs) {
        last.last = t;
        last.events++;
      } else list.push({ start: t, last: t, events: 1, closed: false });
      model.set(user, list);
      if (random() < 0.02) {
        const wm = w.clock(0).watermarkUs!;
        const expected: string[] = [];
        for (const [u, sessions] of model)
          for (const s of sessions)
            if (!s.closed && s.last + gapUs <= wm) {
              s.closed = true;
              expected.push(key({ user_id: u, start_us: s.start, last_us: s.last, events: s.events }));
            }
        const got = w.closeSessions(0).map(key);
        expect(got.sort()).toEqual(expected.sort());
        closes++;
        closedTotal += got.length;
      }
    }
    expect(closes).toBeGreaterThan(100);
    expect(closedTotal).toBeGreaterThan(1000);
    const open = [...model.values()].flat().filter((s) => !s.closed).length;
    expect(w.sessionCount).toBe(open);
  });

  test('restored sessions are queued too: they close when the watermark passes them', () => {
    const w = createWindowState({ allowedLatenessMs: 0, sessionGapMs: 60_000 });
    const t = T0 * 1000;
    w.restoreClock(0, { next_offset: 5, max_event_us: t, watermark_us: t, emitted_until_us: t, committed_at_ms: 0 });
    w.restoreSessions(0, 'acme', 'u1', [{ start_us: t - 30_000_000, last_us: t - 10_000_000, events: 3 }]);
    w.restoreSessions(0, 'acme', 'u2', [{ start_us: t - 5_000_000, last_us: t, events: 1 }]);
    expect(w.closeSessions(0)).toEqual([]);
    w.observe(0, t + 55_000_000);
    expect(w.closeSessions(0).map((s) => s.user_id)).toEqual(['u1']);
    w.observe(0, t + 61_000_000);
    expect(w.closeSessions(0).map((s) => s.user_id)).toEqual(['u2']);
    expect(w.sessionCount).toBe(0);
  });
});
