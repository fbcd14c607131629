// POST /api/v2/ml/fraud/score: role read, the caller's tenant only, events validated by the schema
// registry, every detector's score and explanation in the answer, and the document lists it.
import * as fs from 'node:fs';
import * as path from 'node:path';
import request from 'supertest';
import { loadConfig } from '../../core/config';
import { ControlState, hashApiKey, type ApiKeyRecord } from '../../core/control';
import type { RtapEvent } from '../../core/schema';
import { createApp } from '../../serving/app';

const FIXTURE = JSON.parse(fs.readFileSync(path.resolve(__dirname, '../fixtures/event-2.1-full.json'), 'utf8')) as RtapEvent;
const tenant = FIXTURE.tenant_id;
const control = new ControlState();
for (const tenant_id of [tenant, 'other_tenant']) control.apply(`tenant/${tenant_id}`, Buffer.from(JSON.stringify({ tenant_id, name: tenant_id, status: 'active', created_at: '' })));
function addKey(key: string, tenant_id: string, roles: ApiKeyRecord['roles']): void {
  const record: ApiKeyRecord = { key_hash: hashApiKey(key), tenant_id, roles, label: key, created_at: '' };
  control.apply(`apikey/${record.key_hash}`, Buffer.from(JSON.stringify(record)));
}
addKey('reader', tenant, ['read']);
addKey('ingester', tenant, ['ingest']);
addKey('other-reader', 'other_tenant', ['read']);
const app = createApp({ cfg: loadConfig({}), checks: {}, fraud: { control } });
const score = (body: unknown, key = 'reader') => request(app).post('/api/v2/ml/fraud/score').set('x-api-key', key).send(body as object);

describe('POST /api/v2/ml/fraud/score', () => {
  it("scores the brief's full event: score, severity, every applicable detector with its explanation, and what state it used", async () => {
    const res = await score(FIXTURE);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ event_id: FIXTURE.event_metadata.event_id, tenant_id: tenant });
    expect(res.body.score).toBeGreaterThanOrEqual(0);
    expect(res.body.score).toBeLessThan(0.5);
    expect(res.body.state).toMatch(/event_only/);
    expect(res.body.model).toMatch(/hand-set/);
    for (const d of res.body.detectors as { detector: string; explanation: string; weight: number }[]) {
      expect(d.explanation.length).toBeGreaterThan(0);
      expect(d.weight).toBeGreaterThan(0);
    }
  });

  it('explains a tampered price as a high-severity score', async () => {
    const tampered = structuredClone(FIXTURE);
    tampered.event_data.business_context!.transaction_context!.products![0].pricing!.sale_price = 2.29;
    const res = await score(tampered);
    expect(res.status).toBe(200);
    expect(['high', 'critical']).toContain(res.body.severity);
    expect(res.body.top_reasons[0]).toMatchObject({ detector: 'price_manipulation', family: 'business_logic' });
    expect(res.body.top_reasons[0].explanation).toMatch(/1% of its list price 229/);
  });

  it('refuses an invalid event with the registry violations, another tenant’s event, and keys without the read role', async () => {
    const bad = await score({ ...FIXTURE, event_metadata: { ...FIXTURE.event_metadata, timestamp: 'yesterday' } });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toBe('invalid_event');
    expect(bad.body.details.length).toBeGreaterThan(0);
    expect((await score(FIXTURE, 'other-reader')).status).toBe(403);
    expect((await score(FIXTURE, 'ingester')).status).toBe(403);
    expect((await request(app).post('/api/v2/ml/fraud/score').send(FIXTURE)).status).toBe(401);
  });

  it('is in the OpenAPI document', async () => {
    const doc = await request(app).get('/openapi.json');
    expect(doc.body.paths['/api/v2/ml/fraud/score'].post.responses['200']).toBeDefined();
  });
});
