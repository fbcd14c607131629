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
