// The account graph (speed-layer/fraud/graph.ts): components over shared devices, cards and
// addresses, per tenant, within the window, bounded in walk and in memory.
import { createAccountGraph } from '../../speed-layer/fraud/graph';
import { ev, MIN, shipping } from './fraud-helpers';

const HOUR = 60 * MIN;

test('accounts join through any shared device, card or address; the component grows as links arrive', () => {
  const g = createAccountGraph();
  expect(g.update(ev({ userId: 'a', device: 'd1', card: 'c1' }))).toEqual({ accounts: 1, shared: 2, newAccounts: 1, capped: false });
  // b shares the card, c shares b's address, d shares c's device: a – c1 – b – s1 – c – d2 – d
  g.update(ev({ at: MIN, userId: 'b', device: 'd9', card: 'c1', shipping: shipping({ addressKey: 's1' }) }));
  g.update(ev({ at: 2 * MIN, userId: 'c', device: 'd2', card: 'c3', shipping: shipping({ addressKey: 's1' }) }));
  const last = g.update(ev({ at: 3 * MIN, userId: 'd', device: 'd2', card: 'c4' }));
  expect(last).toMatchObject({ accounts: 4, newAccounts: 4, capped: false });
  // shared: d1, c1, d9, s1, d2, c3, c4
  expect(last.shared).toBe(7);
});

test('tenants never join, however their tokens coincide', () => {
  const g = createAccountGraph();
  g.update(ev({ tenant: 't1', userId: 'a', device: 'same' }));
  g.update(ev({ tenant: 't1', userId: 'b', device: 'same' }));
  expect(g.update(ev({ tenant: 't2', userId: 'c', device: 'same' }))).toMatchObject({ accounts: 1 });
});

test('links older than the window do not join; an old account is not new', () => {
  const g = createAccountGraph({ windowUs: 24 * HOUR });
  g.update(ev({ userId: 'a', device: 'd1' }));
  expect(g.update(ev({ at: 25 * HOUR, userId: 'b', device: 'd1' }))).toMatchObject({ accounts: 1, newAccounts: 1 });
  // a links again: now both links are recent, and a (first seen 25 h ago) is not new
  expect(g.update(ev({ at: 25 * HOUR + MIN, userId: 'a', device: 'd1' }))).toMatchObject({ accounts: 2, newAccounts: 1 });
});

test('a hub shared by thousands costs one bounded walk, and says so', () => {
  const g = createAccountGraph({ maxVisit: 50 });
  let last = g.update(ev({ userId: 'u0', device: 'kiosk' }));
  for (let i = 1; i < 500; i++) last = g.update(ev({ at: i, userId: `u${i}`, device: 'kiosk' }));
  expect(last.capped).toBe(true);
  expect(last.accounts + last.shared).toBeLessThanOrEqual(50);
});

test('memory is bounded: past maxNodes the oldest go, and idle links are swept', () => {
  const g = createAccountGraph({ maxNodes: 100, ttlUs: HOUR, sweepEvery: 10 });
  for (let i = 0; i < 1000; i++) g.update(ev({ at: i * MIN, userId: `u${i}`, device: `d${i}` }));
  expect(g.size).toBeLessThanOrEqual(100);
  // everything but the last hour's links is swept
  for (let i = 0; i < 10; i++) g.update(ev({ at: 2000 * MIN + i, userId: `v${i}`, device: `e${i}` }));
  expect(g.size).toBe(20);
});

test('no account or nothing to link: a component of one', () => {
  const g = createAccountGraph();
  expect(g.update(ev({ userId: null, anonymousId: null, device: 'd1' }))).toEqual({ accounts: 1, shared: 0, newAccounts: 0, capped: false });
  expect(g.update(ev({ userId: 'a', device: null, card: null, shipping: null }))).toEqual({ accounts: 1, shared: 0, newAccounts: 0, capped: false });
});
