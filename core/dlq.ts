// The dead-letter record contract of `events.dlq`, shared by every writer (ingestion API, lake
// sink) and by `rtap dlq replay`. The value is the original payload exactly as received; the
// headers say why it was rejected and where it came from.
import type { IHeaders, Message } from 'kafkajs';

export const DLQ_HEADERS = {
  /** Short machine-readable code, e.g. `schema_invalid`, `unknown_tenant`, `not_json`. */
  reason: 'x-rtap-reason',
  /** JSON array of `{ path, reason }`: every violation found. */
  violations: 'x-rtap-violations',
  tenant: 'x-rtap-tenant',
  /** `api` | `sink` | `replay`. */
  source: 'x-rtap-source',
  receivedAt: 'x-rtap-received-at',
  sourceTopic: 'x-rtap-source-topic',
  sourcePartition: 'x-rtap-source-partition',
  sourceOffset: 'x-rtap-source-offset',
  /** How many times `rtap dlq replay` has re-submitted this payload. */
  replays: 'x-rtap-replays',
} as const;

export interface DlqEntry {
  payload: string | Buffer;
  reason: string;
  violations: { path: string; reason: string }[];
  source: 'api' | 'sink' | 'replay';
  tenant?: string;
  key?: string | Buffer | null;
  receivedAt?: string;
  origin?: { topic: string; partition: number; offset: string };
  replays?: number;
}

export function dlqMessage(entry: DlqEntry): Message {
  const headers: IHeaders = {
    [DLQ_HEADERS.reason]: entry.reason,
    [DLQ_HEADERS.violations]: JSON.stringify(entry.violations),
    [DLQ_HEADERS.source]: entry.source,
    [DLQ_HEADERS.receivedAt]: entry.receivedAt ?? new Date().toISOString(),
  };
  if (entry.tenant) headers[DLQ_HEADERS.tenant] = entry.tenant;
  if (entry.origin) {
    headers[DLQ_HEADERS.sourceTopic] = entry.origin.topic;
    headers[DLQ_HEADERS.sourcePartition] = String(entry.origin.partition);
    headers[DLQ_HEADERS.sourceOffset] = entry.origin.offset;
  }
  if (entry.replays) headers[DLQ_HEADERS.replays] = String(entry.replays);
  return { key: entry.key ?? entry.tenant ?? null, value: entry.payload, headers };
}
