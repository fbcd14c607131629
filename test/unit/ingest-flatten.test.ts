import { readFileSync, existsSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { openDuckDb, sqlLiteral } from '../../core/duckdb';
import { LAKE_FORMAT } from '../../core/lake';
import { FLAT_COLUMNS, InputFileBuilder, RAW_COLUMNS, encodeInputLine, flatSelectList, flattenToParquet, prepareConnection, writeInputFile, type FlattenResult } from '../../ingest/flatten';

/** The brief's complete 2.1 event: the repo's copy of ../shared/fixtures/event-2.1-full.json. */
const FIXTURE = path.resolve(__dirname, '../fixtures/event-2.1-full.json');
const SHARED_FIXTURE = path.resolve(__dirname, '../../../shared/fixtures/event-2.1-full.json');
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- events are edited generically
const fixture = (): any => JSON.parse(readFileSync(FIXTURE, 'utf8'));

const msg = (offset: number, value: string | null) => ({ partition: 2, offset, timestampMs: 1_790_000_000_000, value: value === null ? null : Buffer.from(value) });

describe('encodeInputLine', () => {
  it('frames a compact event without parsing it', () => {
    expect(encodeInputLine(msg(7, '{"a":1}'))).toEqual({ line: '2\u00017\u00011790000000000\u0001{"a":1}\n' });
  });
  it('compacts pretty-printed JSON and rejects what can never be a row', () => {
    expect(encodeInputLine(msg(1, '{\n  "a": 1\n}'))).toEqual({ line: '2\u00011\u00011790000000000\u0001{"a":1}\n' });
    expect(encodeInputLine(msg(1, '{\n bad'))).toEqual({ reason: 'invalid_json' });
    expect(encodeInputLine(msg(1, null))).toEqual({ reason: 'empty_value' });
    expect(encodeInputLine(msg(1, ''))).toEqual({ reason: 'empty_value' });
    expect(encodeInputLine(msg(1, 'x'.repeat(1024 * 1024 + 1)))).toEqual({ reason: 'too_large' });
  });
});

describe('InputFileBuilder', () => {
  it("writes encodeInputLine's lines byte for byte, whatever the values: plain, unicode, pretty, separators, broken UTF-8, empty, too large", async () => {
    const values: (Buffer | null)[] = [
      Buffer.from('{"a":1}'),
      Buffer.from('{"name":"Zoë ✓ 🎉","bom":"\ufeff"}'),
      Buffer.from('\ufeff{"a":1}'),
      Buffer.from('{\n  "a": 1\n}'),
      Buffer.from('{"a":1}\r'),
      Buffer.from('{"a":"x\u0001y"}'),
      Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d]),
      Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xed, 0xa0, 0x80, 0x22, 0x7d]),
      Buffer.from('{\n bad'),
      Buffer.alloc(0),
      null,
      Buffer.from('x'.repeat(1024 * 1024 + 1)),
      // enough large events to fill several of the builder's pieces
      ...Array.from({ length: 3000 }, (_, i) => Buffer.from(JSON.stringify({ ...fixture(), i }))),
    ];
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'rtap-frame-'));
    try {
      const builder = new InputFileBuilder();
      const lines: string[] = [];
      values.forEach((value, i) => {
        const m = { partition: 11, offset: 1_234_567 + i, timestampMs: 1_790_000_000_123, value };
        const framed = encodeInputLine(m);
        const reason = builder.add(m);
        if ('reason' in framed) expect(reason).toBe(framed.reason);
        else {
          expect(reason).toBeUndefined();
          lines.push(framed.line);
        }
      });
      const size = builder.writeTo(path.join(dir, 'bytes'));
      await writeInputFile(path.join(dir, 'text'), lines);
      const text = await fs.readFile(path.join(dir, 'text'));
      expect(size).toBe(text.length);
      expect(size).toBeGreaterThan(3 * 4 * 1024 * 1024);
      expect((await fs.readFile(path.join(dir, 'bytes'))).equals(text)).toBe(true);
      // reused for the next file (the sink keeps one): a short file, then the long one again
      builder.reset();
      builder.add({ partition: 1, offset: 2, timestampMs: 3, value: Buffer.from('{"b":2}') });
      builder.writeTo(path.join(dir, 'short'));
      expect(await fs.readFile(path.join(dir, 'short'), 'utf8')).toBe('1\u00012\u00013\u0001{"b":2}\n');
      builder.reset();
      values.forEach((value, i) => builder.add({ partition: 11, offset: 1_234_567 + i, timestampMs: 1_790_000_000_123, value }));
      builder.writeTo(path.join(dir, 'again'));
      expect((await fs.readFile(path.join(dir, 'again'))).equals(text)).toBe(true);
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});

describe('flatSelectList', () => {
  it('extracts every distinct path once and coalesces fallbacks in order', () => {
    const { paths, jsonPaths, select } = flatSelectList();
    expect(new Set(paths).size).toBe(paths.length);
    expect(new Set(jsonPaths).size).toBe(jsonPaths.length);
    expect(select).toHaveLength(FLAT_COLUMNS.length);
    expect(select[1]).toBe(`coalesce(j[${paths.indexOf('$.event_metadata.event_id') + 1}], j[${paths.indexOf('$.event_id') + 1}]) AS event_id`);
    // typed columns read JSON values (k), so a wrong type is told apart from a string
    const ua = '$.event_data.user_context.session_data.session_attributes.user_agent_parsed';
    expect(jsonPaths.slice(0, 2)).toEqual(['$.event_data.business_context.transaction_context.cart_context.cart_value.discounts_applied', `${ua}.browser.name`]);
    expect(select.find((x) => x.endsWith(' AS browser_name'))).toContain(`k[${jsonPaths.indexOf(`${ua}.browser`) + 1}]`);
  });

  it('lists the columns of core/lake RAW_COLUMNS: flattened ones, event_json, then the _ columns', () => {
    expect(RAW_COLUMNS.slice(0, FLAT_COLUMNS.length).map((c) => `${c.name} ${c.type}`)).toEqual(FLAT_COLUMNS.map((c) => `${c.name} ${c.type}`));
    expect(RAW_COLUMNS.slice(FLAT_COLUMNS.length).map((c) => `${c.name} ${c.type}`)).toEqual([
      'event_json VARCHAR',
      '_partition INTEGER',
      '_offset BIGINT',
      '_ingested_at TIMESTAMP',
      '_format INTEGER',
    ]);
  });
});

/** Flattens the given event texts (offsets 0..n-1 of partition 2) into a temp dir. */
async function flattenValues(conn: DuckDBConnection, dir: string, values: string[]): Promise<FlattenResult> {
  const lines = values.map((v, i) => encodeInputLine(msg(i, v))).map((r) => ('line' in r ? r.line : ''));
  const input = path.join(dir, 'in.txt');
  await writeInputFile(input, lines);
  return flattenToParquet(conn, input, dir);
}

const NEW_COLUMNS = 'subtotal, discount_total, browser_name, os_name, device_type, category_l1, shipping_carrier, experiment_ids, touchpoints';

describe('format-2 columns (DuckDB, local files)', () => {
  let dir: string;
  let db: Awaited<ReturnType<typeof openDuckDb>>;
  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'rtap-flatten-'));
    db = await openDuckDb({ threads: 1, memoryLimit: '512MB' });
    await prepareConnection(db.connection);
  });
  afterEach(async () => {
    db.connection.closeSync();
    db.instance.closeSync();
    await fs.rm(dir, { recursive: true, force: true });
  });
  const read = async (res: FlattenResult, columns: string) => {
    const files = res.objects.map((o) => sqlLiteral(o.file)).join(', ');
    return (await db.connection.runAndReadAll(`SELECT event_id, ${columns} FROM read_parquet([${files}]) ORDER BY _offset`)).getRowObjectsJson();
  };

  it("the brief's complete 2.1 event (the fixture): every group-by dimension from its brief location", async () => {
    const res = await flattenValues(db.connection, dir, [readFileSync(FIXTURE, 'utf8')]);
    expect(res.rejects).toEqual([]);
    expect(res.objects.map((o) => [o.dt, o.hour, o.rows])).toEqual([['2026-11-20', 14, 1]]);
    const [row] = await read(res, `${NEW_COLUMNS}, payment_provider, payment_method_type, page_type, fraud_score, final_total, currency, country, _format`);
    expect(row).toEqual({
      event_id: '8b2f6c1e-4d3a-4f5b-9a7c-2e1d0f3b6a95',
      subtotal: 348,
      discount_total: 34.8,
      browser_name: 'Safari', // user_agent_parsed.browser.name
      os_name: 'iOS', // user_agent_parsed.os.name
      device_type: 'mobile', // user_agent_parsed.device.type
      category_l1: 'Apparel', // products[0].product_hierarchy.category_l1
      shipping_carrier: 'dhl', // cart_context.payment_context.shipping_context.shipping_method.carrier
      experiment_ids: ['checkout_one_tap_v2'], // active_experiments[*].experiment_id
      touchpoints: ['instagram_ad', 'email_campaign'], // touchpoint_journey[*].touchpoint, journey order
      payment_provider: 'apple_pay', // payment_methods[0].provider
      payment_method_type: 'digital_wallet',
      page_type: 'checkout',
      fraud_score: 0.06, // ml_context.model_scores.fraud_detection.score
      final_total: 318.1,
      currency: 'EUR',
      country: 'DE',
      _format: LAKE_FORMAT,
    });
  });

  it('the repo copy of the fixture is the shared one (when ../shared is there)', () => {
    if (!existsSync(SHARED_FIXTURE)) return;
    expect(readFileSync(FIXTURE, 'utf8')).toBe(readFileSync(SHARED_FIXTURE, 'utf8'));
  });

  it('older 2.x shapes fall back: string user agent parts, carrier beside payment_context, string experiment lists, {amount} discounts', async () => {
    const e = fixture();
    const attrs = e.event_data.user_context.session_data.session_attributes;
    attrs.user_agent_parsed = { browser: 'Chrome', os: 'Linux', device: 'desktop' };
    const cart = e.event_data.business_context.transaction_context.cart_context;
    cart.shipping_context = { shipping_method: { carrier: 'ups', service_level: 'ground' } };
    delete cart.payment_context.shipping_context;
    cart.cart_value.discounts_applied = [{ code: 'A', amount: 5, type: 'percentage' }, { code: 'B', amount: 2.5, type: 'fixed' }];
    const ic = e.event_data.business_context.interaction_context;
    ic.experiment_context.active_experiments = ['exp_checkout_v3', 'exp_one_click'];
    const res = await flattenValues(db.connection, dir, [JSON.stringify(e)]);
    expect(await read(res, NEW_COLUMNS)).toEqual([
      {
        event_id: e.event_metadata.event_id,
        subtotal: 348,
        discount_total: 7.5,
        browser_name: 'Chrome',
        os_name: 'Linux',
        device_type: 'desktop',
        category_l1: 'Apparel',
        shipping_carrier: 'ups',
        experiment_ids: ['exp_checkout_v3', 'exp_one_click'],
        touchpoints: ['instagram_ad', 'email_campaign'],
      },
    ]);
  });

  it('odd shapes never fail a flush: wrong types are NULL, absent arrays NULL, empty ones [] / 0', async () => {
    const variants: [string, (e: any) => void, Record<string, unknown>][] = [ // eslint-disable-line @typescript-eslint/no-explicit-any
      [
        'wrong scalar types',
        (e) => {
          e.event_data.user_context.session_data.session_attributes.user_agent_parsed = { browser: 42, os: ['iOS'], device: { brand: 'Apple' } };
          e.event_data.business_context.transaction_context.products[0].product_hierarchy.category_l1 = { name: 'Apparel' };
          e.event_data.business_context.transaction_context.cart_context.payment_context.shipping_context.shipping_method.carrier = true;
          e.event_data.business_context.transaction_context.cart_context.cart_value.subtotal = 'lots';
        },
        { browser_name: null, os_name: null, device_type: null, category_l1: null, shipping_carrier: null, subtotal: null },
      ],
      [
        'wrong container types',
        (e) => {
          e.event_data.user_context.session_data.session_attributes.user_agent_parsed = 'Mozilla/5.0';
          e.event_data.business_context.transaction_context.products = { 0: { product_hierarchy: { category_l1: 'x' } } };
          e.event_data.business_context.transaction_context.cart_context.payment_context = 'paid';
          e.event_data.business_context.transaction_context.cart_context.cart_value.discounts_applied = 'SUMMER10';
          e.event_data.business_context.interaction_context.experiment_context.active_experiments = 'exp';
          e.event_data.business_context.interaction_context.touchpoint_journey = { touchpoint: 'email' };
        },
        { browser_name: null, category_l1: null, shipping_carrier: null, discount_total: null, experiment_ids: null, touchpoints: null, payment_provider: null },
      ],
      [
        'odd list elements keep their positions',
        (e) => {
          e.event_data.business_context.interaction_context.touchpoint_journey = [{ touchpoint: 'a' }, { campaign_id: 'c' }, 7, null, { touchpoint: 5 }, 'direct'];
          e.event_data.business_context.interaction_context.experiment_context.active_experiments = [{ experiment_id: { id: 1 } }, { experiment_id: 'x' }];
          e.event_data.business_context.transaction_context.cart_context.cart_value.discounts_applied = [{ discount_amount: 1.5 }, { discount_amount: '2' }, 'x', { amount: 3 }];
        },
        { touchpoints: ['a', null, null, null, null, 'direct'], experiment_ids: [null, 'x'], discount_total: 4.5 },
      ],
      [
        'empty and missing',
        (e) => {
          const bc = e.event_data.business_context;
          bc.interaction_context.touchpoint_journey = [];
          delete bc.interaction_context.experiment_context;
          bc.transaction_context.cart_context.cart_value.discounts_applied = [];
          bc.transaction_context.products = [];
          delete e.event_data.user_context.session_data.session_attributes;
        },
        { touchpoints: [], experiment_ids: null, discount_total: 0, category_l1: null, browser_name: null, os_name: null, device_type: null },
      ],
      [
        'numbers that overflow or are not finite',
        (e) => {
          e.event_data.business_context.transaction_context.cart_context.cart_value.subtotal = '__BIG__';
          e.event_data.business_context.transaction_context.cart_context.cart_value.final_total = '__BIG__';
          e.event_data.business_context.transaction_context.cart_context.cart_value.discounts_applied = [{ discount_amount: '__BIG__' }];
          e.ml_context.model_scores.fraud_detection.score = 'NaN';
        },
        { subtotal: null, final_total: null, discount_total: null, fraud_score: null },
      ],
    ];
    const values = variants.map(([, edit], i) => {
      const e = fixture();
      e.event_metadata.event_id = `v${i}`;
      edit(e);
      return JSON.stringify(e).replace(/"__BIG__"/g, '1e400');
    });
    values[0] = ` \t${values[0]}`; // JSON whitespace before the object is fine
    // malformed lines between them are rejected one by one, the valid rows still land
    const res = await flattenValues(db.connection, dir, [...values, '{"tenant_id":"t"} trailing', "{'single':'quotes'}", '[1, 2]', '"just a string"']);
    expect(res.rejects).toEqual([
      { partition: 2, offset: variants.length, reason: 'invalid_json' },
      { partition: 2, offset: variants.length + 1, reason: 'invalid_json' },
      { partition: 2, offset: variants.length + 2, reason: 'not_an_object' },
      { partition: 2, offset: variants.length + 3, reason: 'not_an_object' },
    ]);
    expect(res.rows).toBe(variants.length);
    const rows = await read(res, `${NEW_COLUMNS}, payment_provider, final_total, fraud_score`);
    variants.forEach(([name, , expected], i) => expect([name, rows[i]]).toEqual([name, expect.objectContaining({ event_id: `v${i}`, ...expected })]));
  });
});

describe('flattenToParquet (DuckDB, local files)', () => {
  it('maps SPEC 2.1 fields, splits by UTC hour, sorts by tenant and reports rejects', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'rtap-flatten-'));
    const { instance, connection } = await openDuckDb({ threads: 1, memoryLimit: '512MB' });
    try {
      await prepareConnection(connection);
      const ev = (tenant: string, id: string, ts: string, extra: object = {}) =>
        JSON.stringify({ schema_version: '2.1', tenant_id: tenant, event_metadata: { event_id: id, timestamp: ts }, ...extra });
      const values = [
        ev('t-b', 'e1', '2026-11-26T10:59:59.999999+00:00', {
          event_data: {
            event_type: 'transaction',
            event_subtype: 'purchase',
            user_context: { user_id: 'u1', session_data: { session_id: 's1', session_attributes: { device_fingerprint: 'fp', geolocation: { country: 'FR' } } } },
            business_context: { transaction_context: { cart_context: { cart_value: { final_total: 42.5, currency: 'EUR' }, payment_context: { payment_methods: [{ method_type: 'card' }] } } } },
          },
        }),
        ev('t-a', 'e2', '2026-11-26T12:30:00+01:00'), // 11:30 UTC
        ev('t-a', 'e3', '2026-11-26T10:00:00Z'),
        '{"tenant_id": "t", "event_id": "old", "timestamp": "2026-11-26T10:05:00Z", "amount": 3}', // flat older shape
        'nope',
        '{"event_metadata":{"event_id":"x","timestamp":"2026-11-26T10:00:00Z"}}',
        '{"tenant_id":"t","event_metadata":{"event_id":"x","timestamp":"yesterday"}}',
        '{"tenant_id":"t","event_metadata":{"event_id":"x","timestamp":"0001-01-01T00:00:00Z"}}',
      ];
      const lines = values.map((v, i) => encodeInputLine(msg(100 + i, v))).map((r) => ('line' in r ? r.line : ''));
      const input = path.join(dir, 'in.txt');
      await writeInputFile(input, lines);
      const res = await flattenToParquet(connection, input, dir);

      expect(res.rows).toBe(4);
      expect(res.rejects).toEqual([
        { partition: 2, offset: 104, reason: 'invalid_json' },
        { partition: 2, offset: 105, reason: 'missing_tenant_id' },
        { partition: 2, offset: 106, reason: 'invalid_timestamp' },
        { partition: 2, offset: 107, reason: 'invalid_timestamp' },
      ]);
      expect(res.objects.map((o) => [o.partition, o.dt, o.hour, o.rows])).toEqual([
        [2, '2026-11-26', 10, 3],
        [2, '2026-11-26', 11, 1],
      ]);
      const hour10 = (
        await connection.runAndReadAll(
          `SELECT tenant_id, event_id, strftime(event_time, '%H:%M:%S.%f') AS t, event_type, user_id, session_id, device_fingerprint, country,
                  final_total, currency, payment_method_type, schema_version, _partition, _offset, strftime(_ingested_at, '%Y') AS y, event_json
           FROM read_parquet(${sqlLiteral(res.objects[0].file)})`,
        )
      ).getRowObjectsJson();
      expect(hour10.map((r) => r.event_id)).toEqual(['old', 'e3', 'e1']); // sorted by tenant, then time
      expect(hour10[2]).toMatchObject({
        tenant_id: 't-b',
        t: '10:59:59.999999',
        event_type: 'transaction',
        user_id: 'u1',
        session_id: 's1',
        device_fingerprint: 'fp',
        country: 'FR',
        final_total: 42.5,
        currency: 'EUR',
        payment_method_type: 'card',
        schema_version: '2.1',
        _partition: 2,
        _offset: '100',
        y: '2026',
      });
      expect(JSON.parse(String(hour10[2].event_json))).toEqual(JSON.parse(values[0]));
      expect(hour10[0]).toMatchObject({ tenant_id: 't', final_total: 3 });
      const types = (await connection.runAndReadAll(`DESCRIBE SELECT * FROM read_parquet(${sqlLiteral(res.objects[0].file)})`)).getRowObjectsJson();
      expect(types.map((t) => `${t.column_name} ${t.column_type}`)).toEqual(RAW_COLUMNS.map((c) => `${c.name} ${c.type}`));
    } finally {
      connection.closeSync();
      instance.closeSync();
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});

describe('flattenToParquet: objects written in one partitioned pass', () => {
  /** Events over 3 partitions and 3 UTC hours, tenants and times shuffled, some sharing a tenant and time (the offset decides). */
  function shuffledInput(): string[] {
    const lines: string[] = [];
    let seed = 7;
    const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) % n);
    for (let i = 0; i < 900; i++) {
      const hour = 9 + rand(3);
      const minute = rand(2) * 30;
      const value = JSON.stringify({
        schema_version: '2.1',
        tenant_id: `t-${rand(7)}`,
        event_metadata: { event_id: `e-${i}`, timestamp: `2026-11-26T${String(hour).padStart(2, '0')}:${String(minute).padStart(2, '0')}:00Z` },
        event_data: { event_type: 'transaction', business_context: { transaction_context: { cart_context: { cart_value: { final_total: i / 4 } } } } },
      });
      const framed = encodeInputLine({ partition: rand(3), offset: i, timestampMs: 1_790_000_000_000 + i, value: Buffer.from(value) });
      if ('line' in framed) lines.push(framed.line);
    }
    return lines;
  }

  async function contents(conn: DuckDBConnection, file: string): Promise<{ schema: unknown[]; rows: unknown[] }> {
    const schema = (await conn.runAndReadAll(`DESCRIBE SELECT * FROM read_parquet(${sqlLiteral(file)})`)).getRowObjectsJson();
    const rows = (await conn.runAndReadAll(`SELECT * FROM read_parquet(${sqlLiteral(file)})`)).getRowObjectsJson();
    return { schema, rows };
  }

  it('gives the same objects (names, columns, rows, order) as one COPY per object, and falls back to those with more DuckDB threads', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'rtap-flatten-onepass-'));
    const one = await openDuckDb({ threads: 1, memoryLimit: '512MB' });
    const two = await openDuckDb({ threads: 2, memoryLimit: '512MB' });
    try {
      await prepareConnection(one.connection);
      await prepareConnection(two.connection);
      const input = path.join(dir, 'in.txt');
      await writeInputFile(input, shuffledInput());
      const dirs = ['one-pass', 'each', 'two-threads'].map((d) => path.join(dir, d));
      for (const d of dirs) await fs.mkdir(d);
      const onePass = await flattenToParquet(one.connection, input, dirs[0]);
      // A target function names each object itself, so it always takes one COPY per object.
      const each = await flattenToParquet(one.connection, input, (g) => path.join(dirs[1], `p${g.partition}-${g.dt}-${g.hour}.parquet`));
      const twoThreads = await flattenToParquet(two.connection, input, dirs[2]);

      expect(onePass.onePass).toBe(true);
      expect(each.onePass).toBe(false);
      expect(onePass.objects.length).toBe(9);
      const shape = (r: FlattenResult) => r.objects.map((o) => [o.partition, o.dt, o.hour, o.rows, path.basename(o.file)]);
      expect(shape(onePass)).toEqual(shape(each));
      expect(shape(twoThreads)).toEqual(shape(each));
      expect(await fs.readdir(dirs[0])).toEqual(onePass.objects.map((o) => path.basename(o.file)).sort()); // nothing left behind
      for (const [i, o] of each.objects.entries()) {
        const expected = await contents(one.connection, o.file);
        expect(expected.rows.length).toBe(o.rows);
        expect(await contents(one.connection, onePass.objects[i].file)).toEqual(expected);
        expect(await contents(one.connection, twoThreads.objects[i].file)).toEqual(expected);
      }
      // The order inside each object is the lake's: tenant, event time, offset.
      const sorted = await one.connection.runAndReadAll(
        `SELECT count(*) AS n FROM (SELECT tenant_id, event_time, _offset, lag(tenant_id) OVER () AS pt, lag(event_time) OVER () AS pe, lag(_offset) OVER () AS po
           FROM read_parquet(${sqlLiteral(onePass.objects[0].file)})) WHERE pt IS NOT NULL AND (pt, pe, po) > (tenant_id, event_time, _offset)`,
      );
      expect(Number(sorted.getRowObjectsJson()[0].n)).toBe(0);
    } finally {
      one.close();
      two.close();
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});
