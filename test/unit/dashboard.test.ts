// The live dashboard page (serving/dashboard.ts): served with its own strict CSP, no inline code,
// and API values never written as HTML.
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { Script } from 'node:vm';
import request from 'supertest';
import { loadConfig } from '../../core/config';
import { createApp } from '../../serving/app';
import { DASHBOARD_CSP } from '../../serving/dashboard';

const app = createApp({ cfg: loadConfig({}), checks: {} });
const dir = path.join(__dirname, '..', '..', 'serving', 'dashboard');

test('the page and its assets are served with the dashboard CSP; / leads there', async () => {
  const page = await request(app).get('/dashboard');
  expect(page.status).toBe(200);
  expect(page.headers['content-type']).toMatch(/^text\/html/);
  expect(page.headers['content-security-policy']).toBe(DASHBOARD_CSP);
  expect(page.text).toContain('<script src="/dashboard/app.js" defer></script>');
  const js = await request(app).get('/dashboard/app.js');
  expect(js.status).toBe(200);
  expect(js.headers['content-type']).toMatch(/^text\/javascript/);
  expect((await request(app).get('/dashboard/style.css')).headers['content-type']).toMatch(/^text\/css/);
  const root = await request(app).get('/');
  expect(root.status).toBe(302);
  expect(root.headers.location).toBe('/dashboard');
  expect((await request(app).get('/dashboard/../core/config.ts')).status).toBe(404);
});

test('no inline script or style, and nothing from the API is written as HTML', () => {
  const html = readFileSync(path.join(dir, 'index.html'), 'utf8');
  expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
  expect(html).not.toMatch(/\sstyle=|\son[a-z]+=/i);
  const js = readFileSync(path.join(dir, 'app.js'), 'utf8');
  expect(js).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(/);
  expect(() => new Script(js)).not.toThrow();
  // the key reaches the API only as a header or the WebSocket's query parameter
  expect(js).toContain("'x-api-key': state.key");
  expect(DASHBOARD_CSP).not.toMatch(/unsafe-inline|unsafe-eval|\*/);
});
