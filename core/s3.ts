// S3 client factory (MinIO locally) and small helpers every layer uses.
import {
  CreateBucketCommand,
  HeadBucketCommand,
  S3Client,
  type S3ServiceException,
} from '@aws-sdk/client-s3';
import type { S3Config } from './config';

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
