// What `rtap speed`'s /metrics (core/metrics-server.ts) answers. The stream threads each keep
// their own registry (a worker thread is an isolate of its own), so a scrape asks every thread for
// its metrics and sums them with this thread's (prom-client's AggregatorRegistry, as the API's
// primary does for its workers).
// Process-wide metrics (CPU, memory, file descriptors, event loop, heap, GC) come from the main
// thread only: each thread reports the same process, and a sum would count it once per thread.
import { AggregatorRegistry, type MetricObjectWithValues, type MetricValue } from 'prom-client';
import { registry } from '../core/metrics';

/** One registry's metrics as `registry.getMetricsAsJSON()` gives them (what a thread posts). */
export type MetricsJson = MetricObjectWithValues<MetricValue<string>>[];

/** prom-client's default metrics, as core/metrics.ts names them. */
const PROCESS_WIDE = /^rtap_(process|nodejs)_/;

/** A stream thread's share of a scrape: its own metrics, without the process-wide ones. */
export function threadShare(metrics: MetricsJson): MetricsJson {
  return metrics.filter((m) => !PROCESS_WIDE.test(m.name));
}

/** The Prometheus text of this thread's registry plus the threads' shares, summed metric by metric. */
export async function aggregatedMetricsText(threads: readonly MetricsJson[]): Promise<string> {
  const own = await registry.getMetricsAsJSON();
  return AggregatorRegistry.aggregate([own, ...threads.map(threadShare)]).metrics();
}
