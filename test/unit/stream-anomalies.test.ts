// The stream's anomaly cursor (serving/analytics/stream.ts newAnomalies): each anomaly reaches a
// client once, oldest first, including several detected in the same millisecond across pushes.
import type { Anomaly } from '../../serving/anomalies/tail';
import { newAnomalies } from '../../serving/analytics/stream';

const anomaly = (id: string, ms: number): Anomaly => ({
  anomaly_id: id, tenant_id: 't', detected_at: new Date(ms).toISOString(), detected_ms: ms, anomaly_type: 'velocity', severity: 'high',
  score: 0.9, event_id: `e-${id}`, explanation: 'x', incident_id: null, detectors: [], entities: [], detail: '{}',
});

test('each anomaly is sent once, oldest first, ties at the cursor included', () => {
  let cursor = { sinceMs: 1000, sentAtSince: new Set<string>() };
  const first = newAnomalies([anomaly('b', 2000), anomaly('a', 1500), anomaly('old', 900)], cursor);
  expect(first.fresh.map((a) => a.anomaly_id)).toEqual(['a', 'b']);
  cursor = first.cursor;
  expect(cursor.sinceMs).toBe(2000);
  // the tail returns everything ≥ sinceMs again: 'b' is not repeated, 'c' (same ms, arrived later) is new
  const second = newAnomalies([anomaly('c', 2000), anomaly('b', 2000)], cursor);
  expect(second.fresh.map((a) => a.anomaly_id)).toEqual(['c']);
  const third = newAnomalies([anomaly('c', 2000), anomaly('b', 2000)], second.cursor);
  expect(third.fresh).toEqual([]);
  expect(third.cursor).toBe(second.cursor);
  const fourth = newAnomalies([anomaly('d', 2500), anomaly('c', 2000)], third.cursor);
  expect(fourth.fresh.map((a) => a.anomaly_id)).toEqual(['d']);
  expect([...fourth.cursor.sentAtSince]).toEqual(['d']);
});
