// Schema compatibility checker (FULL compatibility within a major version): a new schema must let
// new readers read old events AND old readers read new events. So:
//   - adding an optional field, removing an optional field   → compatible
//   - adding a required field, making an optional one required → breaks new readers of old data
//   - removing a required field, making a required one optional → breaks old readers of new data
//   - changing a field's type or format, narrowing an enum      → breaks one side or the other
//   - widening an enum (new allowed values)                     → warning: old readers reject them
// Across majors there is no compatibility promise; an upcaster is required instead.
import type { JsonSchema } from './json-schemas';

export type ChangeKind =
  | 'added_optional'
  | 'removed_optional'
  | 'added_required'
  | 'removed_required'
  | 'made_required'
  | 'made_optional'
  | 'type_changed'
  | 'format_changed'
  | 'enum_narrowed'
  | 'enum_widened'
  | 'const_changed';

export interface SchemaChange {
  path: string;
  kind: ChangeKind;
  detail: string;
}

export interface CompatibilityReport {
  compatible: boolean;
  /** Changes that break readers: the check fails if there is any. */
  breaking: SchemaChange[];
  /** Changes readers survive but should know about. */
  warnings: SchemaChange[];
  /** Harmless changes (added/removed optional fields). */
  safe: SchemaChange[];
}

const BREAKING: ReadonlySet<ChangeKind> = new Set([
  'added_required',
  'removed_required',
  'made_required',
  'made_optional',
  'type_changed',
  'format_changed',
  'enum_narrowed',
  'const_changed',
]);

export function checkCompatibility(oldSchema: JsonSchema, newSchema: JsonSchema): CompatibilityReport {
  const changes: SchemaChange[] = [];
  compare(oldSchema, newSchema, '$', changes);
  const breaking = changes.filter((c) => BREAKING.has(c.kind));
  return {
    compatible: breaking.length === 0,
    breaking,
    warnings: changes.filter((c) => c.kind === 'enum_widened'),
    safe: changes.filter((c) => c.kind === 'added_optional' || c.kind === 'removed_optional'),
  };
}

function typeList(s: JsonSchema): string[] {
  if (s.type === undefined) return [];
  return (Array.isArray(s.type) ? [...s.type] : [s.type]).sort();
}

function compare(a: JsonSchema, b: JsonSchema, path: string, out: SchemaChange[]): void {
  const ta = typeList(a);
  const tb = typeList(b);
  if (ta.join('|') !== tb.join('|')) {
    out.push({ path, kind: 'type_changed', detail: `type ${ta.join('|') || 'any'} → ${tb.join('|') || 'any'}` });
    return;
  }
  if (a.format !== b.format) out.push({ path, kind: 'format_changed', detail: `format ${a.format ?? 'none'} → ${b.format ?? 'none'}` });
  // schema_version is the discriminator: it changes with every version by design.
  if (a.const !== b.const && path !== '$.schema_version') out.push({ path, kind: 'const_changed', detail: `const ${JSON.stringify(a.const)} → ${JSON.stringify(b.const)}` });
  if (a.enum || b.enum) {
    const ea = new Set(a.enum ?? []);
    const eb = new Set(b.enum ?? []);
    const removed = a.enum ? [...ea].filter((v) => !eb.has(v)) : [];
    const added = b.enum ? [...eb].filter((v) => !ea.has(v)) : [];
    if (b.enum && (!a.enum || removed.length > 0)) {
      out.push({ path, kind: 'enum_narrowed', detail: a.enum ? `values removed: ${removed.join(', ')}` : 'an enum now restricts the values' });
    }
    if (a.enum && (!b.enum || added.length > 0)) {
      out.push({ path, kind: 'enum_widened', detail: b.enum ? `values added: ${added.join(', ')}` : 'the enum was lifted' });
    }
  }
  if (a.items && b.items) compare(a.items, b.items, `${path}[]`, out);

  const pa = a.properties ?? {};
  const pb = b.properties ?? {};
  const ra = new Set(a.required ?? []);
  const rb = new Set(b.required ?? []);
  for (const name of new Set([...Object.keys(pa), ...Object.keys(pb), ...ra, ...rb])) {
    const child = `${path}.${name}`;
    const inA = name in pa || ra.has(name);
    const inB = name in pb || rb.has(name);
    if (inA && !inB) {
      out.push({ path: child, kind: ra.has(name) ? 'removed_required' : 'removed_optional', detail: ra.has(name) ? 'required field removed' : 'optional field removed' });
      continue;
    }
    if (!inA && inB) {
      out.push({ path: child, kind: rb.has(name) ? 'added_required' : 'added_optional', detail: rb.has(name) ? 'new required field' : 'new optional field' });
      continue;
    }
    if (ra.has(name) && !rb.has(name)) out.push({ path: child, kind: 'made_optional', detail: 'required field became optional' });
    if (!ra.has(name) && rb.has(name)) out.push({ path: child, kind: 'made_required', detail: 'optional field became required' });
    if (pa[name] && pb[name]) compare(pa[name], pb[name], child, out);
  }
}
