// The brief's event against the registry: the complete fixture, random subsets of its optional
// parts, random type corruptions, open value sets, bounds and the one timestamp parser.
import { parseTimestampMicros, readEvent, toMicrosIso, validateEvent, VALUE_SETS } from '../../core/schema';
import { Rng } from '../../generator/prng';
import { loadFixture, optionalSubset, typeCorruption } from '../contract/brief-event';

/* eslint-disable @typescript-eslint/no-explicit-any -- events are broken on purpose through loose casts */

describe("the brief's complete 2.1 event", () => {
  test('validates, reads without upcasting and without warnings', () => {
    const r = readEvent(loadFixture());
    expect(r).toMatchObject({ ok: true, sourceVersion: '2.1', upcast: false, warnings: [] });
  });

  test('every subset of its optional parts validates (400 random subsets)', () => {
    const rng = new Rng(2101);
    const fixture = loadFixture();
    for (let i = 0; i < 400; i++) {
      const subset = optionalSubset(fixture, rng, i % 2 === 0 ? 0.3 : 0.7);
      const r = validateEvent(subset);
      if (!r.ok) throw new Error(`subset ${i} rejected: ${JSON.stringify(r.reason.violations)}\n${JSON.stringify(subset)}`);
    }
  });

  test('a wrong type at any typed field is a hard error naming that field (300 random corruptions)', () => {
    const rng = new Rng(2102);
    const seen = new Set<string>();
    for (let i = 0; i < 300; i++) {
      const { event, path } = typeCorruption(rng);
      seen.add(path);
      const r = validateEvent(event);
      expect(r.ok).toBe(false);
      if (r.ok) continue;
      expect(r.reason.code).toBe('schema_invalid');
      expect(r.reason.violations.map((v) => v.path)).toContain(path);
    }
    expect(seen.size).toBeGreaterThan(100);
  });
});

describe('open value sets', () => {
  test('an unknown descriptive value is accepted with a warning naming the field, path and value', () => {
    const e = loadFixture() as any;
    e.event_data.user_context.user_profile.account_type = 'vip';
    e.event_data.business_context.transaction_context.cart_context.payment_context.payment_methods[0].provider = 'diners_club';
    e.event_data.business_context.transaction_context.products[1].inventory.sku_availability = 'preorder';
    const r = readEvent(e);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const cart = '$.event_data.business_context.transaction_context';
    expect(r.warnings).toEqual([
      expect.objectContaining({ field: 'account_type', path: '$.event_data.user_context.user_profile.account_type', value: 'vip' }),
      expect.objectContaining({ field: 'sku_availability', path: `${cart}.products[1].inventory.sku_availability`, value: 'preorder' }),
      expect.objectContaining({ field: 'provider', path: `${cart}.cart_context.payment_context.payment_methods[0].provider`, value: 'diners_club' }),
    ]);
  });

  test("every value the brief names is known, at every path it is declared for", () => {
    for (const vs of VALUE_SETS) {
      for (const value of vs.values) {
        const e = loadFixture() as any;
        let node = e;
        for (const step of vs.path.slice(0, -1)) {
          const key = step === '*' ? 0 : step;
          node[key] ??= {};
          node = node[key];
        }
        node[vs.path.at(-1)!] = value;
        const r = readEvent(e);
        expect(r).toMatchObject({ ok: true, warnings: [] });
      }
    }
  });

  test('warnings are bounded: long values are truncated, and at most 20 per event', () => {
    const e = loadFixture() as any;
    e.event_data.user_context.user_profile.account_type = 'x'.repeat(120);
    e.event_data.user_interactions = undefined;
    e.event_data.business_context.interaction_context.page_context.user_interactions = Array.from({ length: 50 }, () => ({ interaction_type: 'swipe' }));
    const r = readEvent(e);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.warnings).toHaveLength(20);
    expect(r.warnings[0].value).toBe(`${'x'.repeat(64)}…`);
  });
});

describe('bounds: nothing unbounded passes the schema', () => {
  test('a 200,000-character partition_key and a 1.1 MB tenant_id are rejected, naming the field', () => {
    const a = { ...loadFixture(), partition_key: 'k'.repeat(200_000) };
    expect(validateEvent(a)).toMatchObject({ ok: false, reason: { violations: [{ path: '$.partition_key', reason: 'must NOT have more than 256 characters' }] } });
    const b = { ...loadFixture(), tenant_id: 't'.repeat(1_100_000) };
    const r = validateEvent(b);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason.violations.map((v) => v.path)).toEqual(['$.tenant_id', '$.tenant_id']);
  });

  test('string bounds count code points: 128 emoji (256 UTF-16 units) fit a 128-character label, 129 do not', () => {
    const e = loadFixture() as any;
    e.event_data.event_subtype = '😀'.repeat(128);
    expect(validateEvent(e)).toMatchObject({ ok: true });
    e.event_data.event_subtype = '😀'.repeat(129);
    expect(validateEvent(e)).toMatchObject({ ok: false, reason: { violations: [{ path: '$.event_data.event_subtype', reason: 'must NOT have more than 128 characters' }] } });
  });

  test('an overflowing number (1e400 parses as Infinity) is invalid, not null', () => {
    const e = JSON.parse(JSON.stringify(loadFixture()).replace('"final_total":318.1', '"final_total":1e400')) as any;
    expect(e.event_data.business_context.transaction_context.cart_context.cart_value.final_total).toBe(Infinity);
    const r = validateEvent(e);
    expect(r).toMatchObject({ ok: false, reason: { violations: [{ path: '$.event_data.business_context.transaction_context.cart_context.cart_value.final_total' }] } });
  });
});

describe('one timestamp parser for validation and conversion', () => {
  test('RFC 3339 with any offset and precision converts to UTC µs', () => {
    expect(toMicrosIso('2024-01-01T00:00:00+01:00')).toBe('2023-12-31T23:00:00.000000Z');
    expect(toMicrosIso('2024-01-01T00:00:00.123456789Z')).toBe('2024-01-01T00:00:00.123456Z');
    expect(toMicrosIso('2024-02-29t10:00:00.5-05:30')).toBe('2024-02-29T15:30:00.500000Z');
    expect(parseTimestampMicros('1970-01-01T00:00:00.000001Z')).toBe(1);
  });

  test.each(['2024-01-01T00:00:00+01', '2024-01-01T00:00:00', '2023-02-29T00:00:00Z', '2024-13-01T00:00:00Z', '2024-01-01T24:00:00Z', '10000-01-01T00:00:00Z', 'yesterday'])(
    '%s is invalid',
    (value) => {
      expect(parseTimestampMicros(value)).toBeUndefined();
      expect(() => toMicrosIso(value)).toThrow(RangeError);
    },
  );

  test('the character parser accepts exactly what the RFC 3339 expression it replaced accepts, with the same value', () => {
    // The former implementation, kept as the reference.
    const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/;
    const DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    const reference = (value: string): number | undefined => {
      if (value.length > 40) return undefined;
      const m = RFC3339.exec(value);
      if (!m) return undefined;
      const [year, month, day, hour, minute, second] = [1, 2, 3, 4, 5, 6].map((i) => +m[i]);
      if (year < 1900 || year > 2199 || month < 1 || month > 12 || hour > 23 || minute > 59 || second > 59) return undefined;
      const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
      if (day < 1 || day > (month === 2 && leap ? 29 : DAYS[month - 1])) return undefined;
      let offset = 0;
      if (!m[8]) {
        if (+m[10] > 23 || +m[11] > 59) return undefined;
        offset = (m[9] === '-' ? -1 : 1) * (+m[10] * 60 + +m[11]);
      }
      const micros = m[7] === undefined ? 0 : +m[7].padEnd(6, '0').slice(0, 6);
      return (Date.UTC(year, month - 1, day) + ((hour * 60 + minute - offset) * 60 + second) * 1000) * 1000 + micros;
    };
    const seeds = ['2024-02-29T23:59:59.123456789+14:00', '1900-01-01t00:00:00Z', '2199-12-31 23:59:59.9-23:59', '2026-11-20T15:03:27.481+01:00', '2023-02-28T00:00:00.000000z'];
    const alphabet = '0123456789-:.TtZz+ x\u0660１';
    let seed = 7;
    const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) % n);
    let valid = 0;
    for (let k = 0; k < 200_000; k++) {
      let s = seeds[rand(seeds.length)];
      for (let edits = 1 + rand(3); edits > 0; edits--) {
        const at = rand(s.length + 1);
        const c = alphabet[rand(alphabet.length)];
        const op = rand(3);
        s = op === 0 ? s.slice(0, at) + c + s.slice(at + 1) : op === 1 ? s.slice(0, at) + c + s.slice(at) : s.slice(0, at) + s.slice(at + 1);
      }
      const want = reference(s);
      if (parseTimestampMicros(s) !== want) throw new Error(`${JSON.stringify(s)}: ${parseTimestampMicros(s)} != ${want}`);
      if (want !== undefined) valid++;
    }
    for (const s of seeds) expect(parseTimestampMicros(s)).toBe(reference(s));
    expect(valid).toBeGreaterThan(10_000);
  });

  test('a 1.0 event with a "+01" timestamp is a schema error, never an exception from the upcaster', () => {
    const v10 = { schema_version: '1.0', event_id: '0b7e3c2a-6f1d-4e8a-9c55-1d2e3f4a5b6c', tenant_id: 't', session_id: 's', event_type: 'page_view', timestamp: '2024-01-01T00:00:00+01', source: 'web' };
    expect(readEvent(v10)).toMatchObject({ ok: false, reason: { code: 'schema_invalid', violations: [{ path: '$.timestamp', reason: 'must be a valid date-time' }] } });
  });

  test('a 2.1 event time with an offset is normalized to UTC µs when read', () => {
    const e = loadFixture() as any;
    e.event_metadata.timestamp = '2026-11-20T15:03:27.481+01:00';
    const r = readEvent(e);
    expect(r.ok && r.event.event_metadata.timestamp).toBe('2026-11-20T14:03:27.481000Z');
    expect(e.event_metadata.timestamp).toBe('2026-11-20T15:03:27.481+01:00');
  });
});
