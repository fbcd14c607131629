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
import { deleteKeys, getText, putJson as putS3Json } from '../core/s3';

export interface ManifestStore {
  readPartitionRecord(partition: number): Promise<PartitionRecord | undefined>;
  writePartitionRecord(partition: number, nextOffset: number, pending: PendingChunk | null): Promise<void>;
  readHighWater(): Promise<HighWaterManifest | undefined>;
  /** Read-merge-write, per partition max: the published mark never moves back. */
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
  return {
    async readPartitionRecord(partition) {
      const text = await getText(s3, bucket, partitionRecordKey(prefix, partition));
      return text === undefined ? undefined : parsePartitionRecord(text);
    },
    async writePartitionRecord(partition, nextOffset, pending) {
      const record: PartitionRecord = {
        format: MANIFEST_FORMAT,
        topic,
        partition,
        next_offset: nextOffset,
        pending,
        updated_at: new Date().toISOString(),
      };
      await putJson(partitionRecordKey(prefix, partition), record);
    },
    readHighWater,
    async publishHighWater(update) {
      const current = await readHighWater();
      const manifest: HighWaterManifest = {
        format: MANIFEST_FORMAT,
        topic,
        updated_at: new Date().toISOString(),
        partitions: mergeHighWater(current?.partitions, update),
      };
      await putJson(highWaterKey(prefix), manifest);
      return manifest;
    },
    deleteKeys: (keys) => deleteKeys(s3, bucket, keys),
  };
}
