// The anomaly rules, feedback and incidents routes behind the security gate: viewers read rules,
// analysts change them; a PUT is checked against the detector's parameter schema (400 naming each
// parameter) and stored as a control record that the rules module reads back; feedback is stored
// as the shared FraudFeedback record; incidents group the tail's anomalies; all in the document.
import request from 'supertest';
import { loadConfig } from '../../core/config';
import { ControlState, hashApiKey, type ApiKeyRecord } from '../../core/control';
import { feedbackIn } from '../../core/fraud-feedback';
import { createAnomalyTail } from '../../serving/anomalies/tail';
import { createApp } from '../../serving/app';
import { OPENAPI } from '../../serving/openapi';
import { tenantRules } from '../../speed-layer/fraud/rules';
import { DETECTORS } from '../../speed-layer/fraud/detectors';

const control = new ControlState();
for (const tenant_id of ['t1', 't2']) control.apply(`tenant/${tenant_id}`, Buffer.from(JSON.stringify({ tenant_id, name: tenant_id, status: 'active', created_at: '' })));
function addKey(key: string, tenant_id: string, roles: ApiKeyRecord['roles']): void {
  const record: ApiKeyRecord = { key_hash: hashApiKey(key), key_id: `key_${key}`, tenant_id, roles, label: key, created_at: '' };
  control.apply(`apikey/${record.key_hash}`, Buffer.from(JSON.stringify(record)));
}
addKey('viewer', 't1', ['viewer']);
addKey('analyst', 't1', ['analyst']);
const writes: string[] = [];
const tail = createAnomalyTail({});
const write = async (records: { key: string; value: object | null }[]) => {
  for (const r of records) {
    writes.push(r.key);
    control.apply(r.key, r.value === null ? null : Buffer.from(JSON.stringify(r.value)));
  }
};
const NOW = Date.UTC(2026, 10, 27, 12);
const app = createApp({ cfg: loadConfig({}), checks: {}, control, anomalies: { control, write, anomalies: tail, now: () => NOW } });

describe('anomaly rules, feedback and incidents routes', () => {
  it('lists every detector for a viewer; only an analyst may change one, and the change is a control record', async () => {
    const list = await request(app).get('/api/v2/anomalies/rules').set('x-api-key', 'viewer');
    expect(list.status).toBe(200);
    expect(list.body.data).toHaveLength(DETECTORS.length);
    expect(list.body.data.find((r: { rule_id: string }) => r.rule_id === 'card_testing')).toMatchObject({ enabled: true, overrides: {}, schema: { smallShare: { minimum: 0, maximum: 1 } } });

    const body = { parameters: { floor: 3, smallShare: 0.3 }, enabled: true };
    expect((await request(app).put('/api/v2/anomalies/rules/card_testing').set('x-api-key', 'viewer').send(body)).status).toBe(403);
    const put = await request(app).put('/api/v2/anomalies/rules/card_testing').set('x-api-key', 'analyst').send(body);
    expect(put.status).toBe(200);
    expect(put.body.data).toMatchObject({ rule_id: 'card_testing', overrides: { floor: 3, smallShare: 0.3 }, updated_by: 'key_analyst' });
    expect(writes).toContain('fraudrule/t1/card_testing');
    expect(tenantRules(control, 't1').get('card_testing')?.parameters).toEqual({ floor: 3, smallShare: 0.3 });
    expect(tenantRules(control, 't2').size).toBe(0);
  });

  it('refuses parameters outside the schema with each one named, and unknown rules with a 404', async () => {
    const bad = await request(app).put('/api/v2/anomalies/rules/card_testing').set('x-api-key', 'analyst').send({ parameters: { smallShare: 4, nope: 1 } });
    expect(bad.status).toBe(400);
    expect(bad.body.details.map((d: { path: string }) => d.path).sort()).toEqual(['/parameters/nope', '/parameters/smallShare']);
    expect(bad.body.message).toMatch(/smallShare: expected a number in 0\.\.1 \(default 0\.2\)/);
    const notNumber = await request(app).put('/api/v2/anomalies/rules/card_testing').set('x-api-key', 'analyst').send({ parameters: { floor: 'x' } });
    expect(notNumber.status).toBe(400);
    expect(notNumber.body.details[0].path).toBe('/parameters/floor');
    expect((await request(app).put('/api/v2/anomalies/rules/no_such_rule').set('x-api-key', 'analyst').send({})).status).toBe(404);
  });

  it('stores feedback as the shared record, keyed by event id, and validates the label', async () => {
    const res = await request(app).post('/api/v2/anomalies/feedback/ev-1:fraud').set('x-api-key', 'analyst').send({ label: 'legit', comment: 'refund policy' });
    expect(res.status).toBe(201);
    expect(res.body.data).toEqual({ event_id: 'ev-1', tenant_id: 't1', label: 'legit', by: 'key_analyst', at: new Date(NOW).toISOString(), comment: 'refund policy' });
    expect(feedbackIn(control, 't1')).toEqual([res.body.data]);
    expect((await request(app).post('/api/v2/anomalies/feedback/ev-1').set('x-api-key', 'analyst').send({ label: 'maybe' })).status).toBe(400);
    expect((await request(app).post('/api/v2/anomalies/feedback/ev-1').set('x-api-key', 'viewer').send({ label: 'fraud' })).status).toBe(403);
  });

  it('groups the tenant’s anomalies by incident, most recently active first', async () => {
    const rec = (id: string, incident: string, minute: number, score: number, severity: string, detector: string) =>
      JSON.stringify({ anomaly_id: `${id}:fraud`, tenant_id: 't1', event_id: id, incident_id: incident, detected_at: new Date(Date.now() - (60 - minute) * 60_000).toISOString(), score, severity, detectors: [{ id: detector }], entities: [`card:${incident}`] });
    tail.apply(0, '1', 0, rec('a', 'inc_a', 1, 0.6, 'medium', 'velocity'));
    tail.apply(0, '2', 0, rec('b', 'inc_a', 2, 0.95, 'critical', 'card_testing'));
    tail.apply(0, '3', 0, rec('c', 'inc_c', 3, 0.7, 'medium', 'bot_user_agent'));
    tail.apply(0, '3', 0, rec('c', 'inc_c', 3, 0.7, 'medium', 'bot_user_agent'));
    const res = await request(app).get('/api/v2/anomalies/incidents').set('x-api-key', 'viewer');
    expect(res.status).toBe(200);
    expect(res.body.data).toEqual([
      expect.objectContaining({ incident_id: 'inc_c', anomalies: 1 }),
      expect.objectContaining({ incident_id: 'inc_a', anomalies: 2, max_score: 0.95, max_severity: 'critical', detectors: expect.arrayContaining(['velocity', 'card_testing']), entities: ['card:inc_a'] }),
    ]);
  });

  it('documents every route in the OpenAPI document', () => {
    expect(OPENAPI.paths['/api/v2/anomalies/rules']?.get).toBeDefined();
    expect(OPENAPI.paths['/api/v2/anomalies/rules/{rule_id}']?.put).toBeDefined();
    expect(OPENAPI.paths['/api/v2/anomalies/feedback/{anomaly_id}']?.post).toBeDefined();
    expect(OPENAPI.paths['/api/v2/anomalies/incidents']?.get).toBeDefined();
  });
});
