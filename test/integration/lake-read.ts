// Reads the lake back for assertions: lists objects under a prefix, downloads every raw chunk
// and reads them all with DuckDB through core/lake's rawEventsRelation, as every reader should:
// objects of any lake format side by side, columns of the current format.
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { openDuckDb } from '../../core/duckdb';
import { rawEventsRelation, rawRoot } from '../../core/lake';
import type { Kafka } from 'kafkajs';
import { highWaterCovers } from '../../core/lake';
import { waitUntil } from '../../core/retry';
import { readHighWaterMarks } from '../../ingest/manifests';
import { createLakeSink } from '../../ingest/sink';
import { cfg, uniqueName } from './helpers';

export async function listKeys(s3: S3Client, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const out = await s3.send(new ListObjectsV2Command({ Bucket: cfg.s3.bucket, Prefix: prefix, ContinuationToken: token }));
    for (const o of out.Contents ?? []) if (o.Key) keys.push(o.Key);
    token = out.NextContinuationToken;
  } while (token);
  return keys.sort();
}

export async function highWater(s3: S3Client, prefix: string): Promise<Record<string, number>> {
  return readHighWaterMarks(s3, cfg.s3.bucket, prefix);
}

/** Each partition's end offset of a topic: `{ partition: next offset }`. */
export async function topicEnds(kafka: Kafka, topic: string): Promise<Record<string, number>> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return Object.fromEntries((await admin.fetchTopicOffsets(topic)).map((p) => [p.partition, Number(p.high)]));
  } finally {
    await admin.disconnect();
  }
}

/**
 * Runs a lake sink over `topics.events` until the published high-water mark covers everything the
 * topic holds now, then stops it. Returns the ends it waited for; whether it got there in time is
 * the returned `covered`. Draining the same topic into the same prefix again needs the same
 * `groupId`: a new group starts from the beginning and would write every chunk a second time.
 */
export async function drainToLake(
  kafka: Kafka,
  s3: S3Client,
  topics: { events: string; dlq: string },
  prefix: string,
  groupId: string = uniqueName('drain-sink'),
): Promise<{ ends: Record<string, number>; covered: boolean }> {
  const ends = await topicEnds(kafka, topics.events);
  const sink = createLakeSink({ kafka, s3, bucket: cfg.s3.bucket }, { topic: topics.events, groupId, dlqTopic: topics.dlq, prefix, flushIntervalMs: 1000 });
  await sink.start();
  try {
    return { ends, covered: await waitUntil(async () => highWaterCovers(await highWater(s3, prefix), ends), 90000, 500) };
  } finally {
    await sink.stop();
  }
}

export interface LakeRow {
  event_id: string;
  tenant_id: string;
  _partition: number;
  _offset: string;
  _format: number;
  event_time: string;
  final_total: number;
  browser_name: string | null;
  filename: string;
  event_json: string;
}

/** Downloads every raw object under the prefix into a temp dir; `use` gets the local paths. */
async function withLocalLake<T>(s3: S3Client, prefix: string, use: (files: string[], keys: string[]) => Promise<T>): Promise<T> {
  const keys = (await listKeys(s3, rawRoot(prefix))).filter((k) => k.endsWith('.parquet'));
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'rtap-lake-read-'));
  try {
    const files: string[] = [];
    for (const key of keys) {
      const out = await s3.send(new GetObjectCommand({ Bucket: cfg.s3.bucket, Key: key }));
      const file = path.join(dir, key);
      await fs.mkdir(path.dirname(file), { recursive: true });
      await fs.writeFile(file, await out.Body!.transformToByteArray());
      files.push(file);
    }
    return await use(files, keys);
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

/**
 * Runs one query over every raw object under the prefix: `sql` gets the relation to read
 * (rawEventsRelation: any lake format, current columns, Hive columns dt/hour/p) and returns the
 * statement. Rows come back as JSON values (DOUBLE → number, lists → arrays, BIGINT → string).
 */
export async function queryLake(s3: S3Client, prefix: string, sql: (src: string) => string): Promise<Record<string, unknown>[]> {
  return withLocalLake(s3, prefix, async (files) => {
    if (files.length === 0) return [];
    const { instance, connection } = await openDuckDb({ threads: 1, memoryLimit: '1GB' });
    try {
      return (await connection.runAndReadAll(sql(rawEventsRelation(files)))).getRowObjectsJson() as Record<string, unknown>[];
    } finally {
      connection.closeSync();
      instance.closeSync();
    }
  });
}

/** Downloads every raw object under the prefix and reads them all back with DuckDB. */
export async function readLake(s3: S3Client, prefix: string): Promise<{ rows: LakeRow[]; keys: string[]; unsortedFiles: number }> {
  return withLocalLake(s3, prefix, async (files, keys) => {
    if (keys.length === 0) return { rows: [], keys, unsortedFiles: 0 };
    const { instance, connection } = await openDuckDb({ threads: 1, memoryLimit: '1GB' });
    try {
      const src = rawEventsRelation(files, { hivePartitioning: false, filename: true, fileRowNumber: true });
      const rows = (await connection.runAndReadAll(
        `SELECT event_id, tenant_id, _partition, _offset, _format, strftime(event_time, '%Y-%m-%dT%H:%M:%S.%fZ') AS event_time, final_total, browser_name, filename, event_json FROM ${src}`,
      )).getRowObjectsJson() as unknown as LakeRow[];
      const unsorted = (await connection.runAndReadAll(`
        SELECT count(*) AS n FROM (
          SELECT tenant_id, lag(tenant_id) OVER (PARTITION BY filename ORDER BY file_row_number) AS prev FROM ${src})
        WHERE prev > tenant_id`)).getRowObjectsJson();
      return { rows, keys, unsortedFiles: Number(unsorted[0].n) };
    } finally {
      connection.closeSync();
      instance.closeSync();
    }
  });
}
