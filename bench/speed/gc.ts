// GC time of a bench process, from perf_hooks' GC entries: minor (scavenges) and major
// (mark-compact) pauses on the main thread, total and longest. The longest pause bounds what GC
// adds to one event's latency; the totals say how much of the CPU the heap's churn takes.
import { constants, PerformanceObserver } from 'node:perf_hooks';

export interface GcSummary {
  /** A one-line summary of what was observed so far. */
  text(): string;
  stop(): void;
}

export function observeGc(): GcSummary {
  const totals = { minor: 0, major: 0, other: 0 };
  const longest = { minor: 0, major: 0, other: 0 };
  const obs = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      const kind = (e as unknown as { detail?: { kind?: number } }).detail?.kind;
      const k = kind === constants.NODE_PERFORMANCE_GC_MINOR ? 'minor' : kind === constants.NODE_PERFORMANCE_GC_MAJOR ? 'major' : 'other';
      totals[k] += e.duration;
      longest[k] = Math.max(longest[k], e.duration);
    }
  });
  obs.observe({ entryTypes: ['gc'] });
  return {
    text: () => `gc ms: minor ${Math.round(totals.minor)} (longest ${Math.round(longest.minor)}), major ${Math.round(totals.major)} (longest ${Math.round(longest.major)}), other ${Math.round(totals.other)}`,
    stop: () => obs.disconnect(),
  };
}
