// The lake sink against the real stack: every produced event lands in the lake exactly once,
// with the Kafka coordinates Kafka reported, through a clean run and through SIGKILLs mid-flush.
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import * as path from 'node:path';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { Kafka } from 'kafkajs';
import { REPO_ROOT } from '../../core/config';
import { createKafka } from '../../core/kafka';
import { LAKE_FORMAT, highWaterCovers, highWaterKey, normalizePrefix, parseRawChunkKey, partitionRecordKey, rawChunkKey, rawRoot } from '../../core/lake';
import { encodeLakeHeader, LAKE_HEADER } from '../../core/lake-record';
import { createS3, ensureBucket } from '../../core/s3';
import { sleep, waitUntil } from '../../core/retry';
import { createLakeSink } from '../../ingest/sink';
import { cfg, freePort, uniqueName } from './helpers';
import { createTopics } from './kafka-read';
import { highWater, listKeys, readLake, type LakeRow } from './lake-read';

jest.setTimeout(240_000);

const BASE_HOUR = Date.UTC(2026, 10, 26, 9, 0, 0);

interface Produced {
  eventId: string;
  tenantId: string;
  partition: number;
  offset: number;
  eventTime: string;
  total: number;
  browser: string;
}

const browserOf = (i: number) => ['Chrome', 'Safari', 'Firefox'][i % 3];

/** A small SPEC 2.1 event; `hourOffset` spreads event times over several hours. */
function buildEvent(i: number, hourOffset: number): Record<string, unknown> {
  const ts = new Date(BASE_HOUR + hourOffset * 3_600_000 + (i % 3_000) * 1000 + 123).toISOString().replace('Z', '456Z');
  return {
    schema_version: '2.1',
    tenant_id: `tenant-${i % 7}`,
    partition_key: `tenant-${i % 7}:user-${i % 13}`,
    event_metadata: { event_id: randomUUID(), correlation_id: `s-${i % 5}`, timestamp: ts, ingestion_timestamp: ts, source_system: 'web_app' },
    event_data: {
      event_type: i % 2 === 0 ? 'transaction' : 'user_interaction',
      event_subtype: i % 2 === 0 ? 'purchase' : 'page_view',
      user_context: {
        user_id: `user-${i % 13}`,
        session_data: {
          session_id: `s-${i % 5}`,
          session_attributes: { device_fingerprint: `fp-${i % 11}`, geolocation: { country: 'DE' }, user_agent_parsed: { browser: { name: browserOf(i), version: '1' } } },
        },
      },
      business_context: {
        transaction_context: {
          cart_context: {
            cart_id: `c-${i}`,
            cart_value: { final_total: i + 0.5, currency: 'EUR' },
            payment_context: { payment_methods: [{ method_type: 'card', provider: 'visa', tokenized_identifier: `tok-${i % 9}` }] },
          },
        },
      },
    },
  };
}

/**
 * The lake record header (core/lake-record.ts) of most events, as the ingestion API writes it: the
 * sink takes their columns from it, and extracts the others' (every third event has none, every
 * seventh a malformed one, which the sink must ignore), so one flush mixes both paths.
 */
function lakeHeaders(value: string, n: number): Record<string, string> | undefined {
  if (n % 7 === 0) return { [LAKE_HEADER]: '2\u0001not\u0001a header' };
  if (n % 3 === 0) return undefined;
  let event: unknown;
  try {
    event = JSON.parse(value);
  } catch {
    return undefined;
  }
  const header = encodeLakeHeader(event);
  return header === undefined ? undefined : { [LAKE_HEADER]: header };
}

/** Produces per partition in one send each, so offsets are baseOffset + index, as Kafka reports them. */
function produce(kafka: Kafka, topic: string, partitions: number, perPartition: number, invalid: string[] = []): Promise<{ events: Produced[]; ends: Record<string, number> }> {
  return produceMore(kafka, topic, Array.from({ length: partitions }, (_, p) => p), perPartition, 0, invalid);
}

/** produce() to the given partitions, numbering events from `first` (distinct contents across calls). */
async function produceMore(
  kafka: Kafka,
  topic: string,
  partitions: number[],
  perPartition: number,
  first: number,
  invalid: string[] = [],
): Promise<{ events: Produced[]; ends: Record<string, number> }> {
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const events: Produced[] = [];
  const ends: Record<string, number> = {};
  try {
    for (const [k, p] of partitions.entries()) {
      const values: string[] = [];
      const built: Omit<Produced, 'offset'>[] = [];
      for (let i = 0; i < perPartition; i++) {
        const n = first + k * perPartition + i;
        const e = buildEvent(n, n % 3);
        const md = e.event_metadata as { event_id: string; timestamp: string };
        built.push({ eventId: md.event_id, tenantId: e.tenant_id as string, partition: p, eventTime: md.timestamp, total: n + 0.5, browser: browserOf(n) });
        values.push(JSON.stringify(e));
      }
      // invalid events go into partition 0, after the valid ones
      const extra = p === 0 ? invalid : [];
      const [meta] = await producer.send({
        topic,
        acks: -1,
        messages: [...values, ...extra].map((value, i) => ({ partition: p, key: `k${p}`, value, headers: lakeHeaders(value, first + k * perPartition + i + 1) })),
      });
      const base = Number(meta.baseOffset);
      built.forEach((b, i) => events.push({ ...b, offset: base + i }));
      ends[String(p)] = base + values.length + extra.length;
    }
  } finally {
    await producer.disconnect();
  }
  return { events, ends };
}

/** Exactly the produced events, once each, at the coordinates Kafka reported, in the right paths. */
function expectExactlyOnce(rows: LakeRow[], events: Produced[], prefix: string): void {
  expect(rows).toHaveLength(events.length);
  const byId = new Map(rows.map((r) => [r.event_id, r]));
  expect(byId.size).toBe(events.length);
  for (const e of events) {
    const r = byId.get(e.eventId);
    expect(r).toBeDefined();
    expect({ p: r!._partition, o: Number(r!._offset), t: r!.tenant_id, total: r!.final_total, time: r!.event_time, browser: r!.browser_name, format: r!._format }).toEqual({
      p: e.partition,
      o: e.offset,
      t: e.tenantId,
      total: e.total,
      time: e.eventTime,
      browser: e.browser,
      format: LAKE_FORMAT,
    });
    const ref = parseRawChunkKey(r!.filename.split(path.sep).join('/'));
    expect(ref).toBeDefined();
    expect(ref!.partition).toBe(e.partition);
    expect(ref!.dt).toBe(e.eventTime.slice(0, 10));
    expect(ref!.hour).toBe(Number(e.eventTime.slice(11, 13)));
    expect(e.offset).toBeGreaterThanOrEqual(ref!.startOffset);
    expect(e.offset).toBeLessThanOrEqual(ref!.endOffset);
  }
  expect(normalizePrefix(prefix)).not.toBe('');
}

describe('lake sink (real Kafka + MinIO)', () => {
  const kafka = createKafka(cfg.kafka, { clientId: 'rtap-test-sink' });
  const s3 = createS3(cfg.s3);

  beforeAll(async () => {
    await ensureBucket(s3, cfg.s3.bucket);
  });

  it('writes every valid event exactly once, sorted, hour-split, and rejects bad ones to the DLQ', async () => {
    const topic = uniqueName('sink-events');
    const dlqTopic = uniqueName('sink-dlq');
    const prefix = `test/${uniqueName('sink')}`;
    await createTopics(kafka, [
      { topic, numPartitions: 3 },
      { topic: dlqTopic, numPartitions: 1 },
    ]);
    const invalid = ['{not json', JSON.stringify({ event_metadata: { event_id: 'x', timestamp: '2026-11-26T10:00:00Z' } }), JSON.stringify({ tenant_id: 't', event_metadata: { event_id: 'y' } })];
    const { events, ends } = await produce(kafka, topic, 3, 400, invalid);

    const sink = createLakeSink({ kafka, s3, bucket: cfg.s3.bucket }, { topic, groupId: uniqueName('sink-group'), dlqTopic, prefix, maxRows: 250, flushIntervalMs: 1000 });
    await sink.start();
    try {
      expect(await waitUntil(async () => highWaterCovers(await highWater(s3, prefix), ends), 90_000, 500)).toBe(true);
    } finally {
      await sink.stop();
    }
    expect(sink.stats().committed).toEqual(ends);

    const { rows, keys, unsortedFiles } = await readLake(s3, prefix);
    expectExactlyOnce(rows, events, prefix);
    expect(unsortedFiles).toBe(0);
    // Three event hours per chunk: objects are split per hour, all named by the chunk's range.
    const hours = new Set(keys.map((k) => parseRawChunkKey(k)!.hour));
    expect(hours).toEqual(new Set([9, 10, 11]));

    // The DLQ holds the three bad events with their reason and source coordinates.
    const consumer = kafka.consumer({ groupId: uniqueName('dlq-reader') });
    const dlq: Record<string, string>[] = [];
    await consumer.connect();
    await consumer.subscribe({ topics: [dlqTopic], fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        dlq.push(Object.fromEntries(Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(v)])));
      },
    });
    await waitUntil(async () => dlq.length >= 3, 30_000, 200);
    await consumer.disconnect();
    const firstBad = ends['0'] - invalid.length;
    expect(dlq.map((h) => [h['x-rtap-reason'], h['x-rtap-source-partition'], h['x-rtap-source-offset']])).toEqual([
      ['invalid_json', '0', String(firstBad)],
      ['missing_tenant_id', '0', String(firstBad + 1)],
      ['missing_timestamp', '0', String(firstBad + 2)],
    ]);
  });

  it('a flush whose uploads fail while the next one is flattened: the next is dropped, both re-planned, every event exactly once', async () => {
    const topic = uniqueName('sink-fail');
    const prefix = `test/${uniqueName('sink-fail')}`;
    await createTopics(kafka, [{ topic, numPartitions: 3 }]);
    // Raw-object uploads hang until the gate opens, then fail (every retry) until one flush has
    // failed: the first flush is stuck in its uploads while the sink buffers and flattens the next.
    let firstUpload!: () => void;
    const uploadSeen = new Promise<void>((resolve) => (firstUpload = resolve));
    let openGate!: () => void;
    const gate = new Promise<void>((resolve) => (openGate = resolve));
    let injected = 0;
    const flakyS3 = Object.create(s3) as S3Client;
    flakyS3.send = (async (command: unknown) => {
      if (command instanceof PutObjectCommand && String(command.input.Key).includes('/raw/') && sink.stats().failed === 0) {
        firstUpload();
        await gate;
        injected += 1;
        throw Object.assign(new Error('injected upload failure'), { retriable: true });
      }
      return s3.send(command as PutObjectCommand);
    }) as S3Client['send'];
    const sink = createLakeSink({ kafka, s3: flakyS3, bucket: cfg.s3.bucket }, { topic, groupId: uniqueName('sink-fail-group'), dlqTopic: uniqueName('unused-dlq'), prefix, maxRows: 250, flushIntervalMs: 1000 });

    // First only partition 0's events, so the first flush holds them alone; the rest arrive while it hangs.
    const first = await produce(kafka, topic, 1, 400);
    await sink.start();
    try {
      await uploadSeen;
      const rest = await produceMore(kafka, topic, [1, 2], 400, first.events.length);
      await sleep(8000); // the sink fetches and flattens the rest (well under a second on an idle box)
      openGate();
      const ends = { ...first.ends, ...rest.ends };
      expect(await waitUntil(async () => highWaterCovers(await highWater(s3, prefix), ends), 120_000, 500)).toBe(true);
      expect(sink.stats().committed).toEqual(ends);
      expect(injected).toBeGreaterThanOrEqual(6); // retried, then failed
      expect(sink.stats().failed).toBeGreaterThanOrEqual(1);
      expect(sink.stats().discarded).toBeGreaterThanOrEqual(1);
      const { rows } = await readLake(s3, prefix);
      expectExactlyOnce(rows, [...first.events, ...rest.events], prefix);
    } finally {
      openGate();
      await sink.stop();
    }
  });

  it('a high-water update lost to a concurrent writer (an older mark written over it) is published again by the sink that committed it', async () => {
    const topic = uniqueName('sink-hw');
    const prefix = `test/${uniqueName('sink-hw')}`;
    await createTopics(kafka, [{ topic, numPartitions: 2 }]);
    const { ends } = await produce(kafka, topic, 2, 200);
    const sink = createLakeSink({ kafka, s3, bucket: cfg.s3.bucket }, { topic, groupId: uniqueName('sink-hw-group'), dlqTopic: uniqueName('unused-dlq'), prefix, maxRows: 100, flushIntervalMs: 500 });
    await sink.start();
    try {
      expect(await waitUntil(async () => highWaterCovers(await highWater(s3, prefix), ends), 60_000, 200)).toBe(true);
      // Another sink's read-merge-write, based on an older read, lands last: partition 1 goes back.
      const older = { format: 1, topic, updated_at: new Date().toISOString(), partitions: { '0': ends['0'], '1': 100 } };
      await s3.send(new PutObjectCommand({ Bucket: cfg.s3.bucket, Key: highWaterKey(prefix), Body: JSON.stringify(older), ContentType: 'application/json' }));
      expect(await highWater(s3, prefix)).toEqual({ '0': ends['0'], '1': 100 });
      // No more events arrive, so no flush would publish partition 1 again: the repair does.
      expect(await waitUntil(async () => highWaterCovers(await highWater(s3, prefix), ends), 30_000, 200)).toBe(true);
      expect(await highWater(s3, prefix)).toEqual(ends);
    } finally {
      await sink.stop();
    }
  });

  it('a partition record changed by another writer (an old owner\'s late pending chunk): the sink reads it again, replays that chunk\'s boundaries and deletes its orphan', async () => {
    const topic = uniqueName('sink-cas');
    const prefix = `test/${uniqueName('sink-cas')}`;
    await createTopics(kafka, [{ topic, numPartitions: 2 }]);
    const first = await produce(kafka, topic, 2, 150);
    const sink = createLakeSink({ kafka, s3, bucket: cfg.s3.bucket }, { topic, groupId: uniqueName('sink-cas-group'), dlqTopic: uniqueName('unused-dlq'), prefix, maxRows: 1000, flushIntervalMs: 500 });
    await sink.start();
    try {
      expect(await waitUntil(async () => highWaterCovers(await highWater(s3, prefix), first.ends), 60_000, 200)).toBe(true);
      // Another writer (an old owner of partition 1, late) records a pending chunk from the sink's
      // next offset, with an object of its own under a name the sink will not write.
      const c = first.ends['1'];
      const orphan = rawChunkKey(prefix, { dt: '2026-11-20', hour: 23, partition: 1, startOffset: c, endOffset: c + 49 });
      await s3.send(new PutObjectCommand({ Bucket: cfg.s3.bucket, Key: orphan, Body: 'not a parquet file' }));
      const record = { format: 1, topic, partition: 1, next_offset: c, pending: { start: c, end: c + 49, keys: [orphan] }, updated_at: new Date().toISOString() };
      await s3.send(new PutObjectCommand({ Bucket: cfg.s3.bucket, Key: partitionRecordKey(prefix, 1), Body: JSON.stringify(record), ContentType: 'application/json' }));
      const more = await produceMore(kafka, topic, [1], 120, first.events.length);
      const ends = { ...first.ends, ...more.ends };
      expect(await waitUntil(async () => highWaterCovers(await highWater(s3, prefix), ends), 60_000, 200)).toBe(true);
      expect(sink.stats().recordConflicts).toBeGreaterThanOrEqual(1);
      const { rows, keys } = await readLake(s3, prefix);
      expectExactlyOnce(rows, [...first.events, ...more.events], prefix);
      expect(keys).not.toContain(orphan);
      // The first chunk after the conflict has the other writer's boundaries.
      const chunks = new Set(keys.map((k) => parseRawChunkKey(k)!).filter((r) => r.partition === 1 && r.startOffset >= c).map((r) => `${r.startOffset}-${r.endOffset}`));
      expect([...chunks].sort()).toEqual([`${c}-${c + 49}`, `${c + 50}-${c + 119}`].sort());
    } finally {
      await sink.stop();
    }
  });

  it('two sinks in one group, one joining and one leaving mid-stream (rebalances while flushes are in flight): every event exactly once', async () => {
    const topic = uniqueName('sink-rebalance');
    const group = uniqueName('sink-rebalance-group');
    const prefix = `test/${uniqueName('sink-rebalance')}`;
    const partitions = [0, 1, 2, 3];
    await createTopics(kafka, [{ topic, numPartitions: partitions.length }]);
    const opts = { topic, groupId: group, dlqTopic: uniqueName('unused-dlq'), prefix, maxRows: 120, flushIntervalMs: 500, sessionTimeoutMs: 10_000 };
    const events: Produced[] = [];
    let ends: Record<string, number> = {};
    const wave = async (perPartition: number) => {
      const out = await produceMore(kafka, topic, partitions, perPartition, events.length);
      events.push(...out.events);
      ends = { ...ends, ...out.ends };
    };
    const covered = () => waitUntil(async () => highWaterCovers(await highWater(s3, prefix), ends), 120_000, 300);

    const first = createLakeSink({ kafka, s3, bucket: cfg.s3.bucket }, opts);
    const second = createLakeSink({ kafka, s3, bucket: cfg.s3.bucket }, opts);
    await wave(300);
    await first.start();
    try {
      expect(await waitUntil(async () => first.stats().flushes >= 1, 60_000, 100)).toBe(true);
      // The second joins while the first is busy with many small flushes of the events arriving meanwhile.
      await Promise.all([second.start(), wave(1500)]);
      await wave(300);
      expect(await covered()).toBe(true);
      expect(second.stats().flushes).toBeGreaterThanOrEqual(1); // it got partitions
      // The first leaves (graceful stop): the second takes every partition over.
      await first.stop();
      await wave(300);
      expect(await covered()).toBe(true);
    } finally {
      await first.stop();
      await second.stop();
    }
    const { rows } = await readLake(s3, prefix);
    expectExactlyOnce(rows, events, prefix);
    const admin = kafka.admin();
    await admin.connect();
    const [committed] = await admin.fetchOffsets({ groupId: group, topics: [topic] });
    await admin.disconnect();
    expect(Object.fromEntries(committed.partitions.map((p) => [String(p.partition), Number(p.offset)]))).toEqual(ends);
  });

  it('kill -9 mid-flush and restart: every event exactly once, crashed chunks rewritten under the same names', async () => {
    const topic = uniqueName('sink-crash');
    const group = uniqueName('sink-crash-group');
    const prefix = `test/${uniqueName('sink-crash')}`;
    await createTopics(kafka, [{ topic, numPartitions: 2 }]);
    const { events, ends } = await produce(kafka, topic, 2, 500);

    const metricsPort = await freePort();
    let metricsText = '';
    const runSink = (crashAfterUploads?: number) =>
      new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string }>((resolve, reject) => {
        // /metrics only on the clean run, on a port of its own
        const env = { ...process.env, LOG_LEVEL: 'info', SINK_METRICS_PORT: crashAfterUploads ? '0' : String(metricsPort) } as NodeJS.ProcessEnv;
        if (crashAfterUploads) env.RTAP_SINK_CRASH_AFTER_UPLOADS = String(crashAfterUploads);
        else delete env.RTAP_SINK_CRASH_AFTER_UPLOADS;
        const child = spawn(
          process.execPath,
          [path.join(REPO_ROOT, 'bin', 'rtap'), 'sink', '--topic', topic, '--group', group, '--prefix', prefix, '--dlq-topic', uniqueName('unused-dlq'), '--max-rows', '150', '--flush-ms', '500', '--session-timeout', '6000'],
          { env, stdio: ['ignore', 'pipe', 'inherit'] },
        );
        let stdout = '';
        child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
        child.on('error', reject);
        child.on('exit', (code, signal) => resolve({ code, signal, stdout }));
        if (!crashAfterUploads) {
          // Clean run: stop it gracefully once the high-water mark covers everything.
          void waitUntil(async () => highWaterCovers(await highWater(s3, prefix), ends), 120_000, 500)
            .then(async () => (metricsText = await fetch(`http://127.0.0.1:${metricsPort}/metrics`).then((r) => r.text())))
            .finally(() => child.kill('SIGTERM'));
        }
      });

    const admin = kafka.admin();
    await admin.connect();
    const committed = async () => {
      const [t] = await admin.fetchOffsets({ groupId: group, topics: [topic] });
      return Object.fromEntries(t.partitions.map((p) => [String(p.partition), Number(p.offset)]));
    };
    try {
      const first = await runSink(3);
      expect(first.signal).toBe('SIGKILL');
      const afterFirst = await listKeys(s3, rawRoot(prefix));
      expect(afterFirst.length).toBeGreaterThanOrEqual(3);
      const committedAfterFirst = await committed();
      expect(Object.entries(ends).some(([p, end]) => (committedAfterFirst[p] ?? -1) < end)).toBe(true);

      const second = await runSink(5);
      expect(second.signal).toBe('SIGKILL');
      const afterSecond = await listKeys(s3, rawRoot(prefix));
      // The restart found the crashed chunk's pending record and replayed its exact range.
      expect(second.stdout).toContain('replaying an uncommitted chunk');

      const last = await runSink();
      expect({ code: last.code, signal: last.signal }).toEqual({ code: 0, signal: null });
      // its /metrics, scraped once the lake held everything: the rows this run wrote (at least the
      // chunk it replayed) and the process's own metrics
      const rowsWritten = Number(/^rtap_sink_rows_written_total (\d+)/m.exec(metricsText)?.[1]);
      expect(rowsWritten).toBeGreaterThan(0);
      expect(rowsWritten).toBeLessThanOrEqual(events.length);
      expect(metricsText).toMatch(/^rtap_process_cpu_seconds_total /m);
      expect(last.stdout).toContain('replaying an uncommitted chunk');
      expect(`${second.stdout}${last.stdout}`).not.toContain('deleting objects of an uncommitted chunk');
      expect(await committed()).toEqual(ends);

      const { rows, keys } = await readLake(s3, prefix);
      expectExactlyOnce(rows, events, prefix);
      // Objects written before each crash were rewritten under the identical names.
      for (const k of [...afterFirst, ...afterSecond]) expect(keys).toContain(k);
      expect(await highWater(s3, prefix)).toEqual(ends);
    } finally {
      await admin.disconnect();
    }
  });
});
