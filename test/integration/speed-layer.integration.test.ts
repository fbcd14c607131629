// The speed layer on the real stack, exactly once through crashes: generator traffic (late
// events, duplicates, defects) on a fresh topic; the speed layer runs as a child process
// (`rtap speed`), is SIGKILLed mid-stream from outside, then SIGKILLs itself inside a transaction
// (between producing the changelog and committing), then runs as two instances sharing the
// partitions while more traffic arrives, the second with two stream threads (`SPEED_THREADS=2`). Every rollup cell materialized by the speed reader from
// the committed changelog must equal DuckDB over the same raw events up to the processed offsets
// (the lake sink's own flatten + core/measures' derived SQL): counts, min, max exact, sums to
// 1e-9, sketch registers and digest buckets identical.
import type { ChildProcess } from 'node:child_process';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { openDuckDb } from '../../core/duckdb';
import { createKafka, IDEMPOTENT_RETRY } from '../../core/kafka';
import { rawEventsRelation } from '../../core/lake';
import { canonicalParts, cellFromSqlRow, encodeCellKey, measuresSql, MEASURES, type Cell } from '../../core/measures';
import { waitUntil } from '../../core/retry';
import { createSpeedReader } from '../../core/speed-reader';
import { EventGenerator } from '../../generator/generator';
import { encodeInputLine, flattenToParquet, prepareConnection, writeInputFile } from '../../ingest/flatten';
import { cfg, produceWithResends, spawnSpeed, uniqueName } from './helpers';
import { createTopics, readTopic } from './kafka-read';

jest.setTimeout(300_000);

const PARTITIONS = 4;
const B = 500;

describe('speed layer: exactly once through SIGKILLs and a second instance', () => {
  const kafka = createKafka(cfg.kafka, { clientId: uniqueName('speed-it') });
  const topic = uniqueName('speed-events');
  const changelog = uniqueName('speed-windows');
  const results = uniqueName('speed-results');
  // the layer scores fraud too: its anomalies and the rules it follows stay on this test's own topics
  const anomalies = uniqueName('speed-anomalies');
  const control = uniqueName('speed-control');
  const group = uniqueName('speed-group');
  const prefix = `${uniqueName('speed-it')}/`;
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, retry: IDEMPOTENT_RETRY });
  const gen = new EventGenerator({ seed: 21, tenants: 6, users: 400, rate: 15, lateRate: 0.05, defectRate: 0.05, fraudRate: 0.01 });
  const sent: { key: string; value: string }[] = [];
  let produced = 0;
  const children = new Set<ChildProcess>();

  beforeAll(async () => {
    await createTopics(kafka, [
      { topic, numPartitions: PARTITIONS },
      { topic: changelog, numPartitions: PARTITIONS, configEntries: [{ name: 'cleanup.policy', value: 'compact' }] },
      { topic: results, numPartitions: PARTITIONS },
      { topic: anomalies, numPartitions: 1 },
      { topic: control, numPartitions: 1, configEntries: [{ name: 'cleanup.policy', value: 'compact' }] },
    ]);
    await producer.connect();
  });
  afterAll(async () => {
    for (const c of children) c.kill('SIGKILL');
    await producer.disconnect();
  });

  async function produce(n: number): Promise<void> {
    // re-sends some way behind their original (client retries), beyond the generator's adjacent duplicates
    produced += await produceWithResends(producer, topic, gen, n, sent, { every: 97, behind: 40 });
  }

  function speed(instance: string, env: Record<string, string> = {}): { child: ChildProcess; exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>; out: () => string } {
    const child = spawnSpeed(children, {
      topics: { events: topic, changelog, results, anomalies, control },
      group,
      instance,
      prefix,
      offsetBucketSize: B,
      env: { LOG_LEVEL: 'info', SPEED_ALLOWED_LATENESS_MS: '20000', SPEED_SESSION_GAP_MS: '60000', ...env },
      stdio: 'pipe',
    });
    let out = '';
    child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
    const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.on('exit', (code, signal) => {
        children.delete(child);
        // SPEED_IT_LOG_DIR=dir keeps each child's log for diagnosis
        if (process.env.SPEED_IT_LOG_DIR) void fs.writeFile(path.join(process.env.SPEED_IT_LOG_DIR, `${instance}-${Date.now()}.log`), out);
        resolve({ code, signal });
      }),
    );
    return { child, exit, out: () => out };
  }

  async function ends(): Promise<Map<number, number>> {
    const admin = kafka.admin();
    await admin.connect();
    try {
      return new Map((await admin.fetchTopicOffsets(topic)).map((o) => [o.partition, Number(o.high)]));
    } finally {
      await admin.disconnect();
    }
  }

  const step = (what: string) => process.stderr.write(`[speed-it ${new Date().toISOString()}] ${what}\n`);

  it('every rollup cell equals DuckDB over the raw events up to the processed offsets', async () => {
    await produce(3000);

    step('phase 1: run, then SIGKILL from outside');
    // 1. killed from outside mid-stream
    const a1 = speed('a');
    expect(await waitUntil(async () => /"changelogRecords"/.test(a1.out()) && /restored state/.test(a1.out()), 60_000, 100)).toBe(true);
    await new Promise((r) => setTimeout(r, 1500));
    a1.child.kill('SIGKILL');
    expect((await a1.exit).signal).toBe('SIGKILL');
    await produce(2500);

    step('phase 2: SIGKILL inside a transaction');
    // 2. kills itself inside its 4th transaction, after producing changelog records, before the commit
    const a2 = speed('a', { RTAP_SPEED_CRASH_IN_TX: '4' });
    const second = await a2.exit;
    expect(second.signal).toBe('SIGKILL');
    expect(a2.out()).toContain('fault injection');
    await produce(2500);

    step('phase 3: two instances, the second with two stream threads');
    // 3. two instances share the partitions while more traffic arrives; b runs two stream threads
    const a3 = speed('a');
    const b = speed('b', { SPEED_THREADS: '2' });
    await new Promise((r) => setTimeout(r, 3000));
    await produce(2500);
    const target = await ends();
    const total = [...target.values()].reduce((x, y) => x + y, 0);
    expect(total).toBe(produced);

    step('reader: catch up');
    const reader = createSpeedReader({ kafka }, { topic: changelog, offsetBucketSize: B });
    await reader.start();
    try {
      step('reader: wait for the processed offsets');
    await reader.waitForOffsets(target, 180_000);
      a3.child.kill('SIGTERM');
      b.child.kill('SIGTERM');
      expect(await a3.exit).toEqual({ code: 0, signal: null });
      expect(await b.exit).toEqual({ code: 0, signal: null });
      // both instances got partitions, and each of b's threads (its own client id) did
      expect(a3.out()).toMatch(/"assignment":\[\d/);
      expect(b.out()).toMatch(/"stream threads started"/);
      const assignments = (instance: string) => b.out().split('\n').filter((l) => l.includes(`"instance":"${instance}"`) && /"assignment":\[\d/.test(l)).length;
      expect(assignments('b-t0')).toBeGreaterThan(0);
      expect(assignments('b-t1')).toBeGreaterThan(0);

      // the oracle: the raw events up to the processed offsets, through the sink's flatten and the derived SQL
      step('oracle: DuckDB over the raw events');
    const raw = await readTopic(kafka, topic, total);
      const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'rtap-speed-it-'));
      const db = await openDuckDb({ threads: 2, memoryLimit: '1GB' });
      let batch: Map<string, Cell>;
      try {
        await prepareConnection(db.connection);
        const lines = raw.map((m) => encodeInputLine({ partition: m.partition, offset: Number(m.offset), timestampMs: 0, value: Buffer.from(m.value) }));
        const input = path.join(dir, 'in.txt');
        await writeInputFile(input, lines.map((l) => ('line' in l ? l.line : '')));
        const flat = await flattenToParquet(db.connection, input, dir);
        const sql = measuresSql(MEASURES, { source: rawEventsRelation(flat.objects.map((o) => o.file), { hivePartitioning: false }), offsetBucketSize: B });
        const rows = (await db.connection.runAndReadAll(sql)).getRowObjectsJson();
        batch = new Map(rows.map((r) => cellFromSqlRow(MEASURES, r)).map((c) => [encodeCellKey(c.key), c]));
      } finally {
        db.connection.closeSync();
        db.instance.closeSync();
        await fs.rm(dir, { recursive: true, force: true });
      }
      step('compare every cell');
    const live = new Map([...reader.cells()].map((c) => [encodeCellKey(c.key), c]));
      expect(live.size).toBeGreaterThan(500);
      expect([...live.keys()].sort()).toEqual([...batch.keys()].sort());
      const diffs: string[] = [];
      for (const [k, c] of live) {
        const x = canonicalParts(MEASURES, c.parts);
        const y = canonicalParts(MEASURES, batch.get(k)!.parts);
        for (const p of MEASURES.parts) {
          const a = x[p.name];
          const v = y[p.name];
          const same = p.kind === 'sum' ? Math.abs((a as number) - (v as number)) <= 1e-9 * Math.max(1, Math.abs(a as number)) : JSON.stringify(a) === JSON.stringify(v);
          if (!same) diffs.push(`${k} ${p.name}: speed ${JSON.stringify(a)} duckdb ${JSON.stringify(v)}`);
        }
      }
      expect(diffs.slice(0, 10)).toEqual([]);

      // queries answered in memory: a tenant's whole history (~10 min of event time) by country
      const tenant = [...live.values()][0].key.tenant_id;
      const median = (measures?: string[]) => {
        const times: number[] = [];
        for (let i = 0; i < 30; i++) {
          const t = process.hrtime.bigint();
          const rowsOut = reader.query({ tenant, rollup: 'country_1m', fromUs: 0, toUs: Number.MAX_SAFE_INTEGER, grain: 'minute', measures });
          times.push(Number(process.hrtime.bigint() - t) / 1e6);
          expect(rowsOut.length).toBeGreaterThan(0);
        }
        return times.sort((x, y) => x - y)[15];
      };
      const additive = median(['events', 'orders', 'revenue', 'average_order_value', 'refund_amount', 'page_load_p95']);
      const all = median();
      step(`query medians: additive measures ${additive.toFixed(2)} ms, all measures (with distinct counts) ${all.toFixed(2)} ms`);
      expect(additive).toBeLessThan(10);

      // window results were emitted, in the same transactions
      step('window results');
    const emitted = await readTopic(kafka, results, 1, { settleMs: 2000, timeoutMs: 20_000 });
      const types = new Set(emitted.map((m) => (JSON.parse(m.value) as { type: string }).type));
      expect([...types].sort()).toEqual(expect.arrayContaining(['sliding_5m', 'tumbling_1m']));
    } finally {
      await reader.stop();
    }
  });
});
