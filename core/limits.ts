// Per-tenant and per-key rate limits and quotas (docs/security.md "Limits"). Pure: a token bucket,
// a cost bucket that may go into debt, a UTC-day quota, and the engine that holds them all, each
// given the time by its caller so tests drive a fake clock. The limits themselves are
// `limits/<tenant>` records of the control topic (only the fields a tenant overrides) over the
// defaults of core/config.ts; serving/security/limits.ts applies them to requests.
import { InputError } from './errors';

/** The limits that apply to one tenant and to each of its keys, after defaults. */
export interface EffectiveLimits {
  /** Tenant-wide request rate (all its keys together) and the burst it may spend at once. */
  requests_per_second: number;
  burst: number;
  /** Each key's own rate and burst (a key cannot take its whole tenant's budget). */
  key_requests_per_second: number;
  key_burst: number;
  /** Events accepted by POST /api/v2/events/batch per UTC day; 0 stops ingestion. */
  events_per_day: number;
  /** Query cost units (queryCost) per minute, spent by analytics queries; 0 stops queries. */
  query_cost_per_minute: number;
}

export type LimitName = keyof EffectiveLimits;

export const LIMIT_NAMES: readonly LimitName[] = ['requests_per_second', 'burst', 'key_requests_per_second', 'key_burst', 'events_per_day', 'query_cost_per_minute'];

/** Limits that may be 0 (a stop); the request rates must stay positive so a tenant can still reach its usage. */
const ZERO_ALLOWED: ReadonlySet<LimitName> = new Set(['events_per_day', 'query_cost_per_minute']);
export const MAX_LIMIT_VALUE = 1e12;

/** The `limits/<tenant>` record: the overrides of one tenant (absent fields take the defaults). */
export interface TenantLimitsRecord extends Partial<EffectiveLimits> {
  tenant_id: string;
  updated_at: string;
}

export const LIMITS_RECORD_KIND = 'limits';

export function limitsRecordKey(tenantId: string): string {
  return `${LIMITS_RECORD_KIND}/${tenantId}`;
}

/** Checks one override value; the message names the limit and the reason. */
export function checkLimitValue(name: LimitName, value: number): void {
  const min = ZERO_ALLOWED.has(name) ? 0 : 1;
  if (!Number.isInteger(value) || value < min || value > MAX_LIMIT_VALUE) {
    throw new InputError(`${name}: expected a whole number from ${min} to ${MAX_LIMIT_VALUE}, got ${value}`, [{ path: `/${name}`, reason: `must be a whole number from ${min} to ${MAX_LIMIT_VALUE}` }]);
  }
}

/** A record read from the control topic: its valid overrides only (a bad field falls back to the default). */
export function parseLimitsRecord(text: string): Partial<EffectiveLimits> {
  const raw = JSON.parse(text) as Record<string, unknown>;
  const out: Partial<EffectiveLimits> = {};
  for (const name of LIMIT_NAMES) {
    const v = raw[name];
    if (typeof v !== 'number') continue;
    try {
      checkLimitValue(name, v);
      out[name] = v;
    } catch {
      // an invalid stored value cannot lock a tenant out: the default applies
    }
  }
  return out;
}

export function effectiveLimits(defaults: EffectiveLimits, overrides: Partial<EffectiveLimits> | undefined): EffectiveLimits {
  return { ...defaults, ...overrides };
}

/**
 * A token bucket: `capacity` tokens, refilled at `ratePerSec`. Changing the limits keeps the
 * tokens already held (capped at the new capacity), so a run-time change takes effect at once.
 */
export class TokenBucket {
  private tokens: number;
  private lastMs: number;

  constructor(
    private capacity: number,
    private ratePerSec: number,
    nowMs: number,
  ) {
    this.tokens = capacity;
    this.lastMs = nowMs;
  }

  configure(capacity: number, ratePerSec: number): void {
    this.capacity = capacity;
    this.ratePerSec = ratePerSec;
    this.tokens = Math.min(this.tokens, capacity);
  }

  private refill(nowMs: number): void {
    const elapsed = Math.max(0, nowMs - this.lastMs) / 1000;
    this.tokens = Math.min(this.capacity, this.tokens + elapsed * this.ratePerSec);
    this.lastMs = Math.max(this.lastMs, nowMs);
  }

  /** Takes `n` tokens if there are that many; else takes none. */
  tryTake(n: number, nowMs: number): boolean {
    this.refill(nowMs);
    if (this.tokens + 1e-9 < n) return false;
    this.tokens -= n;
    return true;
  }

  /**
   * Admits when the bucket is not in debt, then takes `n` even if that drives it below zero: a
   * query costing more than the whole bucket still runs once, and the debt delays the next ones.
   */
  spend(n: number, nowMs: number): boolean {
    this.refill(nowMs);
    if (this.tokens <= 0 || this.ratePerSec === 0) return false;
    this.tokens -= n;
    return true;
  }

  /** Returns tokens taken for a request that was refused after all. */
  refund(n: number): void {
    this.tokens = Math.min(this.capacity, this.tokens + n);
  }

  /** Seconds until `n` tokens are available (Infinity when the rate is 0). */
  secondsUntil(n: number, nowMs: number): number {
    this.refill(nowMs);
    if (this.tokens >= n) return 0;
    return this.ratePerSec === 0 ? Infinity : (n - this.tokens) / this.ratePerSec;
  }

  available(nowMs: number): number {
    this.refill(nowMs);
    return this.tokens;
  }

  get limit(): number {
    return this.capacity;
  }

  /** Full and untouched: forgetting it changes nothing (a new bucket starts full). */
  isFull(nowMs: number): boolean {
    return this.available(nowMs) >= this.capacity;
  }
}

export const DAY_MS = 86_400_000;

/** The UTC day of an instant (`YYYY-MM-DD`) and the ms left until the next one. */
export function utcDay(nowMs: number): { day: string; resetMs: number } {
  const start = Math.floor(nowMs / DAY_MS) * DAY_MS;
  return { day: new Date(start).toISOString().slice(0, 10), resetMs: start + DAY_MS - nowMs };
}

/** A count per UTC day: rolls over at midnight UTC. */
export class DayQuota {
  private day = '';
  private count = 0;

  used(nowMs: number): number {
    return utcDay(nowMs).day === this.day ? this.count : 0;
  }

  add(n: number, nowMs: number): void {
    const { day } = utcDay(nowMs);
    if (day !== this.day) {
      this.day = day;
      this.count = 0;
    }
    this.count += n;
  }
}

/** Which limit a decision is about: the one that refused, or the tighter request bucket. */
export type LimitScope = 'tenant_requests' | 'key_requests' | 'events_per_day' | 'query_cost';

/** What X-RateLimit-* say and, when refused, how long to wait. */
export interface LimitDecision {
  allowed: boolean;
  scope: LimitScope;
  limit: number;
  remaining: number;
  /** Seconds until the scope's budget is whole again (requests), positive again (cost), or the next UTC day (events). */
  resetSec: number;
  /** Set when refused: seconds to wait before retrying (Retry-After). */
  retryAfterSec?: number;
}

/** One request to admit: the tenant it acts for (if any), the key, and what it would spend. */
export interface LimitCheck {
  tenant?: string;
  key?: string;
  limits: EffectiveLimits;
  /** An ingestion request: refused once the tenant's events of the day reach events_per_day. */
  ingest?: boolean;
  /** An analytics query of this cost (queryCost). */
  cost?: number;
}

export interface TenantUsage {
  day: string;
  requests: { tenant_available: number; burst: number; requests_per_second: number };
  events: { used: number; limit: number; remaining: number; resets_in_sec: number };
  query_cost: { available: number; per_minute: number; debt: number };
  totals: { requests: number; throttled: number; events: number; query_cost: number };
}

interface TenantState {
  bucket: TokenBucket;
  cost: TokenBucket;
  events: DayQuota;
  totals: TenantUsage['totals'];
  touchedMs: number;
}

/** Buckets idle this long and full again are forgotten, so memory follows active tenants and keys. */
const IDLE_MS = 10 * 60_000;
const SWEEP_EVERY = 10_000;

/**
 * Every tenant's and key's buckets and quotas. One engine holds the counts of the whole API (the
 * cluster primary, or the only process): see serving/security/limits.ts.
 */
export class LimitEngine {
  private readonly tenants = new Map<string, TenantState>();
  private readonly keys = new Map<string, { bucket: TokenBucket; touchedMs: number }>();
  private checks = 0;

  private tenant(id: string, l: EffectiveLimits, nowMs: number): TenantState {
    let t = this.tenants.get(id);
    if (!t) {
      t = {
        bucket: new TokenBucket(l.burst, l.requests_per_second, nowMs),
        cost: new TokenBucket(l.query_cost_per_minute, l.query_cost_per_minute / 60, nowMs),
        events: new DayQuota(),
        totals: { requests: 0, throttled: 0, events: 0, query_cost: 0 },
        touchedMs: nowMs,
      };
      this.tenants.set(id, t);
    }
    t.bucket.configure(l.burst, l.requests_per_second);
    t.cost.configure(l.query_cost_per_minute, l.query_cost_per_minute / 60);
    t.touchedMs = nowMs;
    return t;
  }

  private key(id: string, l: EffectiveLimits, nowMs: number): TokenBucket {
    let k = this.keys.get(id);
    if (!k) this.keys.set(id, (k = { bucket: new TokenBucket(l.key_burst, l.key_requests_per_second, nowMs), touchedMs: nowMs }));
    k.bucket.configure(l.key_burst, l.key_requests_per_second);
    k.touchedMs = nowMs;
    return k.bucket;
  }

  /**
   * Admits or refuses one request. Order: the key's bucket, the tenant's bucket, then the quota
   * the request would spend; a refusal takes nothing from the buckets checked after it, and a
   * refusal by a later one gives back the request tokens already taken.
   */
  check(c: LimitCheck, nowMs: number): LimitDecision {
    if (++this.checks % SWEEP_EVERY === 0) this.sweep(nowMs);
    const l = c.limits;
    const key = c.key !== undefined ? this.key(c.key, l, nowMs) : undefined;
    const tenant = c.tenant !== undefined ? this.tenant(c.tenant, l, nowMs) : undefined;
    if (tenant) tenant.totals.requests++;
    const refuse = (d: Omit<LimitDecision, 'allowed'>): LimitDecision => {
      if (tenant) tenant.totals.throttled++;
      return { ...d, allowed: false, retryAfterSec: Math.max(1, Math.ceil(d.retryAfterSec ?? 1)) };
    };
    if (key && !key.tryTake(1, nowMs)) {
      return refuse({ scope: 'key_requests', ...bucketHeaders(key, nowMs), retryAfterSec: key.secondsUntil(1, nowMs) });
    }
    if (tenant && !tenant.bucket.tryTake(1, nowMs)) {
      giveBack(key);
      return refuse({ scope: 'tenant_requests', ...bucketHeaders(tenant.bucket, nowMs), retryAfterSec: tenant.bucket.secondsUntil(1, nowMs) });
    }
    if (tenant && c.ingest) {
      const used = tenant.events.used(nowMs);
      const { resetMs } = utcDay(nowMs);
      if (used >= l.events_per_day) {
        giveBack(key);
        giveBack(tenant.bucket);
        return refuse({ scope: 'events_per_day', limit: l.events_per_day, remaining: 0, resetSec: Math.ceil(resetMs / 1000), retryAfterSec: resetMs / 1000 });
      }
    }
    if (tenant && c.cost !== undefined) {
      if (!tenant.cost.spend(c.cost, nowMs)) {
        giveBack(key);
        giveBack(tenant.bucket);
        const wait = tenant.cost.secondsUntil(Number.EPSILON, nowMs);
        // a stopped quota (0 per minute) has no refill: the caller retries after a minute, when the limit may have changed
        return refuse({ scope: 'query_cost', ...costHeaders(tenant.cost, nowMs, l), retryAfterSec: Number.isFinite(wait) ? wait : 60 });
      }
      tenant.totals.query_cost += c.cost;
      return { allowed: true, scope: 'query_cost', ...costHeaders(tenant.cost, nowMs, l) };
    }
    if (tenant && c.ingest) {
      const { resetMs } = utcDay(nowMs);
      return { allowed: true, scope: 'events_per_day', limit: l.events_per_day, remaining: Math.max(0, l.events_per_day - tenant.events.used(nowMs)), resetSec: Math.ceil(resetMs / 1000) };
    }
    // No quota involved: the tighter of the two request buckets.
    const kh = key ? bucketHeaders(key, nowMs) : undefined;
    const th = tenant ? bucketHeaders(tenant.bucket, nowMs) : undefined;
    if (kh && (!th || kh.remaining < th.remaining)) return { allowed: true, scope: 'key_requests', ...kh };
    if (th) return { allowed: true, scope: 'tenant_requests', ...th };
    return { allowed: true, scope: 'key_requests', limit: 0, remaining: 0, resetSec: 0 };
  }

  /** Counts events a tenant had accepted (after its request was answered). */
  recordEvents(tenant: string, n: number, limits: EffectiveLimits, nowMs: number): void {
    const t = this.tenant(tenant, limits, nowMs);
    t.events.add(n, nowMs);
    t.totals.events += n;
  }

  usage(tenant: string, l: EffectiveLimits, nowMs: number): TenantUsage {
    const t = this.tenant(tenant, l, nowMs);
    const { day, resetMs } = utcDay(nowMs);
    const used = t.events.used(nowMs);
    const cost = t.cost.available(nowMs);
    return {
      day,
      requests: { tenant_available: Math.floor(t.bucket.available(nowMs)), burst: l.burst, requests_per_second: l.requests_per_second },
      events: { used, limit: l.events_per_day, remaining: Math.max(0, l.events_per_day - used), resets_in_sec: Math.ceil(resetMs / 1000) },
      query_cost: { available: Math.max(0, Math.floor(cost)), per_minute: l.query_cost_per_minute, debt: Math.max(0, Math.ceil(-cost)) },
      totals: { ...t.totals },
    };
  }

  /** Forgets idle buckets that are full again (their state equals a new bucket's); tenants keep today's events. */
  sweep(nowMs: number): void {
    for (const [id, k] of this.keys) if (nowMs - k.touchedMs > IDLE_MS && k.bucket.isFull(nowMs)) this.keys.delete(id);
    for (const [id, t] of this.tenants) {
      if (nowMs - t.touchedMs > IDLE_MS && t.bucket.isFull(nowMs) && t.cost.isFull(nowMs) && t.events.used(nowMs) === 0) this.tenants.delete(id);
    }
  }

  get size(): { tenants: number; keys: number } {
    return { tenants: this.tenants.size, keys: this.keys.size };
  }
}

/** A request refused by a later limit does not use the earlier buckets' token. */
function giveBack(bucket: TokenBucket | undefined): void {
  bucket?.refund(1);
}

function bucketHeaders(b: TokenBucket, nowMs: number): { limit: number; remaining: number; resetSec: number } {
  const available = b.available(nowMs);
  return { limit: b.limit, remaining: Math.max(0, Math.floor(available)), resetSec: Math.ceil(b.secondsUntil(b.limit, nowMs)) };
}

function costHeaders(b: TokenBucket, nowMs: number, l: EffectiveLimits): { limit: number; remaining: number; resetSec: number } {
  const wait = b.secondsUntil(Number.EPSILON, nowMs);
  return { limit: l.query_cost_per_minute, remaining: Math.max(0, Math.floor(b.available(nowMs))), resetSec: Number.isFinite(wait) ? Math.ceil(wait) : 60 };
}

const CELL_MS: Readonly<Record<string, number>> = { minute: 60_000, hour: 3_600_000, day: DAY_MS, all: DAY_MS };
const ANALYTICS = /^\/api\/v2\/analytics\/(?!jobs\/)/;

/**
 * The cost of an analytics query, in cells: the time cells its range spans at its grain — a
 * minute-grain day is 1,440, an hour-grain day 24, a day- or all-grain day 1 (no grain named:
 * hours, or minutes on /realtime/ routes). `?minutes=N` costs N, the realtime dashboard (the last
 * hour per minute) 60, anything else 1. Undefined for routes that are not analytics queries (job
 * polling included). Estimated from the request before it runs, so a refused query costs nothing.
 */
export function queryCost(path: string, body: unknown, query: Record<string, unknown>): number | undefined {
  if (!ANALYTICS.test(path)) return undefined;
  const realtime = path.includes('/realtime/');
  if (path.endsWith('/realtime/dashboard')) return 60;
  const b = body !== null && typeof body === 'object' && !Array.isArray(body) ? (body as Record<string, unknown>) : {};
  const range = b.time_range !== null && typeof b.time_range === 'object' ? (b.time_range as Record<string, unknown>) : { from: query.from, to: query.to };
  const from = typeof range.from === 'string' ? Date.parse(range.from) : NaN;
  const to = typeof range.to === 'string' ? Date.parse(range.to) : NaN;
  if (Number.isFinite(from) && Number.isFinite(to) && to > from) {
    const grain = typeof b.grain === 'string' && CELL_MS[b.grain] ? b.grain : realtime ? 'minute' : 'hour';
    return Math.max(1, Math.min(MAX_LIMIT_VALUE, Math.ceil((to - from) / CELL_MS[grain])));
  }
  const minutes = Number(query.minutes);
  if (Number.isInteger(minutes) && minutes > 0) return Math.min(minutes, MAX_LIMIT_VALUE);
  return 1;
}
