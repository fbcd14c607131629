// Analyst feedback on fraud verdicts: the contract between the API that records it
// (POST /api/v2/anomalies/feedback/{id}, serving/anomalies/control-routes.ts) and the training run
// that uses it as ground truth. Stored in the compacted `control` topic, key
// `fraudfeedback/<tenant>/<event_id>`: the latest label of an event wins and is kept until the
// event's feedback is overwritten (compaction never drops the newest record of a key).
// A training run reads every record with `readFraudFeedback`.
import type { Kafka } from 'kafkajs';
import { ControlPlane, type ControlState, TENANT_ID_PATTERN } from './control';
import { TOPICS } from './kafka';
import type { Logger } from './logger';

export const FEEDBACK_KIND = 'fraudfeedback';
export const FEEDBACK_LABELS = ['fraud', 'legit'] as const;
export type FeedbackLabel = (typeof FEEDBACK_LABELS)[number];
export const MAX_COMMENT_LENGTH = 2000;
/** Event ids as the schema has them (uuids), or any id a producer used: no '/' (it ends the key). */
export const FEEDBACK_EVENT_ID_PATTERN = /^[A-Za-z0-9_.:-]{1,128}$/;

export interface FraudFeedback {
  event_id: string;
  tenant_id: string;
  label: FeedbackLabel;
  /** Who gave it: the credential's id (API key id or JWT subject). */
  by: string;
  /** When, ISO-8601. */
  at: string;
  comment?: string;
}

export const feedbackKey = (tenant: string, eventId: string): string => `${FEEDBACK_KIND}/${tenant}/${eventId}`;

/** A stored record read back, or undefined when it is not a well-formed feedback record. */
export function parseFeedback(text: string): FraudFeedback | undefined {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return undefined;
  }
  const r = v as Partial<FraudFeedback> | null;
  if (typeof r !== 'object' || r === null) return undefined;
  if (typeof r.tenant_id !== 'string' || !TENANT_ID_PATTERN.test(r.tenant_id)) return undefined;
  if (typeof r.event_id !== 'string' || !FEEDBACK_EVENT_ID_PATTERN.test(r.event_id)) return undefined;
  if (!FEEDBACK_LABELS.includes(r.label as FeedbackLabel) || typeof r.by !== 'string' || typeof r.at !== 'string') return undefined;
  const out: FraudFeedback = { event_id: r.event_id, tenant_id: r.tenant_id, label: r.label as FeedbackLabel, by: r.by, at: r.at };
  if (typeof r.comment === 'string') out.comment = r.comment.slice(0, MAX_COMMENT_LENGTH);
  return out;
}

/** Every feedback record a control view holds (optionally one tenant's). */
export function feedbackIn(control: ControlState, tenant?: string): FraudFeedback[] {
  const out: FraudFeedback[] = [];
  for (const [id, text] of control.records(FEEDBACK_KIND)) {
    if (tenant !== undefined && !id.startsWith(`${tenant}/`)) continue;
    const f = parseFeedback(text);
    if (f) out.push(f);
  }
  return out;
}

/** All feedback as the control topic holds it now (a private, short-lived view of the topic): for training runs. */
export async function readFraudFeedback(kafka: Kafka, log: Logger, topic: string = TOPICS.control): Promise<FraudFeedback[]> {
  const control = new ControlPlane(kafka, log, topic);
  try {
    await control.start();
    return feedbackIn(control.state);
  } finally {
    await control.stop();
  }
}
