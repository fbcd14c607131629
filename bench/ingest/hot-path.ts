// CPU per event of each stage of POST /api/v2/events/batch, measured in one process without HTTP
// or a broker: the stages the API runs for every accepted event, timed alone on the same
// generator events, so "where the time went" does not depend on what else shares the machine.
// The whole ingest step is timed too, as a check that the stages add up. Prints µs of CPU per
// event (process.cpuUsage, all threads: GC helpers included). Runs with the young generation
// the API's workers get (serving/cluster.ts): what a step costs depends on it through GC.
//   npx tsx bench/ingest/hot-path.ts [batches=40] [batch=500]
import '../../scripts/quiet-warnings.cjs';
import { spawnSync } from 'node:child_process';
import type { Message } from 'kafkajs';
import type { ApiKeyRecord } from '../../core/control';
import { createIngestStep } from '../../core/ingest-step';
import { checkStructure, scanDepth } from '../../core/json-guard';
import { crc32cJs, crc32cNative } from '../../core/kafka-crc32c';
import { installKafkajsFastPath } from '../../core/kafkajs-fast-path';
import { encodeRecord, type RecordInput } from '../../core/kafka-record';
import { createKeyring, tokenizeEvent } from '../../core/pii';
import { readEvent, validateEvent, type RtapEvent } from '../../core/schema';
import { encodeLakeHeader } from '../../core/lake-record';
import { encodeSpeedHeader, encodeValidSpeedHeader } from '../../core/speed-record';
import { EventGenerator } from '../../generator/generator';
import { childExecArgv } from '../../core/young-generation';
import { usageOnHelp } from '../args';

usageOnHelp();

const BATCHES = Number(process.argv[2] ?? 40);
const BATCH = Number(process.argv[3] ?? 500);
const ROUNDS = 3;

/** As `measure`, for work that awaits (kafkajs' request encoders are async). */
async function measureAsync(label: string, events: number, fn: () => Promise<void>): Promise<number> {
  await fn();
  let best = Infinity;
  for (let r = 0; r < ROUNDS; r++) {
    const t0 = process.cpuUsage();
    await fn();
    const t = process.cpuUsage(t0);
    best = Math.min(best, (t.user + t.system) / events);
  }
  process.stdout.write(`${label.padEnd(58)} ${best.toFixed(1).padStart(6)} µs\n`);
  return best;
}

/** Minimum over rounds of CPU µs per event (the least disturbed round). */
function measure(label: string, events: number, fn: () => void): number {
  fn(); // warm-up: compile and optimize
  let best = Infinity;
  for (let r = 0; r < ROUNDS; r++) {
    const t0 = process.cpuUsage();
    fn();
    const t = process.cpuUsage(t0);
    best = Math.min(best, (t.user + t.system) / events);
  }
  process.stdout.write(`${label.padEnd(58)} ${best.toFixed(1).padStart(6)} µs\n`);
  return best;
}

async function main(): Promise<void> {
  const gen = new EventGenerator({ seed: 3, tenants: 1000, fraudRate: 0.01, defectRate: 0, lateRate: 0.02 });
  const bodies = Array.from({ length: BATCHES }, () => Buffer.from(JSON.stringify({ events: Array.from({ length: BATCH }, () => gen.next().event) })));
  const total = BATCHES * BATCH;
  const keyring = createKeyring({ v1: 'hot-path-bench-secret-01' }, 'v1');
  const principal = { tenant_id: '*', roles: ['ingest'], key_hash: 'bench' } as unknown as ApiKeyRecord;
  const step = createIngestStep({ keyring, isActiveTenant: () => true });
  const avgBytes = bodies.reduce((a, b) => a + b.length, 0) / total;
  const parse = (body: Buffer) => (JSON.parse(body.toString('utf8')) as { events: unknown[] }).events;
  const stepBatch = (batch: unknown[]): Message[] => batch.map((e, i) => step(e, i, principal).message);
  process.stdout.write(`\nhot path of POST /api/v2/events/batch, CPU per event (${total} events of ~${avgBytes.toFixed(0)} B, best of ${ROUNDS})\n`);

  // First, as the API runs it, with nothing else alive: one request at a time, parsed, stepped,
  // its messages kept until the next one. The stages below keep all 20,000 parsed events alive,
  // which makes every full collection (and every allocation of buffer memory, which can start
  // one) far dearer than in the API.
  const parseOnly = measure('(request: UTF-8 decode + JSON.parse)', total, () => bodies.forEach(parse));
  const parseAndStep = measure('(request: UTF-8 decode + JSON.parse + ingest step)', total, () => bodies.forEach((b) => stepBatch(parse(b))));
  const whole = parseAndStep - parseOnly;
  process.stdout.write(`${'whole ingest step (core/ingest-step.ts), the difference'.padEnd(58)} ${whole.toFixed(1).padStart(6)} µs\n`);
  const oneRequest = stepBatch(parse(bodies[0]));
  measure('kafka record: encode (core/kafka-record.ts, fast path)', total, () => {
    for (let b = 0; b < BATCHES; b++) oneRequest.map((m) => encodeRecord(m as RecordInput));
  });
  const values = oneRequest.map((m) => Buffer.from(String(m.value)));
  measure('kafkajs record batch: CRC-32C as kafkajs computes it', total, () => {
    for (let b = 0; b < BATCHES; b++) values.forEach((v) => kafkajsCrc32c(v));
  });
  measure('kafkajs record batch: CRC-32C in JavaScript (crc32cJs)', total, () => {
    for (let b = 0; b < BATCHES; b++) values.forEach((v) => crc32cJs(v));
  });
  if (crc32cNative) {
    measure('kafkajs record batch: CRC-32C native (@node-rs/crc32)', total, () => {
      for (let b = 0; b < BATCHES; b++) values.forEach((v) => crc32cNative!(v));
    });
  }
  // A whole produce request as the connection writes it: one request's events over 6 partitions.
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- kafkajs internals, as above
  const Long = require('kafkajs/src/utils/long') as { fromInt(n: number): unknown };
  const partitions = [0, 1, 2, 3, 4, 5].map((partition) => ({ partition, firstSequence: 0, messages: oneRequest.filter((_, i) => i % 6 === partition) }));
  const args = { acks: -1, timeout: 30000, producerId: Long.fromInt(7), producerEpoch: 0, topicData: [{ topic: 'events', partitions }] };
  await measureAsync(`kafka produce request, records to framed bytes (${fastPath ? 'rtap fast path' : 'kafkajs'})`, total, async () => {
    for (let b = 0; b < BATCHES; b++) await createRequest({ correlationId: b, clientId: 'rtap', request: produceV3(args) });
  });

  // Then each stage alone, on the same events.
  const events = bodies.flatMap(parse);
  const read = events.map((e) => readEvent(e)).map((r) => (r.ok ? r.event : undefined)).filter((e): e is RtapEvent => e !== undefined);
  if (read.length !== total) throw new Error(`${total - read.length} generator events do not validate`);
  const stages: [string, number][] = [];
  const stage = (label: string, fn: () => void) => stages.push([label, measure(label, total, fn)]);
  stage('body: scanDepth over the raw bytes (json-guard)', () => bodies.forEach((b) => scanDepth(b, 66)));
  stage('event: checkStructure (json-guard)', () => events.forEach((e) => checkStructure(e)));
  stage('event: validateEvent (ajv)', () => events.forEach((e) => validateEvent(e)));
  const readAll = measure('(event: readEvent = validate + upcast + times + value sets)', total, () => events.forEach((e) => readEvent(e)));
  const validateOnly = stages[stages.length - 1][1];
  stages.push(['event: upcast + normalize times + value-set warnings', Math.max(0, readAll - validateOnly)]);
  process.stdout.write(`${'event: upcast + normalize times + value-set warnings'.padEnd(58)} ${Math.max(0, readAll - validateOnly).toFixed(1).padStart(6)} µs\n`);
  stage('event: tokenizeEvent (HMAC-SHA256 of PII)', () => read.forEach((e) => tokenizeEvent(e, keyring)));
  stage('event: JSON.stringify for Kafka', () => read.forEach((e) => JSON.stringify(e)));
  stage('event: speed header (typed, core/speed-record.ts)', () => read.forEach((e) => encodeValidSpeedHeader(e)));
  measure('(event: speed header, generic reader, for comparison)', total, () => read.forEach((e) => encodeSpeedHeader(e)));
  stage('event: lake header (core/lake-record.ts)', () => read.forEach((e) => encodeLakeHeader(e)));
  const perEvent = stages.filter(([label]) => label.startsWith('event:')).reduce((a, [, v]) => a + v, 0);
  process.stdout.write(`${'sum of the event: stages'.padEnd(58)} ${perEvent.toFixed(1).padStart(6)} µs  (the step measured whole: ${whole.toFixed(1)} µs)\n`);
}

/* eslint-disable @typescript-eslint/no-require-imports -- kafkajs' internals: its own byte-at-a-time CRC for comparison, its produce request as the API's producer loads it */
const kafkajsCrc32c = require('kafkajs/src/protocol/recordBatch/crc32C/crc32C') as (buf: Buffer) => number;
// KAFKA_FAST_PATH=false measures kafkajs' own produce path.
const fastPath = process.env.KAFKA_FAST_PATH !== 'false' && installKafkajsFastPath();
const produceV3 = require('kafkajs/src/protocol/requests/produce/v3/request') as (args: object) => unknown;
const createRequest = require('kafkajs/src/protocol/request') as (args: { correlationId: number; clientId: string; request: unknown }) => Promise<{ buffer: Buffer }>;
/* eslint-enable @typescript-eslint/no-require-imports */

const execArgv = childExecArgv(process.execArgv, process.env.NODE_OPTIONS);
if (execArgv.length !== process.execArgv.length) {
  // Re-run with the API workers' flags.
  process.exit(spawnSync(process.execPath, [...execArgv, ...process.argv.slice(1)], { stdio: 'inherit' }).status ?? 1);
} else {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
