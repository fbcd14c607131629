// Rate limits and quotas (core/limits.ts) on a fake clock: the token bucket, the cost bucket's
// debt, the UTC-day quota, the engine's order of checks, and the query cost definition.
import { DAY_MS, DayQuota, LimitEngine, TokenBucket, checkLimitValue, effectiveLimits, parseLimitsRecord, queryCost, utcDay, type EffectiveLimits } from '../../core/limits';

const LIMITS: EffectiveLimits = { requests_per_second: 2, burst: 4, key_requests_per_second: 10, key_burst: 10, events_per_day: 100, query_cost_per_minute: 600 };
const T0 = Date.UTC(2026, 10, 27, 12, 0, 0);

describe('TokenBucket', () => {
  it('admits a burst, refuses beyond it, and refills at its rate', () => {
    const b = new TokenBucket(4, 2, T0);
    for (let i = 0; i < 4; i++) expect(b.tryTake(1, T0)).toBe(true);
    expect(b.tryTake(1, T0)).toBe(false);
    expect(b.secondsUntil(1, T0)).toBeCloseTo(0.5);
    expect(b.tryTake(1, T0 + 499)).toBe(false);
    expect(b.tryTake(1, T0 + 500)).toBe(true);
    // never more than its capacity, however long it idles
    expect(b.available(T0 + 3_600_000)).toBe(4);
  });

  it('keeps its tokens (capped) when its limits change', () => {
    const b = new TokenBucket(10, 1, T0);
    b.configure(3, 1);
    expect(b.available(T0)).toBe(3);
    expect(b.tryTake(3, T0)).toBe(true);
    expect(b.tryTake(1, T0)).toBe(false);
  });

  it('spend admits while not in debt and lets one big cost go into debt', () => {
    const b = new TokenBucket(60, 1, T0);
    expect(b.spend(150, T0)).toBe(true);
    expect(b.available(T0)).toBe(-90);
    expect(b.spend(1, T0 + 89_000)).toBe(false);
    expect(b.secondsUntil(Number.EPSILON, T0 + 89_000)).toBeCloseTo(1, 3);
    expect(b.spend(1, T0 + 90_001)).toBe(true);
  });
});

describe('DayQuota', () => {
  it('counts per UTC day and starts again at midnight', () => {
    const q = new DayQuota();
    const midnight = Math.ceil(T0 / DAY_MS) * DAY_MS;
    q.add(70, T0);
    expect(q.used(midnight - 1)).toBe(70);
    expect(q.used(midnight)).toBe(0);
    q.add(5, midnight + 10);
    expect(q.used(midnight + 20)).toBe(5);
    expect(utcDay(T0)).toEqual({ day: '2026-11-27', resetMs: 12 * 3_600_000 });
  });
});

describe('LimitEngine', () => {
  it("refuses a tenant beyond its rate whichever key it uses, with Retry-After and the bucket's figures", () => {
    const e = new LimitEngine();
    const check = (key: string, now = T0) => e.check({ tenant: 'acme', key, limits: LIMITS }, now);
    expect(check('k1')).toMatchObject({ allowed: true, limit: 4, remaining: 3 });
    check('k2');
    check('k1');
    expect(check('k2')).toMatchObject({ allowed: true, remaining: 0 });
    const refused = check('k3');
    expect(refused).toMatchObject({ allowed: false, scope: 'tenant_requests', limit: 4, remaining: 0, retryAfterSec: 1 });
    // another tenant is not affected
    expect(e.check({ tenant: 'other', key: 'k9', limits: LIMITS }, T0).allowed).toBe(true);
    expect(check('k1', T0 + 500).allowed).toBe(true);
  });

  it("refuses one key beyond its own rate without spending its tenant's budget", () => {
    const e = new LimitEngine();
    const l = { ...LIMITS, burst: 100, requests_per_second: 100, key_burst: 2, key_requests_per_second: 1 };
    expect(e.check({ tenant: 'acme', key: 'k1', limits: l }, T0).allowed).toBe(true);
    expect(e.check({ tenant: 'acme', key: 'k1', limits: l }, T0).allowed).toBe(true);
    expect(e.check({ tenant: 'acme', key: 'k1', limits: l }, T0)).toMatchObject({ allowed: false, scope: 'key_requests', retryAfterSec: 1 });
    expect(e.usage('acme', l, T0).requests.tenant_available).toBe(98);
  });

  it('stops ingestion once the day quota is reached, until the next UTC day', () => {
    const e = new LimitEngine();
    const l = { ...LIMITS, burst: 100 };
    expect(e.check({ tenant: 'acme', key: 'k', limits: l, ingest: true }, T0)).toMatchObject({ allowed: true, scope: 'events_per_day', remaining: 100 });
    e.recordEvents('acme', 100, l, T0);
    const refused = e.check({ tenant: 'acme', key: 'k', limits: l, ingest: true }, T0);
    expect(refused).toMatchObject({ allowed: false, scope: 'events_per_day', limit: 100, remaining: 0, retryAfterSec: 12 * 3600 });
    // a refused request gives its request tokens back
    expect(e.usage('acme', l, T0).requests.tenant_available).toBe(99);
    expect(e.check({ tenant: 'acme', key: 'k', limits: l }, T0 + 1000).allowed).toBe(true);
    expect(e.check({ tenant: 'acme', key: 'k', limits: l, ingest: true }, T0 + 12 * 3_600_000).allowed).toBe(true);
    // a raised limit applies at once
    expect(e.check({ tenant: 'acme', key: 'k', limits: { ...l, events_per_day: 200 }, ingest: true }, T0 + 2000).allowed).toBe(true);
  });

  it('charges query cost per minute and refuses while in debt', () => {
    const e = new LimitEngine();
    const l = { ...LIMITS, burst: 100 };
    expect(e.check({ tenant: 'acme', key: 'k', limits: l, cost: 1440 }, T0)).toMatchObject({ allowed: true, scope: 'query_cost', remaining: 0 });
    const refused = e.check({ tenant: 'acme', key: 'k', limits: l, cost: 1 }, T0 + 1000);
    // 840 units of debt at 10 units/s, one second of it already paid back
    expect(refused).toMatchObject({ allowed: false, scope: 'query_cost', retryAfterSec: 83 });
    expect(e.check({ tenant: 'acme', key: 'k', limits: l, cost: 1 }, T0 + 84_001).allowed).toBe(true);
    expect(e.usage('acme', l, T0 + 84_001).totals).toMatchObject({ query_cost: 1441, throttled: 1 });
  });

  it('forgets idle full buckets but keeps a tenant with events counted today', () => {
    const e = new LimitEngine();
    e.check({ tenant: 'a', key: 'ka', limits: LIMITS }, T0);
    e.check({ tenant: 'b', key: 'kb', limits: LIMITS }, T0);
    e.recordEvents('b', 1, LIMITS, T0);
    e.sweep(T0 + 11 * 60_000);
    expect(e.size).toEqual({ tenants: 1, keys: 0 });
  });
});

describe('limits records', () => {
  it('keeps valid overrides only and validates values', () => {
    expect(parseLimitsRecord(JSON.stringify({ tenant_id: 'a', burst: 5, requests_per_second: 0, events_per_day: 0, other: 1 }))).toEqual({ burst: 5, events_per_day: 0 });
    expect(effectiveLimits(LIMITS, { burst: 9 })).toEqual({ ...LIMITS, burst: 9 });
    expect(() => checkLimitValue('requests_per_second', 0)).toThrow(/requests_per_second: expected a whole number from 1/);
    expect(() => checkLimitValue('query_cost_per_minute', 1.5)).toThrow(/query_cost_per_minute/);
  });
});

describe('queryCost', () => {
  const body = (from: string, to: string, grain?: string) => ({ time_range: { from, to }, ...(grain ? { grain } : {}) });
  it('counts the time cells a query spans at its grain', () => {
    expect(queryCost('/api/v2/analytics/query', body('2026-11-01T00:00:00Z', '2026-11-02T00:00:00Z', 'minute'), {})).toBe(1440);
    expect(queryCost('/api/v2/analytics/query', body('2026-11-01T00:00:00Z', '2026-11-02T00:00:00Z'), {})).toBe(24);
    expect(queryCost('/api/v2/analytics/query', body('2026-11-01T00:00:00Z', '2026-11-08T00:00:00Z', 'all'), {})).toBe(7);
    expect(queryCost('/api/v2/analytics/realtime/query', body('2026-11-01T00:00:00Z', '2026-11-01T01:00:00Z'), {})).toBe(60);
    expect(queryCost('/api/v2/analytics/funnel/analyze', body('2026-11-01', '2026-11-03', 'day'), {})).toBe(2);
    expect(queryCost('/api/v2/analytics/realtime/metrics', undefined, { minutes: '15' })).toBe(15);
    expect(queryCost('/api/v2/analytics/realtime/dashboard', undefined, {})).toBe(60);
    expect(queryCost('/api/v2/analytics/cohort', undefined, {})).toBe(1);
  });
  it('is undefined outside analytics queries, job polling included', () => {
    expect(queryCost('/api/v2/events/batch', {}, {})).toBeUndefined();
    expect(queryCost('/api/v2/analytics/jobs/abc', undefined, {})).toBeUndefined();
  });
});
