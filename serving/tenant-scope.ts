// The one place a request's tenant is decided: from its credential. A tenant's credential acts for
// its own tenant (naming another is refused); only a platform credential ('*') names the tenant it
// acts for, explicitly (`?tenant=`, or where the access table says), and that crossing is marked
// (req.crossTenant) for the audit. Every data route reads `req.tenant` and nothing else, so no
// handler can pick a tenant of its own. The HTTP gate (serving/auth.ts) and the WebSocket stream
// both decide here.
import type { ControlState } from '../core/control';
import type { ErrorDetail } from './errors';
import type { TenantScope } from './security/access';
import type { Principal } from './security/identity';

declare module 'express-serve-static-core' {
  interface Request {
    /** The tenant every data access of this request is scoped to; '*' only on tenant-or-platform routes, for every tenant. */
    tenant?: string;
    /** A platform credential acting for a tenant (or for all): recorded by the audit. */
    crossTenant?: boolean;
  }
}

export type TenantDecision =
  | { ok: true; tenant: string; crossTenant: boolean }
  | { ok: false; status: 400 | 403 | 404; error: string; message: string; details: ErrorDetail[] };

/**
 * The tenant a principal acts for on a route of `scope`, given the tenant the request names
 * (`asked`, undefined when it names none) and where it named it (`field`, for error details).
 */
export function decideTenant(control: ControlState, principal: Principal, asked: string | undefined, scope: TenantScope, field = '/tenant'): TenantDecision {
  if (principal.tenant_id !== '*') {
    if (asked !== undefined && asked !== principal.tenant_id) {
      return { ok: false, status: 403, error: 'forbidden', message: 'this credential acts for its own tenant only', details: [{ path: field, reason: 'not the tenant of this credential' }] };
    }
    if (!control.activeTenant(principal.tenant_id)) {
      return { ok: false, status: 403, error: 'tenant_inactive', message: `tenant ${JSON.stringify(principal.tenant_id)} is not active`, details: [{ path: field, reason: 'suspended or unregistered' }] };
    }
    return { ok: true, tenant: principal.tenant_id, crossTenant: false };
  }
  if (asked === undefined || asked === '*') {
    if (scope === 'tenant-or-platform') return { ok: true, tenant: '*', crossTenant: true };
    return { ok: false, status: 400, error: 'invalid_request', message: 'a platform credential must name the tenant to act for', details: [{ path: field, reason: 'required for platform credentials' }] };
  }
  if (!control.activeTenant(asked)) return { ok: false, status: 404, error: 'not_found', message: 'no such active tenant', details: [{ path: field, reason: 'unknown or inactive' }] };
  return { ok: true, tenant: asked, crossTenant: true };
}
