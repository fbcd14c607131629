// The published batch cut, read from the views manifest on S3 (core/lake.ts VIEWS_MANIFEST).
// "None published" (no object yet) is a normal answer: undefined, and the speed layer keeps all
// its cells. A manifest that does not parse is refused loudly rather than taken as "no cut".
import { GetObjectCommand, type S3Client, type S3ServiceException } from '@aws-sdk/client-s3';
import { cutOf, parseViewsManifest, viewsManifestKey } from '../core/lake';

export function createCutReader(s3: S3Client, bucket: string, prefix: string): () => Promise<ReadonlyMap<number, number> | undefined> {
  const key = viewsManifestKey(prefix);
  return async () => {
    let text: string;
    try {
      const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      text = (await out.Body?.transformToString('utf8')) ?? '';
    } catch (err) {
      const e = err as S3ServiceException;
      if (e.name === 'NoSuchKey' || e.$metadata?.httpStatusCode === 404) return undefined;
      throw err;
    }
    const m = parseViewsManifest(text);
    if (!m) throw new Error(`s3://${bucket}/${key} is not a views manifest`);
    return cutOf(m);
  };
}
