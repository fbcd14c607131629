// SLA figures (serving/sla.ts) from the request histogram as Prometheus exposes it, aggregated
// across workers the way the cluster primary does.
import { AggregatorRegistry, Histogram, Registry } from 'prom-client';
import { REQUEST_MS, REQUEST_MS_BUCKETS } from '../../serving/http-metrics';
import { mergeSeries, parseHistogram, quantile, slaReport, SLA_TARGETS } from '../../serving/sla';

function worker(observations: [route: string, status: string, ms: number][]): Registry {
  const registry = new Registry();
  const h = new Histogram({ name: REQUEST_MS, help: 'x', labelNames: ['route', 'method', 'status_class'], buckets: REQUEST_MS_BUCKETS, registers: [registry] });
  for (const [route, status, ms] of observations) h.observe({ route, method: route.includes('query') ? 'POST' : 'GET', status_class: status }, ms);
  return registry;
}

const NOW = Date.parse('2026-11-27T12:00:00Z');

test('percentiles are the bucket bounds the ranks fall in', async () => {
  const fast = Array.from({ length: 98 }, () => ['/api/v2/analytics/query', '2xx', 7] as [string, string, number]);
  const text = await worker([...fast, ['/api/v2/analytics/query', '2xx', 180], ['/api/v2/analytics/query', '2xx', 180]]).metrics();
  const [series] = parseHistogram(text, REQUEST_MS);
  expect(series.labels).toEqual({ route: '/api/v2/analytics/query', method: 'POST', status_class: '2xx' });
  expect(series.count).toBe(100);
  expect(quantile(series, 0.5)).toBe(10);
  expect(quantile(series, 0.98)).toBe(10);
  expect(quantile(series, 0.99)).toBe(200);
  expect(quantile(mergeSeries([]), 0.99)).toBeNull();
});

test('the report judges each objective, over every worker', async () => {
  const a = worker([
    ['/api/v2/analytics/query', '2xx', 12],
    ['/api/v2/analytics/cohort/{cohort_id}', '2xx', 40],
    ['/api/v2/events/batch', '2xx', 900], // ingestion is no query: its latency is not judged as one
    ['/api/v2/analytics/query', '4xx', 3000], // refused requests are not answers
  ]);
  const b = worker([
    ['/api/v2/analytics/query', '2xx', 15],
    ['/api/v2/analytics/query', '5xx', 2],
  ]);
  const aggregated = await AggregatorRegistry.aggregate([await a.getMetricsAsJSON(), await b.getMetricsAsJSON()]).metrics();
  const report = slaReport(aggregated, { committedAtMs: NOW - 800 }, { publishedAtMs: NOW - 3 * 3_600_000 }, NOW);
  const byName = Object.fromEntries(report.objectives.map((o) => [o.name, o]));
  expect(byName.query_latency_p99_ms).toMatchObject({ value: 50, target: SLA_TARGETS.queryP99Ms, met: true, samples: 3 });
  expect(byName.availability).toMatchObject({ value: 1 - 1 / 6, met: false, samples: 6 });
  expect(byName.live_freshness_ms).toMatchObject({ value: 800, met: true });
  expect(byName.batch_age_ms).toMatchObject({ value: 3 * 3_600_000, met: false });
  const query = report.routes.find((r) => r.route === '/api/v2/analytics/query')!;
  expect(query).toMatchObject({ method: 'POST', requests: 4, p50_ms: 20, server_errors: 1 });
});

test('nothing observed yet: no values, nothing judged', () => {
  const report = slaReport('', { committedAtMs: null }, { publishedAtMs: null }, NOW);
  expect(report.objectives.every((o) => o.value === null && o.met === null)).toBe(true);
  expect(report.routes).toEqual([]);
});
