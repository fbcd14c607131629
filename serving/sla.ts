// GET /api/v2/metrics/sla: the platform's service levels against the brief's objectives, from
// what the API itself observes — request latency and errors of every worker (the aggregated
// `rtap_api_request_ms` histogram, so a scrape landing on any worker sees them all), how far
// behind the speed layer's last commit is, and how old the published batch views are.
// Figures are since the API processes started; percentiles are bucket upper bounds.
import express, { type Router } from 'express';
import type { SpeedReader } from '../core/speed-reader';
import type { BatchViews } from './analytics/batch-views';
import type { MetricsText } from './cluster';
import { sendError } from './errors';
import { REQUEST_MS } from './http-metrics';

export interface SlaRouteDeps {
  /** All workers' metrics (serving/cluster.ts), or this process's. */
  metrics: () => Promise<MetricsText>;
  speed: SpeedReader;
  batch: BatchViews;
  now?: () => number;
}

/** One histogram series: its labels and cumulative bucket counts by upper bound. */
export interface HistogramSeries {
  labels: Record<string, string>;
  buckets: { le: number; count: number }[];
  count: number;
  sum: number;
}

export interface Objective {
  name: string;
  description: string;
  /** The value the objective holds against; null when nothing was observed yet. */
  value: number | null;
  target: number;
  /** 'max': value must be ≤ target; 'min': ≥ target. */
  kind: 'max' | 'min';
  /** null when there is no value to judge. */
  met: boolean | null;
  samples?: number;
}

export interface SlaReport {
  generated_at: string;
  objectives: Objective[];
  routes: { route: string; method: string; requests: number; p50_ms: number | null; p99_ms: number | null; server_errors: number }[];
}

/** Objectives from the brief (../shared/SPEC.md "figures to design for"). */
export const SLA_TARGETS = {
  /** "Analytics queries answered in well under a second (the API aims at < 100 ms)". */
  queryP99Ms: 100,
  availability: 0.999,
  /** The speed layer is "seconds behind reality". */
  liveFreshnessMs: 5_000,
  /** Views are recomputed hourly: a cut older than two runs means the schedule is failing. */
  batchAgeMs: 2 * 3_600_000,
} as const;

const LABEL = /(\w+)="((?:[^"\\]|\\.)*)"/g;

/** The series of one histogram in Prometheus text exposition. */
export function parseHistogram(text: string, name: string): HistogramSeries[] {
  const series = new Map<string, HistogramSeries>();
  const get = (labelText: string) => {
    const labels: Record<string, string> = {};
    for (const m of labelText.matchAll(LABEL)) if (m[1] !== 'le') labels[m[1]] = m[2].replace(/\\(["\\])/g, '$1').replace(/\\n/g, '\n');
    const key = JSON.stringify(Object.entries(labels).sort());
    let s = series.get(key);
    if (!s) series.set(key, (s = { labels, buckets: [], count: 0, sum: 0 }));
    return s;
  };
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^(\w+)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const value = Number(m[3]);
    if (m[1] === `${name}_bucket`) {
      const le = /le="([^"]+)"/.exec(m[2] ?? '')?.[1];
      if (le !== undefined) get(m[2] ?? '').buckets.push({ le: le === '+Inf' ? Infinity : Number(le), count: value });
    } else if (m[1] === `${name}_count`) get(m[2] ?? '').count = value;
    else if (m[1] === `${name}_sum`) get(m[2] ?? '').sum = value;
  }
  for (const s of series.values()) s.buckets.sort((a, b) => a.le - b.le);
  return [...series.values()];
}

/** Sums series bucket by bucket (they share the bucket layout of one histogram). */
export function mergeSeries(list: readonly HistogramSeries[]): HistogramSeries {
  const byLe = new Map<number, number>();
  for (const s of list) for (const b of s.buckets) byLe.set(b.le, (byLe.get(b.le) ?? 0) + b.count);
  return {
    labels: {},
    buckets: [...byLe].map(([le, count]) => ({ le, count })).sort((a, b) => a.le - b.le),
    count: list.reduce((n, s) => n + s.count, 0),
    sum: list.reduce((n, s) => n + s.sum, 0),
  };
}

/** The q-quantile as the upper bound of the bucket it falls in (null without samples; the largest finite bound when beyond it). */
export function quantile(s: HistogramSeries, q: number): number | null {
  if (s.count === 0) return null;
  const rank = q * s.count;
  const finite = s.buckets.filter((b) => Number.isFinite(b.le));
  for (const b of finite) if (b.count >= rank) return b.le;
  return finite.at(-1)?.le ?? null;
}

const judge = (value: number | null, target: number, kind: 'max' | 'min') => (value === null ? null : kind === 'max' ? value <= target : value >= target);

/** Queries: the analytics and lineage routes (not ingestion, not admin). */
const isQueryRoute = (route: string) => route.startsWith('/api/v2/analytics/') || route.startsWith('/api/v2/data/lineage/');

export function slaReport(metricsText: string, live: { committedAtMs: number | null }, batch: { publishedAtMs: number | null }, nowMs: number): SlaReport {
  const series = parseHistogram(metricsText, REQUEST_MS).filter((s) => s.labels.route?.startsWith('/api/'));
  const ok = (s: HistogramSeries) => s.labels.status_class === '2xx';
  const queries = mergeSeries(series.filter((s) => isQueryRoute(s.labels.route) && ok(s)));
  const all = mergeSeries(series);
  const serverErrors = series.filter((s) => s.labels.status_class === '5xx').reduce((n, s) => n + s.count, 0);
  const availability = all.count === 0 ? null : 1 - serverErrors / all.count;
  const queryP99 = quantile(queries, 0.99);
  const liveFreshness = live.committedAtMs === null ? null : Math.max(0, nowMs - live.committedAtMs);
  const batchAge = batch.publishedAtMs === null ? null : Math.max(0, nowMs - batch.publishedAtMs);
  const objectives: Objective[] = [
    { name: 'query_latency_p99_ms', description: 'analytics queries answered (2xx), 99th percentile', value: queryP99, target: SLA_TARGETS.queryP99Ms, kind: 'max', met: judge(queryP99, SLA_TARGETS.queryP99Ms, 'max'), samples: queries.count },
    { name: 'availability', description: 'API requests not answered 5xx', value: availability, target: SLA_TARGETS.availability, kind: 'min', met: judge(availability, SLA_TARGETS.availability, 'min'), samples: all.count },
    { name: 'live_freshness_ms', description: "time since the speed layer's last committed checkpoint", value: liveFreshness, target: SLA_TARGETS.liveFreshnessMs, kind: 'max', met: judge(liveFreshness, SLA_TARGETS.liveFreshnessMs, 'max') },
    { name: 'batch_age_ms', description: 'age of the published batch views (their cut)', value: batchAge, target: SLA_TARGETS.batchAgeMs, kind: 'max', met: judge(batchAge, SLA_TARGETS.batchAgeMs, 'max') },
  ];
  const byRoute = new Map<string, HistogramSeries[]>();
  for (const s of series) {
    const key = `${s.labels.method} ${s.labels.route}`;
    byRoute.set(key, [...(byRoute.get(key) ?? []), s]);
  }
  const routes = [...byRoute].map(([key, list]) => {
    const merged = mergeSeries(list.filter(ok));
    const [method, route] = [key.slice(0, key.indexOf(' ')), key.slice(key.indexOf(' ') + 1)];
    return { route, method, requests: list.reduce((n, s) => n + s.count, 0), p50_ms: quantile(merged, 0.5), p99_ms: quantile(merged, 0.99), server_errors: list.filter((s) => s.labels.status_class === '5xx').reduce((n, s) => n + s.count, 0) };
  });
  routes.sort((a, b) => (a.route === b.route ? a.method.localeCompare(b.method) : a.route.localeCompare(b.route)));
  return { generated_at: new Date(nowMs).toISOString(), objectives, routes };
}

export function slaRouter(deps: SlaRouteDeps): Router {
  const router = express.Router();
  router.get('/api/v2/metrics/sla', async (_req, res, next) => {
    try {
      const now = (deps.now ?? Date.now)();
      let committedAtMs: number | null = null;
      for (const p of deps.speed.progress().values()) committedAtMs = Math.max(committedAtMs ?? 0, p.committed_at_ms);
      const snap = await deps.batch.snapshot(false).catch(() => undefined);
      const publishedAtMs = snap?.publishedAt ? Date.parse(snap.publishedAt) : null;
      const metrics = await deps.metrics().catch(() => undefined);
      if (!metrics) {
        res.setHeader('Retry-After', '5');
        return sendError(res, 503, 'metrics_unavailable', 'the API workers did not answer for their metrics; retry');
      }
      res.json(slaReport(metrics.body, { committedAtMs }, { publishedAtMs }, now));
    } catch (err) {
      next(err);
    }
  });
  return router;
}
