// The fraud models in the lake (docs/fraud.md, "The trained model"):
//   models/fraud/<version>/model.json    the model (speed-layer/fraud/model/model.ts FraudModelDoc)
//   models/fraud/<version>/metrics.json  how it was trained and how it did on its held-out slice
//   models/fraud/champion.json           the pointer scorers follow: { champion, challenger, ... }
// A version is written once (If-None-Match) and never changed; the pointer is replaced only with
// a conditional PUT against the ETag it was read with (If-Match, or If-None-Match for the first),
// so two trainings finishing at once cannot both publish — the loser re-reads and decides again.
import { GetObjectCommand, PutObjectCommand, type S3Client, type S3ServiceException } from '@aws-sdk/client-s3';
import type { ModelMetrics } from '../speed-layer/fraud/model/fit';
import { parseModel, type FraudModel, type FraudModelDoc } from '../speed-layer/fraud/model/model';
import { InputError } from './errors';
import { normalizePrefix } from './lake';

export const FRAUD_MODELS_ROOT = 'models/fraud';
const VERSION_PATTERN = /^[0-9A-Za-z][0-9A-Za-z_.-]{0,79}$/;

export interface ChampionPointer {
  format: 1;
  /** The version scorers act on. */
  champion: string;
  /** Scored beside the champion, recorded, never acted on (null: none). */
  challenger: string | null;
  updatedAt: string;
  /** Why the pointer last changed ("promoted: held-out AUC 0.991 > 0.985", …). */
  reason: string;
}

export function isModelVersion(v: unknown): v is string {
  return typeof v === 'string' && VERSION_PATTERN.test(v);
}

export function modelKey(prefix: string, version: string, file: 'model.json' | 'metrics.json'): string {
  if (!isModelVersion(version)) throw new InputError(`not a model version: ${JSON.stringify(version)}`);
  return `${normalizePrefix(prefix)}${FRAUD_MODELS_ROOT}/${version}/${file}`;
}

export function championKey(prefix: string): string {
  return `${normalizePrefix(prefix)}${FRAUD_MODELS_ROOT}/champion.json`;
}

export function parseChampionPointer(text: string): ChampionPointer | undefined {
  try {
    const p = JSON.parse(text) as Partial<ChampionPointer>;
    if (p.format !== 1 || !isModelVersion(p.champion) || !(p.challenger === null || isModelVersion(p.challenger))) return undefined;
    return { format: 1, champion: p.champion, challenger: p.challenger, updatedAt: String(p.updatedAt ?? ''), reason: String(p.reason ?? '') };
  } catch {
    return undefined;
  }
}

/** An object's text and ETag; undefined when it does not exist. */
export async function getWithEtag(s3: S3Client, bucket: string, key: string, signal?: AbortSignal): Promise<{ text: string; etag: string | undefined } | undefined> {
  try {
    const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }), { abortSignal: signal });
    return { text: (await out.Body?.transformToString('utf8')) ?? '', etag: out.ETag };
  } catch (err) {
    const e = err as S3ServiceException;
    if (e.name === 'NoSuchKey' || e.$metadata?.httpStatusCode === 404) return undefined;
    throw err;
  }
}

/** PUT only if the object still has ETag `etag` (absent when undefined). False when another writer got there first. */
async function putJsonIf(s3: S3Client, bucket: string, key: string, value: unknown, etag: string | undefined): Promise<boolean> {
  try {
    await s3.send(
      new PutObjectCommand({ Bucket: bucket, Key: key, Body: `${JSON.stringify(value)}\n`, ContentType: 'application/json', ...(etag ? { IfMatch: etag } : { IfNoneMatch: '*' }) }),
    );
    return true;
  } catch (err) {
    const e = err as S3ServiceException;
    // 412: changed since read; 409: a concurrent conditional write to the same key
    if (e.$metadata?.httpStatusCode === 412 || e.$metadata?.httpStatusCode === 409) return false;
    throw err;
  }
}

/**
 * Writes a new version (model.json, then metrics.json). Versions are immutable: throws when the
 * version exists from another run; the same run's retry (same `trainedAt`, the version name
 * carries the run id) rewrites it — its training is seeded, so the content is the same.
 */
export async function writeModelVersion(s3: S3Client, bucket: string, prefix: string, doc: FraudModelDoc, metrics: ModelMetrics): Promise<void> {
  if (doc.version !== metrics.version) throw new InputError('model and metrics name different versions');
  const key = modelKey(prefix, doc.version, 'model.json');
  if (!(await putJsonIf(s3, bucket, key, doc, undefined))) {
    const existing = await getWithEtag(s3, bucket, key);
    const sameRun = existing !== undefined && (JSON.parse(existing.text) as Partial<FraudModelDoc>).trainedAt === doc.trainedAt;
    if (!sameRun || !(await putJsonIf(s3, bucket, key, doc, existing.etag))) throw new InputError(`model version ${doc.version} already exists`);
  }
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: modelKey(prefix, doc.version, 'metrics.json'), Body: `${JSON.stringify(metrics, null, 2)}\n`, ContentType: 'application/json' }));
}

export async function readModel(s3: S3Client, bucket: string, prefix: string, version: string, signal?: AbortSignal): Promise<FraudModel> {
  const got = await getWithEtag(s3, bucket, modelKey(prefix, version, 'model.json'), signal);
  if (!got) throw new InputError(`model version ${version} not found`);
  return parseModel(got.text);
}

export async function readModelMetrics(s3: S3Client, bucket: string, prefix: string, version: string, signal?: AbortSignal): Promise<ModelMetrics | undefined> {
  const got = await getWithEtag(s3, bucket, modelKey(prefix, version, 'metrics.json'), signal);
  return got ? (JSON.parse(got.text) as ModelMetrics) : undefined;
}

export async function readChampionPointer(s3: S3Client, bucket: string, prefix: string, signal?: AbortSignal): Promise<{ pointer: ChampionPointer | undefined; etag: string | undefined }> {
  const got = await getWithEtag(s3, bucket, championKey(prefix), signal);
  return { pointer: got ? parseChampionPointer(got.text) : undefined, etag: got?.etag };
}

/** Replaces the pointer if it is still the one read (etag); false when another publisher won. */
export async function publishChampionPointer(s3: S3Client, bucket: string, prefix: string, pointer: ChampionPointer, etag: string | undefined): Promise<boolean> {
  return putJsonIf(s3, bucket, championKey(prefix), pointer, etag);
}
