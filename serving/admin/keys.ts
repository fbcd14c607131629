// API key management over HTTP (role admin; the access table in serving/security/access.ts):
//   GET    /api/v2/admin/keys                   the keys of the caller's tenant (a platform admin: all, or ?tenant=)
//   POST   /api/v2/admin/keys                   create one; its secret is in this answer only
//   POST   /api/v2/admin/keys/{key_id}/rotate   a new secret; the old one works for the grace period
//   DELETE /api/v2/admin/keys/{key_id}          revoke every secret of the key
// A tenant admin sees and manages its own tenant's keys only: another tenant's key id is a 404.
import express, { type Request, type Response, type Router } from 'express';
import { ControlPlane, upcastRoles, type ApiKeyRecord, type Role } from '../../core/control';
import { InputError } from '../../core/errors';
import { createLogger } from '../../core/logger';
import { sendError } from '../errors';
import { grantRefusal, keySummaries, parseExpiry } from '../security/key-admin';

export interface KeysRouteDeps {
  /** The control plane, to write key records (and read them from its state). */
  plane: ControlPlane;
  /** How long a rotated key's previous secret keeps working (cfg.auth.keyRotationGraceMs). */
  graceMs: number;
}

const KEYS_PATH = '/api/v2/admin/keys';

export function keysRouter({ plane, graceMs }: KeysRouteDeps): Router {
  const log = createLogger('admin-keys');
  const router = express.Router();

  /** The key's records when the caller's tenant may manage it; otherwise a 404 was sent. */
  const owned = (req: Request<{ key_id: string }>, res: Response): ApiKeyRecord[] | undefined => {
    const records = plane.state.keyRecords(req.params.key_id);
    if (records.length === 0 || (req.tenant !== '*' && records[0].tenant_id !== req.tenant)) {
      sendError(res, 404, 'not_found', 'no such key', [{ path: '/key_id', reason: 'unknown, or not a key of this tenant' }]);
      return undefined;
    }
    return records;
  };

  /** A control-plane write that refused its input: a 400 naming the field; anything else propagates. */
  const refused = (res: Response, err: unknown): boolean => {
    if (!(err instanceof InputError)) return false;
    sendError(res, 400, 'invalid_request', err.message, err.details);
    return true;
  };

  router.get(KEYS_PATH, (req, res) => {
    const all = [...plane.state.apiKeys.values()];
    const visible = req.tenant === '*' ? all : all.filter((r) => r.tenant_id === req.tenant);
    res.json({ data: keySummaries(visible, Date.now()) });
  });

  router.post(KEYS_PATH, async (req, res) => {
    // The OpenAPI validator has checked the body's shape (serving/openapi-security.ts).
    const body = req.body as { roles: string[]; label?: string; expires_in?: string };
    const roles = upcastRoles(body.roles);
    const tenant = req.tenant!;
    const principal = req.principal!;
    const refusal = grantRefusal(principal.roles, tenant, roles);
    if (refusal) return sendError(res, 403, 'forbidden', refusal, [{ path: '/roles', reason: refusal }]);
    try {
      const expiresAt = body.expires_in === undefined ? undefined : new Date(Date.now() + parseExpiry(body.expires_in));
      const { apiKey, record } = await plane.createApiKey(tenant, roles as Role[], body.label ?? 'api', { expiresAt });
      log.info({ key_id: record.key_id, tenant, roles, by: principal.id }, 'api key created');
      res.status(201).json({ api_key: apiKey, ...keySummaries([record], Date.now())[0] });
    } catch (err) {
      if (!refused(res, err)) throw err;
    }
  });

  router.post(`${KEYS_PATH}/:key_id/rotate`, async (req: Request<{ key_id: string }>, res: Response) => {
    if (!owned(req, res)) return;
    try {
      const rotated = await plane.rotateApiKey(req.params.key_id, graceMs);
      log.info({ key_id: req.params.key_id, by: req.principal!.id }, 'api key rotated');
      res.status(201).json({ api_key: rotated.apiKey, previous_secret_expires_at: rotated.previousExpireAt, ...keySummaries(plane.state.keyRecords(req.params.key_id), Date.now())[0] });
    } catch (err) {
      if (!refused(res, err)) throw err;
    }
  });

  router.delete(`${KEYS_PATH}/:key_id`, async (req: Request<{ key_id: string }>, res: Response) => {
    if (!owned(req, res)) return;
    try {
      await plane.revokeApiKey(req.params.key_id);
      log.info({ key_id: req.params.key_id, by: req.principal!.id }, 'api key revoked');
      res.json(keySummaries(plane.state.keyRecords(req.params.key_id), Date.now())[0]);
    } catch (err) {
      if (!refused(res, err)) throw err;
    }
  });

  return router;
}
