// Ingestion API metrics. Every label takes a bounded set of values: HTTP status codes, reason
// codes, value-set names, and tenants only as authenticated and registered (a key's own tenant,
// or the registered tenant a platform key acts for) — never a string taken from a payload.
import { Counter, Gauge, Histogram } from 'prom-client';
import { TENANT_ID_PATTERN } from '../../core/control';
import { registry } from '../../core/metrics';

export const ingestMetrics = {
  events: new Counter({ name: 'rtap_ingest_events_total', help: 'Events received over HTTP by outcome', labelNames: ['outcome'], registers: [registry] }),
  rejected: new Counter({
    name: 'rtap_ingest_rejected_total',
    help: 'Events rejected to the DLQ by reason and tenant (the authenticated sender; "*" for a platform key acting for no registered tenant)',
    labelNames: ['reason', 'tenant'],
    registers: [registry],
  }),
  warnings: new Counter({
    name: 'rtap_ingest_warnings_total',
    help: 'Data-quality warnings on accepted events (a descriptive value outside the known set), by value set and tenant',
    labelNames: ['field', 'tenant'],
    registers: [registry],
  }),
  requests: new Counter({ name: 'rtap_ingest_requests_total', help: 'Batch requests by HTTP status', labelNames: ['status'], registers: [registry] }),
  requestMs: new Histogram({
    name: 'rtap_ingest_request_ms',
    help: 'Batch request latency, including the Kafka acknowledgement',
    buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000],
    registers: [registry],
  }),
  queueBytes: new Gauge({ name: 'rtap_ingest_queue_bytes', help: 'Event bytes waiting for Kafka', registers: [registry] }),
};

/** A tenant label: a registered tenant id, or `*` (platform key, no registered tenant named). */
export function tenantLabel(tenantId: string | undefined): string {
  return tenantId !== undefined && TENANT_ID_PATTERN.test(tenantId) ? tenantId : '*';
}

/** A value-set name such as `account_type`; anything else (never expected) is `other`. */
export function warningFieldLabel(field: string): string {
  return /^[a-z][a-z0-9_]{0,47}$/.test(field) ? field : 'other';
}

/** A rejection reason code such as `schema_invalid`; anything else (never expected) is `other`. */
export function reasonLabel(code: string): string {
  return /^[a-z][a-z0-9_]{0,47}$/.test(code) ? code : 'other';
}
