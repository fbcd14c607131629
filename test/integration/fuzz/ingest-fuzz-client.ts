// The client side of the ingestion fuzz test (test/integration/ingest-fuzz.integration.test.ts):
// generates malformed requests from a seed, sends them (fetch, or raw sockets for header tricks
// fetch refuses), and keeps the ledger of what the API must have written. It runs in a worker
// thread, so its own CPU work (building megabyte bodies, compressing) never shows in the API's
// event-loop delay, which the test measures on the main thread.
import net from 'node:net';
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { brotliCompressSync, constants as zlibConstants, deflateSync, gzipSync } from 'node:zlib';
import { createHash } from 'node:crypto';
import { readEvent, type RtapEvent } from '../../../core/schema';
import { EventGenerator } from '../../../generator/generator';
import { mulberry32 } from '../../../core/random';

export const BATCH = '/api/v2/events/batch';
const VALIDATE = '/api/v2/data/quality/validate';
// ---------------------------------------------------------------------------------------------
// Deterministic randomness.

let rand = mulberry32(1);
const int = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)];
const chance = (p: number) => rand() < p;
const randomBytes = (n: number) => Buffer.from(Array.from({ length: n }, () => int(0, 255)));

// ---------------------------------------------------------------------------------------------
// Valid material: generated events, the tenants and keys that may send them.

/** The valid events requests are made of (deterministic), and their tenants. */
export function fuzzPool(): { pool: RtapEvent[]; tenants: string[] } {
  const gen = new EventGenerator({ seed: 4242, tenants: 8, users: 400, fraudRate: 0, defectRate: 0, lateRate: 0 });
  const pool = Array.from({ length: 600 }, () => structuredClone(gen.next().event)).filter((e) => readEvent(structuredClone(e)).ok);
  return { pool, tenants: [...new Set(pool.map((e) => e.tenant_id))].sort() };
}

export interface Key {
  key: string;
  /** `*` for the platform key. */
  tenant: string;
  /** The key's public id: what dead letters are filed under (core/dlq.ts `x-rtap-sender-key`). */
  senderId: string;
}

let pool: RtapEvent[] = [];
let byTenant = new Map<string, RtapEvent[]>();
let platform: Key;
let tenantKeys: Key[];
let readOnlyKey: string;
let maxEvents = 200;
let maxBytes = 2 << 20;

type Sender = Key | undefined;

interface Spec {
  kind: string;
  path: string;
  sender: Sender;
  /** Header value of the key, when it differs from sender.key (or no valid sender). */
  keyHeader?: { name: string; value: string };
  headers: Record<string, string>;
  /** Bytes on the wire. */
  body: Buffer;
  /** The body after its Content-Encoding (what a dead letter of the whole body keeps). */
  decoded?: Buffer;
  /** The exact text of each element of `events`, when the body is built from them. */
  eventTexts?: string[];
  /** A raw HTTP request for a socket instead of fetch. */
  raw?: Buffer;
  /**
   * Close our side after writing (a client that gives up). Otherwise the socket stays open until
   * the server answers and closes: a half-close makes Node's server drop the connection, and the
   * answer with it, while the request may still be processed.
   */
  halfClose?: boolean;
}

// ---------------------------------------------------------------------------------------------
// Mutations.

const HUGE_SIZES = [257, 5000, 70_000, 200_000];
const hugeString = () => {
  const n = chance(0.02) ? 1_100_000 : pick(HUGE_SIZES);
  return pick(['x', 'é', '\u0000', '𝕏', '"\\', '\ud800'])
    .repeat(n)
    .slice(0, n);
};
const WRONG_VALUES: (() => unknown)[] = [
  () => null,
  () => 0,
  () => -1,
  () => 1.5,
  () => 2 ** 53 + 1,
  () => 1e308,
  () => '',
  () => 'x',
  () => 'NUL\u0000byte',
  () => '\ud800',
  () => true,
  () => [],
  () => ({}),
  () => [1, 'two', null],
  () => ({ a: { b: { c: 1 } } }),
  () => '__proto__',
  () => 'constructor',
  () => hugeString(),
  () => Array.from({ length: int(1, 50) }, () => ({ product_id: int(0, 9) })),
];
const ID_PATHS = [
  ['tenant_id'],
  ['partition_key'],
  ['schema_version'],
  ['event_metadata', 'event_id'],
  ['event_metadata', 'correlation_id'],
  ['event_metadata', 'causation_id'],
  ['event_metadata', 'timestamp'],
  ['event_data', 'event_type'],
  ['event_data', 'event_subtype'],
  ['event_data', 'user_context', 'user_id'],
  ['event_data', 'user_context', 'anonymous_id'],
  ['event_data', 'user_context', 'session_data', 'session_id'],
];

/** Every path of a value, iteratively. */
function allPaths(root: unknown): (string | number)[][] {
  const out: (string | number)[][] = [];
  const pending: [unknown, (string | number)[]][] = [[root, []]];
  while (pending.length > 0) {
    const [node, path] = pending.pop()!;
    if (path.length > 0) out.push(path);
    if (node !== null && typeof node === 'object') {
      for (const [k, v] of Array.isArray(node) ? node.map((x: unknown, i) => [i, x] as const) : Object.entries(node)) pending.push([v, [...path, k]]);
    }
  }
  return out;
}

function setAt(root: unknown, path: (string | number)[], value: unknown): void {
  let node = root as Record<string | number, unknown>;
  for (const k of path.slice(0, -1)) {
    if (node[k] === null || typeof node[k] !== 'object') node[k] = {};
    node = node[k] as Record<string | number, unknown>;
  }
  Object.defineProperty(node, path[path.length - 1], { value, enumerable: true, writable: true, configurable: true });
}

function deleteAt(root: unknown, path: (string | number)[]): void {
  let node = root as Record<string | number, unknown>;
  for (const k of path.slice(0, -1)) node = node[k] as Record<string | number, unknown>;
  if (Array.isArray(node)) node.splice(Number(path[path.length - 1]), 1);
  else delete node[path[path.length - 1]];
}

const PLACEHOLDER = '"__FUZZ_PLACEHOLDER__"';
const deepText = (depth: number) => {
  const [open, close] = pick([
    ['[', ']'],
    ['{"a":', '}'],
    ['[{"k":', '}]'],
  ]);
  const inner = open === '[{"k":' ? Math.ceil(depth / 2) : depth;
  return `${open.repeat(inner)}${open === '[' ? '' : '1'}${close.repeat(inner)}`;
};
const hugeArrayText = () => {
  const n = pick([1001, 4097, 10_001, 20_001]);
  const item = pick(['0', '"s"', '{}', 'null', '1e400']);
  return `[${new Array<string>(n).fill(item).join(',')}]`;
};

/** One event's text: valid, or broken in one of many ways. */
function eventText(base: RtapEvent): { text: string; kind: string } {
  const event = structuredClone(base) as unknown;
  const roll = rand();
  if (roll < 0.35) return { text: JSON.stringify(event), kind: 'valid' };
  if (roll < 0.55) {
    const paths = allPaths(event);
    const path = pick(paths);
    if (chance(0.2)) deleteAt(event, path);
    else setAt(event, path, pick(WRONG_VALUES)());
    return { text: JSON.stringify(event), kind: 'wrong_type' };
  }
  if (roll < 0.65) {
    setAt(event, pick(ID_PATHS), chance(0.7) ? hugeString() : pick(WRONG_VALUES)());
    return { text: JSON.stringify(event), kind: 'huge_id' };
  }
  if (roll < 0.72) {
    const text = JSON.stringify(event);
    const numbers = [...text.matchAll(/:(-?\d+(?:\.\d+)?)(?=[,}\]])/g)];
    if (numbers.length === 0) return { text: text.replace(/^\{/, '{"n":1e400,'), kind: 'overflow' };
    const m = pick(numbers);
    return { text: `${text.slice(0, m.index + 1)}${pick(['1e400', '-1e400', '1e-400', '123456789e999'])}${text.slice(m.index + m[0].length)}`, kind: 'overflow' };
  }
  if (roll < 0.8) {
    const objects = allPaths(event).filter((p) => {
      let node = event as Record<string | number, unknown>;
      for (const k of p) node = node[k] as Record<string | number, unknown>;
      return node !== null && typeof node === 'object' && !Array.isArray(node);
    });
    setAt(event, [...(objects.length > 0 && chance(0.7) ? pick(objects) : []), 'fuzz'], '__FUZZ_PLACEHOLDER__');
    const payload = chance(0.5) ? deepText(pick([62, 63, 64, 65, 66, 100, 10_000, 100_000])) : hugeArrayText();
    return { text: JSON.stringify(event).replace(PLACEHOLDER, payload), kind: payload.length > 50_000 && payload.startsWith('[0') ? 'huge_array' : 'deep' };
  }
  if (roll < 0.88) {
    const key = pick(['__proto__', 'constructor', 'prototype', 'hasOwnProperty', 'toString', '__defineGetter__']);
    const text = JSON.stringify(event);
    const at = pick([...text.matchAll(/\{"/g)].map((m) => m.index));
    return { text: `${text.slice(0, at + 1)}"${key}":${pick(['{"polluted":true}', 'null', '1', '"x"', '[]'])},${text.slice(at + 1)}`, kind: 'prototype_key' };
  }
  if (roll < 0.94) {
    const text = JSON.stringify(event);
    return { text: text.replace(/"([a-z_]+)":"/, `"$1":"\\u0000${'\\u0000'.repeat(int(0, 50))}`), kind: 'nul' };
  }
  return { text: JSON.stringify(pick<unknown>([null, 42, 'text', [], [base], { schema_version: 7 }, {}, true])), kind: 'not_event' };
}

function eventsFor(sender: Sender): RtapEvent[] {
  const n = chance(0.1) ? int(20, 60) : int(1, 8);
  const own = sender && sender.tenant !== '*' ? byTenant.get(sender.tenant)! : pool;
  return Array.from({ length: n }, () => (chance(0.9) ? pick(own) : pick(pool)));
}

const CONTENT_TYPES_BAD = ['text/plain', 'text/json', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=zz', 'application/xml', 'application/jsonp', 'json', '*/*', 'application/*', ';', '\u00e9'];
const CONTENT_TYPES_OK = ['application/json', 'application/json; charset=utf-8', 'APPLICATION/JSON;CHARSET=UTF-8', 'application/cloudevents-batch+json'];

function senderFor(): Sender {
  return chance(0.4) ? platform : pick(tenantKeys);
}

/** A request body built from event texts, so the exact bytes of each event are known. */
function envelopeBody(texts: string[]): string {
  return `{"events":[${texts.join(',')}]}`;
}

function nextSpec(): Spec {
  const sender = senderFor();
  const path = chance(0.1) ? VALIDATE : BATCH;
  const spec = (kind: string, body: Buffer, extra: Partial<Spec> = {}): Spec => ({
    kind,
    path,
    sender,
    headers: { 'content-type': pick(CONTENT_TYPES_OK) },
    body,
    decoded: body,
    ...extra,
  });
  const roll = rand();
  if (roll < 0.55) {
    const parts = eventsFor(sender).map(eventText);
    const texts = parts.map((p) => p.text);
    const body = Buffer.from(envelopeBody(texts));
    if (body.length > maxBytes) return spec('too_large', body);
    const kinds = [...new Set(parts.map((p) => p.kind))].filter((k) => k !== 'valid');
    return spec(kinds.length > 0 ? pick(kinds) : 'valid', body, { eventTexts: texts.map((t) => Buffer.from(t).toString('utf8')) });
  }
  if (roll < 0.6) return spec('random_bytes', randomBytes(int(1, 4000)));
  if (roll < 0.66) {
    const text = envelopeBody(eventsFor(sender).map((e) => JSON.stringify(e)));
    return spec('truncated', Buffer.from(text.slice(0, int(1, text.length - 1))));
  }
  if (roll < 0.7) {
    const texts = eventsFor(sender).map((e) => JSON.stringify(e));
    return spec('wrong_content_type', Buffer.from(envelopeBody(texts)), { headers: { 'content-type': pick(CONTENT_TYPES_BAD) }, eventTexts: texts });
  }
  if (roll < 0.74) {
    const texts = eventsFor(sender).map((e) => JSON.stringify(e));
    const plain = Buffer.from(envelopeBody(texts));
    const [encoding, body] = pick<[string, Buffer]>([
      ['gzip', gzipSync(plain)],
      ['deflate', deflateSync(plain)],
      ['br', brotliCompressSync(plain, { params: { [zlibConstants.BROTLI_PARAM_QUALITY]: 4 } })],
      ['gzip', randomBytes(int(1, 500))],
      ['gzip', gzipSync(plain).subarray(0, int(1, 30))],
      ['deflate', plain],
      ['br', plain],
      ['compress', plain],
      ['gzip, identity', plain],
      ['x-unknown', plain],
      ['identity', plain],
    ]);
    const decodes = encoding === 'identity' || ((encoding === 'gzip' || encoding === 'deflate' || encoding === 'br') && body !== plain && body.length > 30);
    return spec('encoding', body, { headers: { 'content-type': 'application/json', 'content-encoding': encoding }, decoded: decodes ? plain : undefined, eventTexts: texts });
  }
  if (roll < 0.8) {
    const valid = JSON.stringify(pick(pool));
    const body = pick([
      '[]',
      'null',
      '42',
      '"events"',
      '{}',
      '{"events": null}',
      '{"events": {}}',
      '{"events": []}',
      `{"__proto__": {"events": [${valid}]}}`,
      `{"constructor": {"events": [${valid}]}}`,
      `[${valid}]`,
      `{"events": "${'x'.repeat(1000)}"}`,
      `{"events": [${valid}], "extra": ${deepText(int(70, 5000))}}`,
      `${'['.repeat(200_000)}${']'.repeat(200_000)}`,
      `{"events": [${new Array<string>(maxEvents + 1).fill('{}').join(',')}]}`,
      `{"events": [${valid}]}${'\u0000'.repeat(10)}`,
      `\ufeff{"events": [${valid}]}`,
      '',
    ]);
    const texts = body === `{"events": [${valid}]}` || body === `\ufeff{"events": [${valid}]}` ? [valid] : undefined;
    return spec('envelope', Buffer.from(body), { eventTexts: texts });
  }
  if (roll < 0.86) {
    const texts = eventsFor(sender).map((e) => JSON.stringify(e));
    const body = Buffer.from(envelopeBody(texts));
    const auth = pick<{ name: string; value: string } | undefined>([
      undefined,
      { name: 'x-api-key', value: 'rtap_not-a-key' },
      { name: 'x-api-key', value: readOnlyKey },
      { name: 'authorization', value: `Bearer ${sender!.key}` },
      { name: 'authorization', value: `Basic ${sender!.key}` },
      { name: 'x-api-key', value: 'k'.repeat(8000) },
      { name: 'x-api-key', value: `${sender!.key}\u00e9` },
    ]);
    const authenticated = auth?.name === 'authorization' && auth.value.startsWith('Bearer');
    return spec('auth', body, { sender: authenticated ? sender : undefined, keyHeader: auth ?? { name: 'x-ignored', value: '' }, eventTexts: texts });
  }
  if (roll < 0.89) {
    // Too many events and too many bytes.
    const texts = Array.from({ length: chance(0.5) ? maxEvents + 1 : 40 }, () => JSON.stringify({ ...pick(pool), pad: chance(0.5) ? 'p'.repeat(60_000) : undefined }));
    return spec('limits', Buffer.from(envelopeBody(texts)), { eventTexts: texts });
  }
  return rawSpec(sender, path);
}

/** Hostile HTTP on a raw socket: header tricks fetch refuses to send. */
function rawSpec(sender: Sender, path: string): Spec {
  const texts = eventsFor(sender).map((e) => JSON.stringify(e));
  const body = Buffer.from(envelopeBody(texts));
  const key = sender!.key;
  const head = (lines: string[]) => Buffer.concat([Buffer.from(`POST ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n${lines.join('\r\n')}\r\n\r\n`, 'latin1'), body]);
  const cl = `Content-Length: ${body.length}`;
  const chunked = Buffer.concat([
    Buffer.from(`POST ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nx-api-key: ${key}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n${body.length.toString(16)}\r\n`, 'latin1'),
    body,
    Buffer.from('\r\n0\r\n\r\n'),
  ]);
  const [kind, raw, tracked] = pick<[string, Buffer, boolean]>([
    ['nul_header', head([`x-api-key: ${key}\u0000`, cl]), false],
    ['huge_header', head([`x-api-key: ${key}`, `X-Big: ${'a'.repeat(20_000)}`, cl]), false],
    ['two_lengths', head([`x-api-key: ${key}`, cl, `Content-Length: ${body.length + 1}`]), false],
    ['bad_length', head([`x-api-key: ${key}`, 'Content-Length: -1']), false],
    ['te_and_cl', head([`x-api-key: ${key}`, 'Transfer-Encoding: chunked', cl]), false],
    ['te_junk', head([`x-api-key: ${key}`, 'Transfer-Encoding: junk']), false],
    ['bad_header_name', head([`x-api-key: ${key}`, 'X Bad: 1', cl]), false],
    ['latin1_key', head(['x-api-key: \u00e9\u00ff', cl]), false],
    ['long_url', Buffer.from(`POST ${path}?${'q'.repeat(100_000)} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`), false],
    ['garbage', randomBytes(int(1, 300)), false],
    ['bad_version', Buffer.from(`POST ${path} HTTP/7.0\r\nHost: x\r\n\r\n`), false],
    ['chunked', chunked, true],
    ['expect_continue', head([`x-api-key: ${key}`, 'Content-Type: application/json', 'Expect: 100-continue', cl]), true],
    ['duplicate_content_type', head([`x-api-key: ${key}`, 'Content-Type: application/json', 'Content-Type: text/plain', cl]), true],
    ['short_body', head([`x-api-key: ${key}`, 'Content-Type: application/json', `Content-Length: ${body.length + 100}`]), false],
  ]);
  return { kind: `raw_${kind}`, path, sender: tracked ? sender : undefined, headers: {}, body, decoded: body, eventTexts: texts, raw, halfClose: kind === 'short_body' };
}

// ---------------------------------------------------------------------------------------------
// Sending and accounting.

interface Answer {
  status: number;
  body?: Record<string, unknown>;
}

async function sendFetch(base: string, spec: Spec): Promise<Answer> {
  const headers: Record<string, string> = { ...spec.headers };
  if (spec.keyHeader) {
    if (spec.keyHeader.name !== 'x-ignored') headers[spec.keyHeader.name] = spec.keyHeader.value;
  } else if (spec.sender) headers['x-api-key'] = spec.sender.key;
  const res = await fetch(`${base}${spec.path}`, { method: 'POST', headers, body: spec.body });
  const text = await res.text();
  let body: Record<string, unknown> | undefined;
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    body = undefined;
  }
  return { status: res.status, body };
}

function sendRaw(port: number, raw: Buffer, halfClose: boolean): Promise<Answer | undefined> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => socket.destroy(), halfClose ? 5000 : 30_000);
    socket.on('data', (d) => chunks.push(d));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      let text = Buffer.concat(chunks).toString('utf8');
      while (text.startsWith('HTTP/1.1 100')) text = text.slice(text.indexOf('\r\n\r\n') + 4);
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(text);
      if (!m) return resolve(undefined);
      const bodyText = text.slice(text.indexOf('\r\n\r\n') + 4);
      let body: Record<string, unknown> | undefined;
      try {
        body = JSON.parse(bodyText) as Record<string, unknown>;
      } catch {
        body = undefined;
      }
      resolve({ status: Number(m[1]), body });
    });
    if (halfClose) socket.end(raw);
    else socket.write(raw);
  });
}

export const digest = (s: string) => createHash('sha256').update(s).digest('hex');
export const letterKey = (tenant: string | undefined, senderId: string | undefined, payload: string) => `${tenant}|${senderId}|${digest(payload)}`;

class Ledger {
  readonly events = new Map<string, number>();
  readonly letters = new Map<string, number>();
  readonly untracked: string[] = [];
  private add(map: Map<string, number>, key: string) {
    map.set(key, (map.get(key) ?? 0) + 1);
  }

  record(spec: Spec, answer: Answer): void {
    if (spec.path !== BATCH || !answer.body) return;
    const results = answer.body.results as { index: number; status: string; event_id?: string }[] | undefined;
    const error = answer.body.error as string | undefined;
    if ([200, 207, 422].includes(answer.status) && Array.isArray(results)) {
      if (!spec.sender || !spec.eventTexts) return void this.untracked.push(`${spec.kind}: ${answer.status} with results, but the request was not expected to be read`);
      for (const r of results) {
        const text = spec.eventTexts[r.index];
        if (r.status === 'accepted') {
          const e = JSON.parse(text) as RtapEvent;
          this.add(this.events, `${e.tenant_id}|${e.event_metadata.event_id}`);
        } else {
          this.add(this.letters, letterKey(spec.sender.tenant, spec.sender.senderId, text));
        }
      }
    } else if (answer.status === 400 && (error === 'malformed_json' || error === 'structure_invalid')) {
      if (!spec.sender || !spec.decoded) return void this.untracked.push(`${spec.kind}: ${error} for a body that was not expected to be read`);
      this.add(this.letters, letterKey(spec.sender.tenant, spec.sender.senderId, spec.decoded.toString('utf8')));
    }
  }
}


export interface ClientOptions {
  base: string;
  seed: number;
  requests: number;
  concurrency: number;
  maxEvents: number;
  maxBytes: number;
  platform: Key;
  tenantKeys: Key[];
  readOnlyKey: string;
}

export interface ClientResult {
  elapsedMs: number;
  statuses: [number, number][];
  kinds: [string, number][];
  failures: string[];
  untracked: string[];
  noAnswer: number;
  events: [string, number][];
  letters: [string, number][];
}

/** Sends `requests` generated requests, `concurrency` at a time; the same seed sends the same requests. */
export async function runFuzzClient(o: ClientOptions): Promise<ClientResult> {
  rand = mulberry32(o.seed);
  pool = fuzzPool().pool;
  byTenant = new Map<string, RtapEvent[]>();
  for (const e of pool) byTenant.set(e.tenant_id, [...(byTenant.get(e.tenant_id) ?? []), e]);
  platform = o.platform;
  tenantKeys = o.tenantKeys;
  readOnlyKey = o.readOnlyKey;
  maxEvents = o.maxEvents;
  maxBytes = o.maxBytes;
  const port = Number(new URL(o.base).port);
  const ledger = new Ledger();
  const statuses = new Map<number, number>();
  const kinds = new Map<string, number>();
  const failures: string[] = [];
  let noAnswer = 0;
  const started = performance.now();
  let next = 0;
  const worker = async () => {
    while (next < o.requests) {
      const n = next++;
      const spec = nextSpec();
      kinds.set(spec.kind, (kinds.get(spec.kind) ?? 0) + 1);
      let answer: Answer | undefined;
      try {
        answer = spec.raw ? await sendRaw(port, spec.raw, spec.halfClose ?? false) : await sendFetch(o.base, spec);
      } catch (err) {
        failures.push(`#${n} ${spec.kind}: no answer (${(err as Error).message})`);
        continue;
      }
      if (!answer) {
        // Allowed only where Node's HTTP parser may just close (garbage, a client that gave up);
        // a well-formed request that was read must be answered.
        if (spec.sender) failures.push(`#${n} ${spec.kind}: the connection closed without an answer`);
        noAnswer += 1;
        continue;
      }
      statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
      if (answer.status >= 500) failures.push(`#${n} ${spec.kind}: ${answer.status} ${JSON.stringify(answer.body)?.slice(0, 300)}`);
      ledger.record(spec, answer);
    }
  };
  await Promise.all(Array.from({ length: o.concurrency }, worker));
  return {
    elapsedMs: performance.now() - started,
    statuses: [...statuses],
    kinds: [...kinds],
    failures,
    untracked: ledger.untracked,
    noAnswer,
    events: [...ledger.events],
    letters: [...ledger.letters],
  };
}

// In a worker thread started by the test: load, say ready, run on "go", post the result.
if (!isMainThread && (workerData as { fuzz?: ClientOptions } | undefined)?.fuzz) {
  const options = (workerData as { fuzz: ClientOptions }).fuzz;
  fuzzPool();
  parentPort!.once('message', () => {
    runFuzzClient(options).then(
      (result) => parentPort!.postMessage({ result }),
      (err: unknown) => parentPort!.postMessage({ error: String((err as Error)?.stack ?? err) }),
    );
  });
  parentPort!.postMessage({ ready: true });
}
