// The record encoder and CRC that replace kafkajs' own (core/kafkajs-fast-path.ts) give
// byte-identical records and whole produce requests, for every kind of key, value and header.
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { crc32c } from '../../core/kafka-crc32c';
import { encodeRecord, type RecordInput } from '../../core/kafka-record';
import { createRecordBatchEncoder } from '../../core/kafka-record-batch';

/* eslint-disable @typescript-eslint/no-require-imports -- kafkajs' internal modules are the reference */
const RECORD = 'kafkajs/src/protocol/recordBatch/record/v0';
const CRC = 'kafkajs/src/protocol/recordBatch/crc32C';
const BATCH = 'kafkajs/src/protocol/recordBatch/v0';
const PRODUCE = 'kafkajs/src/protocol/requests/produce/v3/request';
const kafkajsRecord = require(RECORD) as (input: RecordInput) => { buffer: Buffer };
const Long = require('kafkajs/src/utils/long') as { fromInt(n: number): unknown };

const texts = ['', 'a', 'tenant_7:tok_v1_0123456789abcdef0123456789abcdef', 'ünïcødé ✓ 🎉', 'x'.repeat(300), '\ud800 lone surrogate', JSON.stringify({ event: 'y'.repeat(5000) })];
const keys = [null, undefined, ...texts, Buffer.from([0, 1, 2, 255]), Buffer.alloc(0)];
const headerSets: RecordInput['headers'][] = [
  undefined,
  {},
  { schema_version: '2.1', 'x-rtap-source-version': '1.0' },
  { bin: Buffer.from('raw bytes'), multi: ['a', 'bé', Buffer.from([9])], empty: '' },
];
const deltas = [0, 1, 63, 64, 8191, 8192, 2 ** 20, 2 ** 30 - 1, 2 ** 30, -1, -64, -65, -(2 ** 30), -(2 ** 30) - 1, 1e12, -1e12];

test('every record is byte-identical to kafkajs’ encoding', () => {
  let n = 0;
  for (const key of keys) {
    for (const value of [...keys.slice(0, 4), texts[6]]) {
      for (const headers of headerSets) {
        for (const [offsetDelta, timestampDelta] of [[0, 0], [n % 20000, deltas[n % deltas.length]]]) {
          const input = { key, value, headers, offsetDelta, timestampDelta };
          expect(encodeRecord(input).buffer.equals(kafkajsRecord(input).buffer)).toBe(true);
          n++;
        }
      }
    }
  }
  for (const timestampDelta of deltas) {
    const input = { key: 'k', value: 'v', timestampDelta, offsetDelta: timestampDelta > 0 && timestampDelta < 2 ** 31 ? timestampDelta : 5 };
    expect(encodeRecord(input).buffer.equals(kafkajsRecord(input).buffer)).toBe(true);
  }
});

test('a whole produce request (records, batches, checksums) encodes to the same bytes with the replacements in place', async () => {
  const messages = texts.map((t, i) => ({ key: `k${i}`, value: t, timestamp: String(1_700_000_000_000 + i * 37), headers: { schema_version: '2.1' } }));
  const request = async (produce: (args: object) => { encode(): Promise<{ buffer: Buffer }> }) =>
    Buffer.concat(await Promise.all([undefined, 'tx-1'].map(async (transactionalId) => (await encodeWith(produce, transactionalId)).buffer)));
  const encodeWith = (produce: (args: object) => { encode(): Promise<{ buffer: Buffer }> }, transactionalId?: string) =>
    produce({
      transactionalId,
      acks: -1,
      timeout: 30000,
      producerId: Long.fromInt(42),
      producerEpoch: 1,
      topicData: [{ topic: 'events', partitions: [0, 1, 2].map((partition) => ({ partition, firstSequence: partition * 10, messages: messages.slice(partition) })) }],
    }).encode();
  const stock = await request(require(PRODUCE));
  let patched: Buffer | undefined;
  const record = jest.fn(encodeRecord);
  const crc = jest.fn(crc32c);
  await jest.isolateModulesAsync(async () => {
    jest.doMock(RECORD, () => record);
    jest.doMock(CRC, () => crc);
    const kafkajsBatch = jest.requireActual(BATCH);
    jest.doMock(BATCH, () => ({ ...kafkajsBatch, RecordBatch: createRecordBatchEncoder(kafkajsBatch.RecordBatch, crc) }));
    patched = await request(require(PRODUCE));
  });
  expect(record).toHaveBeenCalledTimes(2 * (7 + 6 + 5));
  expect(crc).toHaveBeenCalledTimes(2 * 3);
  expect(patched!.equals(stock)).toBe(true);
});

test('under Node’s own loader (how rtap runs) the replacements are installed', () => {
  const script = `const { installKafkajsFastPath } = require(${JSON.stringify(path.resolve(__dirname, '../../core/kafkajs-fast-path.ts'))}); process.stdout.write(String(installKafkajsFastPath()));`;
  const out = execFileSync(process.execPath, ['-r', 'tsx/cjs', '-e', script], { encoding: 'utf8', cwd: path.resolve(__dirname, '../..') });
  expect(out).toBe('true');
});

test('the request queue arms no timer while nothing is pending, and still sends what waits (kafkajs#1556)', () => {
  // Run under Node's loader, where the patch applies (jest keeps its own copy of kafkajs).
  const script = `
    const { installKafkajsFastPath } = require(${JSON.stringify(path.resolve(__dirname, '../../core/kafkajs-fast-path.ts'))});
    installKafkajsFastPath();
    const RequestQueue = require('kafkajs/src/network/requestQueue/index.js');
    const logger = { debug() {}, warn() {}, info() {}, error() {} };
    const q = new RequestQueue({ maxInFlightRequests: 1, requestTimeout: 1000, enforceRequestTimeout: false, clientId: 't', broker: 'b', logger });
    const out = {};
    q.checkPendingRequests();
    out.idleTimer = q.throttleCheckTimeoutId !== null;
    const sent = [];
    const entry = (id) => ({ apiKey: 0, apiName: 'Produce', apiVersion: 3, correlationId: id, resolve() {}, reject() {} });
    const push = (id) => q.push({ entry: entry(id), expectResponse: true, sendRequest: () => sent.push(id) });
    push(1);
    push(2); // waits: one request in flight at most
    out.afterPush = [...sent];
    q.fulfillRequest({ correlationId: 1, payload: Buffer.alloc(0), size: 0 });
    out.afterFirstResponse = [...sent];
    q.fulfillRequest({ correlationId: 2, payload: Buffer.alloc(0), size: 0 });
    // The one-shot check armed while request 2 waited fires once and is not re-armed.
    setTimeout(() => {
      out.idleTimerAfterTraffic = q.throttleCheckTimeoutId !== null;
      q.maybeThrottle(30);
      push(3); // throttled: sent by the timer once the throttle ends
      out.whileThrottled = [...sent];
      setTimeout(() => {
        out.afterThrottle = [...sent];
        out.idleTimerAtEnd = q.throttleCheckTimeoutId !== null;
        q.destroy();
        process.stdout.write(JSON.stringify(out));
      }, 80);
    }, 80);`;
  const out = JSON.parse(execFileSync(process.execPath, ['-r', 'tsx/cjs', '-e', script], { encoding: 'utf8', cwd: path.resolve(__dirname, '../..') })) as Record<string, unknown>;
  expect(out).toEqual({
    idleTimer: false,
    afterPush: [1],
    afterFirstResponse: [1, 2],
    idleTimerAfterTraffic: false,
    whileThrottled: [1, 2],
    afterThrottle: [1, 2, 3],
    idleTimerAtEnd: false,
  });
});
