// Technical detectors: API abuse, rate-limit violations, traffic spikes, latency degradation and
// data-quality anomalies. Most describe the tenant's traffic rather than one buyer: their weights
// in the ensemble are low (an anomaly to look at, rarely fraud by itself).
import { defineDetector, fmt, MINUTE_US, ramp, usual } from '../detector';

export const apiAbuse = defineDetector({
  id: 'api_abuse',
  family: 'technical',
  description: "requests leaving almost no rate-limit headroom compared with the tenant's usual: a client hammering the API",
  reads: ['event.rate_limit_remaining', 'baseline.rate_limit_remaining'],
  defaults: { share: 0.25, fullShare: 0.05 },
  score(e, _f, b, p) {
    const left = e.security.rateLimitRemaining;
    // a refusal (429) has 0 left by definition: rate_violation's to judge
    if (left === null || e.statusCode === 429) return null;
    const stats = b.stats(e.tenant, 'rate_limit_remaining');
    if (!stats || stats.n < 8 || !(stats.median > 0)) return null;
    const share = left / stats.median;
    const score = ramp(p.share - share, 0, p.share - p.fullShare);
    if (score === 0) return null;
    return {
      score,
      evidence: { remaining: left, tenant_median: Math.round(stats.median), share: Math.round(share * 1000) / 1000 },
      explanation: `rate-limit headroom ${fmt(left)} requests (${fmt(Math.round(share * 1000) / 10)}% of usual); ${usual(stats)}`,
    };
  },
  // the refusals themselves (0 left) are rate_violation's; they would drag the median down
  observe: (e) => (e.security.rateLimitRemaining !== null && e.statusCode !== 429 ? [{ metric: 'rate_limit_remaining', value: e.security.rateLimitRemaining }] : []),
});

export const rateViolation = defineDetector({
  id: 'rate_violation',
  family: 'technical',
  description: "requests refused for exceeding the rate limit (HTTP 429), repeatedly in one client session; a tenant's own server hitting its limit counts less (an operational issue)",
  reads: ['event.status_code', 'session.rateLimitHits', 'event.device', 'event.user_id'],
  defaults: { floor: 0, full: 3, server: 0.4 },
  score(e, f, _b, p) {
    const hits = f.context.session?.rateLimitHits ?? (e.statusCode === 429 ? 1 : 0);
    if (hits === 0) return null;
    const client = e.device !== null || e.userId !== null || e.anonymousId !== null;
    return {
      score: ramp(hits, p.floor, p.full) * (client ? 1 : p.server),
      evidence: { refusals: hits, client_session: client },
      explanation: `${hits} request${hits === 1 ? '' : 's'} refused for exceeding the rate limit in this ${client ? 'client session' : "tenant server's session"}`,
    };
  },
});

export const trafficSpike = defineDetector({
  id: 'traffic_spike',
  family: 'technical',
  description: "the tenant's events in the last minute far above its usual minute (robust z)",
  reads: ['tenant.w1m.count', 'baseline.tenant_events_1m'],
  defaults: { z: 6, fullZ: 12, floor: 3 },
  score(e, f, b, p) {
    if (!f.tenant) return null;
    const n = f.tenant.w1m.count;
    const z = b.robustZ(e.tenant, 'tenant_events_1m', n, p.floor);
    if (z === null || z <= p.z) return null;
    return { score: ramp(z, p.z, p.fullZ), evidence: { events_1m: n, robust_z: Math.round(z * 10) / 10 }, explanation: `${fmt(n)} events for this tenant in the last minute (${fmt(Math.round(z * 10) / 10)} robust σ above usual); ${usual(b.stats(e.tenant, 'tenant_events_1m'))}` };
  },
  observe: (_e, f) => (f.tenant ? [{ metric: 'tenant_events_1m', value: f.tenant.w1m.count }] : []),
});

export const latencyDegradation = defineDetector({
  id: 'latency_degradation',
  family: 'technical',
  description: "server processing time or page load far slower than the tenant's usual (robust z of the log)",
  reads: ['event.processing_time_ms', 'event.lcp_ms', 'baseline.log_processing_ms', 'baseline.log_lcp_ms'],
  defaults: { z: 4, fullZ: 8, floor: 0.25 },
  score(e, _f, b, p) {
    const checks: [string, number | null, string][] = [
      ['log_processing_ms', e.processingMs, 'server processing'],
      ['log_lcp_ms', e.lcpMs, 'page load (LCP)'],
    ];
    let best: { score: number; text: string; z: number; ms: number } | undefined;
    for (const [metric, ms, what] of checks) {
      if (ms === null || !(ms > 0)) continue;
      const z = b.robustZ(e.tenant, metric, Math.log(ms), p.floor);
      if (z === null) continue;
      const s = ramp(z, p.z, p.fullZ);
      const stats = b.stats(e.tenant, metric);
      if (s > 0 && (!best || s > best.score)) best = { score: s, z, ms, text: `${what} took ${fmt(ms)} ms; this tenant's median is ${fmt(Math.round(Math.exp(stats?.median ?? 0)))} ms` };
    }
    if (!best) return null;
    return { score: best.score, evidence: { ms: best.ms, robust_z: Math.round(best.z * 10) / 10 }, explanation: best.text };
  },
  observe: (e) => {
    const out = [];
    if (e.processingMs !== null && e.processingMs > 0) out.push({ metric: 'log_processing_ms', value: Math.log(e.processingMs) });
    if (e.lcpMs !== null && e.lcpMs > 0) out.push({ metric: 'log_lcp_ms', value: Math.log(e.lcpMs) });
    return out;
  },
});

export const dataQuality = defineDetector({
  id: 'data_quality',
  family: 'technical',
  description: 'an event time in the future of its ingestion, or hours behind it; a session event without its sequence number',
  reads: ['event.timestamp', 'event.ingestion_timestamp', 'event.session_sequence'],
  defaults: { futureMin: 5, lateMin: 10, fullLateMin: 180, future: 0.8, late: 0.5, noSequence: 0.2 },
  score(e, _f, _b, p) {
    const parts: [number, string][] = [];
    if (e.ingestUs !== null) {
      const aheadMin = (e.timeUs - e.ingestUs) / MINUTE_US;
      if (aheadMin > p.futureMin) parts.push([p.future, `event time ${fmt(Math.round(aheadMin))} min after it was received`]);
      else if (-aheadMin > p.lateMin) parts.push([p.late * ramp(-aheadMin, 0, p.fullLateMin), `event arrived ${fmt(Math.round(-aheadMin))} min after it happened`]);
    }
    if (e.sessionId !== null && e.sessionSeq === null && e.type !== 'system_event' && e.interactions !== null) parts.push([p.noSequence, 'session event without its sequence number']);
    if (parts.length === 0) return null;
    return { score: Math.min(1, parts.reduce((x, [w]) => x + w, 0)), evidence: { event_time_us: e.timeUs, ingest_time_us: e.ingestUs }, explanation: parts.map((x) => x[1]).join('; ') };
  },
});
