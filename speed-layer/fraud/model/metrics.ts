// Model lifecycle metrics on the process-wide registry: which versions are loaded, swaps, and the
// drift of each model's score distribution against its training-time reference (PSI, drift.ts).
import { Counter, Gauge } from 'prom-client';
import { registry } from '../../../core/metrics';

export const modelMetrics = {
  loaded: new Gauge({ name: 'rtap_fraud_model_loaded', help: 'A trained fraud model this instance scores with (1), by role and version', labelNames: ['role', 'version'], registers: [registry] }),
  loads: new Counter({ name: 'rtap_fraud_model_loads_total', help: 'Champion pointer polls, by outcome (swapped, unchanged, none, error)', labelNames: ['outcome'], registers: [registry] }),
  drift: new Gauge({ name: 'rtap_fraud_model_drift_psi', help: "PSI of the model's live score distribution against its held-out slice at training (> 0.25: retrain)", labelNames: ['role'], registers: [registry] }),
};
