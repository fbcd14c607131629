// The speed record header: decode(header) must equal measureInputFromEvent(JSON.parse(value)) (plus
// the entity ids), for events through the ingestion step and for raw generator traffic with
// defects; messages without a (valid) header fall back to parsing the value.
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import type { ApiKeyRecord } from '../../core/control';
import { createIngestStep } from '../../core/ingest-step';
import { measureInputFromEvent } from '../../core/measures';
import { createKeyring } from '../../core/pii';
import { readEvent } from '../../core/schema';
import { decodeSpeedHeader, encodeSpeedHeader, encodeValidSpeedHeader, entityIdsFromEvent, readSpeedRecord, SPEED_HEADER } from '../../core/speed-record';
import { EventGenerator } from '../../generator/generator';

/* eslint-disable @typescript-eslint/no-explicit-any -- events are reshaped on purpose through loose casts */

const FIXTURE = readFileSync(path.resolve(__dirname, '../fixtures/event-2.1-full.json'), 'utf8');
const keyring = createKeyring({ v1: 'unit-test-secret-0123456789' }, 'v1');
const platformKey: ApiKeyRecord = { key_hash: 'h', tenant_id: '*', roles: ['ingest'], label: 't', created_at: '' };
const step = createIngestStep({ keyring, isActiveTenant: () => true, now: () => new Date('2026-11-26T10:00:00.123Z') });

function expected(value: string, coords: { partition: number; offset: number }) {
  const event = JSON.parse(value);
  const r = measureInputFromEvent(event, coords);
  return r.ok ? { input: r.input, entities: entityIdsFromEvent(event) } : undefined;
}

test('decode(header of the ingestion step) = measureInputFromEvent(JSON.parse(value)) over thousands of generated events and the fixture', () => {
  const g = new EventGenerator({ seed: 21, tenants: 15, users: 2000, rate: 5, defectRate: 0.05, lateRate: 0.05, fraudRate: 0.03 });
  const raws: unknown[] = [JSON.parse(FIXTURE)];
  for (let i = 0; i < 4000; i++) raws.push(structuredClone(g.next().event));
  let withHeader = 0;
  let cards = 0;
  raws.forEach((raw, i) => {
    const out = step(raw, i, platformKey);
    if (out.kind !== 'ok') return;
    const headers = out.message.headers as Record<string, string>;
    const coords = { partition: i % 6, offset: i };
    const want = expected(out.message.value as string, coords);
    if (!want) {
      expect(headers[SPEED_HEADER]).toBeUndefined();
      return;
    }
    withHeader++;
    const got = decodeSpeedHeader(headers[SPEED_HEADER], coords);
    expect(got).toEqual(want);
    if (got!.entities.card) cards++;
    // and through the consumer's entry point, as a Buffer header
    const read = readSpeedRecord({ value: out.message.value as string, headers: { [SPEED_HEADER]: Buffer.from(headers[SPEED_HEADER]) } }, coords);
    expect(read.ok && read.fromHeader).toBe(true);
  });
  expect(withHeader).toBeGreaterThan(3500);
  expect(cards).toBeGreaterThan(50);
});

test('encodeSpeedHeader of raw generator traffic (defects included) decodes to what parsing gives, or is absent when the lake refuses the event', () => {
  const g = new EventGenerator({ seed: 5, tenants: 8, users: 800, defectRate: 0.2, lateRate: 0.05, fraudRate: 0.05 });
  let refused = 0;
  for (let i = 0; i < 3000; i++) {
    const value = JSON.stringify(g.next().event);
    const coords = { partition: 1, offset: i };
    const header = encodeSpeedHeader(JSON.parse(value));
    const want = expected(value, coords);
    if (!want) {
      refused++;
      expect(header).toBeUndefined();
      continue;
    }
    expect(decodeSpeedHeader(header!, coords)).toEqual(want);
  }
  expect(refused).toBeGreaterThanOrEqual(0);
});

test('the fixture: its header carries the card token, device fingerprint and city', () => {
  const header = encodeSpeedHeader(JSON.parse(FIXTURE))!;
  expect(Buffer.byteLength(header)).toBeLessThan(512);
  const r = decodeSpeedHeader(header, { partition: 3, offset: 42 })!;
  expect(r).toEqual(expected(FIXTURE, { partition: 3, offset: 42 }));
  expect(r.entities).toEqual({ card: 'tok_pay_51c0e9a7', device: 'fp_9d2c44ab18e0', city: 'Berlin' });
});

test('without a header, or with a malformed or unknown-version one, the value is parsed', () => {
  const coords = { partition: 0, offset: 7 };
  const want = expected(FIXTURE, coords);
  for (const headers of [undefined, {}, { [SPEED_HEADER]: 'not json' }, { [SPEED_HEADER]: '[2,"t","e",1]' }, { [SPEED_HEADER]: Buffer.from('[1,"t"]') }]) {
    const r = readSpeedRecord({ value: Buffer.from(FIXTURE), headers }, coords);
    expect(r.ok && !r.fromHeader).toBe(true);
    expect(r.ok && { input: r.input, entities: r.entities }).toEqual(want);
  }
  expect(readSpeedRecord({ value: '{"x":' }, coords)).toEqual({ ok: false, reason: 'invalid_json' });
  expect(readSpeedRecord({ value: null }, coords)).toEqual({ ok: false, reason: 'empty_value' });
  expect(readSpeedRecord({ value: '{"event_metadata":{}}' }, coords)).toEqual({ ok: false, reason: 'missing_tenant_id' });
});

test('the typed header of a validated event equals the generic one, older spellings and early times included', () => {
  const g = new EventGenerator({ seed: 8, tenants: 10, users: 900, rate: 5, defectRate: 0, lateRate: 0.05, fraudRate: 0.05 });
  const rng = (() => {
    let s = 99;
    return (n: number) => (s = (s * 1103515245 + 12345) % 2 ** 31) % n;
  })();
  // Fields the open 2.1 object may carry at the paths the lake falls back to, and removals of the 2.1 ones.
  const mutations: ((e: any) => void)[] = [
    (e) => (e.user_id = 'legacy-user'),
    (e) => (e.user_id = { nested: 1 }),
    (e) => delete e.event_data.user_context.user_id,
    (e) => (e.amount = '12.5'),
    (e) => (e.amount = 7),
    (e) => delete e.event_data.business_context?.transaction_context?.cart_context?.cart_value,
    (e) => e.event_data.business_context?.transaction_context && (e.event_data.business_context.transaction_context.cart_value = { final_total: 3 }),
    (e) => e.event_data.business_context?.transaction_context && (e.event_data.business_context.transaction_context.payment_context = { payment_methods: [{ provider: 'old' }] }),
    (e) => delete e.event_data.business_context?.transaction_context?.cart_context?.payment_context?.payment_methods?.[0]?.provider,
    (e) => delete e.event_data.user_context.session_data.session_attributes,
    (e) => (e.event_metadata.timestamp = '1969-12-31T23:59:59.999999Z'),
    (e) => (e.event_metadata.timestamp = '1970-01-01T00:00:00+01:00'),
    (e) => (e.event_metadata.timestamp = '2199-12-31T23:59:59.5-05:00'),
  ];
  let compared = 0;
  let refused = 0;
  for (let i = 0; i < 3000; i++) {
    const raw = structuredClone(g.next().event) as any;
    for (let k = rng(3); k > 0; k--) mutations[rng(mutations.length)](raw);
    const read = readEvent(raw);
    if (!read.ok) continue;
    const generic = encodeSpeedHeader(read.event);
    expect(encodeValidSpeedHeader(read.event)).toBe(generic);
    compared++;
    if (generic === undefined) refused++;
  }
  expect(compared).toBeGreaterThan(2500);
  expect(refused).toBeGreaterThan(10);
});
