// S3 I/O of the compaction manifests (core/lake-compacted.ts has the names and rules). Readers of
// compacted files — batch views, GDPR, `rtap sql` — resolve an hour's live files through
// readCurrentHourManifest rather than listing `compacted/`, which also holds superseded files
// inside their grace period and the output of runs that never published.
import type { S3Client } from '@aws-sdk/client-s3';
import type { HourRef } from '../core/hours';
import {
  compactionManifestRoot,
  hourManifestDir,
  hourManifestKey,
  hourManifestVersions,
  parseHourManifest,
  type HourManifest,
  type HourManifestRef,
} from '../core/lake-compacted';
import { hourLabel } from '../core/hours';
import { getText, listObjects, putJson } from '../core/s3';

export interface CurrentHourManifest {
  ref: HourManifestRef;
  /** Undefined when the object is not a manifest of this format (nothing of the hour is deleted then). */
  manifest: HourManifest | undefined;
  /** Every version key of the hour, oldest first. */
  versions: HourManifestRef[];
}

/** The hour's current manifest (its greatest version), or undefined when the hour was never compacted. */
export async function readCurrentHourManifest(s3: S3Client, bucket: string, prefix: string, hour: HourRef, signal?: AbortSignal): Promise<CurrentHourManifest | undefined> {
  const keys = (await listObjects(s3, bucket, hourManifestDir(prefix, hour), signal)).map((o) => o.key);
  const versions = hourManifestVersions(keys).get(hourLabel(hour)) ?? [];
  if (versions.length === 0) return undefined;
  const ref = versions[versions.length - 1];
  return { ref, manifest: await readHourManifestAt(s3, bucket, ref.key), versions };
}

export async function readHourManifestAt(s3: S3Client, bucket: string, key: string): Promise<HourManifest | undefined> {
  const text = await getText(s3, bucket, key);
  return text === undefined ? undefined : parseHourManifest(text);
}

/** Every manifest version key under the prefix (one listing: the planner's view of every hour). */
export async function listManifestKeys(s3: S3Client, bucket: string, prefix: string, signal?: AbortSignal): Promise<string[]> {
  return (await listObjects(s3, bucket, compactionManifestRoot(prefix), signal)).map((o) => o.key);
}

/**
 * Publishes a version: one PUT of a new name, which makes it current atomically (the greatest
 * name wins, and S3 listings are strongly consistent). Returns its key.
 */
export async function publishHourManifest(s3: S3Client, bucket: string, prefix: string, manifest: HourManifest): Promise<string> {
  const key = hourManifestKey(prefix, manifest, manifest.version, manifest.input_digest);
  await putJson(s3, bucket, key, manifest);
  return key;
}
