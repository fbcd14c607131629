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

describe('the produce request written in one buffer (core/kafka-produce-request.ts)', () => {
  const REQUEST = 'kafkajs/src/protocol/request';
  const ENCODER = 'kafkajs/src/protocol/encoder';
  type Produce = (args: object) => { encode(): Promise<{ buffer: Buffer }> };
  const messages = (n: number, at: number) =>
    Array.from({ length: n }, (_, i) => ({
      key: i % 5 === 0 ? null : `tenant_${i}:tok_v1_${'0'.repeat(i % 3)}`,
      value: i % 7 === 3 ? Buffer.from(texts[i % texts.length]) : texts[(i + at) % texts.length],
      // some with their own timestamps (as strings and numbers, sorted by kafkajs as strings), some without
      timestamp: i % 4 === 0 ? undefined : i % 4 === 1 ? String(1_700_000_000_000 + ((i * 7919) % 5000)) : 1_699_999_999_000 + i,
      headers: headerSets[i % headerSets.length],
    }));
  const argsOf = (transactionalId: string | undefined, compression?: number) => ({
    transactionalId,
    acks: -1,
    timeout: 30000,
    compression,
    producerId: Long.fromInt(42),
    producerEpoch: 1,
    topicData: [
      { topic: 'events', partitions: [0, 1, 2, 5].map((partition) => ({ partition, firstSequence: partition * 10, messages: messages(partition === 5 ? 0 : 3 + partition * 4, partition) })) },
      { topic: 'événements.dlq', partitions: [{ partition: 3, firstSequence: 7, messages: messages(2, 9) }] },
    ],
  });
  /** Whole requests (header, size and payload, as the connection writes them), each of `args`, with the stock or the rtap modules. */
  const requests = async (rtap: boolean, args: object[]) => {
    let out: Buffer[] = [];
    await jest.isolateModulesAsync(async () => {
      const createRequest = require(REQUEST) as (a: object) => Promise<{ buffer: Buffer }>;
      let produce = require(PRODUCE) as Produce;
      if (rtap) {
        const mod = require('../../core/kafka-produce-request') as typeof import('../../core/kafka-produce-request');
        const Encoder = require(ENCODER);
        mod.installEncoderHeadroom(Encoder);
        produce = mod.createProduceRequest(produce as never, Encoder, require('kafkajs/src/utils/long'), crc32c) as unknown as Produce;
      }
      out = await Promise.all(args.map(async (a, i) => (await createRequest({ correlationId: 100 + i, clientId: 'rtap-test', request: produce(a) })).buffer));
    });
    return out;
  };

  test('byte-identical to kafkajs: records, batches, checksums, several topics and partitions, transactional or not, the request header', async () => {
    const now = Date.now;
    Date.now = () => 1_700_000_123_456; // partitions without timestamps take the time of encoding
    try {
      const args = [argsOf(undefined), argsOf('tx-1')];
      const stock = await requests(false, args);
      const rtap = await requests(true, args);
      expect(rtap.length).toBe(2);
      rtap.forEach((b, i) => expect(b.equals(stock[i])).toBe(true));
    } finally {
      Date.now = now;
    }
  });

  test('compressed requests are left to kafkajs', async () => {
    const { Types } = jest.requireActual('kafkajs/src/protocol/message/compression') as { Types: { GZIP: number } };
    let encodeWasKafkajs = false;
    await jest.isolateModulesAsync(async () => {
      const mod = require('../../core/kafka-produce-request') as typeof import('../../core/kafka-produce-request');
      const stock = require(PRODUCE) as Produce;
      const produce = mod.createProduceRequest(stock as never, require(ENCODER), require('kafkajs/src/utils/long'), crc32c) as unknown as Produce;
      const args = argsOf(undefined, Types.GZIP);
      encodeWasKafkajs = produce(args).encode.toString() === stock(args).encode.toString();
    });
    expect(encodeWasKafkajs).toBe(true);
  });

  test('an encoder that took a payload in, then was written to again, is copied as kafkajs copies it', async () => {
    await jest.isolateModulesAsync(async () => {
      const mod = require('../../core/kafka-produce-request') as typeof import('../../core/kafka-produce-request');
      const Encoder = require(ENCODER);
      mod.installEncoderHeadroom(Encoder);
      const produce = mod.createProduceRequest(require(PRODUCE), Encoder, require('kafkajs/src/utils/long'), crc32c);
      const payload = await produce(argsOf(undefined) as never).encode();
      const copy = Buffer.from(payload.buffer);
      const a = new Encoder().writeInt32(7).writeEncoder(payload);
      expect(a.buffer.equals(Buffer.concat([Buffer.from([0, 0, 0, 7]), copy]))).toBe(true);
      expect(a.buf.buffer).toBe(payload.buf.buffer); // put in the room before the payload, not copied
      a.writeInt8(1); // no longer the payload as made: the next wrap copies
      const b = new Encoder().writeInt16(2).writeEncoder(a);
      expect(b.buffer.equals(Buffer.concat([Buffer.from([0, 2, 0, 0, 0, 7]), copy, Buffer.from([1])]))).toBe(true);
      // a header longer than the room is copied too
      const big = new Encoder().writeString('x'.repeat(600)).writeEncoder(payload);
      expect(big.buffer.subarray(602).equals(copy)).toBe(true);
    });
  });
});
