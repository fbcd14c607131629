import { createIncrementalSweep } from '../../core/sweep';

function counting(map: Map<string, number>, every: number) {
  const visits = new Map<string, number>();
  const sweep = createIncrementalSweep({
    items: () => map.keys(),
    size: () => map.size,
    every,
    visit: (k) => visits.set(k, (visits.get(k) ?? 0) + 1),
  });
  return { sweep, visits };
}

test('`every` steps examine each item twice, a few per step', () => {
  const map = new Map(Array.from({ length: 1000 }, (_, i) => [`k${i}`, i]));
  const { sweep, visits } = counting(map, 200);
  let most = 0;
  for (let s = 0; s < 100; s++) {
    const before = [...visits.values()].reduce((a, b) => a + b, 0);
    sweep.step();
    most = Math.max(most, [...visits.values()].reduce((a, b) => a + b, 0) - before);
  }
  expect(visits.size).toBe(1000);
  expect([...visits.values()].every((n) => n === 1)).toBe(true);
  expect(most).toBe(10);
  // the next pass starts over
  for (let s = 0; s < 100; s++) sweep.step();
  expect([...visits.values()].every((n) => n === 2)).toBe(true);
});

test('fewer items than steps per pass: one item every few steps', () => {
  const map = new Map(Array.from({ length: 10 }, (_, i) => [`k${i}`, i]));
  const { sweep, visits } = counting(map, 200);
  for (let s = 0; s < 50; s++) sweep.step();
  expect(visits.size).toBe(5);
  for (let s = 0; s < 50; s++) sweep.step();
  expect(visits.size).toBe(10);
});

test('every = 1 examines everything at each step, from wherever the last one stopped', () => {
  const map = new Map(Array.from({ length: 7 }, (_, i) => [`k${i}`, i]));
  const { sweep, visits } = counting(map, 1);
  sweep.step();
  expect([...visits.values()]).toEqual([1, 1, 1, 1, 1, 1, 1]);
  map.set('late', 1);
  sweep.step();
  expect(visits.get('late')).toBe(1);
  expect([...visits.values()].reduce((a, b) => a + b, 0)).toBe(15);
});

test('items deleted while sweeping (idle ones dropped by visit) and an empty collection', () => {
  const map = new Map(Array.from({ length: 100 }, (_, i) => [`k${i}`, i]));
  const sweep = createIncrementalSweep({ items: () => map.entries(), size: () => map.size, every: 20, visit: ([k, v]) => v % 2 === 0 && map.delete(k) });
  // the pace holds while the pass drops half of what it sweeps
  for (let s = 0; s < 10; s++) sweep.step();
  expect(map.size).toBe(50);
  expect([...map.values()].every((v) => v % 2 === 1)).toBe(true);
  map.clear();
  sweep.step();
  const empty = createIncrementalSweep({ items: () => [][Symbol.iterator](), size: () => 5, every: 1, visit: () => undefined });
  empty.step(); // a size that disagrees with the items must not loop forever
  expect(() => createIncrementalSweep({ items: () => map.keys(), size: () => 0, every: 0, visit: () => undefined })).toThrow(RangeError);
});

test('an item is examined within `every` steps, wherever the pass stood (items dropped and added meanwhile)', () => {
  const map = new Map<string, number>();
  const lastSeen = new Map<string, number>();
  let step = 0;
  const sweep = createIncrementalSweep({ items: () => map.keys(), size: () => map.size, every: 50, visit: (k) => lastSeen.set(k, step) });
  let x = 7;
  const rnd = () => (x = (x * 48271) % 2147483647) / 2147483647;
  for (step = 0; step < 5000; step++) {
    if (rnd() < 0.6) map.set(`k${Math.floor(rnd() * 400)}`, step);
    if (rnd() < 0.3) map.delete([...map.keys()][Math.floor(rnd() * map.size)]);
    sweep.step();
    if (step > 100) for (const k of map.keys()) if (map.get(k)! <= step - 50) expect(step - lastSeen.get(k)!).toBeLessThan(50);
  }
});
