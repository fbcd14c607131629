// Lake sink metrics, registered on the process-wide registry. Names are part of the dashboards'
// contract: keep them stable.
import { Counter, Gauge, Histogram } from 'prom-client';
import { registry } from '../core/metrics';

export const sinkMetrics = {
  rowsWritten: new Counter({ name: 'rtap_sink_rows_written_total', help: 'Events written to raw Parquet objects', registers: [registry] }),
  objectsWritten: new Counter({ name: 'rtap_sink_objects_written_total', help: 'Raw Parquet objects uploaded', registers: [registry] }),
  bytesWritten: new Counter({ name: 'rtap_sink_bytes_written_total', help: 'Bytes of raw Parquet uploaded', registers: [registry] }),
  flushes: new Counter({ name: 'rtap_sink_flushes_total', help: 'Completed flushes by trigger', labelNames: ['reason'], registers: [registry] }),
  flushErrors: new Counter({ name: 'rtap_sink_flush_errors_total', help: 'Flushes that failed (retried from the same boundaries)', registers: [registry] }),
  flushAborts: new Counter({ name: 'rtap_sink_flush_aborts_total', help: 'Flushes abandoned before commit: a rebalance, or a partition record changed by another writer', registers: [registry] }),
  flushDiscards: new Counter({
    name: 'rtap_sink_flush_discards_total',
    help: 'Flushes flattened and then dropped before their pending records because a flush before them failed or aborted (planned again)',
    registers: [registry],
  }),
  recordConflicts: new Counter({
    name: 'rtap_sink_partition_record_conflicts_total',
    help: 'Partition records changed by another writer since this sink read them (read again, the flush abandoned)',
    registers: [registry],
  }),
  highWaterRepairs: new Counter({
    name: 'rtap_sink_high_water_repairs_total',
    help: 'High-water updates published again because another writer had overwritten them with an older mark',
    registers: [registry],
  }),
  flushDuration: new Histogram({
    name: 'rtap_sink_flush_ms',
    help: 'Flush duration: flatten, upload, DLQ, commit, manifests',
    buckets: [50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000],
    registers: [registry],
  }),
  dlq: new Counter({ name: 'rtap_sink_dlq_total', help: 'Events sent to the DLQ by reason', labelNames: ['reason'], registers: [registry] }),
  lag: new Gauge({ name: 'rtap_sink_lag_messages', help: 'Messages behind the partition high watermark when last fetched', labelNames: ['partition'], registers: [registry] }),
  buffered: new Gauge({ name: 'rtap_sink_buffered_rows', help: 'Messages buffered and not yet durable', registers: [registry] }),
  committedOffset: new Gauge({ name: 'rtap_sink_committed_offset', help: 'Last committed (= durable) next offset per partition', labelNames: ['partition'], registers: [registry] }),
};
