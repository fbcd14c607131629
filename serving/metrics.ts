// Metrics of the API's process model (node:cluster primary). They live in the primary's own
// registry, which it appends to the workers' aggregated metrics on every /metrics scrape.
import { Counter, Gauge, Registry } from 'prom-client';

export const clusterRegistry = new Registry();

export const clusterMetrics = {
  workers: new Gauge({ name: 'rtap_api_workers', help: 'API worker processes listening', registers: [clusterRegistry] }),
  restarts: new Counter({ name: 'rtap_api_worker_restarts_total', help: 'API workers that died and were replaced', registers: [clusterRegistry] }),
};
