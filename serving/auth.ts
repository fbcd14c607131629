// The security gate: one middleware, mounted once in serving/app.ts after the OpenAPI validator and
// before every router. For each /api request it finds the route's row in the access table
// (serving/security/access.ts), authenticates the credential (serving/security/identity.ts),
// checks the roles, decides the tenant (serving/tenant-scope.ts), and sets req.principal,
// req.tenant and req.crossTenant for the routers and the middlewares after it (rate limits,
// audit). A request it does not let through never reaches a router.
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { RtapConfig } from '../core/config';
import type { ControlState } from '../core/control';
import { sendError } from './errors';
import { accessLookup, type AccessMatch, type AccessRule } from './security/access';
import { createIdentity, credentialOf, type Identity, type Principal } from './security/identity';
import { createJwtVerifier } from './security/jwt';
import { decideTenant } from './tenant-scope';

declare module 'express-serve-static-core' {
  interface Request {
    /** The authenticated caller; set by the gate on every non-public /api route. */
    principal?: Principal;
  }
}

/** The identity of an API process: API keys from the control plane, JWTs per cfg.auth.jwt. */
export function identityFor(cfg: RtapConfig, control: ControlState): Identity {
  const jwt = cfg.auth.jwt;
  return createIdentity({ control, jwt: jwt ? { config: jwt, verifier: createJwtVerifier(jwt) } : undefined });
}

const PROTOTYPE_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

type ProtectedRule = Exclude<AccessRule, { public: true }>;

/** The tenant the request names where the rule says it does, or an error detail when it is not a string. */
function askedTenant(req: Request, rule: ProtectedRule, match: AccessMatch): { value: string | undefined; field: string } | { invalid: string } {
  const from = rule.tenantFrom;
  if (from.in === 'path') return { value: match.params[from.param], field: `/${from.param}` };
  const value: unknown = from.in === 'query' ? req.query.tenant : (req.body as Record<string, unknown> | undefined)?.[from.field];
  const field = from.in === 'query' ? '/tenant' : `/${from.field}`;
  if (value === undefined) return { value: undefined, field };
  return typeof value === 'string' ? { value, field } : { invalid: field };
}

export function securityGate(deps: { control: ControlState; identity: Identity }): RequestHandler {
  const lookup = accessLookup();
  return (req: Request, res: Response, next: NextFunction) => {
    // Case-insensitive, as express routes: `/API/v2/…` reaches the same routers, so it must meet the gate (and, matching no row, a 404).
    if (!/^\/api\//i.test(req.path)) return next();
    const match = lookup(req.method, req.path);
    // Fail closed: an /api route without a row in the table does not exist for anyone.
    if (!match) return sendError(res, 404, 'not_found', `no route for ${req.method} ${req.path.slice(0, 200)}`);
    const rule = match.rule;
    // Ids that name an object's prototype are nobody's ids: refused before any handler could use one as a key.
    const prototypeId = Object.entries(match.params).find(([, v]) => PROTOTYPE_KEYS.has(v));
    if (prototypeId) return sendError(res, 400, 'invalid_request', `path parameter ${prototypeId[0]} is not a valid id`, [{ path: `/${prototypeId[0]}`, reason: 'reserved name' }]);
    if (rule.public === true) return next();
    const queryKey = rule.queryKey && typeof req.query.api_key === 'string' ? req.query.api_key : undefined;
    deps.identity.authenticate(credentialOf(req.headers, queryKey)).then((auth) => {
      if (!auth.ok) {
        if (auth.failure.status === 401) res.setHeader('WWW-Authenticate', 'Bearer realm="rtap"');
        return sendError(res, auth.failure.status, auth.failure.error, auth.failure.message);
      }
      const principal = auth.principal;
      if (!principal.roles.some((r) => rule.roles.includes(r))) {
        return sendError(res, 403, 'forbidden', `this credential lacks a role allowed on ${match.route} (one of ${rule.roles.join(', ')})`);
      }
      const asked = askedTenant(req, rule, match);
      if ('invalid' in asked) return sendError(res, 400, 'invalid_request', 'the tenant must be a string', [{ path: asked.invalid, reason: 'not a string' }]);
      const decision = decideTenant(deps.control, principal, asked.value, rule.scope, asked.field);
      if (!decision.ok) return sendError(res, decision.status, decision.error, decision.message, decision.details);
      req.principal = principal;
      req.tenant = decision.tenant;
      req.crossTenant = decision.crossTenant;
      next();
    }, next);
  };
}
