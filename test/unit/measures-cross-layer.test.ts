// THE cross-layer test of core/measures: the same events through both derivations of the one
// declaration — (i) the speed layer's path: JSON.parse → measureInputFromEvent → dedup →
// createAggregator; (ii) the batch layer's path: the lake sink's own flatten (framed lines →
// raw Parquet) → measuresSql in DuckDB — and every cell of every rollup compared: counts, min
// and max exactly, sums to 1e-9 relative, sketch registers and digest buckets identical. Then
// the offset-cut merge: batch cells below a cut + speed cells at or after it = everything.
import { readFileSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { openDuckDb } from '../../core/duckdb';
import { rawEventsRelation } from '../../core/lake';
import {
  canonicalParts,
  cellFromSqlRow,
  createAggregator,
  createDeduplicator,
  encodeCellKey,
  evaluateMeasures,
  measureInputFromEvent,
  measuresSql,
  mergeAll,
  MEASURES,
  type Cell,
  type PartValue,
} from '../../core/measures';
import { encodeInputLine, flattenToParquet, prepareConnection, writeInputFile, type RejectReason } from '../../ingest/flatten';
import { EventGenerator } from '../../generator/generator';

const FIXTURE = path.resolve(__dirname, '../fixtures/event-2.1-full.json');
const PARTITIONS = 4;
const B = 50; // small offset buckets, so cells spread over many of them

interface Message {
  partition: number;
  offset: number;
  value: string;
}

function fnv(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** Generator traffic (late events, duplicates, defects) + the fixture and hand-made odd shapes, on PARTITIONS partitions by key. */
function messages(): Message[] {
  const next = new Array<number>(PARTITIONS).fill(0);
  const out: Message[] = [];
  const push = (key: string, value: string) => {
    const partition = fnv(key) % PARTITIONS;
    out.push({ partition, offset: next[partition]++, value });
  };
  // 3 events/s of event time: ~25 minutes, plus late events minutes to hours back
  const g = new EventGenerator({ seed: 8, tenants: 12, users: 1500, rate: 3, defectRate: 0.04, lateRate: 0.05, fraudRate: 0.02 });
  const sent: { key: string; value: string }[] = [];
  for (let i = 0; i < 4500; i++) {
    const e = g.next();
    const value = JSON.stringify(e.event);
    push(e.key, value);
    sent.push({ key: e.key, value });
    // a few re-sends far behind their original (beyond several offset buckets)
    if (i % 700 === 699) {
      const again = sent[i - 400];
      push(again.key, again.value);
    }
  }
  const fixture = readFileSync(FIXTURE, 'utf8');
  const f = () => JSON.parse(fixture);
  const odd: unknown[] = [];
  odd.push(f());
  // numbers as strings, wrong types, unicode and quotes in dimensions, zones and fractions in times
  let e = f();
  e.event_metadata.event_id = 'odd-1';
  e.event_data.business_context.transaction_context.cart_context.cart_value.final_total = ' 1_250.5 ';
  e.event_data.user_context.session_data.session_attributes.geolocation.country = 42;
  e.event_metadata.timestamp = '2026-11-20T15:03:27.4812369+01:30';
  odd.push(e);
  e = f();
  e.event_metadata.event_id = 'odd-2';
  e.event_data.business_context.transaction_context.cart_context.cart_value.final_total = 'n/a';
  e.event_data.user_context.session_data.session_attributes.user_agent_parsed = { browser: 'Ünïcode "quoted" \u0000 browser', os: 'x', device: 7 };
  e.event_data.business_context.interaction_context.page_context.page_load_metrics.largest_contentful_paint = '980';
  e.event_data.user_context.session_data.session_id = '';
  e.event_metadata.timestamp = '2026-11-20 14:59:59';
  odd.push(e);
  e = f();
  e.event_metadata.event_id = 'odd-3';
  e.event_data.event_subtype = 'refund';
  e.event_data.business_context.transaction_context.cart_context.cart_value.final_total = '__BIG__'; // becomes the JSON number 1e400 below
  e.event_data.business_context.interaction_context.page_context.page_load_metrics.largest_contentful_paint = 0;
  e.event_data.user_context.session_data.session_attributes.geolocation.country = { code: 'DE' };
  delete e.event_data.user_context.user_id;
  e.event_metadata.timestamp = '2026-11-20T23:59:59.999999-01:00';
  odd.push(e);
  e = f();
  e.event_metadata.event_id = 'odd-4';
  e.event_data.business_context.interaction_context.page_context.page_load_metrics.largest_contentful_paint = -5;
  e.event_metadata.timestamp = '2026-11-20T24:00:00Z';
  e.event_metadata.source_system = true;
  odd.push(e);
  e = f();
  e.event_metadata.event_id = 'odd-5';
  delete e.event_metadata.timestamp;
  e.timestamp = '2026-11-20T14:00:00Z'; // the older flat spelling
  odd.push(e);
  // refused by the sink and by measureInputFromEvent alike
  for (const [id, edit] of [
    ['r-1', (x: Record<string, unknown>) => delete x.tenant_id],
    ['r-2', (x: Record<string, unknown>) => ((x.event_metadata as Record<string, unknown>).timestamp = '1969-12-31T23:59:59Z')],
    ['r-3', (x: Record<string, unknown>) => ((x.event_metadata as Record<string, unknown>).timestamp = null)],
    ['r-4', (x: Record<string, unknown>) => ((x.event_metadata as Record<string, unknown>).timestamp = 'Tuesday')],
    ['r-5', (x: Record<string, unknown>) => ((x.tenant_id = ''), true)],
  ] as const) {
    e = f();
    e.event_metadata.event_id = id;
    edit(e);
    odd.push(e);
  }
  for (const x of odd) push('odd:user', JSON.stringify(x).replace('"__BIG__"', '1e400'));
  push('odd:user', '[1, 2]');
  push('odd:user', '{"tenant_id": "t", "event_metadata": ');
  return out;
}

function close(a: number, b: number): boolean {
  return a === b || Math.abs(a - b) <= 1e-9 * Math.max(Math.abs(a), Math.abs(b));
}

/** Every difference between two cells' parts (empty: equal under the test's rules). */
function diffParts(speed: PartValue[], batch: PartValue[]): string[] {
  const a = canonicalParts(MEASURES, speed);
  const b = canonicalParts(MEASURES, batch);
  const out: string[] = [];
  for (const p of MEASURES.parts) {
    const x = a[p.name];
    const y = b[p.name];
    const same = p.kind === 'sum' ? close(x as number, y as number) : JSON.stringify(x) === JSON.stringify(y);
    if (!same) out.push(`${p.name}: speed ${JSON.stringify(x)} batch ${JSON.stringify(y)}`);
  }
  return out;
}

describe('core/measures: speed-layer aggregator == batch DuckDB SQL, cell by cell', () => {
  let dir: string;
  let db: Awaited<ReturnType<typeof openDuckDb>>;
  const msgs = messages();
  let files: string[];
  let sinkRejects: { partition: number; offset: number; reason: RejectReason }[];

  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'rtap-measures-'));
    db = await openDuckDb({ threads: 2, memoryLimit: '1GB' });
    await prepareConnection(db.connection);
    // the sink's own flatten, on the same framed input it builds from Kafka records
    const lines = msgs.map((m) => encodeInputLine({ partition: m.partition, offset: m.offset, timestampMs: 1_790_000_000_000, value: Buffer.from(m.value) }));
    const input = path.join(dir, 'in.txt');
    await writeInputFile(input, lines.map((l) => ('line' in l ? l.line : '')));
    const res = await flattenToParquet(db.connection, input, dir);
    files = res.objects.map((o) => o.file);
    sinkRejects = res.rejects;
  });
  afterAll(async () => {
    db.connection.closeSync();
    db.instance.closeSync();
    await fs.rm(dir, { recursive: true, force: true });
  });

  /** The speed layer's path over the messages (in Kafka order per partition). */
  function speed(filter: (m: Message) => boolean = () => true) {
    const agg = createAggregator(MEASURES, { offsetBucketSize: B });
    const dedup = createDeduplicator({ horizonOffsets: 1_000_000 });
    const rejects: { partition: number; offset: number; reason: RejectReason }[] = [];
    for (const m of msgs) {
      if (!filter(m)) continue;
      let event: unknown;
      try {
        event = JSON.parse(m.value);
      } catch {
        rejects.push({ partition: m.partition, offset: m.offset, reason: 'invalid_json' });
        continue;
      }
      const r = measureInputFromEvent(event, m);
      if (!r.ok) rejects.push({ partition: m.partition, offset: m.offset, reason: r.reason });
      else if (dedup.firstSeen(r.input)) agg.add(r.input);
    }
    return { agg, rejects };
  }

  async function batch(cut?: ReadonlyMap<number, number>, byOffsetBucket = true): Promise<Map<string, Cell>> {
    const sql = measuresSql(MEASURES, { source: rawEventsRelation(files, { hivePartitioning: false }), offsetBucketSize: B, cut, byOffsetBucket });
    const rows = (await db.connection.runAndReadAll(sql)).getRowObjectsJson();
    return new Map(rows.map((r) => cellFromSqlRow(MEASURES, r)).map((c) => [encodeCellKey(c.key), c]));
  }

  it('the traffic covers what the comparison needs', () => {
    const { agg, rejects } = speed();
    const byRollup = new Map<string, number>();
    for (const c of agg.cells()) byRollup.set(c.key.rollup, (byRollup.get(c.key.rollup) ?? 0) + 1);
    expect([...byRollup.keys()].sort()).toEqual(MEASURES.rollups.map((r) => r.name).sort());
    for (const n of byRollup.values()) expect(n).toBeGreaterThan(50);
    expect(rejects.length).toBeGreaterThan(20); // generator defects + hand-made ones
    const all = mergeAll(MEASURES, [...agg.cells()].filter((c) => c.key.rollup === 'totals_1h').map((c) => c.parts));
    const m = evaluateMeasures(MEASURES, all);
    expect(m.orders).toBeGreaterThan(10);
    expect(m.refunds).toBeGreaterThan(0);
    expect(m.page_loads).toBeGreaterThan(100);
    expect(m.distinct_users).toBeGreaterThan(200);
  });

  it('both layers refuse the same events for the same reasons', () => {
    const { rejects } = speed();
    const key = (r: { partition: number; offset: number; reason: string }) => `${r.partition}:${r.offset}:${r.reason}`;
    expect(rejects.map(key).sort()).toEqual(sinkRejects.map(key).sort());
  });

  it('every cell of every rollup is equal: counts, min, max exact; sums to 1e-9; registers and buckets identical', async () => {
    const { agg } = speed();
    const batchCells = await batch();
    const speedCells = new Map([...agg.cells()].map((c) => [encodeCellKey(c.key), c]));
    expect(speedCells.size).toBeGreaterThan(1000);
    expect([...batchCells.keys()].sort()).toEqual([...speedCells.keys()].sort());
    const diffs: string[] = [];
    for (const [k, s] of speedCells) for (const d of diffParts(s.parts, batchCells.get(k)!.parts)) diffs.push(`${k} ${d}`);
    expect(diffs.slice(0, 20)).toEqual([]);
    // and so every measure read from them
    for (const [k, s] of speedCells) expect([k, evaluateMeasures(MEASURES, s.parts)]).toEqual([k, evaluateMeasures(MEASURES, batchCells.get(k)!.parts)]);
  });

  it('the offset cut: batch cells below a cut + speed cells at or after it == all events, whatever their event time', async () => {
    const cut = new Map<number, number>();
    for (let p = 0; p < PARTITIONS; p++) cut.set(p, B * 7 * (p + 1)); // aligned to B, different per partition
    const batchCells = await batch(cut);
    const { agg } = speed();
    // the batch view at the cut is exactly the speed cells of the covered buckets
    const covered = [...agg.cells()].filter((c) => (c.key.bucket + 1) * B <= cut.get(c.key.partition)!);
    expect(new Set(batchCells.keys())).toEqual(new Set(covered.map((c) => encodeCellKey(c.key))));
    // the speed layer drops the covered buckets; what it keeps merged with the batch view answers every query
    const dropped = agg.dropCovered(cut);
    expect(dropped).toHaveLength(covered.length);
    const query = (cells: Iterable<Cell>) => {
      const groups = new Map<string, PartValue[][]>();
      for (const c of cells) {
        const g = JSON.stringify([c.key.rollup, c.key.tenant_id, c.key.window_start_us, c.key.dimension]);
        groups.set(g, [...(groups.get(g) ?? []), c.parts]);
      }
      return new Map([...groups].map(([g, parts]) => [g, mergeAll(MEASURES, parts)]));
    };
    const merged = query([...batchCells.values(), ...agg.cells()]);
    const everything = query((await batch()).values());
    expect([...merged.keys()].sort()).toEqual([...everything.keys()].sort());
    const diffs: string[] = [];
    for (const [g, parts] of everything) for (const d of diffParts(merged.get(g)!, parts)) diffs.push(`${g} ${d}`);
    // a batch view folded over partitions and buckets (byOffsetBucket: false) merges the same
    const folded = await batch(cut, false);
    expect([...folded.values()].every((c) => c.key.partition === -1 && c.key.bucket === -1)).toBe(true);
    const mergedFolded = query([...folded.values(), ...agg.cells()]);
    for (const [g, parts] of everything) for (const d of diffParts(mergedFolded.get(g)!, parts)) diffs.push(`folded ${g} ${d}`);
    expect(diffs.slice(0, 20)).toEqual([]);
  });
});
