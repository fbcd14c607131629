// Authentication in one place: every /api route resolves its caller here. API keys come as
// `x-api-key: <key>` or `Authorization: Bearer <key>`; JWTs join later through the same gate.
import type { NextFunction, Request, Response } from 'express';
import type { ApiKeyRecord, ControlState, Role } from '../core/control';
import { sendError } from './errors';

declare module 'express-serve-static-core' {
  interface Request {
    principal?: ApiKeyRecord;
  }
}

export function presentedKey(req: Request): string | undefined {
  const header = req.header('x-api-key');
  if (header) return header.trim();
  const auth = req.header('authorization');
  const match = auth ? /^Bearer\s+(\S+)$/i.exec(auth) : null;
  return match?.[1];
}

export function requireRole(control: ControlState, role: Role) {
  return (req: Request, res: Response, next: NextFunction) => {
    const key = presentedKey(req);
    if (!key) return sendError(res, 401, 'missing_api_key', 'send an API key in the x-api-key header (or Authorization: Bearer <key>)');
    const principal = control.authenticate(key);
    if (!principal) return sendError(res, 401, 'invalid_api_key', 'the API key is not known');
    if (!principal.roles.includes(role) && !principal.roles.includes('admin')) {
      return sendError(res, 403, 'forbidden', `this API key lacks the "${role}" role`);
    }
    if (principal.tenant_id !== '*' && !control.activeTenant(principal.tenant_id)) {
      return sendError(res, 403, 'tenant_inactive', `tenant ${JSON.stringify(principal.tenant_id)} is not active`);
    }
    req.principal = principal;
    next();
  };
}
