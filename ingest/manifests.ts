// S3 I/O of the sink's small JSON manifests: the per-partition record (durable offset + pending
// chunk) and the published high-water mark that bounds every batch cut.
import type { S3Client } from '@aws-sdk/client-s3';
import {
  MANIFEST_FORMAT,
  highWaterKey,
  mergeHighWater,
  parseHighWater,
  parsePartitionRecord,
  partitionRecordKey,
  type HighWaterManifest,
  type PartitionRecord,
  type PendingChunk,
} from '../core/lake';
import { sleep } from '../core/retry';
import { deleteKeys, getText, getTextWithEtag, putJsonConditional, putJson as putS3Json } from '../core/s3';

export interface ManifestStore {
  /** The record and its ETag (undefined etag: no record yet), for conditional writes after it. */
  readPartitionRecordVersion(partition: number): Promise<{ record: PartitionRecord | undefined; etag: string | undefined }>;
  writePartitionRecord(partition: number, nextOffset: number, pending: PendingChunk | null): Promise<void>;
  /**
   * Writes the record only if it is still the version `etag` (absent when undefined): the new
   * ETag, or undefined when another writer changed it since (a new owner of the partition).
   */
  writePartitionRecordIf(partition: number, nextOffset: number, pending: PendingChunk | null, etag: string | undefined): Promise<string | undefined>;
  readHighWater(): Promise<HighWaterManifest | undefined>;
  /**
   * Read-merge-write, per partition max: the published mark never moves back. Conditional on the
   * version read (S3 If-Match), read again and retried when another writer got there first, so
   * concurrent sinks cannot lose each other's updates.
   */
  publishHighWater(update: Record<string, number>): Promise<HighWaterManifest>;
  deleteKeys(keys: string[]): Promise<void>;
}

/** The published high-water mark per partition, `{}` before the sink's first flush. */
export async function readHighWaterMarks(s3: S3Client, bucket: string, prefix: string): Promise<Record<string, number>> {
  const text = await getText(s3, bucket, highWaterKey(prefix));
  return (text === undefined ? undefined : parseHighWater(text)?.partitions) ?? {};
}

export function createManifestStore(s3: S3Client, bucket: string, prefix: string, topic: string): ManifestStore {
  const putJson = (key: string, value: unknown) => putS3Json(s3, bucket, key, value);
  const readHighWater = async () => {
    const text = await getText(s3, bucket, highWaterKey(prefix));
    return text === undefined ? undefined : parseHighWater(text);
  };
  const recordOf = (partition: number, nextOffset: number, pending: PendingChunk | null): PartitionRecord => ({
    format: MANIFEST_FORMAT,
    topic,
    partition,
    next_offset: nextOffset,
    pending,
    updated_at: new Date().toISOString(),
  });
  return {
    async readPartitionRecordVersion(partition) {
      const got = await getTextWithEtag(s3, bucket, partitionRecordKey(prefix, partition));
      return got === undefined ? { record: undefined, etag: undefined } : { record: parsePartitionRecord(got.text), etag: got.etag };
    },
    async writePartitionRecord(partition, nextOffset, pending) {
      await putJson(partitionRecordKey(prefix, partition), recordOf(partition, nextOffset, pending));
    },
    writePartitionRecordIf: (partition, nextOffset, pending, etag) =>
      putJsonConditional(s3, bucket, partitionRecordKey(prefix, partition), recordOf(partition, nextOffset, pending), etag),
    readHighWater,
    async publishHighWater(update) {
      for (let attempt = 0; ; attempt++) {
        const current = await getTextWithEtag(s3, bucket, highWaterKey(prefix));
        const manifest: HighWaterManifest = {
          format: MANIFEST_FORMAT,
          topic,
          updated_at: new Date().toISOString(),
          partitions: mergeHighWater(current === undefined ? undefined : parseHighWater(current.text)?.partitions, update),
        };
        if ((await putJsonConditional(s3, bucket, highWaterKey(prefix), manifest, current?.etag)) !== undefined) return manifest;
        if (attempt >= 20) throw new Error('high-water mark: 20 conditional writes in a row lost to other writers');
        await sleep(5 + Math.random() * 20 * (attempt + 1));
      }
    },
    deleteKeys: (keys) => deleteKeys(s3, bucket, keys),
  };
}
