// S3 client factory (MinIO locally) and small helpers every layer uses.
import {
  CreateBucketCommand,
  DeleteObjectsCommand,
  GetBucketEncryptionCommand,
  GetObjectCommand,
  HeadBucketCommand,
  ListObjectsV2Command,
  PutBucketEncryptionCommand,
  PutObjectCommand,
  S3Client,
  type S3ServiceException,
} from '@aws-sdk/client-s3';
import type { S3Config } from './config';
import { RtapError } from './errors';

/** `maxAttempts`: 5 for work; health checks pass 1 so a dead endpoint answers at once. */
export function createS3(cfg: S3Config, maxAttempts = 5): S3Client {
  return new S3Client({
    endpoint: cfg.endpoint,
    region: cfg.region,
    forcePathStyle: cfg.forcePathStyle,
    credentials: { accessKeyId: cfg.accessKeyId, secretAccessKey: cfg.secretAccessKey },
    maxAttempts,
  });
}

/** Creates the bucket if it does not exist. Returns true when it was created. */
export async function ensureBucket(s3: S3Client, bucket: string): Promise<boolean> {
  try {
    await s3.send(new HeadBucketCommand({ Bucket: bucket }));
    return false;
  } catch (err) {
    const status = (err as S3ServiceException).$metadata?.httpStatusCode;
    if (status !== 404) throw err;
  }
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  return true;
}

/**
 * Sets SSE-S3 (AES-256) as the bucket's default encryption unless the bucket already has a default,
 * so every object any layer writes is encrypted at rest without each writer asking. Locally MinIO
 * holds the key (MINIO_KMS_SECRET_KEY, stack/services.ts). Returns true when it set it.
 */
export async function ensureBucketEncryption(s3: S3Client, bucket: string): Promise<boolean> {
  try {
    const current = await s3.send(new GetBucketEncryptionCommand({ Bucket: bucket }));
    if ((current.ServerSideEncryptionConfiguration?.Rules ?? []).length > 0) return false;
  } catch (err) {
    if ((err as S3ServiceException).name !== 'ServerSideEncryptionConfigurationNotFoundError') throw err;
  }
  try {
    await s3.send(
      new PutBucketEncryptionCommand({ Bucket: bucket, ServerSideEncryptionConfiguration: { Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] } }),
    );
  } catch (err) {
    if ((err as S3ServiceException).name === 'NotImplemented') {
      throw new RtapError(
        `the S3 server has no encryption key (KMS) configured, so bucket ${bucket} cannot encrypt at rest. A local MinIO started by an older rtap: restart it (rtap down minio && rtap up). An external server: configure its KMS, or set S3_SSE=false to store objects unencrypted`,
      );
    }
    throw err;
  }
  return true;
}

/** An object's text, or undefined when there is no such object. */
export async function getText(s3: S3Client, bucket: string, key: string): Promise<string | undefined> {
  try {
    const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return await out.Body?.transformToString('utf8');
  } catch (err) {
    const e = err as S3ServiceException;
    if (e.name === 'NoSuchKey' || e.$metadata?.httpStatusCode === 404) return undefined;
    throw err;
  }
}

/** An object's text and ETag; undefined when there is no such object. */
export async function getTextWithEtag(s3: S3Client, bucket: string, key: string, signal?: AbortSignal): Promise<{ text: string; etag: string | undefined } | undefined> {
  try {
    const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }), { abortSignal: signal });
    return { text: (await out.Body?.transformToString('utf8')) ?? '', etag: out.ETag };
  } catch (err) {
    const e = err as S3ServiceException;
    if (e.name === 'NoSuchKey' || e.$metadata?.httpStatusCode === 404) return undefined;
    throw err;
  }
}

/**
 * Writes a JSON document only if the object is still the one read (ETag `etag`), or still absent
 * when `etag` is undefined: S3 conditional writes (If-Match / If-None-Match), so two writers
 * publishing at once cannot both win. False when another writer got there first.
 */
export async function putJsonIfUnchanged(s3: S3Client, bucket: string, key: string, value: unknown, etag: string | undefined, signal?: AbortSignal): Promise<boolean> {
  return (await putJsonConditional(s3, bucket, key, value, etag, signal)) !== undefined;
}

/** putJsonIfUnchanged, giving the new object's ETag (for the writer's next conditional write), or undefined when another writer got there first. */
export async function putJsonConditional(s3: S3Client, bucket: string, key: string, value: unknown, etag: string | undefined, signal?: AbortSignal): Promise<string | undefined> {
  try {
    const out = await s3.send(
      new PutObjectCommand({ Bucket: bucket, Key: key, Body: `${JSON.stringify(value, null, 2)}\n`, ContentType: 'application/json', ...(etag ? { IfMatch: etag } : { IfNoneMatch: '*' }) }),
      { abortSignal: signal },
    );
    return out.ETag ?? '';
  } catch (err) {
    const e = err as S3ServiceException;
    // 412: the object changed; 409: another conditional write to it was in flight (S3 semantics)
    if (e.$metadata?.httpStatusCode === 412 || e.$metadata?.httpStatusCode === 409) return undefined;
    throw err;
  }
}

/** Writes a small JSON document (manifests, audit records), pretty-printed. */
export async function putJson(s3: S3Client, bucket: string, key: string, value: unknown): Promise<void> {
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: `${JSON.stringify(value, null, 2)}\n`, ContentType: 'application/json' }));
}

/** One object of a listing: what planners compare (ETag changes when the content does). */
export interface ListedObject {
  key: string;
  etag: string;
  size: number;
  /** Epoch ms. */
  lastModified: number;
}

/** Every object under a prefix (all pages), sorted by key. */
export async function listObjects(s3: S3Client, bucket: string, prefix: string, signal?: AbortSignal): Promise<ListedObject[]> {
  const objects: ListedObject[] = [];
  let token: string | undefined;
  do {
    const out = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }), { abortSignal: signal });
    for (const o of out.Contents ?? []) {
      if (o.Key) objects.push({ key: o.Key, etag: (o.ETag ?? '').replace(/"/g, ''), size: o.Size ?? 0, lastModified: o.LastModified?.getTime() ?? 0 });
    }
    token = out.IsTruncated ? out.NextContinuationToken : undefined;
  } while (token);
  return objects.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

/** Deletes objects, 1000 per request (the S3 limit); deleting a missing key is not an error. */
export async function deleteKeys(s3: S3Client, bucket: string, keys: readonly string[]): Promise<void> {
  for (let i = 0; i < keys.length; i += 1000) {
    const batch = keys.slice(i, i + 1000);
    await s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true } }));
  }
}
