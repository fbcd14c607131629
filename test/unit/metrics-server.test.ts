// core/metrics-server.ts on 127.0.0.1: what a scrape gets, what anything else gets, a port in use.
import { createServer } from 'node:net';
import { createLogger } from '../../core/logger';
import { serveMetrics, type MetricsServer } from '../../core/metrics-server';

const log = createLogger('metrics-server-test');

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

describe('serveMetrics', () => {
  const open: MetricsServer[] = [];
  afterEach(async () => {
    await Promise.all(open.splice(0).map((s) => s.close()));
  });

  test('GET /metrics answers the text; other paths 404, other methods 405, a failed scrape 503', async () => {
    let fail = false;
    const server = await serveMetrics({ host: '127.0.0.1', port: await freePort(), text: async () => (fail ? Promise.reject(new Error('thread 1 silent')) : 'rtap_x_total 3\n'), portSetting: 'TEST_PORT', log });
    open.push(server!);
    const base = `http://127.0.0.1:${server!.port}`;
    const ok = await fetch(`${base}/metrics?x=1`);
    expect(ok.status).toBe(200);
    expect(ok.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(await ok.text()).toBe('rtap_x_total 3\n');
    expect((await fetch(`${base}/`)).status).toBe(404);
    expect((await fetch(`${base}/metrics`, { method: 'DELETE' })).status).toBe(405);
    fail = true;
    const failed = await fetch(`${base}/metrics`);
    expect(failed.status).toBe(503);
    expect(await failed.text()).toContain('thread 1 silent');
  });

  test('port 0 serves nothing; a port in use is reported and serves nothing', async () => {
    expect(await serveMetrics({ host: '127.0.0.1', port: 0, text: async () => '', portSetting: 'TEST_PORT', log })).toBeUndefined();
    const first = await serveMetrics({ host: '127.0.0.1', port: await freePort(), text: async () => 'first\n', portSetting: 'TEST_PORT', log });
    open.push(first!);
    const second = await serveMetrics({ host: '127.0.0.1', port: first!.port, text: async () => 'second\n', portSetting: 'TEST_PORT', log });
    expect(second).toBeUndefined();
    expect(await (await fetch(`http://127.0.0.1:${first!.port}/metrics`)).text()).toBe('first\n');
  });
});
