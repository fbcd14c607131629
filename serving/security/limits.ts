// Rate limits and quotas on every authenticated /api request (docs/security.md "Limits"). Mounted
// right after the security gate, so it reads the gate's req.principal and req.tenant.
//
// Across API workers: ONE engine counts for the whole API. With API_WORKERS > 1 it lives in the
// cluster primary and each worker asks it over IPC (one round trip per request, tens of µs); a
// worker that gets no answer within LIMITS_IPC_TIMEOUT_MS admits the request (fail open, counted
// in rtap_limits_ipc_fallbacks_total) rather than stall the API. So a tenant's limit holds exactly
// whichever worker its connections land on; counts live in memory and restart with the API (an
// API restart forgets the day's event count: at most one extra day's quota per restart).
// The limits themselves come from each worker's materialization of the control topic, sent along
// with each check, so the primary needs no Kafka of its own and a change applies at the next request.
import type { Serializable } from 'node:child_process';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { ControlState } from '../../core/control';
import {
  LIMITS_RECORD_KIND,
  LimitEngine,
  effectiveLimits,
  parseLimitsRecord,
  queryCost,
  type EffectiveLimits,
  type LimitCheck,
  type LimitDecision,
  type TenantUsage,
} from '../../core/limits';
import { createLogger } from '../../core/logger';
import { sendError } from '../errors';
import { tenantLabel } from '../ingest/metrics';
import { limitsMetrics } from './limits-metrics';

/** Events accepted for one tenant in one request, with the limits that apply to it. */
export interface AcceptedEvents {
  tenant: string;
  n: number;
  limits: EffectiveLimits;
}

/** Where requests are counted: this process, or the cluster primary for all workers. */
export interface LimitCounter {
  readonly where: 'process' | 'cluster-primary';
  check(c: LimitCheck): Promise<LimitDecision>;
  /** The events one request had accepted, per tenant: one call (and one IPC message) per request. */
  recordEvents(accepted: readonly AcceptedEvents[]): void;
  usage(tenant: string, limits: EffectiveLimits): Promise<TenantUsage>;
}

/** Counting in this process (API_WORKERS=1, tests); `now` is the clock, injectable for tests. */
export function localLimitCounter(engine = new LimitEngine(), now: () => number = Date.now): LimitCounter {
  return {
    where: 'process',
    check: async (c) => engine.check(c, now()),
    recordEvents: (accepted) => recordAccepted(engine, accepted, now()),
    usage: async (tenant, limits) => engine.usage(tenant, limits, now()),
  };
}

/** Counts one request's accepted events, every tenant at the same instant. */
function recordAccepted(engine: LimitEngine, accepted: readonly AcceptedEvents[], nowMs: number): void {
  for (const { tenant, n, limits } of accepted) engine.recordEvents(tenant, n, limits, nowMs);
}

const LIMITS_MESSAGE = 'rtap:limits';

type LimitsRequest =
  | { type: typeof LIMITS_MESSAGE; id: number; op: 'check'; check: LimitCheck }
  | { type: typeof LIMITS_MESSAGE; id: number; op: 'events'; accepted: AcceptedEvents[] }
  | { type: typeof LIMITS_MESSAGE; id: number; op: 'usage'; tenant: string; limits: EffectiveLimits };

interface LimitsReply {
  type: typeof LIMITS_MESSAGE;
  id: number;
  result?: LimitDecision | TenantUsage;
  error?: string;
}

function isLimitsMessage(message: unknown): message is LimitsRequest & LimitsReply {
  return typeof message === 'object' && message !== null && (message as { type?: unknown }).type === LIMITS_MESSAGE;
}

/**
 * In the cluster primary: the engine of the whole API. Returns the handler the primary calls with
 * each worker message; it answers limits messages and returns false for any other.
 */
export function createLimitsHost(engine = new LimitEngine(), now: () => number = Date.now) {
  return (worker: { send(message: Serializable): unknown; isConnected(): boolean }, message: unknown): boolean => {
    if (!isLimitsMessage(message) || message.op === undefined) return false;
    const reply: LimitsReply = { type: LIMITS_MESSAGE, id: message.id };
    try {
      if (message.op === 'check') reply.result = engine.check(message.check, now());
      else if (message.op === 'usage') reply.result = engine.usage(message.tenant, message.limits, now());
      else recordAccepted(engine, message.accepted, now());
    } catch (err) {
      reply.error = (err as Error).message;
    }
    if (message.op !== 'events' && worker.isConnected()) worker.send(reply as unknown as Serializable);
    return true;
  };
}

/** In a cluster worker: counting in the primary over IPC (see the header). */
export function limitCounterFromPrimary(timeoutMs: number, send: (m: Serializable) => void = (m) => process.send!(m)): LimitCounter & { receive(message: unknown): void } {
  const log = createLogger('limits');
  let nextId = 0;
  const pending = new Map<number, (reply: LimitsReply | undefined) => void>();
  const ask = <T>(request: LimitsRequest): Promise<T | undefined> =>
    new Promise((resolve) => {
      const timer = setTimeout(() => {
        pending.delete(request.id);
        resolve(undefined);
      }, timeoutMs);
      pending.set(request.id, (reply) => {
        clearTimeout(timer);
        pending.delete(request.id);
        if (reply?.error !== undefined) log.error({ error: reply.error }, 'limits: the primary failed a request');
        resolve(reply?.result as T | undefined);
      });
      send(request as unknown as Serializable);
    });
  return {
    where: 'cluster-primary',
    receive(message) {
      if (isLimitsMessage(message) && (message as { op?: unknown }).op === undefined) pending.get(message.id)?.(message);
    },
    async check(check) {
      const decision = await ask<LimitDecision>({ type: LIMITS_MESSAGE, id: nextId++, op: 'check', check });
      if (decision) return decision;
      limitsMetrics.ipcFallbacks.inc();
      return { allowed: true, scope: 'tenant_requests', limit: check.limits.burst, remaining: check.limits.burst, resetSec: 0 };
    },
    recordEvents(accepted) {
      if (accepted.length === 0) return;
      send({ type: LIMITS_MESSAGE, id: nextId++, op: 'events', accepted: [...accepted] } satisfies LimitsRequest as unknown as Serializable);
    },
    async usage(tenant, limits) {
      const usage = await ask<TenantUsage>({ type: LIMITS_MESSAGE, id: nextId++, op: 'usage', tenant, limits });
      if (!usage) throw new Error(`limits: the cluster primary did not answer within ${timeoutMs} ms`);
      return usage;
    },
  };
}

/** The limits of each tenant as the control topic has them now: `limits/<tenant>` overrides over the defaults, parsed once per change. */
export class LimitsView {
  private readonly cache = new Map<string, EffectiveLimits>();
  private readonly unsubscribe: () => void;

  constructor(
    private readonly control: ControlState,
    readonly defaults: EffectiveLimits,
  ) {
    this.unsubscribe = control.onRecord((kind, id) => {
      if (kind === LIMITS_RECORD_KIND) this.cache.delete(id);
    });
  }

  /** The tenant's stored overrides (empty when it has none). */
  overrides(tenant: string): Partial<EffectiveLimits> {
    const text = this.control.records(LIMITS_RECORD_KIND).get(tenant);
    if (text === undefined) return {};
    try {
      return parseLimitsRecord(text);
    } catch {
      return {};
    }
  }

  for(tenant: string | undefined): EffectiveLimits {
    if (tenant === undefined) return this.defaults;
    let l = this.cache.get(tenant);
    if (!l) this.cache.set(tenant, (l = effectiveLimits(this.defaults, this.overrides(tenant))));
    return l;
  }

  close(): void {
    this.unsubscribe();
  }
}

export interface LimitsDeps {
  view: LimitsView;
  counter: LimitCounter;
}

const INGEST_PATH = '/api/v2/events/batch';

/** Events an ingestion request had accepted, per tenant: set by the ingestion route on res.locals, counted once the answer is sent. */
export const ACCEPTED_EVENTS_LOCAL = 'acceptedEvents';

/** The accepted events of a request per tenant, for res.locals[ACCEPTED_EVENTS_LOCAL]. */
export function acceptedByTenant(outcomes: readonly { kind: string; tenantId?: string }[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const o of outcomes) if (o.kind === 'ok' && o.tenantId !== undefined) out[o.tenantId] = (out[o.tenantId] ?? 0) + 1;
  return out;
}

const SCOPE_LIMIT: Record<LimitDecision['scope'], string> = {
  tenant_requests: 'requests_per_second',
  key_requests: 'key_requests_per_second',
  events_per_day: 'events_per_day',
  query_cost: 'query_cost_per_minute',
};

export function setRateLimitHeaders(res: Response, d: LimitDecision): void {
  res.setHeader('X-RateLimit-Limit', String(d.limit));
  res.setHeader('X-RateLimit-Remaining', String(d.remaining));
  res.setHeader('X-RateLimit-Reset', String(d.resetSec));
  res.setHeader('X-RateLimit-Scope', d.scope);
}

function refusal(d: LimitDecision, tenant: string | undefined, l: EffectiveLimits): string {
  const who = tenant === undefined ? 'this credential' : `tenant ${tenant}`;
  switch (d.scope) {
    case 'key_requests':
      return `this credential exceeded its rate of ${l.key_requests_per_second} requests/s (burst ${l.key_burst})`;
    case 'tenant_requests':
      return `${who} exceeded its rate of ${l.requests_per_second} requests/s (burst ${l.burst})`;
    case 'events_per_day':
      return `${who} reached its quota of ${l.events_per_day} events per UTC day`;
    case 'query_cost':
      return `${who} spent its query budget of ${l.query_cost_per_minute} cost units per minute (cost = time cells spanned at the query's grain)`;
  }
}

/** The middleware: admits or answers 429, and sets X-RateLimit-* on every authenticated /api answer. */
export function rateLimits({ view, counter }: LimitsDeps): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    const principal = req.principal;
    // public routes and refused credentials carry no principal: nothing to count against
    if (!principal || !req.path.startsWith('/api/')) return next();
    const tenant = req.tenant !== undefined && req.tenant !== '*' ? req.tenant : undefined;
    const limits = view.for(tenant);
    const ingest = req.method === 'POST' && req.path === INGEST_PATH;
    const cost = queryCost(req.path, req.body, req.query as Record<string, unknown>);
    counter.check({ tenant, key: `${principal.kind}:${principal.id}`, limits, ingest, cost }).then((decision) => {
      setRateLimitHeaders(res, decision);
      if (!decision.allowed) {
        limitsMetrics.throttled.inc({ scope: decision.scope, tenant: tenantLabel(tenant) });
        res.setHeader('Retry-After', String(decision.retryAfterSec ?? 1));
        const limit = SCOPE_LIMIT[decision.scope];
        return sendError(res, 429, 'rate_limited', `${refusal(decision, tenant, limits)}; retry after ${decision.retryAfterSec} s`, [
          { path: `/limits/${limit}`, reason: `limit ${decision.limit} reached${cost !== undefined && decision.scope === 'query_cost' ? `; this query costs ${cost}` : ''}` },
        ]);
      }
      if (cost !== undefined) limitsMetrics.queryCost.inc({ tenant: tenantLabel(tenant) }, cost);
      if (ingest) {
        res.once('finish', () => {
          const accepted = res.locals[ACCEPTED_EVENTS_LOCAL] as Record<string, number> | undefined;
          // One message per request, not one per tenant: a platform key's batch spans hundreds of
          // tenants, and a message each cost the API ~2 % of its CPU in IPC writes (docs/ingestion.md).
          const entries: AcceptedEvents[] = [];
          for (const [t, n] of Object.entries(accepted ?? {})) if (n > 0) entries.push({ tenant: t, n, limits: view.for(t) });
          counter.recordEvents(entries);
        });
      }
      next();
    }, next);
  };
}
