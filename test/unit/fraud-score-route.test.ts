// POST /api/v2/ml/fraud/score and /api/v2/ml/inference/fraud: role analyst, the caller's tenant only, events validated by the schema
// registry, every detector's score and explanation in the answer, and the document lists it.
import * as fs from 'node:fs';
import * as path from 'node:path';
import request from 'supertest';
import { loadConfig } from '../../core/config';
import { ControlState, hashApiKey, type ApiKeyRecord } from '../../core/control';
import type { RtapEvent } from '../../core/schema';
import { createApp } from '../../serving/app';
import { FEATURE_NAMES } from '../../speed-layer/fraud/model/features';
import { compileModel, MODEL_FORMAT, type FraudModelDoc } from '../../speed-layer/fraud/model/model';

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

describe('POST /api/v2/ml/inference/fraud', () => {
  // a logistic model over the real feature list: bias −4, +8 per unit of the first detector's score
  const doc = (version: string, bias: number): FraudModelDoc => ({
    format: MODEL_FORMAT, kind: 'logistic', version, features: [...FEATURE_NAMES], threshold: 0.3, trainedAt: '2026-11-27T00:00:00Z',
    mean: FEATURE_NAMES.map(() => 0), scale: FEATURE_NAMES.map(() => 1), weights: [bias, ...FEATURE_NAMES.map((_, i) => (i === 0 ? 8 : 0))],
  });
  const loaded = { champion: compileModel(doc('v-champ', -4)), challenger: compileModel(doc('v-chall', -1)) };
  const withModels = createApp({ cfg: loadConfig({}), checks: {}, fraud: { control, models: { current: () => loaded } } });
  const infer = (body: unknown, app = withModels, key = 'reader') => request(app).post('/api/v2/ml/inference/fraud').set('x-api-key', key).send(body as object);

  it("answers the champion's and the challenger's verdicts with the features they saw", async () => {
    const res = await infer(FIXTURE);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ event_id: FIXTURE.event_metadata.event_id, tenant_id: tenant });
    expect(Object.keys(res.body.features)).toEqual([...FEATURE_NAMES]);
    const x = FEATURE_NAMES.map((n) => res.body.features[n] as number);
    // independent of the route: the published models' own functions on the vector it reports
    expect(res.body.champion.probability).toBeCloseTo(loaded.champion.probability(x), 3);
    expect(res.body.challenger.probability).toBeCloseTo(loaded.challenger.probability(x), 3);
    expect(res.body.champion).toMatchObject({ version: 'v-champ', threshold: 0.3, flagged: res.body.champion.probability >= 0.3 });
    expect(res.body.challenger.probability).toBeGreaterThan(res.body.champion.probability);
  });

  it('the score route says which model set the score', async () => {
    const res = await request(withModels).post('/api/v2/ml/fraud/score').set('x-api-key', 'reader').send(FIXTURE);
    expect(res.status).toBe(200);
    expect(res.body.model).toBe('trained model v-champ');
    expect(typeof res.body.fallback_score).toBe('number');
  });

  it('503 until a model is published; the same tenant and validation rules as scoring', async () => {
    const none = await infer(FIXTURE, app);
    expect(none.status).toBe(503);
    expect(none.body.error).toBe('model_unavailable');
    expect((await infer({ ...FIXTURE, tenant_id: 'other_tenant' })).status).toBe(403);
    expect((await infer({ schema_version: '2.1' })).status).toBe(400);
    expect((await infer(FIXTURE, withModels, 'ingester')).status).toBe(403);
  });
});
