// Fraud-engine metrics in the speed layer, registered on the process-wide registry. Names are part
// of the dashboards' contract: keep them stable.
import { Counter, Gauge, Histogram } from 'prom-client';
import { registry } from '../../core/metrics';

export const fraudMetrics = {
  scoring: new Histogram({
    name: 'rtap_fraud_scoring_ms',
    help: 'Scoring one event in the speed layer: reading its view, the detectors, the ensemble, incidents',
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25],
    registers: [registry],
  }),
  anomalies: new Counter({ name: 'rtap_fraud_anomalies_total', help: 'Anomaly records produced, by severity', labelNames: ['severity'], registers: [registry] }),
  incidentsOpened: new Counter({ name: 'rtap_fraud_incidents_opened_total', help: 'Incidents opened (an anomaly sharing no entity with an open incident)', registers: [registry] }),
  incidentsOpen: new Gauge({ name: 'rtap_fraud_incidents_open', help: 'Open incidents held by this instance', registers: [registry] }),
  rulesApplied: new Counter({ name: 'rtap_fraud_rules_applied_total', help: 'Rule changes from the control topic applied to the running engine', registers: [registry] }),
  replayed: new Counter({ name: 'rtap_fraud_replayed_events_total', help: 'Events replayed into the engine memory and baselines after a restore', registers: [registry] }),
};
