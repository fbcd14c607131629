// Rate limit metrics (serving/security/limits.ts). Tenant labels only as authenticated and
// registered (tenantLabel), never a string from a payload.
import { Counter } from 'prom-client';
import { registry } from '../../core/metrics';

export const limitsMetrics = {
  throttled: new Counter({
    name: 'rtap_limits_throttled_total',
    help: 'Requests answered 429, by the limit that refused them (tenant_requests, key_requests, events_per_day, query_cost) and tenant',
    labelNames: ['scope', 'tenant'],
    registers: [registry],
  }),
  queryCost: new Counter({ name: 'rtap_limits_query_cost_total', help: 'Query cost units spent by admitted analytics queries, by tenant', labelNames: ['tenant'], registers: [registry] }),
  ipcFallbacks: new Counter({
    name: 'rtap_limits_ipc_fallbacks_total',
    help: 'Requests a worker admitted unchecked because the cluster primary did not answer in time (LIMITS_IPC_TIMEOUT_MS)',
    registers: [registry],
  }),
};
