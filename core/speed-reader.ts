// The serving side of the speed layer: materializes the committed changelog `speed-windows`
// (read_committed, every partition) in memory, knows how far each partition of `events` has
// been processed (its progress records), and answers rollup queries from the cells with
// core/measures — merging parts over partitions, offset buckets and minutes, then evaluating
// measures. With `cut` it reads only the offset buckets at or after a published batch cut, the
// speed half of the exact merge (DESIGN: the offset cut).
// A cell is kept as its changelog text and decoded part by part when a query first reads it
// (sketches only for queries that ask for them): the changelog rewrites the open minutes' cells
// every commit, and decoding every version's sketches on arrival cost the API's event loop a tenth
// of its time, in blocks of 100+ ms, and garbage for the GC. Fetched batches are parsed in slices
// that yield to the event loop, then applied in one synchronous pass (a query sees a batch whole or
// not at all, as before). A value whose text is not of this declaration's form is decoded (and
// refused) on arrival as before; one malformed past that check fails the queries that read it.
import { randomBytes } from 'node:crypto';
import type { Consumer, Kafka } from 'kafkajs';
import { TOPICS } from './kafka';
import { createLogger, type Logger } from './logger';
import { decodeCellKey, decodePart, decodeParts, emptyParts, evaluateMeasures, mergeParts, MEASURES, parseEncodedParts, WINDOW_US, type Cell, type CellKey, type MeasuresDeclaration, type PartValue } from './measures';
import { parseChangelogKey, parseProgress, type PartitionProgress } from './speed-changelog';

export type Grain = 'minute' | 'hour';

export interface RollupQuery {
  tenant: string;
  rollup: string;
  /** Window starts in [fromUs, toUs), µs since the epoch. */
  fromUs: number;
  toUs: number;
  grain: Grain;
  /** Measures to evaluate (default: all). */
  measures?: readonly string[];
  /** Only cells at or after this cut (partition → offset; cuts are aligned to the bucket size). */
  cut?: ReadonlyMap<number, number>;
}

export interface RollupRow {
  window_start_us: number;
  dimension: string | null;
  parts: PartValue[];
  measures: Record<string, number | null>;
}

export interface SpeedReaderOptions {
  topic?: string;
  declaration?: MeasuresDeclaration;
  /** Offsets per bucket of the speed layer's cells (to apply a cut). Default 10,000. */
  offsetBucketSize?: number;
}

export interface SpeedReader {
  /** Connects and resolves once the changelog is read to its end as of the call. */
  start(): Promise<void>;
  stop(): Promise<void>;
  /** `events` partition → the speed layer's committed progress (next offset, watermark). */
  progress(): ReadonlyMap<number, PartitionProgress>;
  /** Resolves once every given partition's progress reached the offset (next offset ≥ it). */
  waitForOffsets(offsets: ReadonlyMap<number, number>, timeoutMs: number): Promise<void>;
  query(q: RollupQuery): RollupRow[];
  /**
   * Per `events` partition, the offset below which the speed layer has dropped its cells (the
   * tombstones of a published batch cut it applied). A merge must use a batch cut at least this
   * far, or the events between the two cuts would be in neither side.
   */
  droppedBelow(): ReadonlyMap<number, number>;
  cells(): IterableIterator<Cell>;
  readonly size: number;
  /** Applies one changelog record (also for tests). */
  apply(partition: number, key: string, value: string | null): void;
  /** Applies one fetched batch of changelog records, yielding to the event loop while parsing (what the consumer does; also for tests). */
  applyBatch(messages: readonly { key: Buffer | null; value: Buffer | null }[]): Promise<void>;
}

/** Longest stretch of decoding between two turns of the event loop (ms). */
const SLICE_MS = 4;
/** First bytes of the changelog keys the reader reads (core/speed-changelog.ts): a cell key is a JSON array, a progress key `p:<partition>`. */
const CELL_KEY_BYTE = 0x5b;
const PROGRESS_KEY_BYTE = 0x70;

type Decoded = { kind: 'progress'; partition: number; progress: PartitionProgress | undefined } | { kind: 'cell'; text: string; key: CellKey; value: string | null };

/** A cell as the reader keeps it: its key, its changelog value, and the parts decoded so far. */
interface StoredCell {
  key: CellKey;
  /** The changelog value (encodeParts text), until every part is decoded. */
  value: string | undefined;
  /** Decoded parts; a hole is a part not decoded yet. */
  parts: PartValue[] | undefined;
}

export function createSpeedReader(deps: { kafka?: Kafka; logger?: Logger }, opts: SpeedReaderOptions = {}): SpeedReader {
  const decl = opts.declaration ?? MEASURES;
  const B = opts.offsetBucketSize ?? 10_000;
  const topic = opts.topic ?? TOPICS.speedWindows;
  const log = deps.logger ?? createLogger('speed.reader');
  /** tenant → rollup → encoded key → cell */
  const index = new Map<string, Map<string, Map<string, StoredCell>>>();
  /** What encodeParts' text of this declaration starts with (a value that does not is decoded whole at once, which throws as before). */
  const valuePrefix = `{"v":${decl.version},"p":[`;

  /** The cell's parts with at least `needed` decoded (decoded parts are kept; the cell's text goes once all are). */
  function partsOf(c: StoredCell, needed: readonly number[]): PartValue[] {
    const parts = (c.parts ??= new Array<PartValue>(decl.parts.length));
    if (c.value === undefined) return parts;
    let raw: unknown[] | undefined;
    for (const i of needed) {
      if (parts[i] !== undefined) continue;
      if (raw === undefined) {
        // parsed again only when a query asks for parts not decoded yet (the text is one heap object; a parsed list is many)
        raw = parseEncodedParts(decl, c.value);
      }
      parts[i] = decodePart(decl, decl.parts[i], raw[i]);
    }
    if (raw !== undefined) {
      let all = true;
      for (let i = 0; i < parts.length && all; i++) all = parts[i] !== undefined;
      if (all) c.value = undefined;
    }
    return parts;
  }
  const allParts = decl.parts.map((_, i) => i);
  const progress = new Map<number, PartitionProgress>();
  const dropped = new Map<number, number>();
  const waiters = new Set<() => void>();
  let size = 0;
  let consumer: Consumer | undefined;

  /** Parses one changelog record (the costly part: JSON, sketches); undefined for records the reader skips. */
  function decode(key: string, value: string | null): Decoded | undefined {
    const rec = parseChangelogKey(key);
    if (!rec) return undefined;
    if (rec.kind === 'progress') return { kind: 'progress', partition: rec.partition, progress: value === null ? undefined : parseProgress(value) };
    if (rec.kind !== 'cell') return undefined;
    // the parts are decoded when a query reads them; a value of another form is decoded (and checked) now
    if (value !== null && !value.startsWith(valuePrefix)) decodeParts(decl, value);
    return { kind: 'cell', text: key, key: decodeCellKey(key), value };
  }

  /** Applies a decoded record to the index (cheap: map updates only). */
  function commit(d: Decoded): void {
    if (d.kind === 'progress') {
      if (d.progress) progress.set(d.partition, d.progress);
      else progress.delete(d.partition);
      for (const w of waiters) w();
      return;
    }
    const k = d.key;
    let byRollup = index.get(k.tenant_id);
    if (!byRollup) index.set(k.tenant_id, (byRollup = new Map()));
    let cells = byRollup.get(k.rollup);
    if (!cells) byRollup.set(k.rollup, (cells = new Map()));
    const had = cells.has(d.text);
    if (d.value === null) {
      // Cells are deleted only when a published cut covers their bucket (state.ts dropCovered).
      dropped.set(k.partition, Math.max(dropped.get(k.partition) ?? 0, (k.bucket + 1) * B));
      if (had) {
        cells.delete(d.text);
        size--;
      }
    } else {
      cells.set(d.text, { key: k, value: d.value, parts: undefined });
      if (!had) size++;
    }
  }

  function apply(partition: number, key: string, value: string | null): void {
    const d = decode(key, value);
    if (d) commit(d);
    void partition;
  }

  /**
   * One fetched batch: parsed in slices of at most SLICE_MS that yield to the event loop (requests
   * are answered in between), then applied in one synchronous pass, so a query sees the batch
   * whole or not at all, as before.
   */
  async function applyBatch(messages: readonly { key: Buffer | null; value: Buffer | null }[]): Promise<void> {
    const decoded: Decoded[] = [];
    let sliceStart = performance.now();
    for (const m of messages) {
      // only cells (`[…`) and progress (`p:…`) are read: sessions and processor state are skipped before any decoding
      if (m.key === null || (m.key[0] !== CELL_KEY_BYTE && m.key[0] !== PROGRESS_KEY_BYTE)) continue;
      const d = decode(m.key.toString('utf8'), m.value === null ? null : m.value.toString('utf8'));
      if (d) decoded.push(d);
      if (performance.now() - sliceStart >= SLICE_MS) {
        await new Promise<void>((resolve) => setImmediate(resolve));
        sliceStart = performance.now();
      }
    }
    for (const d of decoded) commit(d);
  }

  return {
    apply,
    applyBatch,
    get size() {
      return size;
    },
    progress: () => progress,
    droppedBelow: () => dropped,
    *cells() {
      for (const byRollup of index.values()) for (const cells of byRollup.values()) for (const c of cells.values()) yield { key: c.key, parts: partsOf(c, allParts) };
    },
    query(q) {
      const rollup = decl.rollups.find((r) => r.name === q.rollup);
      if (!rollup) throw new RangeError(`unknown rollup ${q.rollup}`);
      const grainUs = WINDOW_US[q.grain];
      if (grainUs < WINDOW_US[rollup.window]) throw new RangeError(`rollup ${q.rollup} has no ${q.grain} grain`);
      const cells = index.get(q.tenant)?.get(q.rollup);
      // only the parts the asked measures read are merged (sketch merges are the costly ones)
      const needed = partsFor(decl, q.measures ?? decl.measures.map((m) => m.name));
      const rows = new Map<string, RollupRow>();
      if (cells) {
        for (const c of cells.values()) {
          const k = c.key;
          if (k.window_start_us < q.fromUs || k.window_start_us >= q.toUs) continue;
          if (q.cut) {
            const at = q.cut.get(k.partition);
            if (at !== undefined && k.bucket * B < at) continue;
          }
          const w = Math.floor(k.window_start_us / grainUs) * grainUs;
          const rk = `${w}\u0000${k.dimension === null ? '\u0001' : k.dimension}`;
          let row = rows.get(rk);
          if (!row) rows.set(rk, (row = { window_start_us: w, dimension: k.dimension, parts: emptyParts(decl), measures: {} }));
          mergeParts(decl, row.parts, partsOf(c, needed), needed);
        }
      }
      const out = [...rows.values()].sort((a, b) => a.window_start_us - b.window_start_us || String(a.dimension).localeCompare(String(b.dimension)));
      for (const r of out) r.measures = evaluateMeasures(decl, r.parts, q.measures);
      return out;
    },
    waitForOffsets(offsets, timeoutMs) {
      const reached = () => [...offsets].every(([p, o]) => (progress.get(p)?.next_offset ?? 0) >= o);
      if (reached()) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const check = () => {
          if (reached()) {
            waiters.delete(check);
            clearTimeout(timer);
            resolve();
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`speed layer progress ${JSON.stringify(Object.fromEntries(progress))} did not reach ${JSON.stringify(Object.fromEntries(offsets))} in ${timeoutMs} ms`));
        }, timeoutMs);
        waiters.add(check);
      });
    },
    async start() {
      if (!deps.kafka) throw new Error('speed reader: no Kafka client');
      const admin = deps.kafka.admin();
      await admin.connect();
      const ends = new Map((await admin.fetchTopicOffsets(topic)).map((o) => [o.partition, Number(o.high)]));
      await admin.disconnect();
      const pending = new Set([...ends].filter(([, end]) => end > 0).map(([p]) => p));
      const c = deps.kafka.consumer({ groupId: `rtap-speed-reader-${randomBytes(6).toString('hex')}`, readUncommitted: false, maxWaitTimeInMs: 100 });
      consumer = c;
      await c.connect();
      await c.subscribe({ topic, fromBeginning: true });
      const caughtUp = new Promise<void>((resolve) => {
        const done = (p: number, last: number) => {
          if (pending.has(p) && last + 1 >= ends.get(p)!) pending.delete(p);
          if (pending.size === 0) resolve();
        };
        if (pending.size === 0) resolve();
        c.on(c.events.END_BATCH_PROCESS, (e) => done(e.payload.partition, Number(e.payload.lastOffset)));
      });
      await c.run({
        autoCommit: false,
        eachBatch: async ({ batch }) => applyBatch(batch.messages),
      });
      await caughtUp;
      log.info({ cells: size, partitions: progress.size }, 'speed reader caught up');
    },
    async stop() {
      await consumer?.disconnect();
      consumer = undefined;
    },
  };
}

/** Indexes of the parts the measures read (ratios through their numerator and denominator). */
export function partsFor(decl: MeasuresDeclaration, measures: readonly string[]): number[] {
  const out = new Set<number>();
  const visit = (name: string) => {
    const m = decl.measures.find((x) => x.name === name);
    if (!m) throw new RangeError(`unknown measure ${name}`);
    if (m.kind === 'ratio') {
      visit(m.numerator);
      visit(m.denominator);
    } else out.add(decl.parts.findIndex((p) => p.name === m.part));
  };
  measures.forEach(visit);
  return [...out].sort((a, b) => a - b);
}

