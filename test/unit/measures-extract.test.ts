// core/measures extract: event → MeasureInput reads what the lake sink writes (same paths, same
// casts, same refusals). The casts are checked against DuckDB itself.
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { openDuckDb } from '../../core/duckdb';
import { castDouble, measureInputFromEvent, parseLakeTimestamp } from '../../core/measures';

const FIXTURE = path.resolve(__dirname, '../fixtures/event-2.1-full.json');
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- events are edited generically
const fixture = (): any => JSON.parse(readFileSync(FIXTURE, 'utf8'));
const at = { partition: 3, offset: 12_345 };

describe('measureInputFromEvent', () => {
  it("reads the brief's complete 2.1 event from its brief locations", () => {
    expect(measureInputFromEvent(fixture(), at)).toEqual({
      ok: true,
      input: {
        tenant_id: 'northwind_outfitters',
        event_id: '8b2f6c1e-4d3a-4f5b-9a7c-2e1d0f3b6a95',
        event_time_us: Date.UTC(2026, 10, 20, 14, 3, 27, 481) * 1000 + 236,
        partition: 3,
        offset: 12_345,
        event_type: 'transaction',
        event_subtype: 'purchase',
        source_system: 'mobile_app',
        country: 'DE',
        device_type: 'mobile',
        browser_name: 'Safari',
        payment_provider: 'apple_pay',
        category_l1: 'Apparel',
        user_id: 'u_3e9a1f70c2',
        session_id: 'c41e7a90-2b6d-4e8f-a1c3-5d7f9b0e2a14',
        final_total: 318.1,
        lcp_ms: 1020,
      },
    });
  });

  it('follows the lake semantics for odd values: JSON text in format-1 columns, strings only in format-2 ones, numeric strings cast', () => {
    const e = fixture();
    const attrs = e.event_data.user_context.session_data.session_attributes;
    attrs.geolocation.country = 42;
    attrs.user_agent_parsed = { browser: 'Chrome', os: 'Linux', device: { brand: 'x' } }; // 2.0 string spellings / wrong type
    e.event_data.business_context.transaction_context.cart_context.cart_value.final_total = ' 1_000.5 ';
    e.event_data.business_context.interaction_context.page_context.page_load_metrics.largest_contentful_paint = 'slow';
    e.event_metadata.source_system = { x: [1, 'a'] };
    delete e.event_data.event_type;
    const r = measureInputFromEvent(e, at);
    expect(r.ok && r.input).toMatchObject({
      country: '42',
      browser_name: 'Chrome',
      device_type: null,
      final_total: 1000.5,
      lcp_ms: null,
      source_system: '{"x":[1,"a"]}',
      event_type: null,
    });
  });

  it('refuses what the sink dead-letters, with the same reasons', () => {
    const cases: [string, (e: Record<string, any>) => unknown][] = [ // eslint-disable-line @typescript-eslint/no-explicit-any
      ['missing_tenant_id', (e) => delete e.tenant_id],
      ['missing_tenant_id', (e) => (e.tenant_id = '')],
      ['missing_tenant_id', (e) => (e.tenant_id = null)],
      ['missing_event_id', (e) => delete e.event_metadata.event_id],
      ['missing_timestamp', (e) => delete e.event_metadata.timestamp],
      ['invalid_timestamp', (e) => (e.event_metadata.timestamp = 'yesterday')],
      ['invalid_timestamp', (e) => (e.event_metadata.timestamp = 1_790_000_000_000)],
      ['invalid_timestamp', (e) => (e.event_metadata.timestamp = '1969-12-31T23:59:59.999999Z')],
      ['invalid_timestamp', (e) => (e.event_metadata.timestamp = '3000-01-01T00:00:00Z')],
    ];
    for (const [reason, edit] of cases) {
      const e = fixture();
      edit(e);
      expect([reason, measureInputFromEvent(e, at)]).toEqual([reason, { ok: false, reason }]);
    }
    for (const v of [null, [fixture()], 'text', 7]) expect(measureInputFromEvent(v, at)).toEqual({ ok: false, reason: 'not_an_object' });
    // the older flat spellings are fallbacks, as in the lake
    const old = fixture();
    delete old.event_metadata.event_id;
    delete old.event_metadata.timestamp;
    old.event_id = 'flat-id';
    old.timestamp = '2026-11-20T14:00:00+01:00';
    const r = measureInputFromEvent(old, at);
    expect(r.ok && [r.input.event_id, r.input.event_time_us]).toEqual(['flat-id', Date.UTC(2026, 10, 20, 13) * 1000]);
  });
});

describe('casts agree with DuckDB', () => {
  let db: Awaited<ReturnType<typeof openDuckDb>>;
  beforeAll(async () => {
    db = await openDuckDb({ threads: 1, memoryLimit: '256MB' });
    await db.connection.run(`SET TimeZone = 'UTC'`);
  });
  afterAll(() => {
    db.connection.closeSync();
    db.instance.closeSync();
  });
  const duck = async (exprOf: (x: string) => string, values: string[]) => {
    const list = `[${values.map((v) => `'${v.replace(/'/g, "''")}'`).join(', ')}]`;
    const rows = (await db.connection.runAndReadAll(`SELECT x, ${exprOf('x')} AS y FROM (SELECT unnest(${list}) AS x, generate_subscripts(${list}, 1) AS i) ORDER BY i`)).getRowObjectsJson();
    return rows.map((r) => (r.y === null ? null : Number(r.y)));
  };

  it('castDouble = TRY_CAST(text AS DOUBLE), non-finite → NULL (the sink)', async () => {
    const values = ['1', ' 12 ', '\t7\n', '-3.25', '+.5', '5.', '.5', '1e3', '1.5E+3', '1e-400', '0001', '1_000', '1_000.000_1', '1e1_0', '1__0', '_1', '1_', '1._5',
      '', ' ', '.', '-', '1e', 'e5', '0x1A', '1,5', '1 000', 'true', 'inf', '-Infinity', 'NaN', '1e400', '123456789012345678901234567890', '0.1000000000000000055511151231257827', '5e-324', '--1'];
    const expected = await duck((x) => `(CASE WHEN isfinite(TRY_CAST(${x} AS DOUBLE)) THEN TRY_CAST(${x} AS DOUBLE) END)`, values);
    expect(values.map((v) => [v, castDouble(v)])).toEqual(values.map((v, i) => [v, expected[i]]));
  });

  it('parseLakeTimestamp = TRY_CAST(TRY_CAST(text AS TIMESTAMPTZ) AS TIMESTAMP) for ISO-8601 forms', async () => {
    const values = [
      '2026-11-20T14:03:27.481236Z', '2026-11-20T14:03:27Z', '2026-11-20 14:03:27', '2026-11-20', '2026-11-20T14:03:27+01', '2026-11-20T14:03:27+0100',
      '2026-11-20T14:03:27+01:30', '2026-11-20T14:03:27-00:30', '2026-11-20T14:03:27.5+14:00', '2026-11-20T14:03:27+01:00:00', '2026-11-20T14:03:27.1234567Z',
      '2026-11-20T14:03:27.4812369999Z', '2026-11-20T14:03:27.Z', '2026-11-20T14:3:7Z', '  2026-11-20T14:03:27Z ', '\t2026-11-20T14:03:27Z\n', '2026-11-20T14:03:27 UTC',
      '2026-11-20 14:03:27 utc', '2026-11-20T14:03:27 GMT', '2026/11/20 14:03:27', '2026-11-20T24:00:00Z', '2024-02-29T00:00:00Z', '1969-12-31T23:59:59Z',
      '2199-12-31T23:59:59.999999Z', '2026-11-20T14:03:27.481236 ', // (past 2255: the test below)
      // refused by both
      '2026-13-45T25:61:00.000000Z', 'yesterday', '', '12/31/2025 23:59', '2026-11-20T14:03:27.481236z', '2026-02-30T00:00:00Z', '2026-11-20T14:03:60Z',
      '2026-11-20T24:30:00Z', '2026-11-20T24:00:00.000001Z', '2026-11-20T14:03Z', '2026-11-20T14Z', '2026-11-20T14:03:27 +01:00', '2026-11-20t14:03:27Z',
      '20261120T140327Z', '2026-11-20T14:03:27+1', '2026-11-20T14:03:27+01:3', '2026-11-20 ', '2026-11-20Z', '2026-11-20T', '2026-11-20T14:03:27UTC',
      '2026-11-20T14:03:27 Z', '2026-11-20T14:03:27Z junk', '2026-00-10T00:00:00Z', '2026-11-00T00:00:00Z', '1790000000000', '2026-011-20T14:03:27Z',
    ];
    const expected = await duck((x) => `epoch_us(TRY_CAST(TRY_CAST(${x} AS TIMESTAMPTZ) AS TIMESTAMP))`, values);
    expect(values.map((v) => [v, parseLakeTimestamp(v)])).toEqual(values.map((v, i) => [v, expected[i]]));
  });

  it('parseLakeTimestamp past 2^53 µs (after 2255-06-05, before 1685): the exact time rounded down, so the lake range check stays exact', async () => {
    const values = [
      '2255-06-05T23:47:34.740991Z', '2255-06-05T23:47:34.740992Z', '2255-06-05T23:47:34.740993Z', '2255-06-06T00:00:00.000001Z', '2300-01-01T00:00:00.000001Z',
      '2540-12-31T23:59:59.999999Z', '2541-06-01T12:00:00.000003Z', '2999-12-31T23:59:59.999999Z', '2999-12-31T23:59:59.999996Z', '2999-12-31T23:59:59.999995Z',
      '2999-12-31T23:59:59.999999+01:00', '3000-01-01T00:00:00Z', '9999-12-31T23:59:59.999999Z', '1600-01-01T00:00:00.000001Z', '1684-06-01T00:00:00.000003Z',
    ];
    const list = `[${values.map((v) => `'${v}'`).join(', ')}]`;
    const rows = (await db.connection.runAndReadAll(
      `SELECT CAST(epoch_us(TRY_CAST(TRY_CAST(x AS TIMESTAMPTZ) AS TIMESTAMP)) AS VARCHAR) AS y FROM (SELECT unnest(${list}) AS x, generate_subscripts(${list}, 1) AS i) ORDER BY i`,
    )).getRowObjectsJson();
    const exact = rows.map((r) => BigInt(r.y as string));
    values.forEach((v, i) => {
      const us = parseLakeTimestamp(v)!;
      const e = exact[i];
      // the largest double not above the exact value: at most it, and less than one spacing of its binade below it
      const spacing = 2n ** BigInt(Math.max(0, Math.floor(Math.log2(Math.abs(Number(e)))) - 52));
      expect([v, BigInt(us) <= e && e - BigInt(us) < spacing]).toEqual([v, true]);
    });
    // nearest rounding took 23:59:59.999999 of the last day to 3000-01-01 itself, which the lake refuses
    const lastUs = Date.UTC(3000, 0, 1) * 1000;
    expect(parseLakeTimestamp('2999-12-31T23:59:59.999999Z')).toBeLessThan(lastUs);
    expect(parseLakeTimestamp('3000-01-01T00:00:00Z')).toBe(lastUs);
    const event = (timestamp: string) => ({ tenant_id: 't', event_metadata: { event_id: 'e', timestamp } });
    const at = { partition: 0, offset: 0 };
    expect(measureInputFromEvent(event('2999-12-31T23:59:59.999999Z'), at).ok).toBe(true);
    expect(measureInputFromEvent(event('2999-12-31T23:59:59.999999+01:00'), at).ok).toBe(true);
    expect(measureInputFromEvent(event('3000-01-01T00:00:00Z'), at)).toEqual({ ok: false, reason: 'invalid_timestamp' });
    // below 2^53 µs nothing changes: exact
    expect(parseLakeTimestamp('2255-06-05T23:47:34.740991Z')).toBe(Number.MAX_SAFE_INTEGER);
  });

  it('known differences: DuckDB also reads zone names, `epoch` and 3-digit fields, which only producers bypassing the API could send', async () => {
    const values = ['2026-11-20T14:03:27 Europe/Berlin', 'epoch', '2026-11-20T014:03:27Z'];
    const expected = await duck((x) => `epoch_us(TRY_CAST(TRY_CAST(${x} AS TIMESTAMPTZ) AS TIMESTAMP))`, values);
    expect(expected.every((x) => x !== null)).toBe(true);
    expect(values.map(parseLakeTimestamp)).toEqual([null, null, null]);
  });
});
