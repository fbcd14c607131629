// The brief's event as test traffic: the complete 2.1 fixture (a copy of
// ../shared/fixtures/event-2.1-full.json), random subsets of its optional parts, and random type
// corruptions of its typed fields. Which parts are optional and which fields are typed is read
// from the registered 2.1 JSON Schema, so these cases follow the contract, not our generator.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { EVENT_SCHEMAS, type JsonSchema } from '../../core/schema';
import { Rng } from '../../generator/prng';

export const FIXTURE_PATH = path.resolve(__dirname, '../fixtures/event-2.1-full.json');

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

export function loadFixture(): Record<string, Json> {
  return JSON.parse(fs.readFileSync(FIXTURE_PATH, 'utf8')) as Record<string, Json>;
}

/** A fixture copy with a fresh event id, so several copies can travel through one pipeline. */
export function fixtureWithId(eventId: string, tenantId?: string): Record<string, Json> {
  const e = loadFixture();
  (e.event_metadata as Record<string, Json>).event_id = eventId;
  if (tenantId !== undefined) {
    e.tenant_id = tenantId;
    ((e.event_data as Record<string, Json>).business_context as Record<string, Record<string, Json>>).tenant_metadata.merchant_id = tenantId;
  }
  return e;
}

const isObject = (v: Json | undefined): v is { [k: string]: Json } => v !== null && typeof v === 'object' && !Array.isArray(v);

function childSchema(schema: JsonSchema | undefined, key: string | number): JsonSchema | undefined {
  if (!schema) return undefined;
  if (typeof key === 'number') return schema.items;
  return schema.properties?.[key] ?? (typeof schema.additionalProperties === 'object' ? schema.additionalProperties : undefined);
}

/**
 * Copies of `base` with one sub-tree removed in turn — every property and array element at every
 * depth (required ones too: the caller's pipeline decides what it accepts). A client may send any
 * subset of the optional parts.
 */
export function eachPartDropped(base: Record<string, Json>): Record<string, Json>[] {
  const out: Record<string, Json>[] = [];
  const walk = (node: Json, trail: (string | number)[]) => {
    if (node === null || typeof node !== 'object') return;
    for (const k of Object.keys(node)) {
      const copy = structuredClone(base);
      let parent = copy as Json;
      for (const s of trail) parent = (parent as Record<string | number, Json>)[s];
      if (Array.isArray(parent)) parent.splice(Number(k), 1);
      else delete (parent as Record<string, Json>)[k];
      out.push(copy);
      walk((node as Record<string, Json>)[k], [...trail, Array.isArray(node) ? Number(k) : k]);
    }
  };
  walk(base, []);
  return out;
}

/**
 * Drops each optional property (one not in its object's `required`) with probability `p`, at
 * every depth, and random elements of arrays. What remains is still a valid 2.1 event.
 */
export function optionalSubset(event: Record<string, Json>, rng: Rng, p = 0.3, schema: JsonSchema = EVENT_SCHEMAS['2.1']): Record<string, Json> {
  const walk = (value: Json, s: JsonSchema | undefined): Json => {
    if (Array.isArray(value)) {
      const min = s?.minItems ?? 0;
      const kept = value.filter(() => !rng.chance(p / 2));
      const items = kept.length >= min ? kept : value;
      return items.map((v) => walk(v, s?.items));
    }
    if (!isObject(value)) return value;
    const required = new Set(s?.required ?? []);
    const out: Record<string, Json> = {};
    for (const [k, v] of Object.entries(value)) {
      if (!required.has(k) && rng.chance(p)) continue;
      out[k] = walk(v, childSchema(s, k));
    }
    return out;
  };
  return walk(event, schema) as Record<string, Json>;
}

export interface TypedLeaf {
  path: (string | number)[];
  schema: JsonSchema;
}

/** Every value of the event whose schema declares a type (free-form parts excluded). */
export function typedLeaves(event: Record<string, Json>, schema: JsonSchema = EVENT_SCHEMAS['2.1']): TypedLeaf[] {
  const out: TypedLeaf[] = [];
  const walk = (value: Json, s: JsonSchema | undefined, at: (string | number)[]) => {
    if (!s) return;
    if (s.type !== undefined && at.length > 0) out.push({ path: at, schema: s });
    if (Array.isArray(value)) value.forEach((v, i) => walk(v, s.items, [...at, i]));
    else if (isObject(value)) for (const [k, v] of Object.entries(value)) walk(v, childSchema(s, k), [...at, k]);
  };
  walk(event, schema, []);
  return out;
}

/** A value of a type the schema does not allow. */
export function wrongTypeFor(schema: JsonSchema): Json {
  const types = Array.isArray(schema.type) ? schema.type : [schema.type];
  if (types.includes('string')) return 42;
  if (types.includes('integer')) return 1.5;
  if (types.includes('number')) return 'not a number';
  if (types.includes('boolean')) return 'yes';
  if (types.includes('array')) return { not: 'an array' };
  return [1, 2, 3];
}

export function jsonPathOf(at: (string | number)[]): string {
  return `$${at.map((k) => (typeof k === 'number' ? `[${k}]` : `.${k}`)).join('')}`;
}

/** The fixture with the typed value at a random leaf replaced by one of a wrong type. */
export function typeCorruption(rng: Rng, base: Record<string, Json> = loadFixture()): { event: Record<string, Json>; path: string } {
  const event = structuredClone(base);
  const leaves = typedLeaves(event).filter((l) => l.path[0] !== 'schema_version');
  const leaf = leaves[rng.int(leaves.length)];
  let node: Json = event;
  for (const k of leaf.path.slice(0, -1)) node = (node as Record<string | number, Json>)[k];
  (node as Record<string | number, Json>)[leaf.path.at(-1)!] = wrongTypeFor(leaf.schema);
  return { event, path: jsonPathOf(leaf.path) };
}
