// The WebSocket stream bypasses express, so it records its own audit entries: every connection
// opened (101) and every refusal (401/403), with the actor and the tenant, never the key itself.
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import WebSocket from 'ws';
import type { AuditEntry } from '../../core/audit';
import { loadConfig } from '../../core/config';
import { ControlState, hashApiKey, type ApiKeyRecord } from '../../core/control';
import { createSpeedReader } from '../../core/speed-reader';
import { attachStream } from '../../serving/analytics/stream';
import type { BatchViews } from '../../serving/analytics/batch-views';
import { identityFor } from '../../serving/auth';

const control = new ControlState();
for (const tenant_id of ['acme', 'globex']) control.apply(`tenant/${tenant_id}`, Buffer.from(JSON.stringify({ tenant_id, name: tenant_id, status: 'active', created_at: '' })));
const addKey = (secret: string, tenant_id: string, roles: ApiKeyRecord['roles']) => {
  const record: ApiKeyRecord = { key_hash: hashApiKey(secret), tenant_id, roles, label: `key of ${tenant_id}`, created_at: '' };
  control.apply(`apikey/${record.key_hash}`, Buffer.from(JSON.stringify(record)));
};
addKey('rtap_viewer_acme', 'acme', ['viewer']);
addKey('rtap_ingest_acme', 'acme', ['ingest']);

const entries: AuditEntry[] = [];
const server = http.createServer();
const close = attachStream(server, {
  control,
  identity: identityFor(loadConfig({}), control),
  batch: { snapshot: async () => undefined } as unknown as BatchViews,
  speed: createSpeedReader({}),
  intervalMs: 60_000,
  audit: { append: (e: AuditEntry) => entries.push(e), backlogged: false },
});
let base: string;

beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `ws://127.0.0.1:${(server.address() as AddressInfo).port}/api/v2/analytics/realtime/stream`;
});
afterAll(async () => {
  await close();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

/** Connects; resolves with the first message, or the refusal's status. */
function connect(query: string): Promise<{ hello?: { tenant: string }; status?: number }> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`${base}?${query}`);
    ws.once('message', (m) => {
      resolve({ hello: JSON.parse(String(m)) as { tenant: string } });
      ws.close();
    });
    ws.once('unexpected-response', (_req, res) => resolve({ status: res.statusCode }));
    ws.once('error', () => undefined);
  });
}

test('an opened stream and each refusal are audited with actor, tenant and status; no key in the record', async () => {
  expect((await connect('api_key=rtap_viewer_acme')).hello?.tenant).toBe('acme');
  expect((await connect('api_key=rtap_nope')).status).toBe(401);
  expect((await connect('api_key=rtap_ingest_acme')).status).toBe(403);
  expect((await connect('api_key=rtap_viewer_acme&tenant=globex')).status).toBe(403);
  expect(entries.map((e) => [e.status, e.actor.kind, e.tenant])).toEqual([
    [101, 'api_key', 'acme'],
    [401, 'anonymous', null],
    [403, 'api_key', 'acme'],
    [403, 'api_key', 'acme'],
  ]);
  for (const e of entries) {
    expect(e).toMatchObject({ source: 'api', method: 'GET', action: 'GET /api/v2/analytics/realtime/stream', target: '/api/v2/analytics/realtime/stream' });
    expect(JSON.stringify(e)).not.toContain('rtap_viewer_acme');
  }
});
