// The fraud models in the lake (docs/fraud.md, "The trained model"):
//   models/fraud/<version>/model.json    the model (speed-layer/fraud/model/model.ts FraudModelDoc)
//   models/fraud/<version>/metrics.json  how it was trained and how it did on its held-out slice
//   models/fraud/champion.json           the pointer scorers follow: { champion, challenger, ... }
// A version is written once (If-None-Match) and never changed; the pointer is replaced only with
// a conditional PUT against the ETag it was read with (If-Match, or If-None-Match for the first),
// so two trainings finishing at once cannot both publish — the loser re-reads and decides again.
import type { S3Client } from '@aws-sdk/client-s3';
import type { ModelMetrics } from '../speed-layer/fraud/model/fit';
import { parseModel, type FraudModel, type FraudModelDoc } from '../speed-layer/fraud/model/model';
import { InputError } from './errors';
import { normalizePrefix } from './lake';
import { getTextWithEtag, putJson, putJsonIfUnchanged } from './s3';

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

/**
 * Writes a new version (model.json, then metrics.json). Versions are immutable: throws when the
 * version exists from another run; the same run's retry (same `trainedAt`, the version name
 * carries the run id) rewrites it — its training is seeded, so the content is the same.
 */
export async function writeModelVersion(s3: S3Client, bucket: string, prefix: string, doc: FraudModelDoc, metrics: ModelMetrics): Promise<void> {
  if (doc.version !== metrics.version) throw new InputError('model and metrics name different versions');
  const key = modelKey(prefix, doc.version, 'model.json');
  if (!(await putJsonIfUnchanged(s3, bucket, key, doc, undefined))) {
    const existing = await getTextWithEtag(s3, bucket, key);
    const sameRun = existing !== undefined && (JSON.parse(existing.text) as Partial<FraudModelDoc>).trainedAt === doc.trainedAt;
    if (!sameRun || !(await putJsonIfUnchanged(s3, bucket, key, doc, existing.etag))) throw new InputError(`model version ${doc.version} already exists`);
  }
  await putJson(s3, bucket, modelKey(prefix, doc.version, 'metrics.json'), metrics);
}

export async function readModel(s3: S3Client, bucket: string, prefix: string, version: string, signal?: AbortSignal): Promise<FraudModel> {
  const got = await getTextWithEtag(s3, bucket, modelKey(prefix, version, 'model.json'), signal);
  if (!got) throw new InputError(`model version ${version} not found`);
  return parseModel(got.text);
}

export async function readModelMetrics(s3: S3Client, bucket: string, prefix: string, version: string, signal?: AbortSignal): Promise<ModelMetrics | undefined> {
  const got = await getTextWithEtag(s3, bucket, modelKey(prefix, version, 'metrics.json'), signal);
  return got ? (JSON.parse(got.text) as ModelMetrics) : undefined;
}

export async function readChampionPointer(s3: S3Client, bucket: string, prefix: string, signal?: AbortSignal): Promise<{ pointer: ChampionPointer | undefined; etag: string | undefined }> {
  const got = await getTextWithEtag(s3, bucket, championKey(prefix), signal);
  return { pointer: got ? parseChampionPointer(got.text) : undefined, etag: got?.etag };
}

/** Replaces the pointer if it is still the one read (etag); false when another publisher won. */
export async function publishChampionPointer(s3: S3Client, bucket: string, prefix: string, pointer: ChampionPointer, etag: string | undefined): Promise<boolean> {
  return putJsonIfUnchanged(s3, bucket, championKey(prefix), pointer, etag);
}
