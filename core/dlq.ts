// The dead-letter record contract of `events.dlq`, shared by every writer (ingestion API, lake
// sink) and by `rtap dlq replay`. The value is the original payload exactly as received; the
// headers say why it was rejected and who sent it.
//
// A letter is filed under its *authenticated sender*, never under anything the payload claims:
// `x-rtap-tenant` is the sending API key's tenant (`*` for a platform key) and `x-rtap-sender-key`
// the key's id (its SHA-256, as in the control topic). The Kafka key is derived from the same
// authenticated values, so no string taken from a rejected event ever keys a message or labels a
// metric. `rtap dlq replay` re-submits a letter with exactly that sender's authority.
import type { IHeaders, Message } from 'kafkajs';

export const DLQ_HEADERS = {
  /** Short machine-readable code, e.g. `schema_invalid`, `unknown_tenant`, `not_json`. */
  reason: 'x-rtap-reason',
  /** JSON array of `{ path, reason }`: every violation found (at most MAX_VIOLATIONS). */
  violations: 'x-rtap-violations',
  /** The sender's tenant: the API key's tenant, or `*` for a platform key. Never the tenant the payload claims. */
  tenant: 'x-rtap-tenant',
  /** The sender's credential id: the API key's public `key_…` id (older letters: the key's SHA-256), a JWT's subject; `sink` for the lake sink. */
  senderKey: 'x-rtap-sender-key',
  /** `2` on letters filed by authenticated sender; letters without it predate that rule (see replay). */
  format: 'x-rtap-dlq-format',
  /** `api` | `sink` | `replay`. */
  source: 'x-rtap-source',
  receivedAt: 'x-rtap-received-at',
  sourceTopic: 'x-rtap-source-topic',
  sourcePartition: 'x-rtap-source-partition',
  sourceOffset: 'x-rtap-source-offset',
  /** How many times `rtap dlq replay` has re-submitted this payload. */
  replays: 'x-rtap-replays',
} as const;

export const DLQ_FORMAT = '2';

/** Most violations kept per letter (and per API result); the count of the rest is said in the last one. */
export const MAX_VIOLATIONS = 50;
const MAX_VIOLATION_TEXT = 512;

/** Who sent a payload, as authenticated: the API key's tenant (`*` for a platform key) and the key's id. */
export interface DlqSender {
  tenant: string;
  keyHash: string;
}

export interface DlqEntry {
  payload: string | Buffer;
  reason: string;
  violations: { path: string; reason: string }[];
  source: 'api' | 'sink' | 'replay';
  /** The authenticated sender; absent only for the lake sink (trusted producers of `events`). */
  sender?: DlqSender;
  /** Kafka key for sink letters (the original record's key, already accepted once). */
  key?: string | Buffer | null;
  receivedAt?: string;
  origin?: { topic: string; partition: number; offset: string };
  replays?: number;
}

/** The Kafka key of a sender's letters: its tenant, or `*:<key id prefix>` for a platform key. */
export function senderKey(sender: DlqSender): string {
  return sender.tenant === '*' ? `*:${sender.keyHash.slice(0, 16)}` : sender.tenant;
}

export function dlqMessage(entry: DlqEntry): Message {
  const headers: IHeaders = {
    [DLQ_HEADERS.reason]: entry.reason,
    [DLQ_HEADERS.violations]: JSON.stringify(boundViolations(entry.violations)),
    [DLQ_HEADERS.source]: entry.source,
    [DLQ_HEADERS.receivedAt]: entry.receivedAt ?? new Date().toISOString(),
    [DLQ_HEADERS.format]: DLQ_FORMAT,
  };
  if (entry.sender) {
    headers[DLQ_HEADERS.tenant] = entry.sender.tenant;
    headers[DLQ_HEADERS.senderKey] = entry.sender.keyHash;
  }
  if (entry.origin) {
    headers[DLQ_HEADERS.sourceTopic] = entry.origin.topic;
    headers[DLQ_HEADERS.sourcePartition] = String(entry.origin.partition);
    headers[DLQ_HEADERS.sourceOffset] = entry.origin.offset;
  }
  if (entry.replays) headers[DLQ_HEADERS.replays] = String(entry.replays);
  const key = entry.sender ? senderKey(entry.sender) : (entry.key ?? null);
  return { key, value: entry.payload, headers };
}

/**
 * At most MAX_VIOLATIONS violations, each path and reason at most 512 characters: a payload with
 * 100,000 wrong values or a 100,000-character key cannot blow up a header or a response.
 */
export function boundViolations(violations: { path: string; reason: string }[]): { path: string; reason: string }[] {
  const cut = (s: string) => (s.length > MAX_VIOLATION_TEXT ? `${s.slice(0, MAX_VIOLATION_TEXT)}…` : s);
  const kept = violations.slice(0, MAX_VIOLATIONS).map((v) => ({ path: cut(v.path), reason: cut(v.reason) }));
  if (violations.length > MAX_VIOLATIONS) {
    kept[MAX_VIOLATIONS - 1] = { path: '$', reason: `${violations.length - MAX_VIOLATIONS + 1} more violations not listed` };
  }
  return kept;
}
