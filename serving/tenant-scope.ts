// The one place a request's tenant is decided: from its credential. A tenant's key acts for its
// own tenant (a `tenant` parameter naming another is refused); only a platform key ('*') names
// the tenant it acts for, explicitly, with `?tenant=`. Every data route reads `req.tenant` and
// nothing else, so no handler can pick a tenant of its own.
import type { NextFunction, Request, Response } from 'express';
import type { ControlState } from '../core/control';
import { sendError } from './errors';

declare module 'express-serve-static-core' {
  interface Request {
    /** The tenant every data access of this request is scoped to. */
    tenant?: string;
  }
}

export function tenantScope(control: ControlState) {
  return (req: Request, res: Response, next: NextFunction) => {
    const principal = req.principal;
    if (!principal) return sendError(res, 401, 'missing_api_key', 'authentication required');
    const asked = typeof req.query.tenant === 'string' ? req.query.tenant : undefined;
    if (principal.tenant_id !== '*') {
      if (asked !== undefined && asked !== principal.tenant_id) {
        return sendError(res, 403, 'forbidden', 'this key acts for its own tenant only', [{ path: '/tenant', reason: 'not the tenant of this key' }]);
      }
      req.tenant = principal.tenant_id;
      return next();
    }
    if (asked === undefined) return sendError(res, 400, 'invalid_request', 'a platform key must name the tenant to act for', [{ path: '/tenant', reason: 'required for platform keys' }]);
    if (!control.activeTenant(asked)) return sendError(res, 404, 'not_found', 'no such active tenant', [{ path: '/tenant', reason: 'unknown or inactive' }]);
    req.tenant = asked;
    next();
  };
}
