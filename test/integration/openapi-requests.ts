// The OpenAPI document as data for request-driving tests (contract, fuzz, attack): its operations,
// a value each schema accepts, a value it refuses, every field of a body, and requests built from
// them. Pure: the document and the ids that patterns may match come from the caller.
import type { OpenAPIV3 } from 'openapi-types';

/** One documented operation. */
export interface Op {
  method: string;
  template: string;
  op: OpenAPIV3.OperationObject;
}

/** A request as the tests send it. */
export interface Req {
  method: string;
  /** The path with its parameters filled in. */
  path: string;
  query: Record<string, string>;
  body?: unknown;
}

type Schema = OpenAPIV3.SchemaObject | OpenAPIV3.ReferenceObject;

/** A well-formed id nothing has (path samples of uuid parameters). */
export const NO_SUCH_UUID = '00000000-0000-4000-8000-000000000000';

export class OpenApiRequests {
  readonly ops: Op[];

  /**
   * `known`: strings a `pattern` schema may be sampled with, first match wins (ids this run
   * created, such as tenant ids, job ids, ISO weeks), tried before generic ones.
   */
  constructor(
    readonly doc: OpenAPIV3.Document,
    private readonly known: () => string[] = () => [],
  ) {
    this.ops = Object.entries(doc.paths).flatMap(([template, item]) =>
      (['get', 'post', 'put', 'delete', 'patch'] as const).filter((m) => item?.[m]).map((m) => ({ method: m.toUpperCase(), template, op: item![m]! })),
    );
  }

  op(key: string): Op | undefined {
    return this.ops.find((o) => `${o.method} ${o.template}` === key);
  }

  deref<T>(x: T | OpenAPIV3.ReferenceObject): T {
    if (x && typeof x === 'object' && '$ref' in x) {
      const parts = x.$ref.replace(/^#\//, '').split('/');
      return this.deref(parts.reduce((o: unknown, p) => (o as Record<string, unknown>)[p], this.doc) as T);
    }
    return x as T;
  }

  params(op: OpenAPIV3.OperationObject): OpenAPIV3.ParameterObject[] {
    return (op.parameters ?? []).map((p) => this.deref(p));
  }

  bodySchema(op: OpenAPIV3.OperationObject): OpenAPIV3.SchemaObject | undefined {
    const body = op.requestBody && this.deref(op.requestBody);
    const s = body?.content['application/json']?.schema;
    return s ? this.deref(s) : undefined;
  }

  isSecured(o: Op): boolean {
    return (o.op.security ?? this.doc.security ?? []).length > 0;
  }

  /** A string that a pattern accepts, from the caller's ids first. */
  private patternSample(pattern: string): string | undefined {
    return [...this.known(), 'job_aaaaaaaaaaaaaaaa', 'key_0000000000000000', '2026-W47', 'rtap-backfill-x', NO_SUCH_UUID, 'e1', 'x'].find((c) => new RegExp(pattern).test(c));
  }

  /** A value the schema accepts (required fields only, then optional ones up to minProperties). */
  sample(raw: Schema): unknown {
    const s = this.deref(raw);
    if (s.enum) return s.enum[0];
    switch (s.type) {
      case 'object': {
        const keys = [...(s.required ?? [])];
        for (const k of Object.keys(s.properties ?? {})) if (keys.length < (s.minProperties ?? 0) && !keys.includes(k)) keys.push(k);
        return Object.fromEntries(keys.map((k) => [k, this.sample(s.properties![k])]));
      }
      case 'array': {
        const items = this.deref(s.items);
        const n = s.minItems ?? 0;
        return items.enum ? items.enum.slice(0, n) : Array.from({ length: n }, () => this.sample(items));
      }
      case 'integer':
      case 'number':
        return s.minimum ?? 1;
      case 'boolean':
        return false;
      default:
        if (s.format === 'date') return '2026-11-22';
        if (s.format === 'date-time') return '2026-11-22T12:00:00Z';
        if (s.pattern) return this.patternSample(s.pattern);
        if (s.format === 'uuid') return NO_SUCH_UUID;
        return 'x';
    }
  }

  /** A value the schema refuses, or undefined when none exists where it travels (an unconstrained query string). */
  invalid(raw: Schema, where: 'query' | 'path' | 'body'): unknown {
    const s = this.deref(raw);
    if (s.enum) return '__not_in_the_enum__';
    switch (s.type) {
      case 'integer':
      case 'number':
        return 'abc';
      case 'boolean':
        return 'maybe';
      case 'object':
        return where === 'body' ? 'not-an-object' : undefined;
      case 'array': {
        if (where === 'body') return { not: 'an array' };
        const items = this.deref(s.items);
        return items.enum ? '__not_in_the_enum__' : undefined;
      }
      default:
        if (s.format === 'date') return '2026-13-01';
        if (s.format === 'date-time') return 'yesterday';
        if (s.pattern || s.format === 'uuid') return '!!';
        if (s.maxLength !== undefined) return 'x'.repeat(s.maxLength + 1);
        // JSON bodies are not coerced: an object is no string
        return where === 'body' ? { not: 'a string' } : undefined;
    }
  }

  /** Every field of a body schema, as a JSON pointer with its schema (array items as element 0). */
  fields(raw: Schema, at = ''): { pointer: string; schema: OpenAPIV3.SchemaObject }[] {
    const s = this.deref(raw);
    const out: { pointer: string; schema: OpenAPIV3.SchemaObject }[] = [];
    if (s.type === 'object') {
      for (const [k, v] of Object.entries(s.properties ?? {})) {
        out.push({ pointer: `${at}/${k}`, schema: this.deref(v) }, ...this.fields(v, `${at}/${k}`).filter((f) => f.pointer !== `${at}/${k}`));
      }
    } else if (s.type === 'array' && s.items) {
      out.push({ pointer: `${at}/0`, schema: this.deref(s.items) }, ...this.fields(s.items, `${at}/0`).filter((f) => f.pointer !== `${at}/0`));
    }
    return out;
  }

  /** A copy of `body` with `value` at `pointer`, containers on the way filled with valid samples. */
  setAt(body: unknown, root: OpenAPIV3.SchemaObject, pointer: string, value: unknown): unknown {
    const copy = JSON.parse(JSON.stringify(body ?? {})) as Record<string, unknown>;
    const segs = pointer.split('/').slice(1);
    let node: Record<string, unknown> = copy;
    let schema: OpenAPIV3.SchemaObject = root;
    segs.forEach((seg, i) => {
      const child = this.deref((schema.type === 'array' ? schema.items : schema.properties?.[seg])!);
      if (i === segs.length - 1) {
        node[seg] = value;
        return;
      }
      const element = () => this.sample(this.deref((child as OpenAPIV3.ArraySchemaObject).items));
      if (node[seg] === undefined || node[seg] === null || typeof node[seg] !== 'object') node[seg] = child.type === 'array' ? [element()] : this.sample(child);
      if (Array.isArray(node[seg]) && (node[seg] as unknown[]).length === 0) (node[seg] as unknown[]).push(element());
      node = node[seg] as Record<string, unknown>;
      schema = child;
    });
    return copy;
  }

  /** The operation's path with its parameters sampled, or as given. */
  withPath(o: Op, given: Record<string, string> = {}): string {
    let p = o.template;
    for (const param of this.params(o.op).filter((x) => x.in === 'path')) p = p.replace(`{${param.name}}`, encodeURIComponent(given[param.name] ?? String(this.sample(param.schema!))));
    return p;
  }

  /** A request the document accepts: every required parameter and body field sampled, acting for `tenant`. */
  synthesize(o: Op, tenant: string): Req {
    const query: Record<string, string> = {};
    for (const param of this.params(o.op)) {
      if (param.in === 'query' && (param.required || param.name === 'tenant')) query[param.name] = param.name === 'tenant' ? tenant : String(this.sample(param.schema!));
    }
    const body = this.bodySchema(o.op);
    return { method: o.method, path: this.withPath(o), query, ...(body ? { body: this.sample(body) } : {}) };
  }
}
