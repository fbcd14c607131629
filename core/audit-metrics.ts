// Audit log metrics (core/audit-log.ts): records written, anchored and archived, and the failures
// that leave records waiting. Names are stable for dashboards and alerts.
import { Counter, Gauge, Histogram } from 'prom-client';
import { registry } from './metrics';

export const auditMetrics = {
  records: new Counter({ name: 'rtap_audit_records_total', help: 'Audit records written to the audit topic', registers: [registry] }),
  refused: new Counter({ name: 'rtap_audit_refused_total', help: 'Audit records refused because the queue for Kafka was full (the request was answered 503)', registers: [registry] }),
  errors: new Counter({ name: 'rtap_audit_errors_total', help: 'Failed audit topic sends or archive writes (retried)', registers: [registry] }),
  queued: new Gauge({ name: 'rtap_audit_queued_records', help: 'Audit records waiting for Kafka', registers: [registry] }),
  anchors: new Counter({ name: 'rtap_audit_anchors_total', help: 'Chain heads anchored in the control topic', registers: [registry] }),
  archived: new Counter({ name: 'rtap_audit_archived_total', help: 'Audit records archived to the lake', registers: [registry] }),
  sendMs: new Histogram({ name: 'rtap_audit_send_ms', help: 'Latency of one audit batch send', buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 5000], registers: [registry] }),
};
