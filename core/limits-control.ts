// Writing a tenant's limits: the `limits/<tenant>` record of the control topic (core/limits.ts),
// shared by `rtap limits set` and PUT /api/v2/admin/tenants/{id}/limits. Every API process
// materializes the topic, so a change applies to the next request without a restart.
import type { ControlPlane } from './control';
import { InputError } from './errors';
import { LIMIT_NAMES, checkLimitValue, effectiveLimits, limitsRecordKey, parseLimitsRecord, LIMITS_RECORD_KIND, type EffectiveLimits, type LimitName, type TenantLimitsRecord } from './limits';

/** A change: a value sets the limit, null returns it to the default. */
export type LimitsPatch = Partial<Record<LimitName, number | null>>;

export function storedOverrides(plane: ControlPlane, tenantId: string): Partial<EffectiveLimits> {
  const text = plane.state.records(LIMITS_RECORD_KIND).get(tenantId);
  return text === undefined ? {} : parseLimitsRecord(text);
}

/** Applies a patch to a registered tenant's overrides and writes the record (a tombstone when none is left). */
export async function setTenantLimits(plane: ControlPlane, tenantId: string, patch: LimitsPatch, defaults: EffectiveLimits): Promise<{ overrides: Partial<EffectiveLimits>; effective: EffectiveLimits }> {
  if (!plane.state.tenants.has(tenantId)) throw new InputError(`unknown tenant ${JSON.stringify(tenantId)}`, [{ path: '/id', reason: 'not a registered tenant' }]);
  const overrides: Partial<EffectiveLimits> = { ...storedOverrides(plane, tenantId) };
  for (const name of Object.keys(patch) as LimitName[]) {
    if (!LIMIT_NAMES.includes(name)) throw new InputError(`unknown limit ${JSON.stringify(name)}`, [{ path: `/${name}`, reason: `not one of ${LIMIT_NAMES.join(', ')}` }]);
    const value = patch[name];
    if (value === null || value === undefined) delete overrides[name];
    else {
      checkLimitValue(name, value);
      overrides[name] = value;
    }
  }
  const record: TenantLimitsRecord | null = Object.keys(overrides).length === 0 ? null : { tenant_id: tenantId, ...overrides, updated_at: new Date().toISOString() };
  await plane.write([{ key: limitsRecordKey(tenantId), value: record }]);
  return { overrides, effective: effectiveLimits(defaults, overrides) };
}
