// Who may call what: ONE declarative table, method + OpenAPI path template → the roles allowed and
// how the request's tenant is decided. The gate (serving/auth.ts) reads it for every /api request;
// a route missing here is refused (fail closed), and a unit test checks that every operation of
// the OpenAPI document has its row.
import type { Role } from '../../core/control';

/**
 * How the request's tenant is decided (serving/tenant-scope.ts):
 * - `tenant`: exactly one registered, active tenant: the credential's own, or the one a platform
 *   credential names;
 * - `tenant-or-platform`: the same, except a platform credential that names none acts for every
 *   tenant (req.tenant = '*'): backfills, key management, platform ingestion.
 */
export type TenantScope = 'tenant' | 'tenant-or-platform';

/** Where a platform credential names the tenant it acts for. */
export type TenantSource = { in: 'query' } | { in: 'body'; field: string } | { in: 'path'; param: string };

export type AccessRule =
  | { public: true }
  | {
      public?: false;
      roles: readonly Role[];
      scope: TenantScope;
      tenantFrom: TenantSource;
      /** The `api_key` query parameter is a credential here (browsers cannot set WebSocket headers). */
      queryKey?: boolean;
    };

const VIEW: readonly Role[] = ['viewer', 'analyst', 'admin', 'platform-admin'];
const ANALYZE: readonly Role[] = ['analyst', 'admin', 'platform-admin'];
const ADMIN: readonly Role[] = ['admin', 'platform-admin'];
const PLATFORM: readonly Role[] = ['platform-admin'];
const INGEST: readonly Role[] = ['ingest'];

const QUERY: TenantSource = { in: 'query' };
const tenantRoute = (roles: readonly Role[], extra: { queryKey?: boolean } = {}): AccessRule => ({ roles, scope: 'tenant', tenantFrom: QUERY, ...extra });

/** Method + OpenAPI path template → rule. */
export const ACCESS: Readonly<Record<string, AccessRule>> = {
  'GET /api/v2/ops/health/detailed': { public: true },
  // platform-wide service levels: no tenant's data in them
  'GET /api/v2/metrics/sla': { roles: VIEW, scope: 'tenant-or-platform', tenantFrom: QUERY },

  // ingestion: a tenant's key writes for its tenant, a platform ingest key for the tenant each event names
  'POST /api/v2/events/batch': { roles: INGEST, scope: 'tenant-or-platform', tenantFrom: QUERY },
  'POST /api/v2/data/quality/validate': { roles: INGEST, scope: 'tenant-or-platform', tenantFrom: QUERY },

  // reading merged analytics
  'POST /api/v2/analytics/query': tenantRoute(VIEW),
  'POST /api/v2/analytics/realtime/query': tenantRoute(VIEW),
  'GET /api/v2/analytics/realtime/metrics': tenantRoute(VIEW),
  'GET /api/v2/analytics/realtime/dashboard': tenantRoute(VIEW),
  'GET /api/v2/analytics/realtime/stream': tenantRoute(VIEW, { queryKey: true }),
  'GET /api/v2/analytics/cohort': tenantRoute(VIEW),
  'GET /api/v2/analytics/cohort/{cohort_id}': tenantRoute(VIEW),
  'GET /api/v2/analytics/geography': tenantRoute(VIEW),
  'GET /api/v2/analytics/jobs/{id}': tenantRoute(VIEW),
  'GET /api/v2/anomalies/active': tenantRoute(VIEW),
  'GET /api/v2/anomalies/rules': tenantRoute(VIEW),
  'GET /api/v2/anomalies/incidents': tenantRoute(VIEW),

  // analysis: event-level data and heavier models
  'POST /api/v2/analytics/funnel/analyze': tenantRoute(ANALYZE),
  'POST /api/v2/analytics/attribution/model': tenantRoute(ANALYZE),
  'GET /api/v2/data/lineage/{event_id}': tenantRoute(ANALYZE),
  'POST /api/v2/ml/fraud/score': tenantRoute(ANALYZE),
  'POST /api/v2/ml/inference/fraud': tenantRoute(ANALYZE),
  'POST /api/v2/anomalies/feedback/{anomaly_id}': tenantRoute(ANALYZE),
  'PUT /api/v2/anomalies/rules/{rule_id}': tenantRoute(ANALYZE),

  // a tenant's administration
  'POST /api/v2/data/erase/gdpr': tenantRoute(ADMIN),
  'GET /api/v2/data/erase/gdpr/{id}': tenantRoute(ADMIN),
  'POST /api/v2/data/export/gdpr': tenantRoute(ADMIN),
  'GET /api/v2/data/export/gdpr/{id}': tenantRoute(ADMIN),
  'POST /api/v2/admin/backfill': { roles: ADMIN, scope: 'tenant-or-platform', tenantFrom: { in: 'body', field: 'tenant' } },
  'GET /api/v2/admin/backfill/{id}': { roles: ADMIN, scope: 'tenant-or-platform', tenantFrom: QUERY },
  'GET /api/v2/admin/keys': { roles: ADMIN, scope: 'tenant-or-platform', tenantFrom: QUERY },
  'POST /api/v2/admin/keys': { roles: ADMIN, scope: 'tenant-or-platform', tenantFrom: QUERY },
  'POST /api/v2/admin/keys/{key_id}/rotate': { roles: ADMIN, scope: 'tenant-or-platform', tenantFrom: QUERY },
  'DELETE /api/v2/admin/keys/{key_id}': { roles: ADMIN, scope: 'tenant-or-platform', tenantFrom: QUERY },
  'GET /api/v2/admin/tenants/{id}/usage': { roles: ADMIN, scope: 'tenant', tenantFrom: { in: 'path', param: 'id' } },

  // the platform's administration
  'PUT /api/v2/admin/tenants/{id}/limits': { roles: PLATFORM, scope: 'tenant', tenantFrom: { in: 'path', param: 'id' } },
};

export interface AccessMatch {
  /** The table key, e.g. `GET /api/v2/analytics/jobs/{id}`. */
  route: string;
  rule: AccessRule;
  /** Path parameters by name, decoded. */
  params: Record<string, string>;
}

interface Compiled {
  method: string;
  pattern: RegExp;
  names: string[];
  route: string;
  rule: AccessRule;
  /** Literal segments first, so `/cohort` never loses to a template of the same length. */
  literals: number;
}

function compile(table: Readonly<Record<string, AccessRule>>): Compiled[] {
  return Object.entries(table)
    .map(([route, rule]) => {
      const [method, template] = route.split(' ');
      const names: string[] = [];
      const source = template
        .split('/')
        .map((seg) => {
          const param = /^\{(\w+)\}$/.exec(seg);
          if (!param) return seg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
          names.push(param[1]);
          return '([^/]+)';
        })
        .join('/');
      return { method, pattern: new RegExp(`^${source}/?$`), names, route, rule, literals: template.split('/').length - names.length };
    })
    .sort((a, b) => b.literals - a.literals);
}

/** A lookup over a table (the app uses ACCESS; tests pass their own). */
export function accessLookup(table: Readonly<Record<string, AccessRule>> = ACCESS): (method: string, path: string) => AccessMatch | undefined {
  const compiled = compile(table);
  return (method, path) => {
    const m = method.toUpperCase() === 'HEAD' ? 'GET' : method.toUpperCase();
    for (const c of compiled) {
      if (c.method !== m) continue;
      const found = c.pattern.exec(path);
      if (!found) continue;
      const params: Record<string, string> = {};
      try {
        c.names.forEach((name, i) => (params[name] = decodeURIComponent(found[i + 1])));
      } catch {
        return undefined; // a malformed %-escape matches no route
      }
      return { route: c.route, rule: c.rule, params };
    }
    return undefined;
  };
}
