// HTTP hardening of the API (serving/security/hardening.ts): security headers on every answer,
// the CORS allow-list, the request-target cap, TLS when configured, and error bodies that never
// carry a stack or an internal path.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import * as https from 'node:https';
import * as os from 'node:os';
import * as path from 'node:path';
import express from 'express';
import request from 'supertest';
import { loadConfig } from '../../core/config';
import { SECRET_PATHS } from '../../core/logger';
import { createApp } from '../../serving/app';
import { MAX_URL_BYTES, createServer } from '../../serving/security/hardening';

const cfg = loadConfig({ API_CORS_ORIGINS: 'https://app.example.com,http://localhost:3000' });
const app = createApp({ cfg, checks: {} });

test('every answer carries the security headers and no X-Powered-By', async () => {
  for (const res of [await request(app).get('/healthz'), await request(app).get('/api/v2/nope'), await request(app).get('/openapi.json')]) {
    expect(res.headers['x-powered-by']).toBeUndefined();
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['x-frame-options']).toBe('DENY');
    expect(res.headers['content-security-policy']).toContain("default-src 'none'");
    expect(res.headers['referrer-policy']).toBe('no-referrer');
    // plain HTTP here: HSTS would be meaningless
    expect(res.headers['strict-transport-security']).toBeUndefined();
  }
});

test('CORS: a listed origin gets its preflight and headers; any other origin is refused', async () => {
  const ok = await request(app).options('/api/v2/analytics/query').set('Origin', 'https://app.example.com').set('Access-Control-Request-Method', 'POST');
  expect(ok.status).toBe(204);
  expect(ok.headers['access-control-allow-origin']).toBe('https://app.example.com');
  expect(ok.headers['access-control-allow-headers']).toContain('authorization');
  expect(ok.headers.vary).toContain('Origin');

  const evil = await request(app).options('/api/v2/analytics/query').set('Origin', 'https://evil.example.net').set('Access-Control-Request-Method', 'POST');
  expect(evil.status).toBe(403);
  expect(evil.body.error).toBe('cors_origin_not_allowed');
  expect(evil.headers['access-control-allow-origin']).toBeUndefined();

  // a simple request from an unlisted origin is answered without CORS headers, so a browser hides it
  const simple = await request(app).get('/healthz').set('Origin', 'https://evil.example.net');
  expect(simple.headers['access-control-allow-origin']).toBeUndefined();
  // no wildcard, ever
  const listed = await request(app).get('/healthz').set('Origin', 'http://localhost:3000');
  expect(listed.headers['access-control-allow-origin']).toBe('http://localhost:3000');
});

test('no origins configured → no cross-origin access at all', async () => {
  const closed = createApp({ cfg: loadConfig({}), checks: {} });
  const res = await request(closed).options('/healthz').set('Origin', 'https://app.example.com').set('Access-Control-Request-Method', 'GET');
  expect(res.status).toBe(403);
});

test('bad CORS and TLS settings fail at start-up naming the variable', () => {
  expect(() => loadConfig({ API_CORS_ORIGINS: '*' })).toThrow(/API_CORS_ORIGINS/);
  expect(() => loadConfig({ API_CORS_ORIGINS: 'https://a.example.com/path' })).toThrow(/API_CORS_ORIGINS/);
  expect(() => loadConfig({ API_TLS_CERT_FILE: '/no/such/cert.pem' })).toThrow(/API_TLS_CERT_FILE/);
  expect(() => loadConfig({ API_TLS_CERT_FILE: __filename })).toThrow(/set both/);
});

test('an oversized request target is refused with 414 before routing', async () => {
  const res = await request(app).get(`/api/v2/analytics/realtime/metrics?tenant=${'a'.repeat(MAX_URL_BYTES)}`);
  expect(res.status).toBe(414);
  expect(res.body.error).toBe('uri_too_long');
});

test('a JSON body over the limit is a 413 and a malformed one a 400, neither with a stack or a path', async () => {
  const big = await request(app).post('/api/v2/analytics/query').set('Content-Type', 'application/json').send(`{"x":"${'a'.repeat(70 * 1024)}"}`);
  expect(big.status).toBe(413);
  const bad = await request(app).post('/api/v2/analytics/query').set('Content-Type', 'application/json').send('{"x":');
  expect(bad.status).toBe(400);
  for (const res of [big, bad]) {
    expect(res.text).not.toMatch(/node_modules|\/work\/|at [A-Za-z.]+ \(|Error:/);
  }
});

test('credentials never reach a log line', () => {
  for (const p of ['authorization', 'req.headers["x-api-key"]', '*.secretAccessKey', '*.apiKey', '*.token']) expect(SECRET_PATHS).toContain(p);
});

test('HTTPS when a certificate and key are configured', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rtap-tls-'));
  try {
    const key = path.join(dir, 'key.pem');
    const cert = path.join(dir, 'cert.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1'], { stdio: 'ignore' });
    const tlsCfg = loadConfig({ API_TLS_CERT_FILE: cert, API_TLS_KEY_FILE: key });
    expect(tlsCfg.api.tls).toEqual({ certFile: cert, keyFile: key });
    const server = createServer(createApp({ cfg: tlsCfg, checks: {} }), tlsCfg.api);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const port = (server.address() as AddressInfo).port;
      const res = await new Promise<{ status?: number; hsts?: string; body: string }>((resolve, reject) => {
        https
          .get({ host: '127.0.0.1', port, path: '/healthz', rejectUnauthorized: false }, (r) => {
            let body = '';
            r.on('data', (c: Buffer) => (body += c.toString()));
            r.on('end', () => resolve({ status: r.statusCode, hsts: r.headers['strict-transport-security'] as string | undefined, body }));
          })
          .on('error', reject);
      });
      expect(res.status).toBe(200);
      expect(JSON.parse(res.body)).toEqual({ status: 'ok' });
      expect(res.hsts).toMatch(/max-age=31536000/);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('without TLS settings the server is plain HTTP', () => {
  const server = createServer(express(), {});
  expect(server).not.toBeInstanceOf(https.Server);
});
