// GET /api/v2/admin/tenants/{id}/usage: a tenant's usage against its limits (an admin of that
// tenant, or platform-admin); PUT /api/v2/admin/tenants/{id}/limits: change them (platform-admin).
// Roles and the tenant (req.tenant = {id}) are decided by the security gate's access table.
import express, { type Request, type Response, type Router } from 'express';
import type { ControlPlane } from '../../core/control';
import { InputError } from '../../core/errors';
import { LIMIT_NAMES, type LimitName } from '../../core/limits';
import { setTenantLimits, type LimitsPatch } from '../../core/limits-control';
import { createLogger } from '../../core/logger';
import { sendError } from '../errors';
import type { LimitsDeps } from '../security/limits';

export interface UsageRouteDeps extends LimitsDeps {
  /** Writes limits records (PUT); the same control plane the view materializes. */
  plane: ControlPlane;
}

export function usageRouter({ view, counter, plane }: UsageRouteDeps): Router {
  const log = createLogger('admin-api');
  const router = express.Router();

  router.get('/api/v2/admin/tenants/:id/usage', async (req: Request, res: Response) => {
    const tenant = req.tenant!;
    const limits = view.for(tenant);
    try {
      const usage = await counter.usage(tenant, limits);
      res.json({ tenant_id: tenant, limits, overrides: view.overrides(tenant), usage, counted_in: counter.where });
    } catch (err) {
      log.error({ err }, 'usage not available');
      res.setHeader('Retry-After', '1');
      sendError(res, 503, 'usage_unavailable', 'the usage counters did not answer in time; retry');
    }
  });

  router.put('/api/v2/admin/tenants/:id/limits', async (req: Request, res: Response) => {
    const tenant = req.tenant!;
    const body = req.body as Record<string, unknown>;
    const patch: LimitsPatch = {};
    for (const [name, value] of Object.entries(body ?? {})) {
      if (!(LIMIT_NAMES as readonly string[]).includes(name)) return sendError(res, 400, 'invalid_request', `unknown limit ${JSON.stringify(name.slice(0, 64))}`, [{ path: `/${name.slice(0, 64)}`, reason: `not one of ${LIMIT_NAMES.join(', ')}` }]);
      if (value !== null && typeof value !== 'number') return sendError(res, 400, 'invalid_request', `${name}: expected a whole number or null (back to the default)`, [{ path: `/${name}`, reason: 'not a number or null' }]);
      patch[name as LimitName] = value as number | null;
    }
    try {
      const { overrides, effective } = await setTenantLimits(plane, tenant, patch, view.defaults);
      res.json({ tenant_id: tenant, limits: effective, overrides });
    } catch (err) {
      if (err instanceof InputError) return sendError(res, 400, 'invalid_request', err.message, err.details);
      throw err;
    }
  });

  return router;
}
