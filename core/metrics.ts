// The process-wide Prometheus registry. Each module declares its own metrics in a metrics.ts
// beside it, named *_total / *_ms / *_seconds, and registers them here.
import { Registry, collectDefaultMetrics } from 'prom-client';

export const registry = new Registry();
collectDefaultMetrics({ register: registry, prefix: 'rtap_' });
