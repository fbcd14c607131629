// Ground truth for training the fraud model, besides analyst feedback (core/fraud-feedback.ts):
// label files in the lake, `labels/fraud/<name>.jsonl`, one FraudFeedback-shaped record per line
// ({event_id, tenant_id, label: 'fraud'|'legit', by, at}). The generator's labels travel outside
// the events (Kafka header x-rtap-label, or the side file `<out>.labels.ndjson` keyed by line
// number) and the sink does not land headers, so `rtap fraud labels import <events.ndjson>` turns
// a generated file and its side file into such a file (by: "generator"). A training run joins them
// to the raw events on (tenant_id, event_id); per event the latest record wins, and analyst
// feedback from the control topic overrides both.
import { readFileSync } from 'node:fs';
import { ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { InputError } from './errors';
import type { FraudFeedback } from './fraud-feedback';
import { normalizePrefix } from './lake';
import { readEvent } from './schema';

export const FRAUD_LABELS_ROOT = 'labels/fraud';

export function labelsFileKey(prefix: string, name: string): string {
  if (!/^[0-9A-Za-z][0-9A-Za-z_.-]{0,99}$/.test(name)) throw new InputError(`not a label file name: ${JSON.stringify(name)}`);
  return `${normalizePrefix(prefix)}${FRAUD_LABELS_ROOT}/${name}.jsonl`;
}

/** The label files in the lake (keys). */
export async function listLabelFiles(s3: S3Client, bucket: string, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const out = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: `${normalizePrefix(prefix)}${FRAUD_LABELS_ROOT}/`, ContinuationToken: token }));
    for (const o of out.Contents ?? []) if (o.Key?.endsWith('.jsonl')) keys.push(o.Key);
    token = out.IsTruncated ? out.NextContinuationToken : undefined;
  } while (token);
  return keys;
}

/**
 * Label records of a generated ndjson file and its side file (`<events>.labels.ndjson`, lines
 * `{"line": n (from 1), "label": {"fraud": bool, …}}`): event n's ids with its label.
 */
export function generatorLabels(eventsPath: string, labelsPath = `${eventsPath}.labels.ndjson`, at = new Date().toISOString()): FraudFeedback[] {
  const events = readFileSync(eventsPath, 'utf8').split('\n');
  const out: FraudFeedback[] = [];
  for (const line of readFileSync(labelsPath, 'utf8').split('\n')) {
    if (line.trim() === '') continue;
    const l = JSON.parse(line) as { line?: number; label?: { fraud?: boolean; scenario?: string } };
    // the side file counts lines from 1
    const text = typeof l.line === 'number' ? events[l.line - 1] : undefined;
    if (!text || !l.label) continue;
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      continue; // a deliberately broken event (a generator defect): it never reaches the lake either
    }
    const read = readEvent(parsed);
    if (!read.ok) continue;
    out.push({ event_id: read.event.event_metadata.event_id, tenant_id: read.event.tenant_id, label: l.label.fraud ? 'fraud' : 'legit', by: 'generator', at, ...(l.label.scenario ? { comment: l.label.scenario } : {}) });
  }
  return out;
}
