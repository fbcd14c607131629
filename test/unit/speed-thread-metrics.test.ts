// The aggregation behind `rtap speed`'s /metrics: threads' metrics summed with this thread's,
// the process-wide ones taken from this thread only.
import { Counter, Registry } from 'prom-client';
import { registry } from '../../core/metrics';
import { aggregatedMetricsText, threadShare } from '../../speed-layer/thread-metrics';

/** A stream thread's registry, as it would post it: a counter of its own plus the default metrics' names. */
async function threadMetrics(events: number) {
  const r = new Registry();
  new Counter({ name: 'rtap_test_thread_events_total', help: 'events', registers: [r] }).inc(events);
  new Counter({ name: 'rtap_process_cpu_seconds_total', help: 'a thread reporting the whole process', registers: [r] }).inc(1000);
  new Counter({ name: 'rtap_nodejs_gc_runs_total', help: 'per isolate', registers: [r] }).inc(7);
  return r.getMetricsAsJSON();
}

const valueOf = (text: string, name: string) => Number(text.split('\n').find((l) => l.startsWith(`${name} `))?.split(' ')[1]);

test('a thread shares its own metrics, not the process-wide defaults', async () => {
  const names = threadShare(await threadMetrics(3)).map((m) => m.name);
  expect(names).toEqual(['rtap_test_thread_events_total']);
});

test("threads' counters are summed; the process's CPU is this thread's figure alone", async () => {
  const text = await aggregatedMetricsText([await threadMetrics(3), await threadMetrics(4)]);
  expect(valueOf(text, 'rtap_test_thread_events_total')).toBe(7);
  const own = (await registry.getSingleMetric('rtap_process_cpu_seconds_total')?.get())?.values[0]?.value;
  expect(own).toBeDefined();
  // each fake thread claimed 1000 s: none of it is in the sum
  expect(valueOf(text, 'rtap_process_cpu_seconds_total')).toBeLessThan(1000);
  expect(text.split('\n').filter((l) => l.startsWith('rtap_process_cpu_seconds_total ')).length).toBe(1);
});
