// The ensemble: weighted noisy-OR, severities at their thresholds, top reasons by contribution.
import { combine, DEFAULT_WEIGHTS, severityOf, SEVERITY_THRESHOLDS, type DetectorScore } from '../../speed-layer/fraud/ensemble';

const s = (id: string, score: number, weight: number): DetectorScore => ({ id, family: 'financial', score, weight, explanation: `${id} says so`, evidence: {} });

describe('fraud ensemble', () => {
  it('is 1 − Π(1 − w·s): one strong witness alone reaches its weight, weak ones add up, never past 1', () => {
    expect(combine([]).score).toBe(0);
    expect(combine([s('a', 1, 0.95)]).score).toBeCloseTo(0.95);
    expect(combine([s('a', 0.5, 0.6), s('b', 0.5, 0.6)]).score).toBeCloseTo(1 - 0.7 * 0.7);
    expect(combine([s('a', 1, 1), s('b', 1, 1)]).score).toBe(1);
    expect(combine([s('a', 3, 0.5)]).score).toBeCloseTo(0.5); // scores are clamped
  });

  it('maps scores to severities at the documented thresholds', () => {
    expect(SEVERITY_THRESHOLDS).toEqual({ low: 0.25, medium: 0.5, high: 0.75, critical: 0.9 });
    expect(severityOf(0.2)).toBeNull();
    expect(severityOf(0.25)).toBe('low');
    expect(severityOf(0.6)).toBe('medium');
    expect(severityOf(0.75)).toBe('high');
    expect(severityOf(0.95)).toBe('critical');
  });

  it('gives the top reasons by contribution (weight × score), leaving out silent detectors', () => {
    const r = combine([s('weak', 1, 0.2), s('strong', 0.9, 0.9), s('silent', 0, 0.9), s('mid', 0.8, 0.5), s('low', 0.1, 0.5)], 3);
    expect(r.reasons.map((x) => x.id)).toEqual(['strong', 'mid', 'weak']);
    expect(r.severity).toBe('critical');
  });

  it('weights tenant-level anomalies low enough that one alone stays below medium', () => {
    for (const id of ['traffic_spike', 'latency_degradation', 'data_quality', 'rate_violation', 'amount_outlier']) expect(DEFAULT_WEIGHTS[id]).toBeLessThan(SEVERITY_THRESHOLDS.medium);
  });
});
