// The lake record header (core/lake-record.ts): the flat columns the ingestion API computes in
// TypeScript must be exactly what the sink's DuckDB extraction writes. Each test flattens the same
// records twice — every record through the extraction, then those with a header through the typed
// input — and requires the same rejects and byte-identical Parquet files.
import { readFileSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import type { ApiKeyRecord } from '../../core/control';
import { openDuckDb, type OpenDuckDb } from '../../core/duckdb';
import { createIngestStep } from '../../core/ingest-step';
import { FLAT_COLUMNS } from '../../core/lake-columns';
import { encodeLakeHeader, LAKE_FIELD_SEP, LAKE_HEADER, LAKE_HEADER_FIELDS, LAKE_NULL, lakeHeaderFields } from '../../core/lake-record';
import { createKeyring } from '../../core/pii';
import { SPEED_HEADER } from '../../core/speed-record';
import { EventGenerator } from '../../generator/generator';
import { flattenToParquet, InputFileBuilder, prepareConnection, type FlattenResult } from '../../ingest/flatten';
import { eachPartDropped } from '../contract/brief-event';

/* eslint-disable @typescript-eslint/no-explicit-any -- events are reshaped on purpose through loose casts */

/** The brief's complete 2.1 event (the repo's copy of ../shared/fixtures/event-2.1-full.json). */
const FIXTURE = readFileSync(path.resolve(__dirname, '../fixtures/event-2.1-full.json'), 'utf8');
const keyring = createKeyring({ v1: 'unit-test-secret-0123456789' }, 'v1');
const platformKey: ApiKeyRecord = { key_hash: 'h', tenant_id: '*', roles: ['ingest'], label: 't', created_at: '' };
const step = createIngestStep({ keyring, isActiveTenant: () => true, now: () => new Date('2026-11-26T10:00:00.123Z') });

interface Rec {
  value: string;
  header: string | undefined;
}

jest.setTimeout(120_000);

let db: OpenDuckDb;
let dir: string;
beforeAll(async () => {
  db = await openDuckDb({ threads: 1, memoryLimit: '1GB' });
  await prepareConnection(db.connection);
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'rtap-lake-record-'));
});
afterAll(async () => {
  db.close();
  await fs.rm(dir, { recursive: true, force: true });
});

let run = 0;
/** Flattens the records (partition = offset mod 3) with or without their headers; returns the result and each file's bytes. */
async function flatten(recs: Rec[], useHeaders: boolean): Promise<{ res: FlattenResult; files: Map<string, Buffer>; typed: number }> {
  const out = path.join(dir, `run-${run++}`);
  await fs.mkdir(out);
  const plain = new InputFileBuilder();
  const typed = new InputFileBuilder();
  const rejects: FlattenResult['rejects'] = [];
  recs.forEach((r, offset) => {
    const m = { partition: offset % 3, offset, timestampMs: 1_790_000_000_000 + offset, value: Buffer.from(r.value) };
    const fields = useHeaders && r.header !== undefined ? lakeHeaderFields(Buffer.from(r.header)) : undefined;
    if (useHeaders && r.header !== undefined) expect(fields).toBeDefined();
    if (fields !== undefined && typed.addTyped(m, fields)) return;
    const reason = plain.add(m);
    if (reason) rejects.push({ partition: m.partition, offset, reason });
  });
  const input = plain.rows > 0 ? path.join(out, 'in.txt') : undefined;
  const typedInput = typed.rows > 0 ? path.join(out, 'in-typed.txt') : undefined;
  if (input) plain.writeTo(input);
  if (typedInput) typed.writeTo(typedInput);
  const res = await flattenToParquet(db.connection, input, out, typedInput);
  res.rejects.push(...rejects);
  res.rejects.sort((a, b) => a.partition - b.partition || a.offset - b.offset);
  const files = new Map<string, Buffer>();
  for (const o of res.objects) files.set(path.basename(o.file), await fs.readFile(o.file));
  return { res: { ...res, objects: res.objects.map((o) => ({ ...o, file: path.basename(o.file) })) }, files, typed: typed.rows };
}

/** Both paths give the same rejects and byte-identical objects; returns how many records took the typed path. */
async function expectSameBothWays(recs: Rec[]): Promise<number> {
  const extracted = await flatten(recs, false);
  const typed = await flatten(recs, true);
  expect(typed.res).toEqual(extracted.res);
  if (![...typed.files].every(([name, bytes]) => extracted.files.get(name)?.equals(bytes))) {
    // Name the first differing column, for the failure message.
    const names = [...typed.files.keys()];
    const a = path.join(dir, `run-${run - 2}`);
    const b = path.join(dir, `run-${run - 1}`);
    for (const c of [...FLAT_COLUMNS.map((x) => x.name), 'event_json', '_partition', '_offset', '_ingested_at', '_format']) {
      const diff = await db.connection.runAndReadAll(
        `SELECT _offset, ${c} FROM read_parquet([${names.map((n) => `'${b}/${n}'`).join(', ')}])
         EXCEPT SELECT _offset, ${c} FROM read_parquet([${names.map((n) => `'${a}/${n}'`).join(', ')}]) LIMIT 3`,
      );
      expect({ column: c, typedOnly: diff.getRowObjectsJson() }).toEqual({ column: c, typedOnly: [] });
    }
    expect('the Parquet bytes differ').toBe('the same');
  }
  expect(typed.files.size).toBe(extracted.files.size);
  return typed.typed;
}

/** Records as the ingestion API produces them: value and lake header from its step. */
function throughStep(raws: unknown[]): Rec[] {
  const recs: Rec[] = [];
  raws.forEach((raw, i) => {
    const out = step(raw, i, platformKey);
    if (out.kind !== 'ok') return;
    const headers = out.message.headers as Record<string, string>;
    recs.push({ value: out.message.value as string, header: headers[LAKE_HEADER] });
  });
  return recs;
}

/** Records of any producer that computes the header from the event it serializes. */
const raw = (event: unknown): Rec => {
  const value = JSON.stringify(event);
  return { value, header: encodeLakeHeader(JSON.parse(value)) };
};

test('generator events through the ingestion step: every accepted event has a lake header, and both paths write the same objects', async () => {
  const g = new EventGenerator({ seed: 33, tenants: 12, users: 1500, rate: 5, defectRate: 0.05, lateRate: 0.05, fraudRate: 0.03 });
  const raws: unknown[] = [JSON.parse(FIXTURE)];
  for (let i = 0; i < 3000; i++) raws.push(structuredClone(g.next().event));
  const recs = throughStep(raws);
  expect(recs.length).toBeGreaterThan(2800);
  // Every accepted event the speed layer gets a header for gets a lake header too.
  const missing = recs.filter((r) => r.header === undefined);
  expect(missing.length).toBe(0);
  expect(await expectSameBothWays(recs)).toBe(recs.length);
});

test("the brief's fixture, its optional parts dropped one at a time, and its values in other shapes", async () => {
  const base = JSON.parse(FIXTURE);
  // Every sub-tree removed in turn (a client may send any subset of the optional parts).
  const recs: Rec[] = [raw(base), ...eachPartDropped(base).map(raw)];
  // And through the ingestion step, where the fixture is accepted.
  recs.push(...throughStep([JSON.parse(FIXTURE)]));
  expect(recs.length).toBeGreaterThan(300);
  expect(recs.filter((r) => r.header !== undefined).length).toBeGreaterThan(250);
  await expectSameBothWays(recs);
});

/** Odd values put at the lake's paths: what producers straight to Kafka may send. */
const ODD: unknown[] = [
  null, true, false, 0, -0, 1, -1.5, 144.39, 0.1 + 0.2, 1e21, 1e-7, 123456789012345680000, Number.MAX_SAFE_INTEGER + 2,
  '', 'x', '42.5', ' 7 ', 'abc', 'Zoë ✓ 🎉', 'a\u0001b', 'a\u0002', '\u0002', 'line\nbreak', 'tab\there', 'quote"and\\back',
  'lone \ud800 surrogate', '2026-11-26T10:00:00Z', '2026-11-26 10:00:00.1234567+02:00', '2026-02-30T00:00:00Z', '1969-12-31T23:59:59Z',
  '2999-12-31T23:59:59.999999Z', '3000-01-01T00:00:00Z', 'Europe/Berlin', [], ['a', 'b'], [{ x: 1 }], {}, { name: 'Firefox' },
  { type: 'mobile', name: 7 }, [{ experiment_id: 'e1' }, 'plain', 7, null, { experiment_id: 9 }, { touchpoint: 'email' }],
  [{ discount_amount: 5.5 }, { amount: 2 }, { discount_amount: 'x', amount: 1.25 }, 'ten', [3], { discount_amount: 0.1 }, { discount_amount: 0.2 }],
];

test('defective and odd events: wherever the encoder gives a header, its columns are what DuckDB extracts', async () => {
  const recs: Rec[] = [];
  const g = new EventGenerator({ seed: 7, tenants: 6, users: 600, defectRate: 0.3, lateRate: 0.05, fraudRate: 0.05 });
  for (let i = 0; i < 1500; i++) recs.push(raw(g.next().event));
  // Every odd value at every path the lake reads (and at each path's parent), in a fixture event.
  const base = JSON.parse(FIXTURE);
  for (const c of FLAT_COLUMNS) {
    for (const p of c.paths) {
      const steps = p.slice(2).split(/\.|\[(\d+)\]\.?/).filter((s) => s !== undefined && s !== '');
      for (let cut = steps.length; cut >= Math.max(1, steps.length - 1); cut--) {
        for (const odd of ODD) {
          const copy = structuredClone(base);
          let node = copy;
          for (const s of steps.slice(0, cut - 1)) {
            if (node[s] === null || typeof node[s] !== 'object') node[s] = /^\d+$/.test(s) ? [] : {};
            node = node[s];
          }
          node[steps[cut - 1]] = structuredClone(odd);
          recs.push(raw(copy));
        }
      }
    }
  }
  // Events the lake refuses, and flat (1.0-style) spellings.
  recs.push(raw({ tenant_id: 't', event_id: 'e', timestamp: '2026-11-26T10:00:00Z', amount: '12.5', currency: 'EUR', user_id: 'u' }));
  recs.push(raw({ tenant_id: 't', event_id: 'e', timestamp: '2026-11-26T10:00:00Z', amount: 12.5, event_type: 'x', session_id: 's' }));
  recs.push(raw({ tenant_id: '', event_id: 'e', timestamp: '2026-11-26T10:00:00Z' }));
  recs.push(raw({ tenant_id: 't', timestamp: '2026-11-26T10:00:00Z' }));
  recs.push(raw({ tenant_id: 't', event_id: 'e' }));
  recs.push(raw([1, 2]));
  // Both spellings of a time: the extraction takes the first that casts, not the first present.
  for (const [a, b] of [['Europe/Berlin', '2026-11-26T10:00:00Z'], ['2026-11-26T11:00:00Z', '2026-11-26T10:00:00Z'], ['2026-11-26T11:00:00Z', 7]]) {
    recs.push(raw({ tenant_id: 't', event_id: 'e', event_metadata: { timestamp: a, ingestion_timestamp: a }, timestamp: b, ingestion_timestamp: b }));
    recs.push(raw({ tenant_id: 't', event_id: 'e', event_metadata: { timestamp: b, ingestion_timestamp: b }, timestamp: a, ingestion_timestamp: a }));
  }
  const withHeader = recs.filter((r) => r.header !== undefined).length;
  expect(withHeader).toBeGreaterThan(recs.length / 2);
  expect(withHeader).toBeLessThan(recs.length);
  await expectSameBothWays(recs);
});

test('header format: version, one field per flat column, NULL as 0x02; a malformed header is not used', () => {
  const h = encodeLakeHeader(JSON.parse(FIXTURE))!;
  const fields = h.split(LAKE_FIELD_SEP);
  expect(fields.length).toBe(LAKE_HEADER_FIELDS);
  expect(fields[0]).toBe('2');
  expect(fields[1 + FLAT_COLUMNS.findIndex((c) => c.name === 'tenant_id')]).toBe(JSON.parse(FIXTURE).tenant_id);
  expect(encodeLakeHeader({ tenant_id: 't', event_id: 'e', timestamp: '2026-11-26T10:00:00Z' })!.split(LAKE_FIELD_SEP).filter((f) => f === LAKE_NULL).length).toBe(
    FLAT_COLUMNS.length - 3,
  );
  expect(Buffer.byteLength(h)).toBeLessThan(1024);
  expect(lakeHeaderFields(Buffer.from(h))?.toString()).toBe(fields.slice(1).join(LAKE_FIELD_SEP));
  expect(lakeHeaderFields(Buffer.from(`1${h.slice(1)}`))).toBeUndefined(); // another format
  expect(lakeHeaderFields(Buffer.from(`${h}${LAKE_FIELD_SEP}x`))).toBeUndefined(); // a field too many
  expect(lakeHeaderFields(Buffer.from(h.slice(0, h.lastIndexOf(LAKE_FIELD_SEP))))).toBeUndefined(); // one too few
  expect(lakeHeaderFields(Buffer.from(h.replace(JSON.parse(FIXTURE).tenant_id, 'a\nb')))).toBeUndefined();
  expect(lakeHeaderFields(Buffer.from(''))).toBeUndefined();
  // The speed header is untouched beside it.
  const out = step(JSON.parse(FIXTURE), 0, platformKey);
  expect(out.kind).toBe('ok');
  const headers = (out as any).message.headers as Record<string, string>;
  expect(JSON.parse(headers[SPEED_HEADER])[0]).toBe(1);
  expect(headers[LAKE_HEADER]).toBe(encodeLakeHeader(JSON.parse((out as any).message.value)));
});
