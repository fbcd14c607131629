// Platform events (event_type system_event) about the servers that serve a tenant's shop:
// periodic health checks, API errors, rate-limit refusals of the tenant's integrations, and
// deployments. They belong to no shopper: user_context holds only the server's own session, the
// Kafka key is `tenant_id:server_instance`, and technical_context carries the full performance
// telemetry. (A bot session's rate-limit refusals are built in events.ts, in the bot's session.)
import type { RtapEvent, TechnicalContext } from '../core/schema/types';
import { REGION_OF_COUNTRY } from './catalog';
import { HOSTS, LINEAGE, SYSTEM_FLAGS, type EventFactory, type Host } from './events';
import { isoMicros, WeightedPicker } from './prng';
import { round2, type Tenant } from './world';

export const SYSTEM_SUBTYPES = ['health_check', 'api_error', 'rate_limit_hit', 'deployment'] as const;
export type SystemSubtype = (typeof SYSTEM_SUBTYPES)[number];
const SUBTYPE_PICKER = new WeightedPicker(SYSTEM_SUBTYPES, [50, 30, 18, 2]);

const ENDPOINTS = ['/api/v2/products', '/api/v2/search', '/api/v2/cart', '/api/v2/checkout', '/api/v2/payments/authorize', '/api/v2/orders', '/api/v2/inventory/sync'];
const ERRORS: readonly (readonly [number, string])[] = [
  [500, 'internal_error'],
  [502, 'bad_gateway'],
  [503, 'payment_gateway_unavailable'],
  [503, 'service_overloaded'],
  [504, 'upstream_timeout'],
  [500, 'db_connection_reset'],
];
const CLEAN = Object.freeze({ suspicious_user_agent: false, tor_exit_node: false, known_bot: false, geo_blocked: false });
const SERVICES = ['storefront-api', 'checkout-service', 'search-service', 'payment-gateway', 'catalog-service'];

export interface PlatformEvent {
  event: RtapEvent;
  key: string;
}

/** One platform event of a tenant, of a weighted random subtype. */
export function systemEvent(f: EventFactory, tenant: Tenant, subtype: SystemSubtype = SUBTYPE_PICKER.pick(f.rng)): PlatformEvent {
  const rng = f.rng;
  const hosts = HOSTS[REGION_OF_COUNTRY[tenant.markets[0].code] ?? 'us-east-1'];
  const host = hosts[rng.int(hosts.length)];
  const eventUs = f.eventTimeUs();
  const session = `svc_${host.server_instance}`;
  const telemetry: NonNullable<TechnicalContext['performance_telemetry']> = {
    request_id: `req_${rng.hex(16)}`,
    trace_id: rng.hex(32),
    parent_span_id: rng.hex(16),
    processing_time_ms: Math.round(rng.logNormal(subtype === 'api_error' ? 900 : subtype === 'health_check' ? 3 : 8, 0.8)),
    memory_usage_mb: rng.range(120, 900),
    cpu_utilization: round2(0.1 + rng.float() * (subtype === 'api_error' ? 0.89 : 0.6)),
    network_latency_ms: Math.round(rng.logNormal(subtype === 'api_error' ? 40 : 6, 0.7)),
    database_query_time_ms: Math.round(rng.logNormal(subtype === 'api_error' ? 300 : 3, 0.8)),
    cache_hit_ratio: round2(0.6 + rng.float() * 0.39),
  };
  let infrastructure: Host | Record<string, string> = host;
  let remaining = rng.range(Math.floor(tenant.rateLimit / 4), tenant.rateLimit);
  switch (subtype) {
    case 'health_check': {
      const degraded = rng.chance(0.03);
      telemetry.endpoint = '/healthz';
      telemetry.status_code = degraded ? 503 : 200;
      telemetry.health_status = degraded ? 'degraded' : 'ok';
      break;
    }
    case 'api_error': {
      const [status, code] = ERRORS[rng.int(ERRORS.length)];
      telemetry.endpoint = ENDPOINTS[rng.int(ENDPOINTS.length)];
      telemetry.http_method = rng.chance(0.6) ? 'POST' : 'GET';
      telemetry.status_code = status;
      telemetry.error_code = code;
      break;
    }
    case 'rate_limit_hit':
      telemetry.endpoint = rng.chance(0.5) ? '/api/v2/inventory/sync' : ENDPOINTS[rng.int(ENDPOINTS.length)];
      telemetry.http_method = 'POST';
      telemetry.status_code = 429;
      telemetry.retry_after_seconds = rng.range(1, 60);
      telemetry.requests_last_minute = tenant.rateLimit + rng.range(1, Math.ceil(tenant.rateLimit / 5));
      remaining = 0;
      break;
    case 'deployment': {
      const minor = rng.range(10, 20);
      infrastructure = {
        ...host,
        service_name: SERVICES[rng.int(SERVICES.length)],
        service_version: `2.${minor}.${rng.range(0, 9)}`,
        previous_version: `2.${minor - 1}.${rng.range(0, 9)}`,
        deployment_strategy: rng.chance(0.7) ? 'canary' : 'blue_green',
      };
      break;
    }
  }
  const event: RtapEvent = {
    schema_version: '2.1',
    tenant_id: tenant.id,
    partition_key: `${tenant.id}:${host.server_instance}`,
    event_metadata: {
      event_id: rng.uuid(),
      correlation_id: session,
      causation_id: null,
      timestamp: isoMicros(eventUs),
      ingestion_timestamp: isoMicros(f.clockUs),
      source_system: 'api',
      event_version: '2.1.0',
      processing_flags: SYSTEM_FLAGS,
    },
    event_data: {
      event_type: 'system_event',
      event_subtype: subtype,
      user_context: { session_data: { session_id: session } },
      business_context: { tenant_metadata: tenant.meta },
      technical_context: {
        infrastructure_metadata: infrastructure,
        performance_telemetry: telemetry,
        security_context: {
          request_signature: `sig_hmac_${rng.hex(12)}`,
          api_key_hash: tenant.apiKeyHash,
          rate_limit_remaining: remaining,
          security_flags: CLEAN,
        },
        data_lineage: LINEAGE.system,
      },
    },
  };
  return { event, key: event.partition_key };
}

