// The serving side of the speed layer: materializes the committed changelog `speed-windows`
// (read_committed, every partition) in memory, knows how far each partition of `events` has
// been processed (its progress records), and answers rollup queries from the cells with
// core/measures — merging parts over partitions, offset buckets and minutes, then evaluating
// measures. With `cut` it reads only the offset buckets at or after a published batch cut, the
// speed half of the exact merge (DESIGN: the offset cut).
import { randomBytes } from 'node:crypto';
import type { Consumer, Kafka } from 'kafkajs';
import { TOPICS } from './kafka';
import { createLogger, type Logger } from './logger';
import { decodeCellKey, decodeParts, emptyParts, evaluateMeasures, mergeParts, MEASURES, WINDOW_US, type Cell, type MeasuresDeclaration, type PartValue } from './measures';
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
  /** Applies one changelog record (what the consumer does per message; also for tests). */
  apply(partition: number, key: string, value: string | null): void;
}

export function createSpeedReader(deps: { kafka?: Kafka; logger?: Logger }, opts: SpeedReaderOptions = {}): SpeedReader {
  const decl = opts.declaration ?? MEASURES;
  const B = opts.offsetBucketSize ?? 10_000;
  const topic = opts.topic ?? TOPICS.speedWindows;
  const log = deps.logger ?? createLogger('speed.reader');
  /** tenant → rollup → encoded key → cell */
  const index = new Map<string, Map<string, Map<string, Cell>>>();
  const progress = new Map<number, PartitionProgress>();
  const dropped = new Map<number, number>();
  const waiters = new Set<() => void>();
  let size = 0;
  let consumer: Consumer | undefined;

  function apply(partition: number, key: string, value: string | null): void {
    const rec = parseChangelogKey(key);
    if (!rec) return;
    if (rec.kind === 'progress') {
      const p = value === null ? undefined : parseProgress(value);
      if (p) progress.set(rec.partition, p);
      else progress.delete(rec.partition);
      for (const w of waiters) w();
      return;
    }
    if (rec.kind !== 'cell') return;
    const k = decodeCellKey(key);
    let byRollup = index.get(k.tenant_id);
    if (!byRollup) index.set(k.tenant_id, (byRollup = new Map()));
    let cells = byRollup.get(k.rollup);
    if (!cells) byRollup.set(k.rollup, (cells = new Map()));
    const had = cells.has(key);
    if (value === null) {
      // Cells are deleted only when a published cut covers their bucket (state.ts dropCovered).
      dropped.set(k.partition, Math.max(dropped.get(k.partition) ?? 0, (k.bucket + 1) * B));
      if (had) {
        cells.delete(key);
        size--;
      }
    } else {
      cells.set(key, { key: k, parts: decodeParts(decl, value) });
      if (!had) size++;
    }
    void partition;
  }

  return {
    apply,
    get size() {
      return size;
    },
    progress: () => progress,
    droppedBelow: () => dropped,
    *cells() {
      for (const byRollup of index.values()) for (const cells of byRollup.values()) yield* cells.values();
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
          mergeParts(decl, row.parts, c.parts, needed);
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
        eachBatch: async ({ batch }) => {
          for (const m of batch.messages) if (m.key !== null) apply(batch.partition, m.key.toString('utf8'), m.value === null ? null : m.value.toString('utf8'));
        },
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

