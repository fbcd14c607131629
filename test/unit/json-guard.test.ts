// Structural limits on untrusted JSON: iterative checks that name the offending path, and byte
// scanners that find depth and event slices without parsing.
import { EVENT_LIMITS, checkStructure, elementRanges, pathAt, scanDepth } from '../../core/json-guard';

/** `depth` containers, alternately objects and arrays, built inside out: {a: [{a: [ … ]}]}. */
function nested(depth: number): unknown {
  let value: unknown = depth % 2 ? {} : [];
  for (let i = depth - 1; i >= 1; i--) value = i % 2 ? { a: value } : [value];
  return value;
}

test('a value within the limits passes; 64 levels are allowed, 65 are not, with the path of the first too-deep container', () => {
  expect(checkStructure({ a: [1, 'x', null, true, { b: -0 }] })).toBeUndefined();
  expect(checkStructure(nested(EVENT_LIMITS.maxDepth))).toBeUndefined();
  const tooDeep = checkStructure(nested(EVENT_LIMITS.maxDepth + 1));
  expect(tooDeep).toMatchObject({ kind: 'depth', reason: 'nested deeper than 64 levels' });
  expect(tooDeep!.path).toBe(`$${'.a[0]'.repeat(32)}`);
});

test('10,000 and 1,000,000 levels: no stack overflow, a violation', () => {
  expect(checkStructure(nested(10_000))?.kind).toBe('depth');
  const text = '['.repeat(1_000_000) + ']'.repeat(1_000_000);
  const buf = Buffer.from(text);
  const at = scanDepth(buf, 66);
  expect(at).toBe(66);
  expect(pathAt(buf, at)).toBe(`$${'[0]'.repeat(66)}`);
});

test('a number that overflowed a double (JSON 1e400 → Infinity) is a violation naming its path', () => {
  const parsed = JSON.parse('{"cart": {"final_total": 1e400, "items": [1, -1e999]}}') as unknown;
  expect(checkStructure(parsed)).toEqual({
    kind: 'number',
    path: '$.cart.final_total',
    reason: expect.stringContaining('1e400') as string,
  });
  expect(checkStructure(JSON.parse('[1, -1e999]'))).toMatchObject({ kind: 'number', path: '$[1]' });
  expect(checkStructure(Number.NaN)).toMatchObject({ kind: 'number', path: '$' });
});

test('a __proto__ key (an own property after JSON.parse) is refused; constructor and prototype are plain keys', () => {
  expect(checkStructure(JSON.parse('{"a": {"__proto__": {"polluted": true}}}'))).toMatchObject({ kind: 'key', path: '$.a.__proto__' });
  expect(checkStructure(JSON.parse('{"constructor": {"prototype": {"x": 1}}}'))).toBeUndefined();
});

test('size limits: long strings, long keys, wide objects, long arrays, too many values', () => {
  const limits = { ...EVENT_LIMITS, maxStringLength: 10, maxKeyLength: 5, maxKeys: 3, maxArrayLength: 4, maxNodes: 20 };
  expect(checkStructure({ a: { b: 'x'.repeat(11) } }, limits)).toMatchObject({ kind: 'size', path: '$.a.b' });
  expect(checkStructure({ a: { abcdef: 1 } }, limits)).toMatchObject({ kind: 'key', path: '$.a.abcdef' });
  expect(checkStructure({ a: { w: 1, x: 2, y: 3, z: 4 } }, limits)).toMatchObject({ kind: 'size', path: '$.a', reason: expect.stringContaining('4 keys') as string });
  expect(checkStructure({ a: [[1, 2, 3, 4, 5]] }, limits)).toMatchObject({ kind: 'size', path: '$.a[0]' });
  expect(checkStructure([[1, 2, 3, 4], [1, 2, 3, 4], [1, 2, 3, 4], [1, 2, 3, 4], [1, 2, 3, 4]], limits)).toBeDefined();
  expect(checkStructure('x'.repeat(11), limits)).toMatchObject({ path: '$' });
});

test('paths quote odd keys and shorten long ones', () => {
  const key = 'k'.repeat(200);
  const v = checkStructure({ 'a b': { [key]: Infinity } }, { ...EVENT_LIMITS, maxKeyLength: 1000 });
  expect(v?.path).toBe(`$["a b"]["${'k'.repeat(64)}…"]`);
});

test('scanDepth skips brackets inside strings, escaped quotes included', () => {
  const body = Buffer.from(JSON.stringify({ events: [{ s: '[[[[{{{{\\"[[[[', t: '"]]]]' }] }));
  expect(scanDepth(body, 3)).toBe(-1);
  expect(scanDepth(body, 2)).toBeGreaterThan(0);
  expect(pathAt(body, scanDepth(body, 2))).toBe('$.events[0]');
  // Malformed input: the scanner says nothing, JSON.parse reports it.
  expect(scanDepth(Buffer.from('{"a": "unterminated'), 1)).toBe(-1);
});

test('pathAt names keys, including escaped ones and ones after earlier members', () => {
  const body = Buffer.from('{"x": [1, {"y": 2}], "events": [ {}, {"k\\u0065y": [[[0]]]} ]}');
  const at = scanDepth(body, 5);
  expect(pathAt(body, at)).toBe('$.events[1].key[0][0]');
});

test('elementRanges finds the exact bytes of each event, whitespace, duplicates and a BOM included', () => {
  const events = ['{"a": [1, "]"], "b": "}"}', '  42 ', 'null', '"s,t"', '[{"x": {}}]', '1e400'];
  const body = Buffer.from(`\ufeff { "other": {"events": [9]}, "events" : [ ${events.join(' , ')} ] , "z": true }`);
  const ranges = elementRanges(body, 'events')!;
  expect(ranges.map(([s, e]) => body.subarray(s, e).toString())).toEqual(events.map((e) => e.trim()));
  // JSON.parse keeps the last duplicate key; so does elementRanges.
  const dup = Buffer.from('{"events": [1, 2], "events": [{"last": true}]}');
  expect(elementRanges(dup, 'events')!.map(([s, e]) => dup.subarray(s, e).toString())).toEqual(['{"last": true}']);
  expect(elementRanges(Buffer.from('[1, 2]'), 'events')).toBeUndefined();
  expect(elementRanges(Buffer.from('{"events": {"a": 1}}'), 'events')).toBeUndefined();
  expect(elementRanges(Buffer.from('{"events": []}'), 'events')).toEqual([]);
});

test('the fast pass never lets a violation through: random values near every limit agree with a plain reference check', () => {
  const limits = { maxDepth: 4, maxKeys: 3, maxArrayLength: 3, maxStringLength: 5, maxKeyLength: 4, maxNodes: 12 };
  let seed = 42;
  const rand = (n: number) => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % n;
  const keyPool = ['a', 'bb', 'ccc', 'dddd', 'eeeee', '__proto__'];
  const gen = (depth: number): unknown => {
    const r = rand(10);
    if (depth > 5 || r < 4) return [1, 'abcde', 'abcdef', Infinity, null, true, -0][rand(7)];
    if (r < 7) return Array.from({ length: rand(5) }, () => gen(depth + 1));
    const o: Record<string, unknown> = {};
    for (let i = rand(5); i > 0; i--) Object.defineProperty(o, keyPool[rand(keyPool.length)], { value: gen(depth + 1), enumerable: true, configurable: true, writable: true });
    return o;
  };
  // Plain recursion, no shortcuts: does any value break a limit?
  const violates = (v: unknown): boolean => {
    let nodes = 0;
    const walk = (x: unknown, depth: number): boolean => {
      if (typeof x === 'number') return !Number.isFinite(x);
      if (typeof x === 'string') return x.length > limits.maxStringLength;
      if (x === null || typeof x !== 'object') return false;
      if (depth > limits.maxDepth) return true;
      const entries = Array.isArray(x) ? x.map((c, i) => [String(i), c] as const) : Object.keys(x).map((k) => [k, (x as Record<string, unknown>)[k]] as const);
      nodes += entries.length;
      if (nodes > limits.maxNodes) return true;
      if (Array.isArray(x) ? x.length > limits.maxArrayLength : entries.length > limits.maxKeys) return true;
      if (!Array.isArray(x) && entries.some(([k]) => k.length > limits.maxKeyLength || k === '__proto__')) return true;
      return entries.some(([, c]) => walk(c, depth + 1));
    };
    return walk(v, 1);
  };
  let bad = 0;
  for (let i = 0; i < 20_000; i++) {
    const v = gen(0);
    const found = checkStructure(v, limits);
    expect(found !== undefined).toBe(violates(v));
    if (found) bad++;
  }
  expect(bad).toBeGreaterThan(2000);
  expect(bad).toBeLessThan(18_000);
});
