// Fraud scoring live on the real stack: the speed layer runtime wired as `rtap speed` wires it
// (speed-layer/fraud/live.ts: feature store, fraud processor, control plane followed for rules)
// consumes generator traffic with fraud campaigns and commits anomaly records with explanations
// and incidents to the anomalies topic, exactly once (same transaction as its offsets). Then a
// PUT /api/v2/anomalies/rules/{id} through the API disables a detector for every tenant and the
// running layer stops citing it — no restart; feedback is stored for training; incidents are listed.
import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ControlPlane } from '../../core/control';
import { readFraudFeedback } from '../../core/fraud-feedback';
import { createKafka, fetchCommittedOffsets, IDEMPOTENT_RETRY } from '../../core/kafka';
import { createLogger } from '../../core/logger';
import { readTopicRange } from '../../core/topic-range';
import { EventGenerator } from '../../generator/generator';
import { createApp } from '../../serving/app';
import { createAnomalyTail } from '../../serving/anomalies/tail';
import { startLiveScoring, type LiveScoring } from '../../speed-layer/fraud/live';
import { fraudMetrics } from '../../speed-layer/fraud/metrics';
import { createSpeedLayer, type SpeedLayer } from '../../speed-layer/runtime';
import { createSpeedTopics, createTopics } from './kafka-read';
import { cfg, uniqueName, uniqueSpeedTopics } from './helpers';

const PARTITIONS = 2;

interface AnomalyRecord {
  anomaly_id: string;
  event_id: string;
  tenant_id: string;
  incident_id: string;
  score: number;
  severity: string;
  explanation: string;
  detectors: { id: string; family: string; score: number; explanation: string }[];
}

describe('fraud scoring in the speed layer (real stack)', () => {
  const kafka = createKafka(cfg.kafka, { clientId: uniqueName('fraud-it') });
  const log = createLogger('fraud-it');
  const topics = uniqueSpeedTopics('fraud');
  const group = uniqueName('fraud-group');
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, retry: IDEMPOTENT_RETRY });
  const gen = new EventGenerator({ seed: 31, tenants: 3, users: 300, rate: 100, fraudRate: 0.25, defectRate: 0, lateRate: 0, scenarios: ['price_manipulation', 'bot', 'card_testing'], startUs: Date.now() * 1000 });
  const api = new ControlPlane(kafka, log, topics.control);
  // (bots make hundreds of anomalies per tenant: more than the default 500 kept per tenant)
  const tail = createAnomalyTail({ kafka, logger: log }, { topic: topics.anomalies, perTenant: 5000 });
  let live: LiveScoring;
  let speed: SpeedLayer;
  let server: Server;
  let base = '';
  let key = '';

  beforeAll(async () => {
    await createSpeedTopics(kafka, topics, PARTITIONS);
    await producer.connect();
    await api.start();
  });
  afterAll(async () => {
    await speed?.stop().catch(() => undefined);
    await live?.stop().catch(() => undefined);
    await tail.stop();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    await api.stop();
    await producer.disconnect();
  });

  /** Sends n generated events; returns their ids, tenants and how many belong to each scenario. */
  async function produce(n: number) {
    const ids = new Set<string>();
    const tenants = new Set<string>();
    const scenarios = new Map<string, number>();
    const messages: { key: string; value: string }[] = [];
    for (let i = 0; i < n; i++) {
      const g = gen.next();
      const e = g.event as { tenant_id: string; event_metadata: { event_id: string } };
      ids.add(e.event_metadata.event_id);
      tenants.add(e.tenant_id);
      if (g.label.scenario) scenarios.set(g.label.scenario, (scenarios.get(g.label.scenario) ?? 0) + 1);
      messages.push({ key: g.key, value: JSON.stringify(g.event) });
    }
    for (let i = 0; i < messages.length; i += 500) await producer.send({ topic: topics.events, messages: messages.slice(i, i + 500) });
    return { ids, tenants, scenarios };
  }

  /** Waits until the speed layer's committed offsets reach the end of `events` (the anomalies are in the same transactions, or acknowledged before them). */
  async function processed(groupId = group): Promise<void> {
    const admin = kafka.admin();
    await admin.connect();
    const ends = new Map((await admin.fetchTopicOffsets(topics.events).finally(() => admin.disconnect())).map((o) => [o.partition, o.high]));
    for (let i = 0; i < 600; i++) {
      const committed = await fetchCommittedOffsets(kafka, groupId, topics.events);
      if ([...ends].every(([p, high]) => committed.find((c) => c.partition === p)?.offset === high)) return;
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error('the speed layer did not commit the produced events');
  }

  async function anomalies(topic = topics.anomalies): Promise<AnomalyRecord[]> {
    const out: AnomalyRecord[] = [];
    await readTopicRange(kafka, { topic, from: new Map([[0, 0]]), readCommitted: true, onMessage: (_p, m) => out.push(JSON.parse(m.value!.toString()) as AnomalyRecord) });
    return out;
  }

  async function call(method: string, path: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
    const res = await fetch(`${base}${path}`, { method, headers: { 'x-api-key': key, ...(body === undefined ? {} : { 'content-type': 'application/json' }) }, body: body === undefined ? undefined : JSON.stringify(body) });
    return { status: res.status, json: (await res.json()) as Record<string, unknown> };
  }

  it('scores every event in the loop, commits explained anomalies grouped into incidents, and follows rule changes without a restart', async () => {
    // traffic first, so the tenants can be registered for the API
    const a = await produce(3000);
    await api.putTenants([...a.tenants].map((tenant_id) => ({ tenant_id })));
    key = (await api.createApiKey('*', ['analyst'], `it-${randomBytes(3).toString('hex')}`)).apiKey;

    live = await startLiveScoring({ kafka, logger: log }, { controlTopic: topics.control });
    speed = createSpeedLayer(
      { kafka, logger: log, processors: live.processors },
      { topic: topics.events, groupId: group, changelogTopic: topics.changelog, resultsTopic: topics.results, anomaliesTopic: topics.anomalies, instanceId: 'it', sessionTimeoutMs: 10_000 },
    );
    await speed.start();
    await processed();

    const first = await anomalies();
    expect(first.length).toBeGreaterThan(20);
    // exactly once: one record per flagged event, every one an event of this batch
    expect(new Set(first.map((r) => r.anomaly_id)).size).toBe(first.length);
    expect(first.every((r) => a.ids.has(r.event_id))).toBe(true);
    for (const r of first) {
      expect(r.score).toBeGreaterThanOrEqual(0.5);
      expect(['medium', 'high', 'critical']).toContain(r.severity);
      expect(r.incident_id).toMatch(/^inc_/);
      expect(r.detectors.length).toBeGreaterThan(0);
      expect(r.explanation).toContain(`${r.detectors[0].id}: ${r.detectors[0].explanation}`);
    }
    const cited = (rs: AnomalyRecord[]) => new Set(rs.flatMap((r) => r.detectors.map((d) => d.id)));
    expect(cited(first).has('price_manipulation')).toBe(true);
    // campaigns share devices and cards: fewer incidents than anomalies
    expect(new Set(first.map((r) => r.incident_id)).size).toBeLessThan(first.length);

    // the API, on the same control topic
    const app = createApp({ cfg, checks: {}, control: api.state, anomalies: { control: api.state, write: (records) => api.write(records), anomalies: tail } });
    server = await new Promise<Server>((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    await tail.start();
    const tenants = [...a.tenants];

    const bad = await call('PUT', `/api/v2/anomalies/rules/price_manipulation?tenant=${tenants[0]}`, { parameters: { ratio: 2 } });
    expect(bad.status).toBe(400);
    expect(bad.json.details).toEqual([expect.objectContaining({ path: '/parameters/ratio' })]);
    expect((await call('PUT', `/api/v2/anomalies/rules/no_such_rule?tenant=${tenants[0]}`, {})).status).toBe(404);

    for (const t of tenants) {
      const put = await call('PUT', `/api/v2/anomalies/rules/price_manipulation?tenant=${t}`, { enabled: false });
      expect(put.status).toBe(200);
      expect(put.json.data).toMatchObject({ rule_id: 'price_manipulation', enabled: false });
    }
    const rules = await call('GET', `/api/v2/anomalies/rules?tenant=${tenants[0]}`);
    expect((rules.json.data as { rule_id: string; enabled: boolean }[]).find((r) => r.rule_id === 'price_manipulation')?.enabled).toBe(false);
    // the running layer's own control view has the rules (applied on its next event)
    for (let i = 0; i < 100 && live.control.state.records('fraudrule').size < tenants.length; i++) await new Promise((r) => setTimeout(r, 100));
    expect(live.control.state.records('fraudrule').size).toBe(tenants.length);

    const b = await produce(3000);
    expect(b.scenarios.get('price_manipulation') ?? 0).toBeGreaterThan(20);
    await processed();
    const second = (await anomalies()).filter((r) => b.ids.has(r.event_id));
    expect(second.length).toBeGreaterThan(10);
    expect(cited(second).has('price_manipulation')).toBe(false);

    // feedback is stored for the next training run
    const target = first[0];
    const fb = await call('POST', `/api/v2/anomalies/feedback/${encodeURIComponent(target.anomaly_id)}?tenant=${target.tenant_id}`, { label: 'legit', comment: 'known customer' });
    expect(fb.status).toBe(201);
    expect(fb.json.data).toMatchObject({ event_id: target.event_id, tenant_id: target.tenant_id, label: 'legit', comment: 'known customer' });
    expect((await call('POST', `/api/v2/anomalies/feedback/${encodeURIComponent(target.anomaly_id)}?tenant=${target.tenant_id}`, { label: 'maybe' })).status).toBe(400);
    const stored = await readFraudFeedback(kafka, log, topics.control);
    expect(stored).toEqual([expect.objectContaining({ event_id: target.event_id, label: 'legit' })]);

    // incidents, grouped from the API's tail of the anomalies topic
    // (the tail had caught up with the first batch when it started; it may still be reading the second)
    const ofTenant = (rs: AnomalyRecord[]) => new Set(rs.filter((r) => r.tenant_id === target.tenant_id).map((r) => r.incident_id));
    const incidents = await call('GET', `/api/v2/anomalies/incidents?tenant=${target.tenant_id}&minutes=10080&limit=1000`);
    expect(incidents.status).toBe(200);
    const listed = new Set((incidents.json.data as { incident_id: string }[]).map((r) => r.incident_id));
    for (const id of ofTenant(first)) expect(listed.has(id)).toBe(true);
    const known = ofTenant([...first, ...second]);
    for (const id of listed) expect(known.has(id)).toBe(true);

    // a restart: a new instance (new engine, same group and transactional id) restores the
    // incidents from the changelog, re-reads the rules, warms the engine by replay, and goes on
    await speed.stop();
    await live.stop();
    live = await startLiveScoring({ kafka, logger: log }, { controlTopic: topics.control });
    speed = createSpeedLayer(
      { kafka, logger: log, processors: live.processors },
      { topic: topics.events, groupId: group, changelogTopic: topics.changelog, resultsTopic: topics.results, anomaliesTopic: topics.anomalies, instanceId: 'it', sessionTimeoutMs: 10_000 },
    );
    await speed.start();
    const c = await produce(3000);
    await processed();
    const all = await anomalies();
    const third = all.filter((r) => c.ids.has(r.event_id));
    expect(third.length).toBeGreaterThan(10);
    // exactly once across the restart: no event flagged twice, nothing of the earlier batches re-sent
    expect(new Set(all.map((r) => r.anomaly_id)).size).toBe(all.length);
    expect(all.length).toBe(first.length + second.length + third.length);
    // the new engine was warmed with the events before the restart
    expect((await fraudMetrics.replayed.get()).values[0]?.value ?? 0).toBeGreaterThan(1000);
    // the rule outlived the restart
    expect(cited(third).has('price_manipulation')).toBe(false);
    // campaigns still running continue the incidents opened before the restart
    const before = new Set([...first, ...second].map((r) => r.incident_id));
    expect(third.some((r) => before.has(r.incident_id))).toBe(true);
    await speed.stop();
  });

  it('immediate delivery: every anomaly is acknowledged before the offsets of its event commit', async () => {
    // a second consumer group over the same events (all three batches), its own outputs
    const immediateGroup = uniqueName('fraud-group-immediate');
    const out = { anomalies: uniqueName('fraud-anomalies-immediate'), changelog: uniqueName('fraud-windows-immediate'), results: uniqueName('fraud-results-immediate') };
    await createTopics(kafka, [
      { topic: out.anomalies, numPartitions: 1 },
      { topic: out.changelog, numPartitions: PARTITIONS, configEntries: [{ name: 'cleanup.policy', value: 'compact' }] },
      { topic: out.results, numPartitions: PARTITIONS },
    ]);
    await live.stop();
    const producedSoFar = async () => (await fraudMetrics.anomalies.get()).values.reduce((sum, v) => sum + v.value, 0);
    const before = await producedSoFar();
    live = await startLiveScoring({ kafka, logger: log }, { controlTopic: topics.control });
    speed = createSpeedLayer(
      { kafka, logger: log, processors: live.processors },
      { topic: topics.events, groupId: immediateGroup, changelogTopic: out.changelog, resultsTopic: out.results, anomaliesTopic: out.anomalies, anomalyDelivery: 'immediate', instanceId: 'it-immediate', sessionTimeoutMs: 10_000 },
    );
    await speed.start();
    await processed(immediateGroup);
    const records = await anomalies(out.anomalies);
    expect(records.length).toBeGreaterThan(50);
    // once the offsets of every event are committed, every record scored is on the topic
    expect(records.length).toBe((await producedSoFar()) - before);
    // no crash here, so no repeats; the rules from the control topic applied from the first event
    expect(new Set(records.map((r) => r.anomaly_id)).size).toBe(records.length);
    expect(records.some((r) => r.detectors.some((d) => d.id === 'price_manipulation'))).toBe(false);
    expect(records.every((r) => r.explanation.length > 0 && /^inc_/.test(r.incident_id))).toBe(true);
  });
});
