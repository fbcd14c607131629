// Fuzzing the query side of the API on the real stack: thousands of malformed requests derived
// from /openapi.json (every read operation; ingestion has its own fuzz in ingest-fuzz): hostile
// values in every query and path parameter (SQL, JSONPath, template and prototype strings, NUL
// and broken UTF-8, huge numbers, oversized strings, repeated and nested parameters), broken JSON
// bodies (wrong types at random fields, deep nesting, prototype keys, wrong media types and
// encodings), odd methods and Accept headers, and garbage on raw sockets. Asserted: no 5xx, no
// stack or internal path in any error body, no prototype pollution, bounded heap growth, and the
// API still answers correctly afterwards.
//
// Short form in CI (1,500 requests). Longer: FUZZ_QUERY_REQUESTS=12000 (`npm run fuzz`). The seed is
// printed; FUZZ_SEED=<seed> sends the same requests again.
import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { OpenAPIV3 } from 'openapi-types';
import { ControlPlane } from '../../core/control';
import { createKafka } from '../../core/kafka';
import { createLogger } from '../../core/logger';
import { startApi, type RunningApi } from '../../serving/main';
import { cfg, uniqueName } from './helpers';
import { createTopics } from './kafka-read';
import { OpenApiRequests, type Op, type Req } from './openapi-requests';
import { mulberry32 as prng } from '../../core/random';

const REQUESTS = Number(process.env.FUZZ_QUERY_REQUESTS ?? 1500);
const SEED = Number(process.env.FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
const CONCURRENCY = 6;
const MAX_HEAP_GROWTH_MB = Number(process.env.FUZZ_MAX_HEAP_GROWTH_MB ?? 64);

jest.setTimeout(Math.max(240_000, REQUESTS * 100));

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;


/** Values that have broken query services somewhere: injection, parsing and encoding edge cases. */
const HOSTILE: readonly string[] = [
  '',
  ' ',
  "' OR '1'='1",
  "'; DROP TABLE events; --",
  '1; SELECT * FROM read_parquet(\'s3://rtap-lake/**\')',
  "x') UNION SELECT tenant_id FROM events --",
  '$..*',
  '$[?(@.tenant_id)]',
  '{{7*7}}',
  '${jndi:ldap://127.0.0.1/a}',
  '__proto__',
  'constructor',
  'prototype',
  'hasOwnProperty',
  '../../../../etc/passwd',
  '..%2f..%2fetc%2fpasswd',
  '\u0000',
  'a\u0000b',
  '\ud800',
  '\uffff',
  '𝄞🙂ü€',
  '\r\nSet-Cookie: x=1',
  '-1',
  '0',
  '-0',
  '1e400',
  '-1e400',
  'NaN',
  'Infinity',
  '0x7fffffff',
  '9'.repeat(400),
  '1.5',
  'true',
  'null',
  'undefined',
  '[]',
  '{}',
  '2026-02-30',
  '2026-13-45',
  '2026-11-22T25:61:61Z',
  '9999-12-31T23:59:59Z',
  '0000-01-01',
  '-271821-04-20T00:00:00Z',
  '2026-11-22/2026-11-23',
  'x'.repeat(300),
  'x'.repeat(5000),
  '%',
  '%ff%fe',
  '*',
  '*,*,*',
  'events,revenue,'.repeat(200),
  '<script>alert(1)</script>',
];

/** Bodies that are not what any route expects. */
function hostileBody(rnd: () => number): { text: string; type: string; encoding?: string } {
  const deep = (n: number) => '['.repeat(n) + ']'.repeat(n);
  const choices: (() => { text: string; type: string; encoding?: string })[] = [
    () => ({ text: '{"measures": ["events"', type: 'application/json' }),
    () => ({ text: 'null', type: 'application/json' }),
    () => ({ text: '[]', type: 'application/json' }),
    () => ({ text: '"a string"', type: 'application/json' }),
    () => ({ text: '12', type: 'application/json' }),
    () => ({ text: deep(5000), type: 'application/json' }),
    () => ({ text: `{"a":${'{"a":'.repeat(3000)}1${'}'.repeat(3000)}}`, type: 'application/json' }),
    () => ({ text: '{"__proto__":{"polluted":"yes"},"constructor":{"prototype":{"polluted":"yes"}}}', type: 'application/json' }),
    () => ({ text: JSON.stringify({ measures: Array.from({ length: 5000 }, () => 'events') }), type: 'application/json' }),
    () => ({ text: `{"x":"${'a'.repeat(200_000)}"}`, type: 'application/json' }),
    () => ({ text: '{"measures":["events"]}', type: 'text/plain' }),
    () => ({ text: '{"measures":["events"]}', type: 'application/x-www-form-urlencoded' }),
    () => ({ text: 'measures=events&__proto__[polluted]=yes', type: 'application/x-www-form-urlencoded' }),
    () => ({ text: '{"measures":["events"]}', type: 'application/json', encoding: 'gzip' }),
    () => ({ text: '{"measures":["events"]}', type: 'application/json', encoding: 'br, zstd, x-evil' }),
    () => ({ text: '\u0000\u0001\u0002\ufffd', type: 'application/json' }),
    () => ({ text: '{"time_range":{"from":1e400,"to":-1e400}}', type: 'application/json' }),
    () => ({ text: '{"a":1,"a":2,"a":{"b":[1,2,{"c":null}]}}', type: 'application/json; charset=utf-16' }),
  ];
  return choices[Math.floor(rnd() * choices.length)]();
}

const ACCEPTS = ['application/json', 'text/csv', 'application/vnd.apache.arrow.stream', 'application/vnd.apache.parquet', '*/*', 'garbage/;;;', 'application/json;q=abc', 'text/html', ''];
const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'HEAD'];
/** Operations that change state or start workflows on the shared stack: fuzzed by their own tests (auth, GDPR, backfill). */
const NOT_FUZZED = /^(POST|PUT|DELETE) \/api\/v2\/(events\/batch|data\/quality\/validate|admin\/|data\/(erase|export)\/)/;

interface Outcome {
  status: number;
  /** What was sent, for the failure message. */
  sent: string;
  body: string;
}

describe('query fuzz on the real stack', () => {
  const kafka = createKafka(cfg.kafka, { clientId: uniqueName('qfuzz-it') });
  const topics = {
    events: uniqueName('qfuzz-events'),
    dlq: uniqueName('qfuzz-dlq'),
    control: uniqueName('qfuzz-control'),
    speedWindows: uniqueName('qfuzz-windows'),
    anomalies: uniqueName('qfuzz-anomalies'),
  };
  const prefix = `${uniqueName('qfuzz-it')}/`;
  const control = new ControlPlane(kafka, createLogger('test'), topics.control);
  const tenants = { a: uniqueName('qa').toLowerCase().replace(/[^a-z0-9_-]/g, '-').slice(0, 60), b: uniqueName('qb').toLowerCase().replace(/[^a-z0-9_-]/g, '-').slice(0, 60) };
  // `after`: tenant B's, untouched by the fuzz (whose thousands of requests may use up tenant A's rate limits)
  const keys = { tenant: '', platform: '', after: '' };
  let api: RunningApi;
  let base: string;
  let port: number;
  let spec: OpenApiRequests;

  beforeAll(async () => {
    await createTopics(kafka, [
      { topic: topics.events, numPartitions: 2 },
      { topic: topics.dlq, numPartitions: 1 },
      { topic: topics.control, numPartitions: 1 },
      { topic: topics.speedWindows, numPartitions: 2, configEntries: [{ name: 'cleanup.policy', value: 'compact' }] },
      { topic: topics.anomalies, numPartitions: 1 },
    ]);
    await control.start();
    await control.putTenants([{ tenant_id: tenants.a }, { tenant_id: tenants.b }]);
    keys.tenant = (await control.createApiKey(tenants.a, ['viewer', 'analyst', 'admin', 'ingest'], 'query fuzz tenant')).apiKey;
    keys.platform = (await control.createApiKey('*', ['viewer', 'analyst', 'admin', 'platform-admin'], 'query fuzz platform')).apiKey;
    keys.after = (await control.createApiKey(tenants.b, ['viewer'], 'query fuzz after')).apiKey;
    api = await startApi(cfg, topics, { lakePrefix: prefix, port: 0 });
    await api.analyticsReady;
    port = (api.server.address() as AddressInfo).port;
    base = `http://127.0.0.1:${port}`;
    const doc = (await (await fetch(`${base}/openapi.json`)).json()) as OpenAPIV3.Document;
    spec = new OpenApiRequests(doc, () => [tenants.a]);
  });

  afterAll(async () => {
    await api?.close();
    await control.stop();
  });

  async function send(method: string, path: string, headers: Record<string, string>, body?: { text: string; type: string; encoding?: string }): Promise<Outcome> {
    const sent = `${method} ${path.slice(0, 300)}${body ? ` body=${body.text.slice(0, 120)} (${body.type}${body.encoding ? `, ${body.encoding}` : ''})` : ''}`;
    try {
      const res = await fetch(`${base}${path}`, {
        method,
        headers: { ...headers, ...(body ? { 'content-type': body.type, ...(body.encoding ? { 'content-encoding': body.encoding } : {}) } : {}) },
        body: body && method !== 'GET' && method !== 'HEAD' ? body.text : undefined,
        signal: AbortSignal.timeout(60_000),
      });
      const text = Buffer.from(await res.arrayBuffer()).toString('utf8');
      return { status: res.status, sent, body: text.slice(0, 2000) };
    } catch (err) {
      // fetch refuses some requests itself (a NUL in a header); those never reached the API
      if (err instanceof TypeError && !/fetch failed/.test(err.message)) return { status: 0, sent, body: '' };
      return { status: -1, sent, body: String((err as Error).cause ?? err) };
    }
  }

  /** Raw bytes on a socket: what no HTTP client library would send. */
  function sendRaw(bytes: string): Promise<Outcome> {
    return new Promise((resolve) => {
      const socket = connect(port, '127.0.0.1');
      let data = '';
      socket.setTimeout(10_000, () => socket.destroy());
      socket.on('data', (d) => (data += d.toString('latin1')));
      socket.on('error', () => undefined);
      socket.on('close', () => {
        const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(data)?.[1] ?? 0);
        resolve({ status, sent: `raw ${JSON.stringify(bytes.slice(0, 120))}`, body: data.slice(0, 500) });
      });
      socket.end(bytes, 'latin1');
    });
  }

  function pick<T>(rnd: () => number, xs: readonly T[]): T {
    return xs[Math.floor(rnd() * xs.length)];
  }

  /** Percent-encoding, except that a lone surrogate goes out as the broken UTF-8 it would be. */
  function enc(v: string): string {
    try {
      return encodeURIComponent(v);
    } catch {
      return v.split('').map((c) => (/[\ud800-\udfff]/.test(c) ? '%ED%A0%80' : encodeURIComponent(c))).join('');
    }
  }

  function queryString(query: Record<string, string>, extra: string[]): string {
    const parts = [...Object.entries(query).map(([k, v]) => `${enc(k)}=${enc(v)}`), ...extra];
    return parts.length ? `?${parts.join('&')}` : '';
  }

  /** One malformed request: a valid one with a few of its parts replaced by hostile ones. */
  function mutate(rnd: () => number, o: Op): () => Promise<Outcome> {
    const good: Req = spec.synthesize(o, tenants.a);
    const key = rnd() < 0.8 ? keys.tenant : keys.platform;
    const headers: Record<string, string> = { 'x-api-key': key };
    const accept = pick(rnd, ACCEPTS);
    if (accept) headers.accept = accept;
    const query = { ...good.query };
    if (key === keys.platform) query.tenant = tenants.a;
    const extra: string[] = [];
    const pathParams: Record<string, string> = {};
    const params = spec.params(o.op);
    const kind = rnd();
    let body: { text: string; type: string; encoding?: string } | undefined = good.body === undefined ? undefined : { text: JSON.stringify(good.body), type: 'application/json' };
    let method = o.method;
    if (kind < 0.55 && params.length > 0) {
      for (let n = 1 + Math.floor(rnd() * 2); n > 0; n--) {
        const p = pick(rnd, params);
        const value = pick(rnd, HOSTILE);
        // path values go through encodeURIComponent in withPath, which a lone surrogate cannot pass
        if (p.in === 'path') pathParams[p.name] = /[\ud800-\udfff]/.test(value) ? '\ufffd' : value;
        else query[p.name] = value;
      }
    } else if (kind < 0.8 && body) {
      const schema = spec.bodySchema(o.op)!;
      const fields = spec.fields(schema);
      if (fields.length > 0 && rnd() < 0.6) {
        const f = pick(rnd, fields);
        const values: unknown[] = [pick(rnd, HOSTILE), null, 1e308, -1, [], {}, [pick(rnd, HOSTILE)], { __proto__: { polluted: 'yes' } }, true, 'x'.repeat(70_000)];
        body = { ...body, text: JSON.stringify(spec.setAt(good.body, schema, f.pointer, pick(rnd, values))) };
      } else {
        body = { ...hostileBody(rnd) };
      }
    } else if (kind < 0.9) {
      // parameters the document does not have, repeated ones, bracket syntax
      extra.push(pick(rnd, ['tenant=' + tenants.b, 'tenant[]=x', '__proto__[polluted]=yes', 'constructor[prototype][polluted]=yes', 'a[b][c][d][e]=1', `unknown=${'x'.repeat(100)}`, 'format=csv&format=json', '=', '&&&', '%zz=1']));
    } else {
      method = pick(rnd, METHODS);
      if (rnd() < 0.5) body = { ...hostileBody(rnd) };
    }
    const path = spec.withPath(o, pathParams) + queryString(query, extra);
    return () => send(method, path, headers, body);
  }

  function rawRequest(rnd: () => number): () => Promise<Outcome> {
    const raws = [
      'GET /api/v2/analytics/realtime/metrics HTTP/1.1\r\nHost: x\r\nx-api-key: \u0000\r\n\r\n',
      `GET /api/v2/analytics/cohort?tenant=${'%'.repeat(50)} HTTP/1.1\r\nHost: x\r\nx-api-key: ${keys.tenant}\r\n\r\n`,
      'POST /api/v2/analytics/query HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999\r\n\r\n{"a":',
      'POST /api/v2/analytics/query HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\nzz\r\n',
      `GET /api/v2/analytics/realtime/metrics HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`,
      'GET /%%%%/../../etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n',
      'BREW /api/v2/analytics/query HTCPCP/1.0\r\n\r\n',
      '\u0016\u0003\u0001\u0002\u0000\u0001\u0000\u0001\u00fc\u0003\u0003',
      `GET /api/v2/analytics/realtime/dashboard HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${'e'.repeat(4000)}.${'e'.repeat(4000)}.x\r\n\r\n`,
      'GET /api/v2/analytics/realtime/stream HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: !!\r\n\r\n',
    ];
    const bytes = pick(rnd, raws);
    return () => sendRaw(bytes);
  }

  test(`${REQUESTS} malformed query requests: no 5xx, no leaks, no pollution, bounded heap`, async () => {
    process.stderr.write(`[query-fuzz] seed ${SEED}, ${REQUESTS} requests (FUZZ_SEED=${SEED} repeats them)\n`);
    const rnd = prng(SEED);
    const ops = spec.ops.filter((o) => o.template.startsWith('/api/v2/') && !NOT_FUZZED.test(`${o.method} ${o.template}`));
    expect(ops.length).toBeGreaterThanOrEqual(12);
    const requests = Array.from({ length: REQUESTS }, () => (rnd() < 0.03 ? rawRequest(rnd) : mutate(rnd, pick(rnd, ops))));
    const prototypeKeysBefore = Object.getOwnPropertyNames(Object.prototype).sort();

    gc();
    const heapBefore = process.memoryUsage().heapUsed;
    const outcomes: Outcome[] = [];
    let next = 0;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < requests.length) outcomes.push(await requests[next++]());
      }),
    );
    // jobs started by queries that happened to be valid finish in the background; let them, then measure
    await new Promise((r) => setTimeout(r, 2000));
    gc();
    const heapGrowthMb = (process.memoryUsage().heapUsed - heapBefore) / 2 ** 20;

    const byStatus: Record<string, number> = {};
    for (const o of outcomes) byStatus[o.status] = (byStatus[o.status] ?? 0) + 1;
    process.stderr.write(`[query-fuzz] statuses ${JSON.stringify(byStatus)}, heap growth ${heapGrowthMb.toFixed(1)} MB\n`);

    expect(outcomes).toHaveLength(REQUESTS);
    const serverErrors = outcomes.filter((o) => o.status >= 500 || o.status === -1);
    expect(serverErrors.slice(0, 5)).toEqual([]);
    // error bodies name fields and reasons, never a stack frame or a file of ours
    const leaks = outcomes.filter((o) => o.status >= 400 && /node_modules|\/work\/|\.ts:\d+|at [\w.<>]+ \(|Error: /.test(o.body));
    expect(leaks.slice(0, 5)).toEqual([]);
    // most requests reached a route and were refused there, not by the socket
    expect(outcomes.filter((o) => o.status >= 400 && o.status < 500).length).toBeGreaterThan(REQUESTS / 2);
    expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(prototypeKeysBefore);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(heapGrowthMb).toBeLessThan(MAX_HEAP_GROWTH_MB);

    // still serving, and still right (for a tenant the fuzz did not rate-limit)
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    const after = await fetch(`${base}/api/v2/analytics/realtime/metrics?minutes=5`, { headers: { 'x-api-key': keys.after } });
    expect(after.status).toBe(200);
    expect(((await after.json()) as { meta?: unknown }).meta).toBeDefined();
  });
});
