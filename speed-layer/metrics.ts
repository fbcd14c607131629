// Speed-layer metrics, registered on the process-wide registry. Names are part of the
// dashboards' contract: keep them stable.
import { Counter, Gauge, Histogram } from 'prom-client';
import { registry } from '../core/metrics';

export const speedMetrics = {
  events: new Counter({ name: 'rtap_speed_events_total', help: 'Events read, by outcome (counted, duplicate, rejected, skipped)', labelNames: ['outcome'], registers: [registry] }),
  late: new Counter({ name: 'rtap_speed_late_events_total', help: 'Events whose minute window had already closed (still counted in their cells)', registers: [registry] }),
  rejected: new Counter({ name: 'rtap_speed_rejected_total', help: 'Events refused, by reason', labelNames: ['reason'], registers: [registry] }),
  lag: new Gauge({ name: 'rtap_speed_lag_messages', help: 'Messages behind the partition high watermark when last fetched', labelNames: ['partition'], registers: [registry] }),
  watermarkDelay: new Gauge({ name: 'rtap_speed_watermark_delay_ms', help: 'Wall clock minus the partition watermark at the last commit', labelNames: ['partition'], registers: [registry] }),
  cells: new Gauge({ name: 'rtap_speed_state_cells', help: 'Aggregate cells held', registers: [registry] }),
  sessions: new Gauge({ name: 'rtap_speed_open_sessions', help: 'Open user sessions held', registers: [registry] }),
  transaction: new Histogram({ name: 'rtap_speed_transaction_ms', help: 'Checkpoint transaction: produce changelog and results, sendOffsets, commit', buckets: [5, 10, 25, 50, 100, 250, 500, 1000, 5000], registers: [registry] }),
  transactions: new Counter({ name: 'rtap_speed_transactions_total', help: 'Checkpoint transactions, by result (committed, aborted)', labelNames: ['result'], registers: [registry] }),
  changelogRecords: new Counter({ name: 'rtap_speed_changelog_records_total', help: 'Records written to the changelog', registers: [registry] }),
  results: new Counter({ name: 'rtap_speed_window_results_total', help: 'Window results emitted', registers: [registry] }),
  latency: new Histogram({
    name: 'rtap_speed_event_to_update_ms',
    help: 'Kafka record timestamp of an event to the commit of the state it updated',
    buckets: [5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000],
    registers: [registry],
  }),
  restore: new Histogram({ name: 'rtap_speed_restore_ms', help: 'Rebuilding assigned partitions from the changelog', buckets: [100, 500, 1000, 5000, 10000, 30000, 120000], registers: [registry] }),
  restoredRecords: new Counter({ name: 'rtap_speed_restored_records_total', help: 'Changelog records read back to rebuild assigned partitions (restarts and rebalances)', registers: [registry] }),
  cellsDropped: new Counter({ name: 'rtap_speed_cells_dropped_total', help: 'Cells dropped because a published batch cut covers them', registers: [registry] }),
};
