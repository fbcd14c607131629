// The detailed health route's Ok / Degraded / Error logic, with dependency checks faked.
import request from 'supertest';
import { loadConfig } from '../../core/config';
import { createApp } from '../../serving/app';

const cfg = loadConfig({});
const up = async () => ({ healthy: true, detail: 'fine' });
const downCheck = async () => ({ healthy: false, detail: 'connection refused' });

test('all dependencies healthy → 200 ok', async () => {
  const res = await request(createApp({ cfg, checks: { kafka: up, s3: up } })).get('/api/v2/ops/health/detailed');
  expect(res.status).toBe(200);
  expect(res.body.status).toBe('ok');
});

test('one dependency down → 503 degraded naming it', async () => {
  const res = await request(createApp({ cfg, checks: { kafka: up, s3: downCheck } })).get('/api/v2/ops/health/detailed');
  expect(res.status).toBe(503);
  expect(res.body.status).toBe('degraded');
  expect(res.body.dependencies.s3).toEqual({ healthy: false, detail: 'connection refused' });
});

test('everything down → 503 error; unknown routes → 404 JSON', async () => {
  const app = createApp({ cfg, checks: { kafka: downCheck } });
  expect((await request(app).get('/api/v2/ops/health/detailed')).body.status).toBe('error');
  const missing = await request(app).get('/api/v2/nope');
  expect(missing.status).toBe(404);
  expect(missing.body.error).toBe('not_found');
});
