// Lays raw chunks down in the lake directly, bypassing Kafka: each event goes to the partition
// the API's key would hash to, at consecutive offsets, through the sink's own flatten SQL, object
// names and manifests. For tests and batch benchmarks that need millions of events in the lake
// without a broker and a sink in the loop. Memory stays bounded: events are buffered only up to
// one flush (maxRows / maxBytes), as the sink does.
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import type { DuckDBConnection } from '@duckdb/node-api';
import type { PartitionMetadata } from 'kafkajs';
import { s3Url } from '../core/duckdb';
import { kafkaKeyOf } from '../core/ingest-step';
import { TOPICS } from '../core/kafka';
import { JavaCompatiblePartitioner } from '../core/kafka-partitioner';
import { rawChunkKey } from '../core/lake';
import { tokenizeEvent, type PiiKeyring } from '../core/pii';
import type { RtapEvent } from '../core/schema/types';
import type { EventGenerator } from '../generator/generator';
import { encodeInputLine, flattenToParquet, prepareConnection, writeInputFile } from './flatten';
import { createManifestStore, readHighWaterMarks } from './manifests';

/** One event as it would sit in the `events` topic. */
export interface LayDownMessage {
  /** The event's JSON text (what the API produces as the Kafka value). */
  value: string;
  /**
   * The Kafka key. When absent it is the API's key of the parsed event (core/ingest-step
   * kafkaKeyOf); a value that is not an event object is keyed by its own text.
   */
  key?: string;
  /** Kafka record timestamp, epoch ms (becomes `_ingested_at`); default: the run's `timestampMs`. */
  timestampMs?: number;
}

export interface LayDownDeps {
  s3: S3Client;
  bucket: string;
  /** A DuckDB connection that can write s3:// (core/duckdb openLakeDuckDb). */
  duckdb: DuckDBConnection;
}

export interface LayDownOptions {
  /** Lake root prefix inside the bucket. */
  prefix: string;
  /** Partitions of the topic the keys are hashed over. */
  partitions: number;
  /** Topic named in the manifests (default `events`). */
  topic?: string;
  /** Flush when this many events are buffered over all partitions (the sink's --max-rows). */
  maxRows?: number;
  /** …or this many bytes of event JSON. */
  maxBytes?: number;
  /** First offset per partition (string keys); default: the published high-water mark, so runs append. */
  startOffsets?: Record<string, number>;
  /**
   * Publish each flush's end as durable (partition records + high-water mark), as the sink does
   * after its commit. false leaves the chunks above the mark: uncommitted, pending writes.
   */
  commit?: boolean;
  /** Default Kafka timestamp of the messages (epoch ms); default: when the run started. */
  timestampMs?: number;
  /** Called after each flush. */
  onFlush?: (progress: LayDownResult) => void;
}

export interface LayDownResult {
  /** Messages laid down (each took one offset). */
  events: number;
  /** Rows in the lake (events minus rejects). */
  rows: number;
  /** Events the sink would have sent to the DLQ; their offsets are consumed all the same. */
  rejected: number;
  /** Chunks (one per partition per flush) and the objects they became (one per chunk and event hour). */
  chunks: number;
  objects: number;
  flushes: number;
  /** Per partition: first offset laid down and the next offset after the last. */
  offsets: Record<string, { start: number; next: number }>;
  ms: number;
}

/** The partition kafkajs (and Java) producers pick for a key on a topic of `partitions` partitions. */
export function keyPartitioner(partitions: number, topic: string = TOPICS.events): (key: string) => number {
  if (!Number.isInteger(partitions) || partitions < 1) throw new RangeError(`partitions must be a positive integer, got ${partitions}`);
  const partitionMetadata: PartitionMetadata[] = Array.from({ length: partitions }, (_, i) => ({ partitionId: i, leader: 0, partitionErrorCode: 0, replicas: [0], isr: [0] }));
  const pick = JavaCompatiblePartitioner();
  return (key) => pick({ topic, partitionMetadata, message: { key, value: null } });
}

/** The key the API would give a message: kafkaKeyOf of the event, or its own text when it is none. */
export function keyOfValue(value: string): string {
  try {
    const event = JSON.parse(value) as RtapEvent;
    if (event?.event_data?.user_context?.session_data) return kafkaKeyOf(event);
  } catch {
    // not JSON: keyed by its text like any other unkeyable value
  }
  return value;
}

/**
 * `count` events of a generator as the API would produce them: tokenized with `keyring` when
 * given, keyed with kafkaKeyOf, timestamped with the generator's simulated ingestion clock.
 */
export function* generatedMessages(gen: EventGenerator, count: number, keyring?: PiiKeyring): Generator<LayDownMessage> {
  for (let i = 0; i < count; i++) {
    const g = gen.next();
    const event = keyring ? tokenizeEvent(g.event, keyring) : g.event;
    yield { value: JSON.stringify(event), key: kafkaKeyOf(event), timestampMs: Math.floor(gen.clockUs / 1000) };
  }
}

interface PartitionBuffer {
  lines: string[];
  /** Messages buffered, rejects included: each took an offset. */
  count: number;
  rejected: number;
}

export async function layDown(
  deps: LayDownDeps,
  messages: Iterable<LayDownMessage> | AsyncIterable<LayDownMessage>,
  options: LayDownOptions,
): Promise<LayDownResult> {
  const started = Date.now();
  const o = { topic: TOPICS.events, maxRows: 50_000, maxBytes: 64 * 1024 * 1024, commit: true, timestampMs: started, ...options };
  const partitionOf = keyPartitioner(o.partitions, o.topic);
  const store = createManifestStore(deps.s3, deps.bucket, o.prefix, o.topic);
  const first = o.startOffsets ?? (await readHighWaterMarks(deps.s3, deps.bucket, o.prefix));
  const next = Array.from({ length: o.partitions }, (_, p) => first[String(p)] ?? 0);
  const result: LayDownResult = {
    events: 0,
    rows: 0,
    rejected: 0,
    chunks: 0,
    objects: 0,
    flushes: 0,
    offsets: Object.fromEntries(next.map((offset, p) => [String(p), { start: offset, next: offset }])),
    ms: 0,
  };
  const buffers: PartitionBuffer[] = next.map(() => ({ lines: [], count: 0, rejected: 0 }));
  let bufferedRows = 0;
  let bufferedBytes = 0;
  await prepareConnection(deps.duckdb);
  const tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'rtap-lay-down-'));

  const flush = async () => {
    const ranges = new Map<number, { start: number; end: number }>();
    const lines: string[] = [];
    buffers.forEach((b, p) => {
      if (b.count === 0) return;
      ranges.set(p, { start: next[p], end: next[p] + b.count - 1 });
      for (const line of b.lines) lines.push(line);
    });
    if (ranges.size === 0) return;
    const input = path.join(tmp, 'input.txt');
    await writeInputFile(input, lines);
    const flat = await flattenToParquet(deps.duckdb, input, (g) => {
      const r = ranges.get(g.partition)!;
      return s3Url(deps.bucket, rawChunkKey(o.prefix, { dt: g.dt, hour: g.hour, partition: g.partition, startOffset: r.start, endOffset: r.end }));
    });
    if (o.commit) {
      await Promise.all([...ranges].map(([p, r]) => store.writePartitionRecord(p, r.end + 1, null)));
      await store.publishHighWater(Object.fromEntries([...ranges].map(([p, r]) => [String(p), r.end + 1])));
    }
    for (const [p, r] of ranges) {
      const b = buffers[p];
      result.events += b.count;
      result.rejected += b.rejected + flat.rejects.filter((x) => x.partition === p).length;
      next[p] = r.end + 1;
      result.offsets[String(p)].next = next[p];
      buffers[p] = { lines: [], count: 0, rejected: 0 };
    }
    result.rows += flat.rows;
    result.chunks += ranges.size;
    result.objects += flat.objects.length;
    result.flushes += 1;
    bufferedRows = 0;
    bufferedBytes = 0;
    o.onFlush?.({ ...result, ms: Date.now() - started });
  };

  try {
    for await (const m of messages) {
      const p = partitionOf(m.key ?? keyOfValue(m.value));
      const b = buffers[p];
      const value = Buffer.from(m.value);
      const framed = encodeInputLine({ partition: p, offset: next[p] + b.count, timestampMs: m.timestampMs ?? o.timestampMs, value });
      b.count += 1;
      if ('line' in framed) b.lines.push(framed.line);
      else b.rejected += 1;
      bufferedRows += 1;
      bufferedBytes += value.length;
      if (bufferedRows >= o.maxRows || bufferedBytes >= o.maxBytes) await flush();
    }
    await flush();
  } finally {
    await fs.rm(tmp, { recursive: true, force: true });
  }
  result.ms = Date.now() - started;
  return result;
}
