import { RtapError } from '../../core/errors';
import { backoffDelay, withRetry } from '../../core/retry';

test('backoff grows exponentially up to the cap, with jitter below the bound', () => {
  const max = () => 0.999999;
  expect(backoffDelay(0, 100, 1000, max)).toBe(100);
  expect(backoffDelay(3, 100, 1000, max)).toBe(800);
  expect(backoffDelay(10, 100, 1000, max)).toBe(1000);
  expect(backoffDelay(5, 100, 1000, () => 0)).toBe(0);
});

test('retriable errors are retried until success', async () => {
  let calls = 0;
  const result = await withRetry(
    async () => {
      calls += 1;
      if (calls < 3) throw new RtapError('flaky', { retriable: true });
      return 'done';
    },
    { initialDelayMs: 1, maxDelayMs: 2 },
  );
  expect(result).toBe('done');
  expect(calls).toBe(3);
});

test('non-retriable errors stop at once; retries are bounded', async () => {
  let calls = 0;
  await expect(withRetry(async () => { calls += 1; throw new RtapError('final'); }, { initialDelayMs: 1 })).rejects.toThrow('final');
  expect(calls).toBe(1);
  calls = 0;
  await expect(
    withRetry(async () => { calls += 1; throw new RtapError('always', { retriable: true }); }, { retries: 2, initialDelayMs: 1, maxDelayMs: 1 }),
  ).rejects.toThrow('always');
  expect(calls).toBe(3);
});
