// The published batch cut, read from the views manifest on S3 (core/lake.ts VIEWS_MANIFEST).
// "None published" (no object yet) is a normal answer: undefined, and the speed layer keeps all
// its cells. A manifest that does not parse is refused loudly rather than taken as "no cut".
import type { S3Client } from '@aws-sdk/client-s3';
import { cutOf, parseViewsManifest, viewsManifestKey } from '../core/lake';
import { getText } from '../core/s3';

export function createCutReader(s3: S3Client, bucket: string, prefix: string): () => Promise<ReadonlyMap<number, number> | undefined> {
  const key = viewsManifestKey(prefix);
  return async () => {
    const text = await getText(s3, bucket, key);
    if (text === undefined) return undefined;
    const m = parseViewsManifest(text);
    if (!m) throw new Error(`s3://${bucket}/${key} is not a views manifest`);
    return cutOf(m);
  };
}
