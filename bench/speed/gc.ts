// GC time of a bench process, from perf_hooks' GC entries: minor (scavenges) and major
// (mark-compact) pauses on the main thread, their count, total and longest. The longest pause
// bounds what GC adds to one event's latency. The totals understate the CPU GC takes: a
// mark-compact's marking runs mostly on V8's helper threads, so the count of mark-compacts is the
// figure to watch (27 instead of 4–6 in a 300,000-event read once meant twice the CPU per event:
// docs/speed-bench.md, "2026-11-29 12:00").
import { constants, PerformanceObserver } from 'node:perf_hooks';

export interface GcSummary {
  /** A one-line summary of what was observed so far. */
  text(): string;
  stop(): void;
}

export function observeGc(): GcSummary {
  const totals = { minor: 0, major: 0, other: 0 };
  const counts = { minor: 0, major: 0, other: 0 };
  const longest = { minor: 0, major: 0, other: 0 };
  const obs = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      const kind = (e as unknown as { detail?: { kind?: number } }).detail?.kind;
      const k = kind === constants.NODE_PERFORMANCE_GC_MINOR ? 'minor' : kind === constants.NODE_PERFORMANCE_GC_MAJOR ? 'major' : 'other';
      totals[k] += e.duration;
      counts[k]++;
      longest[k] = Math.max(longest[k], e.duration);
    }
  });
  obs.observe({ entryTypes: ['gc'] });
  return {
    text: () =>
      `gc ms: minor ${Math.round(totals.minor)} (${counts.minor}, longest ${Math.round(longest.minor)}), major ${Math.round(totals.major)} (${counts.major}, longest ${Math.round(longest.major)}), other ${Math.round(totals.other)}`,
    stop: () => obs.disconnect(),
  };
}
