import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { openDuckDb, sqlLiteral } from '../../core/duckdb';
import { FLAT_COLUMNS, RAW_COLUMNS, encodeInputLine, flatSelectList, flattenToParquet, prepareConnection, writeInputFile } from '../../ingest/flatten';

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

describe('flatSelectList', () => {
  it('extracts every distinct path once and coalesces fallbacks in order', () => {
    const { paths, select } = flatSelectList();
    expect(new Set(paths).size).toBe(paths.length);
    expect(select).toHaveLength(FLAT_COLUMNS.length);
    expect(select[1]).toBe(`coalesce(j[${paths.indexOf('$.event_metadata.event_id') + 1}], j[${paths.indexOf('$.event_id') + 1}]) AS event_id`);
    expect(RAW_COLUMNS.slice(-4).map((c) => `${c.name} ${c.type}`)).toEqual(['event_json VARCHAR', '_partition INTEGER', '_offset BIGINT', '_ingested_at TIMESTAMP']);
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
