import { Counter, Gauge, Histogram } from 'prom-client';
import { registry } from '../../core/metrics';

export const ingestMetrics = {
  events: new Counter({ name: 'rtap_ingest_events_total', help: 'Events received over HTTP by outcome', labelNames: ['outcome'], registers: [registry] }),
  rejected: new Counter({
    name: 'rtap_ingest_rejected_total',
    help: 'Events rejected to the DLQ by reason and tenant',
    labelNames: ['reason', 'tenant'],
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
