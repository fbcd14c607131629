import { positionalArgs } from '../../bench/args';
import { afterWarmUp, median, percentiles, steadyPercentiles, worstPerSecond } from '../../bench/stats';

test('latency after the warm-up leaves out the events sent in the first seconds, by send time', () => {
  // 10 s of events, one per 100 ms: 500 ms late in the first 3 s, 10 ms after
  const sentAt = Array.from({ length: 100 }, (_, i) => 1_000_000 + i * 100);
  const ms = sentAt.map((_, i) => (i < 30 ? 500 : 10));
  expect(worstPerSecond(sentAt, ms)).toBe('500 500 500 10 10 10 10 10 10 10');
  expect(percentiles(ms, [99])).toEqual([500]);
  expect(afterWarmUp(sentAt, ms, 3000)).toBe('p50=10 p95=10 p99=10 max=10');
  expect(afterWarmUp(sentAt, ms, 2000)).toBe('p50=10 p95=500 p99=500 max=500');
  // only the first n count; nothing after the warm-up
  expect(afterWarmUp(sentAt, ms, 3000, 30)).toBe('none');
  // the same as numbers, for the latency bench's summary
  expect(steadyPercentiles(sentAt, ms, 2000, [50, 99])).toEqual([10, 500]);
  expect(steadyPercentiles(sentAt, ms, 3000, [50, 99], 30)).toBeUndefined();
});

test('the median of rounds sorts numerically and averages the middle pair', () => {
  expect(median([0.42, 0.57, 0.5])).toBe(0.5);
  expect(median([10, 9, 100, 2])).toBe(9.5);
  expect(median([7])).toBe(7);
  expect(median([])).toBeNaN();
});

test('positional bench arguments are what is left once each --flag value pair is taken out', () => {
  expect(positionalArgs(['30', '--rounds', '3', '8'])).toEqual(['30', '8']);
  expect(positionalArgs(['--rounds', '3'])).toEqual([]);
  expect(positionalArgs(['20', '4', '500'])).toEqual(['20', '4', '500']);
});
