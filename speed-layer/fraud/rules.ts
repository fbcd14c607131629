// Detector rules: each detector's parameters, per tenant, editable at run time. A rule is one
// record of the compacted `control` topic, key `fraudrule/<tenant>/<detector id>`, value
// FraudRuleRecord; a tombstone puts the tenant back on the defaults. The API writes them
// (PUT /api/v2/anomalies/rules/{rule_id}); every speed-layer instance follows the topic
// (core/control.ts ControlPlane) and applies them to its engine as they arrive (followRules), so a
// change takes effect on the next event the instance scores, without a restart.
//
// The parameter schema is derived from each detector's declared defaults (detector.ts): every
// parameter is a finite number ≥ 0; those whose default is a fraction strictly between 0 and 1
// (score contributions, shares, ratios) stay within [0, 1]; the others (counts, bars, km/h,
// minutes) are at most MAX_PARAM. Unknown names are refused, not ignored.
import type { ControlState } from '../../core/control';
import { TENANT_ID_PATTERN } from '../../core/control';
import type { Detector, Params } from './detector';
import { DETECTORS } from './detectors';
import type { FraudEngine } from './engine';

export const RULE_KIND = 'fraudrule';
export const MAX_PARAM = 1_000_000;

export interface FraudRuleRecord {
  tenant_id: string;
  /** The detector's id. */
  rule_id: string;
  enabled: boolean;
  /** Overrides of the detector's defaults (only the names given). */
  parameters: Params;
  updated_at: string;
  /** The credential that made the change (its key id), for the audit trail. */
  updated_by: string;
}

export interface ParamSchema {
  type: 'number';
  minimum: number;
  maximum: number;
  default: number;
}

/** What GET /api/v2/anomalies/rules shows of one detector for one tenant. */
export interface RuleView {
  rule_id: string;
  family: string;
  description: string;
  enabled: boolean;
  /** The parameters the tenant's events are scored with (defaults merged with the overrides). */
  parameters: Params;
  overrides: Params;
  defaults: Params;
  schema: Record<string, ParamSchema>;
  reads: readonly string[];
  updated_at: string | null;
  updated_by: string | null;
}

export type RuleValidation = { ok: true; enabled: boolean; parameters: Params } | { ok: false; details: { path: string; reason: string }[] };

export const ruleKey = (tenant: string, ruleId: string): string => `${RULE_KIND}/${tenant}/${ruleId}`;

export function parameterSchema(d: Pick<Detector, 'defaults'>): Record<string, ParamSchema> {
  const out: Record<string, ParamSchema> = {};
  for (const [name, def] of Object.entries(d.defaults)) out[name] = { type: 'number', minimum: 0, maximum: def > 0 && def < 1 ? 1 : MAX_PARAM, default: def };
  return out;
}

/** A PUT body checked against the detector's parameter schema; each problem names its field. */
export function validateRule(detector: Pick<Detector, 'id' | 'defaults'>, body: unknown): RuleValidation {
  const details: { path: string; reason: string }[] = [];
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return { ok: false, details: [{ path: '/', reason: 'expected an object {parameters?, enabled?}' }] };
  const b = body as Record<string, unknown>;
  for (const k of Object.keys(b)) if (k !== 'parameters' && k !== 'enabled') details.push({ path: `/${k}`, reason: 'unknown field (expected parameters, enabled)' });
  if (b.enabled !== undefined && typeof b.enabled !== 'boolean') details.push({ path: '/enabled', reason: 'expected a boolean' });
  const parameters: Params = {};
  if (b.parameters !== undefined) {
    if (typeof b.parameters !== 'object' || b.parameters === null || Array.isArray(b.parameters)) details.push({ path: '/parameters', reason: 'expected an object of parameter name → number' });
    else {
      const schema = parameterSchema(detector);
      for (const [name, v] of Object.entries(b.parameters as Record<string, unknown>)) {
        const s = schema[name];
        if (!s) details.push({ path: `/parameters/${name}`, reason: `unknown parameter of ${detector.id} (known: ${Object.keys(schema).join(', ')})` });
        else if (typeof v !== 'number' || !Number.isFinite(v)) details.push({ path: `/parameters/${name}`, reason: 'expected a finite number' });
        else if (v < s.minimum || v > s.maximum) details.push({ path: `/parameters/${name}`, reason: `expected a number in ${s.minimum}..${s.maximum} (default ${s.default})` });
        else parameters[name] = v;
      }
    }
  }
  return details.length > 0 ? { ok: false, details } : { ok: true, enabled: b.enabled !== false, parameters };
}

/** A rule record read from the control topic, or undefined when it is not one (then ignored). */
export function parseRuleRecord(id: string, text: string): FraudRuleRecord | undefined {
  const slash = id.indexOf('/');
  if (slash <= 0) return undefined;
  const tenant = id.slice(0, slash);
  const ruleId = id.slice(slash + 1);
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return undefined;
  }
  const r = v as Partial<FraudRuleRecord> | null;
  if (typeof r !== 'object' || r === null || r.tenant_id !== tenant || r.rule_id !== ruleId || !TENANT_ID_PATTERN.test(tenant)) return undefined;
  const d = DETECTORS.find((x) => x.id === ruleId);
  if (!d) return undefined;
  // re-validated: a record written by an older schema must not inject an out-of-range value
  const valid = validateRule(d, { parameters: r.parameters ?? {}, enabled: r.enabled ?? true });
  if (!valid.ok) return undefined;
  return { tenant_id: tenant, rule_id: ruleId, enabled: valid.enabled, parameters: valid.parameters, updated_at: String(r.updated_at ?? ''), updated_by: String(r.updated_by ?? '') };
}

/** The tenant's rule records held by a control view, by detector id. */
export function tenantRules(control: ControlState, tenant: string): Map<string, FraudRuleRecord> {
  const out = new Map<string, FraudRuleRecord>();
  const prefix = `${tenant}/`;
  for (const [id, text] of control.records(RULE_KIND)) {
    if (!id.startsWith(prefix)) continue;
    const r = parseRuleRecord(id, text);
    if (r) out.set(r.rule_id, r);
  }
  return out;
}

/** Every detector as the tenant's events are scored with it. */
export function ruleViews(control: ControlState, tenant: string, detectors: readonly Detector[] = DETECTORS): RuleView[] {
  const rules = tenantRules(control, tenant);
  return detectors.map((d) => {
    const r = rules.get(d.id);
    return {
      rule_id: d.id,
      family: d.family,
      description: d.description,
      enabled: r?.enabled ?? true,
      parameters: { ...d.defaults, ...(r?.parameters ?? {}) },
      overrides: r?.parameters ?? {},
      defaults: { ...d.defaults },
      schema: parameterSchema(d),
      reads: d.reads,
      updated_at: r?.updated_at ?? null,
      updated_by: r?.updated_by ?? null,
    };
  });
}

/**
 * Applies every rule the control view holds to the engine, then each one applied to the view from
 * now on (the control plane's consumer runs on the same event loop as the speed layer, so a rule
 * lands between two events). Returns the unsubscribe.
 */
export function followRules(control: ControlState, engine: Pick<FraudEngine, 'setOverride'>, onApplied?: (tenant: string, ruleId: string) => void): () => void {
  const apply = (id: string, text: string | null) => {
    const slash = id.indexOf('/');
    const tenant = id.slice(0, slash);
    const ruleId = id.slice(slash + 1);
    if (text === null) {
      if (slash > 0 && DETECTORS.some((d) => d.id === ruleId)) engine.setOverride(tenant, ruleId, null);
      return;
    }
    const r = parseRuleRecord(id, text);
    if (!r) return;
    engine.setOverride(r.tenant_id, r.rule_id, { enabled: r.enabled, params: r.parameters });
    onApplied?.(r.tenant_id, r.rule_id);
  };
  for (const [id, text] of control.records(RULE_KIND)) apply(id, text);
  return control.onRecord((kind, id, value) => {
    if (kind === RULE_KIND) apply(id, value);
  });
}
