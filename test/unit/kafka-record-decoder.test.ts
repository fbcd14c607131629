// The record decoder that replaces kafkajs' own (core/kafkajs-fast-path.ts) gives the same record
// objects for every kind of key, value, header, timestamp and offset, including those past 2^53.
import { createRecordDecoder, type DecoderLike, type RecordBatchContext } from '../../core/kafka-record-decoder';

/* eslint-disable @typescript-eslint/no-require-imports -- kafkajs' internal modules are the reference */
type RecordInput = { key?: Buffer | string | null; value?: Buffer | string | null; headers?: Record<string, unknown>; offsetDelta?: number; timestampDelta?: number | bigint };
const kafkajsEncode = require('kafkajs/src/protocol/recordBatch/record/v0') as (input: RecordInput) => { buffer: Buffer };
const kafkajsDecode = require('kafkajs/src/protocol/recordBatch/record/v0/decoder') as (d: DecoderLike, ctx: RecordBatchContext) => Record<string, unknown>;
const Decoder = require('kafkajs/src/protocol/decoder') as new (b: Buffer) => DecoderLike & { readVarIntBytes(): Buffer };
const Long = require('kafkajs/src/utils/long');
const decode = createRecordDecoder(Long);

/** The record's body as the batch decoder hands it over (after its length). */
const body = (input: RecordInput) => new Decoder(kafkajsEncode(input).buffer).readVarIntBytes();

const contexts: RecordBatchContext[] = [
  { firstOffset: '0', firstTimestamp: '1795960779297', magicByte: 2, timestampType: 0, maxTimestamp: '1795960779400' },
  { firstOffset: '123456789', firstTimestamp: '-1', magicByte: 2, isControlBatch: true, timestampType: 0, maxTimestamp: '-1' },
  { firstOffset: '9007199254740990', firstTimestamp: '9223372036854775000', magicByte: 2, timestampType: 0, maxTimestamp: '9223372036854775807' },
  { firstOffset: '42', firstTimestamp: '1795960779297', magicByte: 2, timestampType: 1, maxTimestamp: '1795960799999' },
];
const headerSets: Record<string, unknown>[] = [
  {},
  { schema_version: '2.1', 'x-rtap-m': '[1,"t","e"]' },
  { multi: ['a', 'bé', Buffer.from([9])], empty: '', bin: Buffer.from([0, 255]) },
  { toString: 'x', __proto__: 'y', constructor: ['1', '2'] },
];
const timestampDeltas: (number | bigint)[] = [0, 1, -1, 63, -64, 8191, 2 ** 31, -(2 ** 31), 2 ** 48, -(2 ** 48), 2 ** 52, 2 ** 53 + 2, -(2 ** 53), 4611686018427387000n];

function same(input: RecordInput, ctx: RecordBatchContext): void {
  const a = kafkajsDecode(new Decoder(body(input)), ctx);
  const b = decode(new Decoder(body(input)), ctx);
  expect(Object.keys(b)).toEqual(Object.keys(a));
  expect(Object.keys(b.headers as object)).toEqual(Object.keys(a.headers as object));
  expect(b).toEqual(a);
  // own "__proto__" headers are compared as properties, not prototypes
  expect(Object.getOwnPropertyDescriptor(b.headers, '__proto__')?.value).toEqual(Object.getOwnPropertyDescriptor(a.headers, '__proto__')?.value);
}

test('every record decodes to what kafkajs decodes', () => {
  let n = 0;
  for (const ctx of contexts) {
    for (const key of [null, '', 'tenant_7:tok_v1_0123', Buffer.from([1, 2, 3])]) {
      for (const value of [null, '', JSON.stringify({ event: 'y'.repeat(3000) }), 'ünïcødé ✓']) {
        for (const headers of headerSets) {
          same({ key, value, headers, offsetDelta: n % 70000, timestampDelta: timestampDeltas[n % timestampDeltas.length] }, ctx);
          n++;
        }
      }
    }
    for (const timestampDelta of timestampDeltas) for (const offsetDelta of [0, 1, 63, 64, 2 ** 20, 2 ** 30]) same({ key: 'k', value: 'v', timestampDelta, offsetDelta }, ctx);
  }
  expect(n).toBe(256);
});

test('the decoder leaves the position after the record', () => {
  const d = new Decoder(body({ key: 'k', value: 'v', headers: { a: '1' } }));
  decode(d, contexts[0]);
  expect(d.offset).toBe(d.buffer.length);
});
