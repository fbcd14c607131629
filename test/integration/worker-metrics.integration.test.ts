// `rtap worker` serves the Temporal SDK's metrics on its own port (WORKER_METRICS_PORT): a worker
// on a task queue of its own, scraped once it polls, then stopped by SIGTERM.
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { REPO_ROOT } from '../../core/config';
import { freePort, uniqueName } from './helpers';

jest.setTimeout(120_000);

test('rtap worker: /metrics with the SDK metrics under rtap_temporal_, a clean stop', async () => {
  const port = await freePort();
  const child = spawn(process.execPath, [path.join(REPO_ROOT, 'bin', 'rtap'), 'worker', '--no-schedules'], {
    env: { ...process.env, LOG_LEVEL: 'warn', TEMPORAL_TASK_QUEUE: uniqueName('metrics-q'), WORKER_METRICS_PORT: String(port) },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  try {
    let text = '';
    const deadline = Date.now() + 60_000;
    // the pollers show once the worker runs
    while (!/^rtap_temporal_num_pollers\{/m.test(text)) {
      if (Date.now() > deadline) throw new Error(`no worker metrics at :${port} within 60 s; last answer: ${text.slice(0, 300)}`);
      await new Promise((r) => setTimeout(r, 250));
      text = await fetch(`http://127.0.0.1:${port}/metrics`).then((r) => (r.ok ? r.text() : ''), () => '');
    }
    expect(text).toMatch(/^rtap_temporal_worker_start_total\{.*\} 1$/m);
  } finally {
    child.kill('SIGTERM');
  }
  expect(await exited).toBe(0);
});
