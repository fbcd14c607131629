// Structural limits for untrusted JSON, checked without recursion so that no input, however deep
// or wide, can overflow the stack or stall the event loop of the process reading it.
//
// Two levels:
// - `scanDepth` runs over the raw bytes of a request body *before* JSON.parse (V8 parses a
//   1,000,000-deep `[[[…]]]` in about a second, and JSON.stringify of anything deeper than a few
//   thousand levels throws RangeError);
// - `checkStructure` walks one parsed value (an event) and reports the first value no reader
//   downstream should see: too deep, too wide, too long, a number that overflowed a double
//   (JSON.parse reads `1e400` as Infinity, which JSON.stringify writes as `null`), or a key named
//   `__proto__` (own data property after JSON.parse, a prototype change after any copy by assignment).
// `elementRanges` finds the exact bytes of each element of a top-level array in a body, so a
// dead letter can keep what was sent without serializing the parsed value again.

export interface StructureLimits {
  /** Nesting of objects and arrays; the root container is level 1. */
  maxDepth: number;
  /** Keys of one object. */
  maxKeys: number;
  /** Elements of one array. */
  maxArrayLength: number;
  /** Characters of one string value. */
  maxStringLength: number;
  /** Characters of one object key. */
  maxKeyLength: number;
  /** Values (keys and elements) of the whole document. */
  maxNodes: number;
}

/**
 * The limits an event must meet before validation. A complete 2.1 event in the brief's shapes is
 * about 10 levels deep with about 350 values; these leave room for extensions (a few 4,096-wide
 * feature vectors fit) while bounding the work any reader — the validator first — does per event.
 */
export const EVENT_LIMITS: StructureLimits = {
  maxDepth: 64,
  maxKeys: 1000,
  maxArrayLength: 10_000,
  maxStringLength: 65_536,
  maxKeyLength: 256,
  maxNodes: 20_000,
};

export type StructureViolationKind = 'depth' | 'size' | 'number' | 'key';

export interface StructureViolation {
  kind: StructureViolationKind;
  /** JSONPath of the offending value, e.g. `$.event_data.business_context`. */
  path: string;
  reason: string;
}

/** The first structural violation of `value`, or undefined. Cost linear in the value's size; no input can overflow the stack. */
export function checkStructure(value: unknown, limits: StructureLimits = EVENT_LIMITS): StructureViolation | undefined {
  if (limits.maxDepth <= MAX_RECURSIVE_DEPTH && withinLimits(value, limits)) return undefined;
  const found = firstViolation(value, limits);
  return found && { kind: found.kind, reason: found.reason, path: jsonPath(pathTo(value, found.parent, found.key)) };
}

/** Deepest limit the recursive pass takes: its recursion stops at maxDepth, far from the stack's end. */
const MAX_RECURSIVE_DEPTH = 1000;

/**
 * The pass every event takes: true only when `value` has no violation. Recursive, allocation-free
 * and ~1.5× faster than `firstViolation`, whose stack-based walk names the first violation in a
 * fixed order; on false that walk runs and reports (so the report never depends on this pass).
 * `for…in` sees every own enumerable key (and inherited ones, which only makes it stricter).
 */
function withinLimits(value: unknown, limits: StructureLimits): boolean {
  if (value === null || typeof value !== 'object') return scalarProblem(value, limits) === undefined;
  nodesSeen = 0;
  return containerWithin(value, 1, limits);
}

let nodesSeen = 0;

function containerWithin(node: object, depth: number, limits: StructureLimits): boolean {
  if (Array.isArray(node)) {
    const n = node.length;
    if (n > limits.maxArrayLength || (nodesSeen += n) > limits.maxNodes) return false;
    for (let i = 0; i < n; i++) if (!childWithin(node[i], depth, limits)) return false;
    return true;
  }
  let keys = 0;
  for (const key in node) {
    if (++keys > limits.maxKeys || key.length > limits.maxKeyLength || key === '__proto__') return false;
    if (!childWithin((node as Record<string, unknown>)[key], depth, limits)) return false;
  }
  return (nodesSeen += keys) <= limits.maxNodes;
}

function childWithin(child: unknown, depth: number, limits: StructureLimits): boolean {
  if (typeof child === 'string') return child.length <= limits.maxStringLength;
  if (typeof child === 'number') return Number.isFinite(child);
  if (child === null || typeof child !== 'object') return true;
  return depth < limits.maxDepth && containerWithin(child, depth + 1, limits);
}

interface Found {
  kind: StructureViolationKind;
  reason: string;
  /** The container holding the offending value (undefined: the root itself), and its key there. */
  parent: object | undefined;
  key: string | number | undefined;
}

// The hot path (every event) allocates nothing per value: a stack of containers and their depths.
// Only when something is found does `pathTo` walk again to name where.
function firstViolation(value: unknown, limits: StructureLimits): Found | undefined {
  if (value === null || typeof value !== 'object') {
    const reason = scalarProblem(value, limits);
    return reason ? { ...reason, parent: undefined, key: undefined } : undefined;
  }
  const nodes: object[] = [value];
  const depths: number[] = [1];
  let count = 0;
  while (nodes.length > 0) {
    const node = nodes.pop()!;
    const depth = depths.pop()!;
    if (Array.isArray(node)) {
      if (node.length > limits.maxArrayLength) return { kind: 'size', reason: `array of ${node.length} elements; at most ${limits.maxArrayLength} are allowed`, ...self(value, node) };
      count += node.length;
      if (count > limits.maxNodes) return { kind: 'size', reason: `more than ${limits.maxNodes} values in one document`, ...self(value, node) };
      for (let i = 0; i < node.length; i++) {
        const child: unknown = node[i];
        if (child !== null && typeof child === 'object') {
          if (depth >= limits.maxDepth) return { kind: 'depth', reason: `nested deeper than ${limits.maxDepth} levels`, parent: node, key: i };
          nodes.push(child);
          depths.push(depth + 1);
        } else if (typeof child === 'number' || typeof child === 'string') {
          const problem = scalarProblem(child, limits);
          if (problem) return { ...problem, parent: node, key: i };
        }
      }
    } else {
      const keys = Object.keys(node);
      if (keys.length > limits.maxKeys) return { kind: 'size', reason: `object of ${keys.length} keys; at most ${limits.maxKeys} are allowed`, ...self(value, node) };
      count += keys.length;
      if (count > limits.maxNodes) return { kind: 'size', reason: `more than ${limits.maxNodes} values in one document`, ...self(value, node) };
      for (const key of keys) {
        if (key.length > limits.maxKeyLength) return { kind: 'key', reason: `a key of ${key.length} characters; at most ${limits.maxKeyLength} are allowed`, parent: node, key };
        if (key === '__proto__') return { kind: 'key', reason: 'the key "__proto__" is not allowed', parent: node, key };
        const child = (node as Record<string, unknown>)[key];
        if (child !== null && typeof child === 'object') {
          if (depth >= limits.maxDepth) return { kind: 'depth', reason: `nested deeper than ${limits.maxDepth} levels`, parent: node, key };
          nodes.push(child);
          depths.push(depth + 1);
        } else if (typeof child === 'number' || typeof child === 'string') {
          const problem = scalarProblem(child, limits);
          if (problem) return { ...problem, parent: node, key };
        }
      }
    }
  }
  return undefined;
}

/** A container reported as a whole: found again as its parent's child by `pathTo`. */
function self(root: object, node: object): { parent: object | undefined; key: string | number | undefined } {
  return node === root ? { parent: undefined, key: undefined } : { parent: node, key: undefined };
}

function scalarProblem(value: unknown, limits: StructureLimits): { kind: StructureViolationKind; reason: string } | undefined {
  if (typeof value === 'number' && !Number.isFinite(value)) {
    return { kind: 'number', reason: 'number out of range: it overflows a 64-bit float (e.g. 1e400) and would be read as Infinity' };
  }
  if (typeof value === 'string' && value.length > limits.maxStringLength) {
    return { kind: 'size', reason: `a string of ${value.length} characters; at most ${limits.maxStringLength} are allowed` };
  }
  return undefined;
}

/**
 * Keys from `root` down to `target` (then `key` inside it, when given). Cold path: runs only after
 * a violation was found, still iteratively, depth-bounded by the walk that found it.
 */
function pathTo(root: unknown, target: object | undefined, key: string | number | undefined): (string | number)[] {
  if (target === undefined) return [];
  const tail = key === undefined ? [] : [key];
  if (target === root) return tail;
  const pending: { node: object; path: (string | number)[] }[] = [{ node: root as object, path: [] }];
  while (pending.length > 0) {
    const { node, path } = pending.pop()!;
    const entries: [string | number, unknown][] = Array.isArray(node) ? node.map((v: unknown, i) => [i, v]) : Object.entries(node);
    for (const [k, child] of entries) {
      if (child === null || typeof child !== 'object') continue;
      if (child === target) return [...path, k, ...tail];
      pending.push({ node: child, path: [...path, k] });
    }
  }
  return tail;
}

const KEY_SHOWN = 64;

/** `$.a.b[0]["odd key"]`; keys longer than 64 characters are shortened with `…`. */
export function jsonPath(keys: readonly (string | number)[]): string {
  let out = '$';
  for (const key of keys) {
    if (typeof key === 'number') out += `[${key}]`;
    else {
      const shown = key.length > KEY_SHOWN ? `${key.slice(0, KEY_SHOWN)}…` : key;
      out += /^[A-Za-z_][A-Za-z0-9_]*$/.test(shown) ? `.${shown}` : `[${JSON.stringify(shown)}]`;
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Raw-byte scanners. They assume nothing about validity: on malformed input they stop and say
// nothing (JSON.parse then reports the syntax error with its position).

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const COMMA = 0x2c;
const COLON = 0x3a;

/** Offset of the quote that closes the string opening at `start`, or -1. */
function stringEnd(buf: Uint8Array, start: number): number {
  let i = start + 1;
  const n = buf.length;
  while (i < n) {
    const c = buf[i];
    if (c === QUOTE) return i;
    i += c === BACKSLASH ? 2 : 1;
  }
  return -1;
}

/** Byte classes for `scanDepth`: 0 nothing, 1 quote, 2 opening bracket, 3 closing bracket, 4 backslash. */
/**
 * Offset of the first `[` or `{` that opens a container deeper than `maxDepth`, or -1. One pass
 * over the bytes, strings skipped; run before JSON.parse so the parser never sees such input. On
 * the hot path: string contents are skipped with the native `indexOf` (an escaped quote is one
 * preceded by an odd run of backslashes), so the JS loop only visits structural bytes.
 */
export function scanDepth(bytes: Uint8Array, maxDepth: number): number {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let depth = 0;
  const n = buf.length;
  for (let i = 0; i < n; i++) {
    const c = buf[i];
    if (c === QUOTE) {
      // Jump to the closing quote natively; a quote after an odd run of backslashes is escaped.
      let j = i;
      for (;;) {
        j = buf.indexOf(QUOTE, j + 1);
        if (j < 0) return -1;
        let bs = 0;
        while (buf[j - 1 - bs] === BACKSLASH) bs++;
        if ((bs & 1) === 0) break;
      }
      i = j;
    } else if (c === OPEN_ARRAY || c === OPEN_OBJECT) {
      if (++depth > maxDepth) return i;
    } else if (c === CLOSE_ARRAY || c === CLOSE_OBJECT) depth--;
  }
  return -1;
}

interface PathFrame {
  array: boolean;
  /** Arrays: the index being read. */
  index: number;
  /** Objects: offsets of the current key's quotes (decoded only for the frames left at the end). */
  keyStart: number;
  keyEnd: number;
  /** In an object: the next string is a key. */
  expectKey: boolean;
}

/** JSONPath of the value that starts at byte `offset` (found by `scanDepth`). Cold path: errors only. */
export function pathAt(bytes: Uint8Array, offset: number): string {
  const buf = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const stack: PathFrame[] = [];
  for (let i = 0; i < offset && i < buf.length; i++) {
    const c = buf[i];
    if (c === QUOTE) {
      const end = stringEnd(buf, i);
      if (end < 0) break;
      const top = stack[stack.length - 1];
      if (top && !top.array && top.expectKey) {
        top.keyStart = i;
        top.keyEnd = end;
        top.expectKey = false;
      }
      i = end;
    } else if (c === OPEN_ARRAY || c === OPEN_OBJECT) {
      stack.push({ array: c === OPEN_ARRAY, index: 0, keyStart: -1, keyEnd: -1, expectKey: c === OPEN_OBJECT });
    } else if (c === CLOSE_ARRAY || c === CLOSE_OBJECT) {
      stack.pop();
    } else if (c === COMMA) {
      const top = stack[stack.length - 1];
      if (!top) continue;
      if (top.array) top.index++;
      else top.expectKey = true;
    }
  }
  // Each frame's current key names the child being read; the innermost one is the value at `offset`.
  return jsonPath(stack.map((f) => (f.array ? f.index : f.keyStart < 0 ? '' : decodeKey(buf, f.keyStart, f.keyEnd))));
}

function decodeKey(buf: Uint8Array, start: number, end: number): string {
  const bytes = end + 1 - start;
  if (bytes <= 1024) {
    try {
      return JSON.parse(Buffer.from(buf.buffer, buf.byteOffset + start, bytes).toString('utf8')) as string;
    } catch {
      // shown raw below
    }
  }
  return Buffer.from(buf.buffer, buf.byteOffset + start + 1, Math.min(bytes - 2, 4 * KEY_SHOWN)).toString('utf8');
}

/** Offset just past the value starting at `start` (whitespace skipped), or -1 when malformed. */
function valueEnd(buf: Uint8Array, start: number): number {
  const n = buf.length;
  let i = skipSpace(buf, start);
  if (i >= n) return -1;
  const c = buf[i];
  if (c === QUOTE) {
    const end = stringEnd(buf, i);
    return end < 0 ? -1 : end + 1;
  }
  if (c === OPEN_ARRAY || c === OPEN_OBJECT) {
    let depth = 0;
    for (; i < n; i++) {
      const d = buf[i];
      if (d === QUOTE) {
        i = stringEnd(buf, i);
        if (i < 0) return -1;
      } else if (d === OPEN_ARRAY || d === OPEN_OBJECT) depth++;
      else if (d === CLOSE_ARRAY || d === CLOSE_OBJECT) {
        if (--depth === 0) return i + 1;
      }
    }
    return -1;
  }
  // number, true, false, null
  while (i < n && !isDelimiter(buf[i])) i++;
  return i;
}

function isDelimiter(c: number): boolean {
  return c === COMMA || c === CLOSE_ARRAY || c === CLOSE_OBJECT || c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09 || c === COLON;
}

function skipSpace(buf: Uint8Array, i: number): number {
  const n = buf.length;
  while (i < n) {
    const c = buf[i];
    if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) i++;
    else break;
  }
  return i;
}

/**
 * Byte ranges `[start, end)` of the elements of the array under `key` in the top-level object of
 * `buf` (the last occurrence of the key, as JSON.parse keeps the last duplicate), or undefined
 * when the body is not such an object. Iterative, one pass.
 */
export function elementRanges(bytes: Uint8Array, key: string): [number, number][] | undefined {
  const buf = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // A UTF-8 byte order mark is allowed before the body (the JSON parser strips it too).
  let i = skipSpace(buf, buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf ? 3 : 0);
  if (buf[i] !== OPEN_OBJECT) return undefined;
  i = skipSpace(buf, i + 1);
  let found: [number, number][] | undefined;
  while (i < buf.length && buf[i] !== CLOSE_OBJECT) {
    if (buf[i] !== QUOTE) return undefined;
    const keyEnd = stringEnd(buf, i);
    if (keyEnd < 0) return undefined;
    let name: unknown;
    try {
      name = JSON.parse(Buffer.from(buf.buffer, buf.byteOffset + i, keyEnd + 1 - i).toString('utf8'));
    } catch {
      return undefined;
    }
    i = skipSpace(buf, keyEnd + 1);
    if (buf[i] !== COLON) return undefined;
    const valueStart = skipSpace(buf, i + 1);
    if (name === key && buf[valueStart] === OPEN_ARRAY) {
      const ranges: [number, number][] = [];
      let j = skipSpace(buf, valueStart + 1);
      while (j < buf.length && buf[j] !== CLOSE_ARRAY) {
        const start = skipSpace(buf, j);
        const end = valueEnd(buf, start);
        if (end < 0) return undefined;
        ranges.push([start, end]);
        j = skipSpace(buf, end);
        if (buf[j] === COMMA) j = skipSpace(buf, j + 1);
        else if (buf[j] !== CLOSE_ARRAY) return undefined;
      }
      found = ranges;
      i = j + 1;
    } else {
      const end = valueEnd(buf, valueStart);
      if (end < 0) return undefined;
      i = end;
    }
    i = skipSpace(buf, i);
    if (buf[i] === COMMA) i = skipSpace(buf, i + 1);
    else if (buf[i] !== CLOSE_OBJECT) return undefined;
  }
  return found;
}
