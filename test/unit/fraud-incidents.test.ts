// Incidents: anomalies of one tenant sharing an entity within the window are one incident (merged
// when an anomaly links two), other tenants' never join; the grouping is checkpointed and restored
// (same ids after a restart); the processor stamps each anomaly record with its incident and
// replays events into the engine without producing records.
import { createFeatureProcessor } from '../../speed-layer/features/processor';
import { createIncidents } from '../../speed-layer/fraud/incidents';
import { createFraudProcessor } from '../../speed-layer/fraud/processor';
import { MIN } from './fraud-helpers';

const card = (id: string) => ({ kind: 'card' as const, id });
const device = (id: string) => ({ kind: 'device' as const, id });

describe('fraud incidents', () => {
  it('groups a tenant’s anomalies sharing an entity within the window, merging incidents an anomaly links', () => {
    const inc = createIncidents({ windowUs: 30 * MIN });
    const a = inc.assign(0, 't1', 'e1', 0, [card('c1'), device('d1')], 0.8, ['card_testing']);
    expect(a).toMatchObject({ opened: true, incident: { incident_id: 'inc_e1', anomalies: 1 } });
    expect(inc.assign(0, 't1', 'e2', 5 * MIN, [card('c1')], 0.9, ['velocity']).incident.incident_id).toBe('inc_e1');
    // another tenant's same token is not linked
    expect(inc.assign(0, 't2', 'e3', 5 * MIN, [card('c1')], 0.9, []).incident.incident_id).toBe('inc_e3');
    const other = inc.assign(0, 't1', 'e4', 6 * MIN, [device('d9')], 0.6, []);
    expect(other.incident.incident_id).toBe('inc_e4');
    const link = inc.assign(0, 't1', 'e5', 7 * MIN, [device('d9'), device('d1')], 0.95, ['bot_user_agent']);
    expect(link).toMatchObject({ opened: false, merged: ['inc_e4'], incident: { incident_id: 'inc_e1', anomalies: 4, max_score: 0.95 } });
    expect(link.incident.detectors).toEqual(['card_testing', 'velocity', 'bot_user_agent']);
    // past the window after its last anomaly: a new incident
    expect(inc.assign(0, 't1', 'e6', 7 * MIN + 31 * MIN, [card('c1')], 0.7, []).incident.incident_id).toBe('inc_e6');
  });

  it('checkpoints open incidents (closing merged and expired ones) and restores the same grouping', () => {
    const inc = createIncidents({ windowUs: 30 * MIN });
    inc.assign(3, 't1', 'e1', 0, [card('c1')], 0.8, []);
    inc.assign(3, 't1', 'e2', MIN, [device('d2')], 0.8, []);
    inc.assign(3, 't1', 'e3', 2 * MIN, [card('c1'), device('d2')], 0.8, []);
    const changed = inc.takeChanged();
    expect(changed.find((c) => c.key === 'i:inc_e2')?.value).toBeNull();
    expect(JSON.parse(changed.find((c) => c.key === 'i:inc_e1')!.value!)).toMatchObject({ anomalies: 3 });
    const restored = createIncidents({ windowUs: 30 * MIN });
    for (const c of changed) restored.restore(c.partition, c.key, c.value);
    expect(restored.open(3)).toBe(1);
    expect(restored.assign(3, 't1', 'e4', 3 * MIN, [device('d2')], 0.8, []).incident).toMatchObject({ incident_id: 'inc_e1', anomalies: 4 });
    // an hour later the incident has expired: its tombstone goes out with the next checkpoint
    restored.assign(3, 't1', 'e5', 90 * MIN, [card('zz')], 0.8, []);
    expect(restored.takeChanged().find((c) => c.key === 'i:inc_e1')?.value).toBeNull();
  });

  it('replays events into the engine without records; the warm-up starts warmupOffsets before the progress', () => {
    const fraud = createFraudProcessor(createFeatureProcessor(), { warmupOffsets: 500 });
    expect(fraud.replayFrom(0, 2000)).toBe(1500);
    expect(fraud.replayFrom(0, 100)).toBe(0);
    expect(fraud.replayFrom(0, undefined)).toBeUndefined();
    expect(createFraudProcessor(createFeatureProcessor(), { warmupOffsets: 0 }).replayFrom(0, 2000)).toBeUndefined();
  });
});
