// Retroactive flagging on impossible travel (speed-layer/fraud/retro.ts): when the account shows up
// somewhere it could not have reached, the latest session at the other end of the pair is
// implicated too; not on plausible travel; memory bounded; the explanation names the evidence; the
// speed layer's records are additive, in the trigger's incident, and read by the API's tail.
import { measureInputFromEvent } from '../../core/measures';
import { readEvent } from '../../core/schema';
import { entityIdsFromEvent } from '../../core/speed-record';
import { EventGenerator } from '../../generator/generator';
import { groupIncidents } from '../../serving/anomalies/control-routes';
import { parseAnomaly } from '../../serving/anomalies/tail';
import { createFeatureProcessor } from '../../speed-layer/features/processor';
import { impossibleTravel } from '../../speed-layer/fraud/detectors/financial';
import { createFraudEngine } from '../../speed-layer/fraud/engine';
import { createFraudProcessor } from '../../speed-layer/fraud/processor';
import { createRetroTracker } from '../../speed-layer/fraud/retro';
import { ev, MIN, run } from './fraud-helpers';

const LYON = { country: 'FR', city: 'Lyon', lat: 45.76, lon: 4.84 };
const SYDNEY = { country: 'AU', city: 'Sydney', lat: -33.87, lon: 151.21 };
const MADRID = { country: 'ES', city: 'Madrid', lat: 40.42, lon: -3.7 };
const PARAMS = { maxKmh: 900, minKm: 500, countryWithinMin: 60 };

describe('retroactive flagging on impossible travel', () => {
  it('implicates the latest session at the other end of an impossible pair, with the evidence', () => {
    const older = ev({ ...LYON, sessionId: 's0', subtype: 'login', at: -40 * MIN });
    const olderView = ev({ ...LYON, sessionId: 's0', at: -39 * MIN });
    const login = ev({ ...LYON, sessionId: 's1', subtype: 'login', at: 2 * MIN });
    const view = ev({ ...LYON, sessionId: 's1', at: 3 * MIN });
    const away = ev({ ...SYDNEY, sessionId: 's2', device: 'd9', subtype: 'login', at: 9 * MIN });
    const verdicts = run([older, olderView, login, view, away], [impossibleTravel]);
    // nothing distinguished the home session on arrival
    expect(verdicts.slice(0, 4).every((v) => v.score === 0 && v.retroactive === undefined)).toBe(true);
    const trigger = verdicts[4];
    expect(trigger.score).toBeGreaterThanOrEqual(0.5);
    const implicated = trigger.retroactive!;
    // the session open before the jump, newest first; not the earlier session in the same city
    expect(implicated.map((i) => i.eventId)).toEqual([view.eventId, login.eventId]);
    for (const i of implicated) {
      expect(i).toMatchObject({ implicatedBy: away.eventId, triggerUs: away.timeUs, score: trigger.score, previousScore: 0 });
      expect(i.evidence.km).toBeGreaterThan(16_000);
      expect(i.explanation).toMatch(/Lyon, FR at 12:0\d UTC .*Sydney, AU at 12:09 UTC on the same account: 16,\d{3} km in \d(\.\d)? min/);
      expect(i.explanation).toContain('either end may be the impostor');
    }
    expect(implicated[1].explanation).toMatch(/^retroactive, impossible travel: login from Lyon, FR at 12:02 UTC and login from Sydney, AU at 12:09 UTC/);
    // the next events after the jump implicate nothing new (already at that score)
    const more = run([older, olderView, login, view, away, ev({ ...SYDNEY, sessionId: 's2', device: 'd9', at: 10 * MIN })], [impossibleTravel]);
    expect(more[5].retroactive).toBeUndefined();
  });

  it('does not fire on plausible travel (a near miss) nor past the look-back', () => {
    // Lyon → Madrid, ~1,000 km in 3 h: 330 km/h
    const plausible = run([ev({ ...LYON, sessionId: 's1', subtype: 'login' }), ev({ ...LYON, sessionId: 's1', at: MIN }), ev({ ...MADRID, sessionId: 's2', subtype: 'login', at: 3 * 60 * MIN })], [impossibleTravel]);
    expect(plausible.every((v) => v.retroactive === undefined)).toBe(true);
    // Lyon → Sydney just within an airliner's pace (~16,900 km in 20 h) — and past the 1 h look-back
    const flight = run([ev({ ...LYON, sessionId: 's1', subtype: 'login' }), ev({ ...SYDNEY, sessionId: 's2', subtype: 'login', at: 20 * 60 * MIN })], [impossibleTravel]);
    expect(flight.every((v) => v.retroactive === undefined)).toBe(true);
    // another account's events are never implicated
    const other = run([ev({ ...LYON, userId: 'u2', sessionId: 's1', subtype: 'login' }), ev({ ...SYDNEY, sessionId: 's2', subtype: 'login', at: 5 * MIN })], [impossibleTravel]);
    expect(other.every((v) => v.retroactive === undefined)).toBe(true);
    // a trigger under the engine's minimum score implicates nothing
    const quiet = createFraudEngine({ detectors: [impossibleTravel], retroactive: { minScore: 0.99 } });
    expect(run([ev({ ...LYON, subtype: 'login', sessionId: 's1' }), ev({ ...SYDNEY, sessionId: 's2', at: 5 * MIN })], undefined, quiet).every((v) => v.retroactive === undefined)).toBe(true);
    // off
    const off = createFraudEngine({ detectors: [impossibleTravel], retroactive: false });
    expect(off.retro).toBeNull();
    expect(run([ev({ ...LYON, sessionId: 's1' }), ev({ ...SYDNEY, sessionId: 's2', at: 5 * MIN })], undefined, off)[1].retroactive).toBeUndefined();
  });

  it('keeps its memory bounded: events per account, accounts, and the look-back', () => {
    const r = createRetroTracker({ perUser: 4, maxUsers: 10, lookbackUs: 60 * MIN, sweepEvery: 50 });
    for (let i = 0; i < 500; i++) r.remember(ev({ ...LYON, userId: `u${i % 50}`, at: i * 1000 }), 0);
    expect(r.size.accounts).toBeLessThanOrEqual(10);
    expect(r.size.events).toBeLessThanOrEqual(40);
    for (let i = 0; i < 20; i++) r.remember(ev({ ...LYON, userId: 'busy', at: i * 1000 }), 0);
    // only the last 4 of the busy account are left to implicate
    const hit = r.implicate(ev({ ...SYDNEY, userId: 'busy', sessionId: 's9', at: 30_000 }), 0.9, 1, PARAMS);
    expect(hit).toHaveLength(4);
    // two hours later the whole table is swept (idle past the look-back)
    for (let i = 0; i < 60; i++) r.remember(ev({ ...LYON, userId: 'late', at: 120 * MIN + i }), 0);
    expect(r.size.accounts).toBe(1);
    expect(r.implicate(ev({ ...SYDNEY, userId: 'busy', sessionId: 's9', at: 120 * MIN }), 0.9, 1, PARAMS)).toEqual([]);
    // events without a place or an account are not kept
    const r2 = createRetroTracker();
    r2.remember(ev({ country: null, lat: null, lon: null, city: null }), 0);
    r2.remember(ev({ userId: null, anonymousId: null }), 0);
    expect(r2.size).toEqual({ accounts: 0, events: 0 });
  });

  it('in the speed layer: retroactive records beside the on-arrival ones, in the same incident, read by the API', () => {
    const features = createFeatureProcessor();
    const fraud = createFraudProcessor(features);
    const gen = new EventGenerator({ seed: 7, tenants: 4, users: 400, rate: 200, fraudRate: 0.3, defectRate: 0, lateRate: 0, scenarios: ['impossible_travel'] });
    for (let i = 0; i < 3000; i++) {
      const read = readEvent(gen.next().event);
      if (!read.ok) continue;
      const m = measureInputFromEvent(read.event, { partition: 0, offset: i });
      if (!m.ok) continue;
      const entities = entityIdsFromEvent(read.event);
      features.onEvent(m.input, undefined, entities);
      fraud.onEvent(m.input, read.event, entities);
    }
    const records = fraud.takeOutputs().map((o) => JSON.parse(o.value) as Record<string, unknown>);
    const retro = records.filter((r) => r.retroactive === true);
    const onArrival = new Map(records.filter((r) => r.retroactive === undefined).map((r) => [r.event_id as string, r]));
    expect(retro.length).toBeGreaterThan(10);
    for (const r of retro) {
      expect(r.anomaly_id).toBe(`${String(r.event_id)}:fraud:retro`);
      // never a second record for an event flagged on arrival
      expect(onArrival.has(r.event_id as string)).toBe(false);
      const trigger = onArrival.get(r.implicated_by as string)!;
      expect(trigger).toBeDefined();
      expect(r.incident_id).toBe(trigger.incident_id);
      expect(r.detected_at).toBe(trigger.detected_at);
      expect(Date.parse(r.event_time as string)).toBeLessThanOrEqual(Date.parse(r.detected_at as string));
      expect(r.explanation).toMatch(/^impossible_travel: retroactive, impossible travel: .* on the same account: [\d,]+ km in [\d.]+ min/);
      expect((r.detectors as { id: string }[])[0].id).toBe('impossible_travel');
      // every field of the on-arrival record is there too (additive only)
      for (const k of Object.keys(trigger)) if (k !== 'challenger') expect(r).toHaveProperty(k);
    }
    expect(new Set(retro.map((r) => r.event_id)).size).toBe(retro.length);
    // the API's tail and incident grouping read them
    const parsed = [...retro, ...onArrival.values()].map((r, i) => parseAnomaly(0, String(i), Date.now(), JSON.stringify(r))!);
    const a = parsed[0];
    expect(a).toMatchObject({ anomaly_id: retro[0].anomaly_id, event_id: retro[0].event_id, incident_id: retro[0].incident_id, severity: retro[0].severity });
    expect(JSON.parse(a.detail)).toMatchObject({ retroactive: true, implicated_by: retro[0].implicated_by });
    const incident = groupIncidents(parsed, 1000).find((x) => x.incident_id === retro[0].incident_id)!;
    expect(incident.anomaly_ids).toContain(retro[0].anomaly_id);
    expect(incident.anomaly_ids).toContain(`${String(retro[0].implicated_by)}:fraud`);
  });
});
