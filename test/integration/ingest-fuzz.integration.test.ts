// Fuzzing the ingestion API from outside, on the real stack: thousands of generated malformed
// requests (random bytes, truncated JSON, wrong media types and encodings, huge strings in every id
// field, deep nesting, wrong types at random paths of valid events, huge arrays, prototype keys, NUL
// bytes, 1e400, hostile headers on raw sockets; see fuzz/ingest-fuzz-client.ts). Asserted: no 5xx,
// no event-loop stall over 100 ms in the API (it runs on this thread; the client runs in a worker
// thread so its own work is not counted; see the stall assertion for how a busy machine's
// scheduling delay is told apart), bounded heap growth, and exact accounting — every event
// answered "accepted" is in `events`, every rejected one (and every unreadable body) is in
// `events.dlq` filed under the key that sent it, and nothing else was written.
//
// Short form in CI (2,000 requests). Longer: FUZZ_REQUESTS=50000 (`npm run fuzz`). The seed is
// printed; FUZZ_SEED=<seed> sends the same requests again.
import { readFileSync } from 'node:fs';
import { monitorEventLoopDelay, performance, PerformanceObserver } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Worker } from 'node:worker_threads';
import { logLevel, type Kafka } from 'kafkajs';
import { keyIdOf } from '../../core/control';
import { DLQ_HEADERS } from '../../core/dlq';
import { EVENT_TOPIC_MAX_MESSAGE_BYTES, createKafka, headerString } from '../../core/kafka';
import type { RtapEvent } from '../../core/schema';
import { startIngestApi, type ApiHarness } from './api-harness';
import { fuzzPool, letterKey, type ClientOptions, type ClientResult, type Key } from './fuzz/ingest-fuzz-client';
import { cfg, uniqueName } from './helpers';

const REQUESTS = Number(process.env.FUZZ_REQUESTS ?? 2000);
const SEED = Number(process.env.FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
const CONCURRENCY = Number(process.env.FUZZ_CONCURRENCY ?? 4);
const MAX_STALL_MS = Number(process.env.FUZZ_MAX_STALL_MS ?? 100);
const MAX_HEAP_GROWTH_MB = Number(process.env.FUZZ_MAX_HEAP_GROWTH_MB ?? 64);
const MAX_EVENTS = 200;
const MAX_BYTES = 2 << 20;

jest.setTimeout(Math.max(300_000, REQUESTS * 150));

/**
 * Starts the client in a worker thread (TypeScript through tsx's require hook). `ready` resolves
 * once it has loaded and built its events; `run()` then sends the requests and resolves with the result.
 */
function startClient(options: ClientOptions): { ready: Promise<void>; run: () => Promise<ClientResult> } {
  const bootstrap = `require(${JSON.stringify(require.resolve('tsx/cjs/api'))}).register(); require(${JSON.stringify(require.resolve('./fuzz/ingest-fuzz-client.ts'))});`;
  const worker = new Worker(bootstrap, { eval: true, workerData: { fuzz: options } });
  let ready!: () => void;
  let done!: (r: ClientResult) => void;
  let fail!: (err: unknown) => void;
  const readyP = new Promise<void>((resolve) => (ready = resolve));
  const doneP = new Promise<ClientResult>((resolve, reject) => ((done = resolve), (fail = reject)));
  worker.on('message', (m: { ready?: boolean; result?: ClientResult; error?: string }) => {
    if (m.ready) return ready();
    void worker.terminate();
    if (m.result) done(m.result);
    else fail(new Error(`fuzz client failed: ${m.error}`));
  });
  worker.once('error', (err) => {
    fail(err);
    ready();
  });
  return {
    ready: readyP,
    run: () => {
      worker.postMessage('go');
      return doneP;
    },
  };
}

/**
 * A control thread in this process that does light, short work (1 ms every 10 ms) and measures its
 * own event-loop delay while the fuzz runs: the scheduling noise of the machine at that moment
 * (on a shared 2-core machine an idle process alone can see 100 ms). The API's stall is judged
 * beyond that noise.
 */
function startControl(): { stop: () => Promise<{ max: number; p99: number }> } {
  const code = `
    const { parentPort } = require('node:worker_threads');
    const { monitorEventLoopDelay, performance } = require('node:perf_hooks');
    const h = monitorEventLoopDelay({ resolution: 10 });
    h.enable();
    let stop = false;
    parentPort.once('message', () => (stop = true));
    const tick = () => {
      const t = performance.now();
      while (performance.now() - t < 1);
      if (!stop) return setTimeout(tick, 10);
      h.disable();
      parentPort.postMessage({ max: h.max / 1e6, p99: h.percentile(99) / 1e6 });
    };
    tick();`;
  const worker = new Worker(code, { eval: true });
  return {
    stop: () =>
      new Promise((resolve, reject) => {
        worker.once('message', (m: { max: number; p99: number }) => {
          void worker.terminate();
          resolve(m);
        });
        worker.once('error', reject);
        worker.postMessage('stop');
      }),
  };
}

/**
 * The event loop's stalls measured in CPU time of this (the API's) thread, from Linux's per-thread
 * scheduler statistics: a timer every 10 ms reads the thread's on-CPU nanoseconds, and the CPU
 * spent between two ticks beyond the 10 ms is work that held the loop. Unlike wall-clock delay, it
 * does not count the time the machine left the thread waiting for a core. Undefined off Linux.
 */
function startCpuStallMeter(): { stop: () => number | undefined } {
  const file = `/proc/${process.pid}/task/${process.pid}/schedstat`;
  const cpuNs = () => Number(readFileSync(file, 'utf8').split(' ')[0]);
  try {
    cpuNs();
  } catch {
    return { stop: () => undefined };
  }
  let last = cpuNs();
  let max = 0;
  const timer = setInterval(() => {
    const now = cpuNs();
    max = Math.max(max, (now - last) / 1e6 - 10);
    last = now;
  }, 10);
  return {
    stop: () => {
      clearInterval(timer);
      return Math.max(0, max);
    },
  };
}

/** Counts of a topic's messages by `keyOf`, read to its end (everything answered was acknowledged before the answer). */
async function countTopic(kafka: Kafka, topic: string, keyOf: (value: Buffer, headers: Record<string, unknown>) => string): Promise<Map<string, number>> {
  const admin = kafka.admin();
  await admin.connect();
  const ends = await admin.fetchTopicOffsets(topic).finally(() => admin.disconnect());
  const remaining = new Map(ends.filter((e) => BigInt(e.high) > BigInt(e.low)).map((e) => [e.partition, BigInt(e.high)]));
  const counts = new Map<string, number>();
  if (remaining.size === 0) return counts;
  const consumer = kafka.consumer({ groupId: uniqueName('fuzz-reader'), maxWaitTimeInMs: 200, maxBytes: 64 << 20, maxBytesPerPartition: 32 << 20 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`reading ${topic} timed out`)), 120_000);
    consumer
      .run({
        eachMessage: async ({ partition, message }) => {
          const key = keyOf(message.value ?? Buffer.alloc(0), (message.headers ?? {}) as Record<string, unknown>);
          counts.set(key, (counts.get(key) ?? 0) + 1);
          if (BigInt(message.offset) + 1n >= (remaining.get(partition) ?? 0n)) {
            remaining.delete(partition);
            if (remaining.size === 0) {
              clearTimeout(timer);
              resolve();
            }
          }
        },
      })
      .catch(reject);
  });
  await consumer.disconnect();
  return counts;
}

function diff(expected: Map<string, number>, actual: Map<string, number>): string[] {
  const out: string[] = [];
  for (const k of new Set([...expected.keys(), ...actual.keys()])) {
    if ((expected.get(k) ?? 0) !== (actual.get(k) ?? 0)) out.push(`${k.slice(0, 120)}: expected ${expected.get(k) ?? 0}, found ${actual.get(k) ?? 0}`);
  }
  return out;
}

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const heapAfterGc = () => {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
};

/**
 * Collects until the heap stops shrinking. Jest runs every suite in this one process: what earlier
 * suites leave behind is released over the next moments (sockets and timers closing), and a major
 * collection of it during the run would be charged to the API as a stall it did not cause.
 */
async function settledHeap(): Promise<number> {
  let heap = heapAfterGc();
  for (let i = 0; i < 30; i++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    const next = heapAfterGc();
    if (heap - next < 2 * 2 ** 20) return next;
    heap = next;
  }
  return heap;
}

const topics = { events: uniqueName('fuzz-events'), dlq: uniqueName('fuzz-dlq'), control: uniqueName('fuzz-control') };
let kafka: Kafka;
let api: ApiHarness;
let keys: Pick<ClientOptions, 'platform' | 'tenantKeys' | 'readOnlyKey'>;

beforeAll(async () => {
  process.stderr.write(`ingest fuzz: seed ${SEED}, ${REQUESTS} requests — reproduce with FUZZ_SEED=${SEED} FUZZ_REQUESTS=${REQUESTS}\n`);
  kafka = createKafka(cfg.kafka, { logLevel: logLevel.NOTHING });
  // The topics as production has them (16 MiB messages), created before the harness would.
  const admin = kafka.admin();
  await admin.connect();
  const maxBytes = [{ name: 'max.message.bytes', value: String(EVENT_TOPIC_MAX_MESSAGE_BYTES) }];
  await admin
    .createTopics({
      topics: [
        { topic: topics.events, numPartitions: 3, configEntries: maxBytes },
        { topic: topics.dlq, numPartitions: 1, configEntries: maxBytes },
        { topic: topics.control, numPartitions: 1 },
      ],
      waitForLeaders: true,
    })
    .finally(() => admin.disconnect());
  api = await startIngestApi({ kafka, cfg, topics, ingest: { maxEventsPerRequest: MAX_EVENTS, maxRequestBytes: MAX_BYTES } });
  const { tenants } = fuzzPool();
  await api.control.putTenants(tenants.map((tenant_id) => ({ tenant_id })));
  const make = async (tenant: string): Promise<Key> => {
    const { apiKey, record } = await api.control.createApiKey(tenant, ['ingest'], `fuzz ${tenant}`);
    return { key: apiKey, tenant, senderId: keyIdOf(record) };
  };
  keys = {
    platform: await make('*'),
    tenantKeys: await Promise.all(tenants.slice(0, 3).map(make)),
    readOnlyKey: (await api.control.createApiKey(tenants[0], ['viewer', 'analyst'], 'fuzz read only')).apiKey,
  };
  // Warm up (the validators compile) before anything is measured; validation writes nothing.
  const warm = await fetch(`${api.base}/api/v2/data/quality/validate`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': keys.platform.key },
    body: JSON.stringify({ events: [{}] }),
  });
  expect(warm.status).toBe(200);
});

afterAll(async () => {
  await api?.close();
  // The long form writes gigabytes of dead letters: leave nothing behind.
  const admin = kafka.admin();
  await admin.connect();
  await admin.deleteTopics({ topics: Object.values(topics) }).catch(() => undefined);
  await admin.disconnect();
});

test(`fuzz: ${REQUESTS} malformed requests → no 5xx, no event-loop stall, bounded heap, every event accounted for`, async () => {
  const client = startClient({ base: api.base, seed: SEED, requests: REQUESTS, concurrency: CONCURRENCY, maxEvents: MAX_EVENTS, maxBytes: MAX_BYTES, ...keys });
  await client.ready;
  const heapBefore = await settledHeap();
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  const control = startControl();
  const cpuMeter = startCpuStallMeter();
  // Reported beside the stall, so a stall that is one long collection says so.
  let maxGcPauseMs = 0;
  const gcObserver = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) maxGcPauseMs = Math.max(maxGcPauseMs, e.duration);
  });
  gcObserver.observe({ entryTypes: ['gc'] });
  const eluBefore = performance.eventLoopUtilization();
  const result = await client.run();
  const elu = performance.eventLoopUtilization(eluBefore);
  const cpuStallMs = cpuMeter.stop();
  gcObserver.disconnect();
  loop.disable();
  const noise = await control.stop();
  const heapGrowthMb = (heapAfterGc() - heapBefore) / 2 ** 20;
  const maxStallMs = loop.max / 1e6;

  const statuses = new Map(result.statuses);
  const events = new Map(result.events);
  const letters = new Map(result.letters);
  const count = (pred: (s: number) => boolean) => [...statuses].filter(([s]) => pred(s)).reduce((n, [, c]) => n + c, 0);
  const figures = {
    seed: SEED,
    requests: REQUESTS,
    elapsed_s: Number((result.elapsedMs / 1000).toFixed(1)),
    status_2xx: count((s) => s < 300),
    status_4xx: count((s) => s >= 400 && s < 500),
    status_5xx: count((s) => s >= 500),
    raw_closed_without_answer: result.noAnswer,
    statuses: Object.fromEntries([...statuses].sort(([a], [b]) => a - b)),
    event_loop_delay_ms: { max: Number(maxStallMs.toFixed(1)), p99: Number((loop.percentile(99) / 1e6).toFixed(1)), mean: Number((loop.mean / 1e6).toFixed(1)) },
    event_loop_stall_cpu_ms: cpuStallMs === undefined ? 'n/a' : Number(cpuStallMs.toFixed(1)),
    max_gc_pause_ms: Number(maxGcPauseMs.toFixed(1)),
    control_thread_delay_ms: { max: Number(noise.max.toFixed(1)), p99: Number(noise.p99.toFixed(1)) },
    api_event_loop_utilization: Number(elu.utilization.toFixed(2)),
    heap_growth_mb: Number(heapGrowthMb.toFixed(1)),
    accepted_events: [...events.values()].reduce((a, b) => a + b, 0),
    dead_letters: [...letters.values()].reduce((a, b) => a + b, 0),
    kinds: Object.fromEntries([...result.kinds].sort(([, a], [, b]) => b - a)),
  };
  process.stderr.write(`ingest fuzz figures: ${JSON.stringify(figures, null, 2)}\n`);

  expect(result.failures.slice(0, 20)).toEqual([]);
  expect(result.untracked.slice(0, 20)).toEqual([]);
  // No stall over 100 ms: in CPU time of the API's thread always (what our code holds the loop
  // for, whatever else runs on the machine), and in wall-clock time too when the machine is quiet
  // enough to measure it (the control thread saw under 25 ms of scheduling delay: on a shared
  // 2-core machine under load, a thread waits hundreds of ms for a core whatever it runs). Off
  // Linux, wall-clock delay beyond the control thread's.
  if (cpuStallMs !== undefined) {
    expect(cpuStallMs).toBeLessThan(MAX_STALL_MS);
    if (noise.max < 25) expect(maxStallMs).toBeLessThan(MAX_STALL_MS);
  } else {
    expect(maxStallMs).toBeLessThan(MAX_STALL_MS + noise.max);
  }
  expect(heapGrowthMb).toBeLessThan(MAX_HEAP_GROWTH_MB);

  // Exact accounting against Kafka.
  const written = await countTopic(kafka, topics.events, (value) => {
    const e = JSON.parse(value.toString('utf8')) as RtapEvent;
    return `${e.tenant_id}|${e.event_metadata.event_id}`;
  });
  expect(diff(events, written).slice(0, 20)).toEqual([]);
  const kept = await countTopic(kafka, topics.dlq, (value, headers) =>
    letterKey(headerString(headers as never, DLQ_HEADERS.tenant), headerString(headers as never, DLQ_HEADERS.senderKey), value.toString('utf8')),
  );
  expect(diff(letters, kept).slice(0, 20)).toEqual([]);
});
