// API key administration shared by `rtap keys` (cli/control.ts) and the admin API
// (serving/admin/keys.ts): expiry parsing, who may grant what, and the public view of a key (its
// id and metadata, never its hash or secret).
import { InputError } from '../../core/errors';
import { keyIdOf, keyUsable, upcastRoles, type ApiKeyRecord, type Role } from '../../core/control';

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
/** Longest expiry accepted: about ten years. */
const MAX_EXPIRY_MS = 3650 * UNIT_MS.d;

/** `30d`, `12h`, `90m`, `45s` → milliseconds; anything else is an InputError naming `field`. */
export function parseExpiry(text: string, field = '/expires_in'): number {
  const m = /^(\d{1,6})([smhd])$/.exec(text.trim());
  const ms = m ? Number(m[1]) * UNIT_MS[m[2]] : NaN;
  if (!(ms > 0) || ms > MAX_EXPIRY_MS) throw new InputError(`invalid expiry ${JSON.stringify(text.slice(0, 40))}: expected a count and a unit (s, m, h, d) such as 30d, up to 3650d`, [{ path: field, reason: 'expected e.g. 30d, 12h, 90m' }]);
  return ms;
}

/**
 * Whether a caller with `callerRoles`, acting for `tenant` ('*' = the platform), may create a key
 * for that tenant with `roles`. Nobody grants what they do not hold: tenant admins grant viewer,
 * analyst, admin and ingest for their own tenant; platform keys ('*') and the platform-admin role
 * come from platform administrators only, and platform-admin is only ever a platform key's role.
 * Returns the reason for a refusal, or undefined.
 */
export function grantRefusal(callerRoles: readonly Role[], tenant: string, roles: readonly Role[]): string | undefined {
  const platform = callerRoles.includes('platform-admin');
  if (tenant === '*' && !platform) return 'only a platform administrator creates platform keys (tenant *)';
  if (roles.includes('platform-admin') && !platform) return 'only a platform administrator grants the platform-admin role';
  if (roles.includes('platform-admin') && tenant !== '*') return 'the platform-admin role belongs to platform keys (tenant *) only';
  if (!platform && !callerRoles.includes('admin')) return 'granting keys needs the admin role';
  return undefined;
}

export interface KeySummary {
  key_id: string;
  tenant_id: string;
  roles: Role[];
  label: string;
  created_at: string;
  /** When the current secret expires (absent: never). */
  expires_at?: string;
  revoked_at?: string;
  status: 'active' | 'expired' | 'revoked';
  /** Secrets that authenticate now: 2 during a rotation's grace. */
  usable_secrets: number;
}

/** One summary per key id, from every stored secret, sorted by tenant then creation. */
export function keySummaries(records: Iterable<ApiKeyRecord>, nowMs: number): KeySummary[] {
  const byId = new Map<string, ApiKeyRecord[]>();
  for (const r of records) byId.set(keyIdOf(r), [...(byId.get(keyIdOf(r)) ?? []), r]);
  return [...byId]
    .map(([key_id, secrets]) => {
      const newest = secrets.reduce((a, b) => (b.created_at > a.created_at ? b : a));
      const usable = secrets.filter((s) => keyUsable(s, nowMs)).length;
      const revoked = secrets.find((s) => s.revoked_at !== undefined)?.revoked_at;
      const summary: KeySummary = {
        key_id,
        tenant_id: newest.tenant_id,
        roles: upcastRoles(newest.roles),
        label: newest.label,
        created_at: secrets.reduce((a, b) => (b.created_at < a ? b.created_at : a), newest.created_at),
        status: revoked !== undefined ? 'revoked' : usable > 0 ? 'active' : 'expired',
        usable_secrets: usable,
      };
      if (newest.expires_at !== undefined) summary.expires_at = newest.expires_at;
      if (revoked !== undefined) summary.revoked_at = revoked;
      return summary;
    })
    .sort((a, b) => a.tenant_id.localeCompare(b.tenant_id) || a.created_at.localeCompare(b.created_at));
}
