// The local stack as users see it through `rtap up` / `rtap status`.
import { status, up } from '../../stack/stack';
import { cfg } from './helpers';

test('every service reports healthy, including the Temporal Web UI over HTTP', async () => {
  const statuses = await status(cfg);
  expect(statuses.map((s) => s.name).sort()).toEqual(['kafka', 'minio', 'temporal']);
  for (const s of statuses) expect({ name: s.name, healthy: s.health.healthy }).toEqual({ name: s.name, healthy: true });
  expect(statuses.find((s) => s.name === 'temporal')!.health.detail).toContain('Web UI HTTP 200');
});

test('a second `up` is harmless: nothing started, no topic or bucket created', async () => {
  const result = await up(cfg, () => undefined);
  expect(result.started).toEqual([]);
  expect(result.createdTopics).toEqual([]);
  expect(result.createdBucket).toBe(false);
  expect(result.alreadyRunning.sort()).toEqual(['kafka', 'minio', 'temporal']);
});
