// The fraud header (`x-rtap-f`, core/fraud-signals.ts): with the speed header, it must give the
// scorer the view it would build by parsing the value — for the brief's fixture with each of its
// optional parts dropped, and for generated traffic of every event type through the ingestion
// step — and a header that is not well formed must be refused (the value is parsed instead), never
// half read. A fraud processor fed the headers scores exactly as one fed the values.
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import type { ApiKeyRecord } from '../../core/control';
import { FRAUD_HEADER, fraudEventFromHeader, signalsFromEvent, type FraudEvent } from '../../core/fraud-signals';
import { createIngestStep } from '../../core/ingest-step';
import { createKeyring } from '../../core/pii';
import { decodeSpeedHeader, SPEED_HEADER, type SpeedRecord } from '../../core/speed-record';
import { EventGenerator } from '../../generator/generator';
import { eachPartDropped } from '../contract/brief-event';
import { createFeatureProcessor } from '../../speed-layer/features';
import { createFraudProcessor } from '../../speed-layer/fraud';

const FIXTURE = readFileSync(path.resolve(__dirname, '../fixtures/event-2.1-full.json'), 'utf8');
const keyring = createKeyring({ v1: 'unit-test-secret-0123456789' }, 'v1');
const platformKey: ApiKeyRecord = { key_hash: 'h', tenant_id: '*', roles: ['ingest'], label: 't', created_at: '' };
const step = createIngestStep({ keyring, isActiveTenant: () => true, now: () => new Date('2026-11-26T10:00:00.123Z') });

interface Accepted {
  value: string;
  headers: Record<string, string>;
  record: SpeedRecord;
}

function ingest(raws: unknown[]): Accepted[] {
  const out: Accepted[] = [];
  raws.forEach((raw, i) => {
    const r = step(raw, i, platformKey);
    if (r.kind !== 'ok') return;
    const headers = r.message.headers as Record<string, string>;
    expect(headers[FRAUD_HEADER] === undefined).toBe(headers[SPEED_HEADER] === undefined);
    if (headers[SPEED_HEADER] === undefined) return;
    out.push({ value: r.message.value as string, headers, record: decodeSpeedHeader(headers[SPEED_HEADER], { partition: i % 6, offset: i })! });
  });
  return out;
}

/** What the scorer builds by parsing the value: the event's view, with the speed layer's ids and time. */
function parsedView(a: Accepted): FraudEvent {
  const v = signalsFromEvent(JSON.parse(a.value));
  return { ...v, tenant: a.record.input.tenant_id, eventId: a.record.input.event_id, timeUs: a.record.input.event_time_us };
}

test("the brief's fixture, each optional part dropped in turn: the headers give the parsed view", () => {
  const base = JSON.parse(FIXTURE);
  const raws: unknown[] = [base, ...eachPartDropped(base)];
  const accepted = ingest(raws);
  expect(accepted.length).toBeGreaterThan(250);
  for (const a of accepted) expect(fraudEventFromHeader(a.record, a.headers[FRAUD_HEADER])).toEqual(parsedView(a));
  const full = fraudEventFromHeader(accepted[0].record, accepted[0].headers[FRAUD_HEADER])!;
  expect(full.payment).not.toBeNull();
  expect(full.shipping).not.toBeNull();
  expect(full.products.length).toBeGreaterThan(0);
  expect(Buffer.byteLength(accepted[0].headers[FRAUD_HEADER])).toBeLessThan(600);
});

test('generated traffic of every event type through the ingestion step: the headers give the parsed view', () => {
  const g = new EventGenerator({ seed: 33, tenants: 12, users: 1500, rate: 5, defectRate: 0.05, lateRate: 0.05, fraudRate: 0.2 });
  const raws: unknown[] = [];
  for (let i = 0; i < 4000; i++) raws.push(structuredClone(g.next().event));
  const accepted = ingest(raws);
  const types = new Set<string | null>();
  let payments = 0;
  for (const a of accepted) {
    const v = fraudEventFromHeader(a.record, a.headers[FRAUD_HEADER]);
    expect(v).toEqual(parsedView(a));
    types.add(v!.type);
    if (v!.payment) payments++;
  }
  expect(accepted.length).toBeGreaterThan(3500);
  expect(types).toEqual(new Set(['user_interaction', 'transaction', 'system_event', 'ml_inference']));
  expect(payments).toBeGreaterThan(20);
});

test('a header that is not what the API writes is refused whole: malformed, another version, any field of the wrong type', () => {
  const [a] = ingest([JSON.parse(FIXTURE)]);
  const good = JSON.parse(a.headers[FRAUD_HEADER]) as unknown[];
  expect(fraudEventFromHeader(a.record, JSON.stringify(good))).toBeDefined();
  for (const bad of ['not json', '{}', '[]', JSON.stringify([2, ...good.slice(1)]), JSON.stringify(good.slice(0, -1)), JSON.stringify([...good, null])]) {
    expect(fraudEventFromHeader(a.record, bad)).toBeUndefined();
  }
  // every field, and every field of the nested arrays, replaced by a value of a type it never has
  for (let i = 1; i < good.length; i++) {
    const top = structuredClone(good);
    top[i] = { x: 1 };
    expect([i, fraudEventFromHeader(a.record, JSON.stringify(top))]).toEqual([i, undefined]);
    const nested = good[i];
    if (!Array.isArray(nested)) continue;
    for (let j = 0; j < nested.length; j++) {
      const inner = structuredClone(good);
      (inner[i] as unknown[])[j] = Array.isArray(nested[j]) ? 'x' : { x: 1 };
      expect([i, j, fraudEventFromHeader(a.record, JSON.stringify(inner))]).toEqual([i, j, undefined]);
    }
  }
});

test('a fraud processor fed the headers scores every event as one fed the values', () => {
  const g = new EventGenerator({ seed: 44, tenants: 6, users: 400, rate: 5, defectRate: 0, lateRate: 0.02, fraudRate: 0.3 });
  const raws: unknown[] = [];
  for (let i = 0; i < 3000; i++) raws.push(structuredClone(g.next().event));
  const accepted = ingest(raws);
  const run = (withHeaders: boolean) => {
    const features = createFeatureProcessor();
    const fraud = createFraudProcessor(features, { now: () => 0 });
    const verdicts: unknown[] = [];
    for (const a of accepted) {
      const { input, entities } = a.record;
      features.onEvent(input, undefined, entities);
      // with the headers, a value that cannot be parsed: the header alone must carry the view
      if (withHeaders) fraud.onEvent(input, Buffer.from('{}'), entities, { [FRAUD_HEADER]: Buffer.from(a.headers[FRAUD_HEADER]) });
      else fraud.onEvent(input, Buffer.from(a.value), entities);
      verdicts.push({ score: fraud.last!.score, detectors: fraud.last!.detectors, explanation: fraud.last!.explanation });
    }
    return { verdicts, anomalies: fraud.takeOutputs() };
  };
  const fromHeaders = run(true);
  const fromValues = run(false);
  expect(fromHeaders.anomalies.length).toBeGreaterThan(10);
  expect(fromHeaders).toEqual(fromValues);
});
