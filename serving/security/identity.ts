// Who is calling: one function for every entry point (the HTTP gate in serving/auth.ts and the
// WebSocket stream). Credentials are an API key (`x-api-key: rtap_…` or `Authorization: Bearer
// rtap_…`) or a JWT (`Authorization: Bearer <jwt>`): a bearer token that starts with the key
// prefix is an API key, anything else a JWT. The result is a Principal, the one shape the layers
// after authentication (tenant scope, rate limits, audit) read.
import type { IncomingHttpHeaders } from 'node:http';
import type { JWTPayload } from 'jose';
import type { JwtConfig } from '../../core/config';
import { API_KEY_PREFIX, keyIdOf, TENANT_ID_PATTERN, upcastRoles, type ControlState, type Role } from '../../core/control';
import type { JwtVerifier } from './jwt';

export interface Principal {
  kind: 'api_key' | 'jwt';
  /** The key id, or the JWT's `sub`. */
  id: string;
  /** The tenant the credential acts for, or `*` (platform). */
  tenant_id: string;
  roles: Role[];
  label: string;
}

export type Credential = { kind: 'api_key'; secret: string } | { kind: 'jwt'; token: string };

/** A refusal, as the HTTP status and error body it becomes. */
export interface AuthFailure {
  status: 401 | 403;
  error: string;
  message: string;
}

export type AuthResult = { ok: true; principal: Principal } | { ok: false; failure: AuthFailure };

const MAX_CREDENTIAL_LENGTH = 8192;

/** The credential a request presents (headers first; `queryKey` only where headers cannot be set, as on a browser WebSocket). */
export function credentialOf(headers: IncomingHttpHeaders, queryKey?: string | null): Credential | undefined {
  const header = headers['x-api-key'];
  const apiKey = (Array.isArray(header) ? header[0] : header)?.trim();
  if (apiKey) return { kind: 'api_key', secret: apiKey };
  const bearer = /^Bearer\s+(\S+)\s*$/i.exec(headers.authorization ?? '')?.[1];
  if (bearer) return bearer.startsWith(API_KEY_PREFIX) ? { kind: 'api_key', secret: bearer } : { kind: 'jwt', token: bearer };
  if (queryKey) return { kind: 'api_key', secret: queryKey };
  return undefined;
}

export interface Identity {
  authenticate(credential: Credential | undefined): Promise<AuthResult>;
}

export interface IdentityDeps {
  control: ControlState;
  /** Absent when no JWT issuer is configured: JWTs are then refused. */
  jwt?: { config: JwtConfig; verifier: JwtVerifier };
  now?: () => number;
}

const refuse = (status: 401 | 403, error: string, message: string): AuthResult => ({ ok: false, failure: { status, error, message } });

/** The roles a token claims: an array of names or one space-separated string; unknown names are dropped. */
function claimedRoles(value: unknown): Role[] | undefined {
  const names = Array.isArray(value) ? value : typeof value === 'string' ? value.split(/\s+/).filter(Boolean) : undefined;
  if (!names || !names.every((n) => typeof n === 'string')) return undefined;
  return upcastRoles(names as string[]);
}

/** A JWT's claims as a Principal, or why they cannot be one. */
export function principalFromClaims(claims: JWTPayload, cfg: Pick<JwtConfig, 'tenantClaim' | 'rolesClaim'>): { ok: true; principal: Principal } | { ok: false; reason: string } {
  const tenant = claims[cfg.tenantClaim];
  if (typeof tenant !== 'string' || (tenant !== '*' && !TENANT_ID_PATTERN.test(tenant))) return { ok: false, reason: `claim "${cfg.tenantClaim}" must be a tenant id or *` };
  const roles = claimedRoles(claims[cfg.rolesClaim]);
  if (!roles || roles.length === 0) return { ok: false, reason: `claim "${cfg.rolesClaim}" must list at least one known role` };
  // A token for every tenant is a platform administrator's, never anyone else's.
  if (tenant === '*' && !roles.includes('platform-admin')) return { ok: false, reason: `claim "${cfg.tenantClaim}" may be * only with the platform-admin role` };
  const sub = String(claims.sub);
  return { ok: true, principal: { kind: 'jwt', id: sub, tenant_id: tenant, roles, label: `jwt:${sub.slice(0, 128)}` } };
}

export function createIdentity({ control, jwt, now = Date.now }: IdentityDeps): Identity {
  return {
    async authenticate(credential) {
      if (!credential) return refuse(401, 'missing_api_key', 'send an API key (x-api-key header or Authorization: Bearer rtap_…) or a JWT (Authorization: Bearer <token>)');
      const secret = credential.kind === 'api_key' ? credential.secret : credential.token;
      if (secret.length > MAX_CREDENTIAL_LENGTH) return refuse(401, 'unauthorized', 'the credential is too long');
      if (credential.kind === 'api_key') {
        const record = control.authenticate(credential.secret, now());
        if (!record) return refuse(401, 'invalid_api_key', 'the API key is unknown, revoked or expired');
        return { ok: true, principal: { kind: 'api_key', id: keyIdOf(record), tenant_id: record.tenant_id, roles: upcastRoles(record.roles), label: record.label } };
      }
      if (!jwt) return refuse(401, 'invalid_token', 'JWTs are not accepted by this deployment (no issuer configured); use an API key');
      const verified = await jwt.verifier.verify(credential.token);
      if (!verified.ok) return refuse(401, 'invalid_token', verified.reason);
      const mapped = principalFromClaims(verified.claims, jwt.config);
      if (!mapped.ok) return refuse(401, 'invalid_token', mapped.reason);
      return { ok: true, principal: mapped.principal };
    },
  };
}
