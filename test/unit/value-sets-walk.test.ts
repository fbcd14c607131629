// valueWarnings is generated straight-line code (core/schema/value-sets.ts). Here it is checked
// against a plain reading of the rule — walk each set's path, `*` into arrays, a key only in an
// object, warn on a string outside the set, in set order, at most 20 — on the brief's fixture with
// values replaced at random along the sets' paths: unknown strings, known ones, numbers, null,
// arrays, objects, missing parts.
import { readEvent, VALUE_SETS, type ValueWarning } from '../../core/schema';
import { Rng } from '../../generator/prng';
import { loadFixture } from '../contract/brief-event';

/* eslint-disable @typescript-eslint/no-explicit-any -- events are reshaped on purpose through loose casts */

function reference(event: unknown): { field: string; path: string; value: string }[] {
  const out: { field: string; path: string; value: string }[] = [];
  for (const vs of VALUE_SETS) {
    let frontier: { node: unknown; path: string }[] = [{ node: event, path: '$' }];
    for (const step of vs.path) {
      const next: typeof frontier = [];
      for (const { node, path } of frontier) {
        if (step === '*') {
          if (Array.isArray(node)) node.forEach((x, i) => next.push({ node: x, path: `${path}[${i}]` }));
        } else if (node !== null && typeof node === 'object' && !Array.isArray(node) && Object.hasOwn(node, step)) {
          next.push({ node: (node as Record<string, unknown>)[step], path: `${path}.${step}` });
        }
      }
      frontier = next;
    }
    for (const { node, path } of frontier) {
      if (typeof node === 'string' && !vs.values.includes(node)) out.push({ field: vs.field, path, value: node.length > 64 ? `${node.slice(0, 64)}…` : node });
    }
  }
  return out.slice(0, 20);
}

const ODD_VALUES = (rng: Rng, known: readonly string[]): unknown[] => [
  `unknown_${rng.range(0, 1000)}`,
  known[rng.range(0, known.length - 1)],
  rng.range(0, 9),
  null,
  [],
  {},
  'x'.repeat(100),
];

/** The fixture with random changes along the value sets' paths. */
function mutated(rng: Rng): unknown {
  const event: any = loadFixture();
  for (let k = rng.range(0, 5); k > 0; k--) {
    const vs = VALUE_SETS[rng.range(0, VALUE_SETS.length - 1)];
    let node: any = event;
    for (let d = 0; d < vs.path.length - 1 && node !== null && typeof node === 'object'; d++) {
      const step = vs.path[d];
      if (step === '*') {
        if (!Array.isArray(node) || node.length === 0) break;
        if (rng.float() < 0.3) node.push(structuredClone(node[0]));
        node = node[rng.range(0, node.length - 1)];
      } else if (rng.float() < 0.05) {
        // a part of the path replaced or removed
        const odd = ODD_VALUES(rng, vs.values);
        if (rng.float() < 0.5) delete node[step];
        else node[step] = odd[rng.range(0, odd.length - 1)];
        node = null;
      } else node = node[step];
    }
    if (node !== null && typeof node === 'object' && !Array.isArray(node)) {
      const odd = ODD_VALUES(rng, vs.values);
      node[vs.path[vs.path.length - 1]] = odd[rng.range(0, odd.length - 1)];
    }
  }
  return event;
}

const warningsOf = (event: unknown): ValueWarning[] => {
  const r = readEvent(event);
  return r.ok ? r.warnings : [];
};

describe('value-set warnings (generated walk)', () => {
  test('match the plain reading of the rule on 1,000 reshaped fixtures', () => {
    const rng = new Rng(7011);
    let warned = 0;
    let read = 0;
    for (let i = 0; i < 1000; i++) {
      const event = mutated(rng);
      const r = readEvent(event);
      if (!r.ok) continue; // a shape the schema refuses never reaches the walk
      read++;
      expect(r.warnings.map(({ field, path, value }) => ({ field, path, value }))).toEqual(reference(event));
      if (r.warnings.length > 0) warned++;
    }
    // both kinds of events were seen: with warnings and without
    expect(read).toBeGreaterThan(300);
    expect(warned).toBeGreaterThan(50);
    expect(read - warned).toBeGreaterThan(50);
  });

  test('stop at 20 warnings, in set order', () => {
    const event: any = loadFixture();
    const products = event.event_data.business_context.transaction_context.products;
    while (products.length < 30) products.push(structuredClone(products[0]));
    for (const p of products) p.inventory.sku_availability = 'preorder';
    event.event_data.user_context.user_profile.account_type = 'vip';
    const w = warningsOf(event);
    expect(w).toHaveLength(20);
    expect(w[0]).toMatchObject({ field: 'account_type', value: 'vip' });
    expect(w.slice(1).every((x) => x.field === 'sku_availability')).toBe(true);
    expect(w[19].path).toBe('$.event_data.business_context.transaction_context.products[18].inventory.sku_availability');
  });
});
