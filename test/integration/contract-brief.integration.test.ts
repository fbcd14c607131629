// The brief's event end to end on the real stack: the complete 2.1 fixture, random subsets of its
// optional parts and random type corruptions go through the ingestion API → Kafka → the lake sink
// → Parquet on MinIO, and every accepted field is read back with DuckDB. The expected values come
// from the events as sent (the brief's traffic), not from our own generator or flattener.
import { logLevel, type Kafka } from 'kafkajs';
import { DLQ_HEADERS } from '../../core/dlq';
import { createKafka, headerString } from '../../core/kafka';
import { TOKEN_PATTERN } from '../../core/pii';
import { createS3 } from '../../core/s3';
import { Rng } from '../../generator/prng';
import { fixtureWithId, jsonPathOf, optionalSubset, typeCorruption } from '../contract/brief-event';
import { startIngestApi, type ApiHarness } from './api-harness';
import { cfg, uniqueName } from './helpers';
import { readTopic } from './kafka-read';
import { drainToLake, queryLake } from './lake-read';

/* eslint-disable @typescript-eslint/no-explicit-any -- events are walked generically */

const TENANT = 'northwind_outfitters';
const topics = { events: uniqueName('contract-events'), dlq: uniqueName('contract-dlq'), control: uniqueName('contract-control') };
const prefix = uniqueName('contract-lake');
const s3 = createS3(cfg.s3);
let kafka: Kafka;
let api: ApiHarness;

beforeAll(async () => {
  kafka = createKafka(cfg.kafka, { logLevel: logLevel.NOTHING });
  api = await startIngestApi({ kafka, cfg, topics });
  await api.control.putTenants([{ tenant_id: TENANT }]);
});

afterAll(async () => {
  await api.close();
  s3.destroy();
});

/** PII the ingestion API replaces with tokens before Kafka: these leaves are checked as tokens. */
const PII_LEAF = /(\.user_id|\.email|\.tokenized_identifier|\.address_hash)$/;

function leaves(value: any, at: (string | number)[] = [], out: [string, unknown][] = []): [string, unknown][] {
  if (Array.isArray(value)) value.forEach((v, i) => leaves(v, [...at, i], out));
  else if (value !== null && typeof value === 'object') for (const [k, v] of Object.entries(value)) leaves(v, [...at, k], out);
  else out.push([jsonPathOf(at), value]);
  return out;
}

const dig = (e: any, ...path: (string | number)[]): unknown => path.reduce((node, k) => (node == null ? undefined : node[k]), e) ?? null;

/** The lake columns a view groups by, read from the event as the brief shapes it. */
function expectedColumns(e: any): Record<string, unknown> {
  const bc = ['event_data', 'business_context'];
  const session = ['event_data', 'user_context', 'session_data', 'session_attributes'];
  const cart = [...bc, 'transaction_context', 'cart_context'];
  const list = (items: unknown, key: string) => (Array.isArray(items) ? items.map((x: any) => x?.[key] ?? null) : null);
  return {
    tenant_id: e.tenant_id,
    event_id: e.event_metadata.event_id,
    event_type: e.event_data.event_type,
    event_subtype: e.event_data.event_subtype,
    source_system: e.event_metadata.source_system,
    session_id: e.event_data.user_context.session_data.session_id,
    country: dig(e, ...session, 'geolocation', 'country'),
    city: dig(e, ...session, 'geolocation', 'city'),
    device_fingerprint: dig(e, ...session, 'device_fingerprint'),
    browser_name: dig(e, ...session, 'user_agent_parsed', 'browser', 'name'),
    os_name: dig(e, ...session, 'user_agent_parsed', 'os', 'name'),
    device_type: dig(e, ...session, 'user_agent_parsed', 'device', 'type'),
    category_l1: dig(e, ...bc, 'transaction_context', 'products', 0, 'product_hierarchy', 'category_l1'),
    final_total: dig(e, ...cart, 'cart_value', 'final_total'),
    payment_provider: dig(e, ...cart, 'payment_context', 'payment_methods', 0, 'provider'),
    shipping_carrier: dig(e, ...cart, 'payment_context', 'shipping_context', 'shipping_method', 'carrier'),
    page_type: dig(e, ...bc, 'interaction_context', 'page_context', 'page_type'),
    experiment_ids: list(dig(e, ...bc, 'interaction_context', 'experiment_context', 'active_experiments'), 'experiment_id'),
    touchpoints: list(dig(e, ...bc, 'interaction_context', 'touchpoint_journey'), 'touchpoint'),
    fraud_score: dig(e, 'ml_context', 'model_scores', 'fraud_detection', 'score'),
  };
}

test("the brief's event, its optional subsets and its type corruptions: accepted ones land in the lake field for field, rejected ones in the DLQ", async () => {
  const rng = new Rng(777);
  const { apiKey } = await api.control.createApiKey(TENANT, ['ingest'], 'contract');
  const good: any[] = [fixtureWithId(rng.uuid())];
  for (let i = 0; i < 80; i++) good.push(optionalSubset(fixtureWithId(rng.uuid()), rng, i % 2 ? 0.25 : 0.6));
  const bad = Array.from({ length: 40 }, () => typeCorruption(rng, fixtureWithId(rng.uuid())));
  const events = [...good, ...bad.map((b) => b.event)];

  const res = await fetch(`${api.base}/api/v2/events/batch`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': apiKey },
    body: JSON.stringify({ events }),
  });
  expect(res.status).toBe(207);
  const body = (await res.json()) as { accepted: number; rejected: number; results: { index: number; status: string; error?: string; details?: { path: string }[]; warnings?: unknown[] }[] };
  expect(body.accepted).toBe(good.length);
  for (const r of body.results.slice(0, good.length)) expect(r).toMatchObject({ status: 'accepted' });
  for (const r of body.results.slice(0, good.length)) expect(r.warnings ?? []).toEqual([]);
  body.results.slice(good.length).forEach((r, i) => {
    expect(r).toMatchObject({ status: 'rejected', error: 'schema_invalid' });
    expect(r.details!.map((d) => d.path)).toContain(bad[i].path);
  });

  const dead = await readTopic(kafka, topics.dlq, bad.length);
  expect(dead).toHaveLength(bad.length);
  for (const m of dead) expect(headerString(m.headers, DLQ_HEADERS.tenant)).toBe(TENANT);

  const { ends, covered } = await drainToLake(kafka, s3, topics, prefix);
  expect(Object.values(ends).reduce((a, b) => a + b, 0)).toBe(good.length);
  expect(covered).toBe(true);

  const columns = Object.keys(expectedColumns(good[0]));
  const rows = await queryLake(s3, prefix, (src) => `SELECT ${columns.join(', ')}, event_json FROM ${src}`);
  expect(rows).toHaveLength(good.length);
  const byId = new Map(rows.map((r) => [r.event_id as string, r]));
  for (const sent of good) {
    const row = byId.get(sent.event_metadata.event_id)!;
    expect(row).toBeDefined();
    const expected = expectedColumns(sent);
    for (const c of columns) expect([c, row[c]]).toEqual([c, expected[c]]);
    // Every field sent is in the lake's copy of the event: PII as tokens, the rest as sent.
    const stored = new Map(leaves(JSON.parse(row.event_json as string)));
    for (const [path, value] of leaves(sent)) {
      if (path === '$.event_metadata.ingestion_timestamp') continue;
      if (PII_LEAF.test(path)) expect([path, stored.get(path)]).toEqual([path, expect.stringMatching(TOKEN_PATTERN)]);
      else expect([path, stored.get(path)]).toEqual([path, value]);
    }
  }
});
