// When the speed layer's next checkpoint transaction is due (speed-layer/runtime.ts commitDue):
// every commit interval; sooner while anomalies wait, unless the instance is behind.
import { commitDue, DEFAULT_SPEED_OPTIONS } from '../../speed-layer/runtime';

const o = { commitIntervalMs: 300, anomalyCommitMs: 20, anomalyCommitMaxLag: 2000 };

test('the defaults are the documented ones', () => {
  expect([DEFAULT_SPEED_OPTIONS.commitIntervalMs, DEFAULT_SPEED_OPTIONS.anomalyCommitMs, DEFAULT_SPEED_OPTIONS.anomalyCommitMaxLag]).toEqual([300, 20, 2000]);
});

test('every commit interval, whatever waits and however far behind', () => {
  expect(commitDue(o, { sinceMs: 299, waitingOutputs: 0, lag: 0 })).toBe(false);
  expect(commitDue(o, { sinceMs: 300, waitingOutputs: 0, lag: 0 })).toBe(true);
  expect(commitDue(o, { sinceMs: 300, waitingOutputs: 0, lag: 1e6 })).toBe(true);
});

test('an anomaly waiting brings the commit forward to anomalyCommitMs while the instance keeps up', () => {
  expect(commitDue(o, { sinceMs: 19, waitingOutputs: 1, lag: 0 })).toBe(false);
  expect(commitDue(o, { sinceMs: 20, waitingOutputs: 1, lag: 0 })).toBe(true);
  expect(commitDue(o, { sinceMs: 20, waitingOutputs: 1, lag: 2000 })).toBe(true);
});

test('behind by more than anomalyCommitMaxLag events, a waiting anomaly waits for the interval', () => {
  expect(commitDue(o, { sinceMs: 20, waitingOutputs: 5, lag: 2001 })).toBe(false);
  expect(commitDue(o, { sinceMs: 299, waitingOutputs: 5, lag: 50_000 })).toBe(false);
  expect(commitDue({ ...o, anomalyCommitMaxLag: Infinity }, { sinceMs: 20, waitingOutputs: 5, lag: 50_000 })).toBe(true);
});
