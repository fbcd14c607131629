// The cluster primary's restart policy: an isolated crash is replaced at once, a crash loop backs
// off exponentially up to a cap, and the count forgets crashes older than the window.
import { RestartPolicy } from '../../serving/cluster';
import { SEMI_SPACE_MB, childExecArgv, workerResourceLimits } from '../../core/young-generation';

const opts = { windowMs: 60_000, baseMs: 250, maxMs: 30_000 };

test('an isolated crash is restarted immediately', () => {
  const policy = new RestartPolicy(opts);
  expect(policy.delayAfterCrash(0)).toBe(0);
  // Long after, it is isolated again.
  expect(policy.delayAfterCrash(10 * 60_000)).toBe(0);
});

test('crashes in a row back off exponentially, capped', () => {
  const policy = new RestartPolicy(opts);
  const delays = Array.from({ length: 10 }, (_, i) => policy.delayAfterCrash(i * 1000));
  expect(delays.slice(0, 5)).toEqual([0, 250, 500, 1000, 2000]);
  expect(Math.max(...delays)).toBe(30_000);
  expect(delays).toEqual([...delays].sort((a, b) => a - b));
});

test('crashes older than the window are forgotten', () => {
  const policy = new RestartPolicy(opts);
  policy.delayAfterCrash(0);
  policy.delayAfterCrash(1000);
  expect(policy.delayAfterCrash(2000)).toBe(500);
  expect(policy.delayAfterCrash(70_000)).toBe(0);
});

test('workers get a larger young generation unless node was already given one', () => {
  expect(childExecArgv(['--enable-source-maps'])).toEqual(['--enable-source-maps', `--max-semi-space-size=${SEMI_SPACE_MB}`]);
  expect(childExecArgv(['--max-semi-space-size=8'])).toEqual(['--max-semi-space-size=8']);
  expect(childExecArgv([], '--max-semi-space-size=32 --trace-gc')).toEqual([]);
  expect(workerResourceLimits([])).toEqual({ maxYoungGenerationSizeMb: 3 * SEMI_SPACE_MB });
  expect(workerResourceLimits(['--max-semi-space-size=8'])).toEqual({});
  expect(workerResourceLimits([], '--max-semi-space-size=32')).toEqual({});
});
