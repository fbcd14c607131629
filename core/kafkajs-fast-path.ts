// Faster drop-ins for kafkajs modules, identical in output (tested against kafkajs' own). Consuming:
// the record decoder (core/kafka-record-decoder.ts: the same record objects without 64-bit
// arithmetic per record). Producing, down to whole produce requests: the record encoder
// (core/kafka-record.ts), the uncompressed record-batch encoder (core/kafka-record-batch.ts), the
// batch checksum (core/kafka-crc32c.ts) and the uncompressed produce request, written in one
// buffer with room for kafkajs' request header in front (core/kafka-produce-request.ts). kafkajs
// spent ~45 µs of CPU per 3.6 KB message in the ingestion API, mostly allocating and copying
// (docs/ingestion.md, "Performance"); its produce request then copied each record ~5 times more.
// kafkajs 2.2.4 is its last release, so these internal module paths are stable. They are swapped in
// Node's module cache before kafkajs loads its produce request, which it does lazily at the
// first send (the record decoder: before the first fetch loads the batch decoder).
//
// Also the fix of a busy loop in every connection's request queue (tulios/kafkajs#1556, #1704,
// unreleased): see `stopIdleRequestQueueLoop`.
import { createRequire } from 'node:module';
import { crc32c } from './kafka-crc32c';
import { encodeRecord } from './kafka-record';
import { createRecordDecoder } from './kafka-record-decoder';
import { createRecordBatchEncoder, type RecordBatchEncoder } from './kafka-record-batch';
import { createProduceRequest, installEncoderHeadroom, type EncoderClass, type ProduceRequestV3 } from './kafka-produce-request';

const CRC = 'kafkajs/src/protocol/recordBatch/crc32C/index.js';
const RECORD_DECODER = 'kafkajs/src/protocol/recordBatch/record/v0/decoder.js';
/** Takes the record decoder when it loads (lazily, at the first fetch). */
const RECORD_BATCH_DECODER = 'kafkajs/src/protocol/recordBatch/v0/decoder.js';
const RECORD = 'kafkajs/src/protocol/recordBatch/record/v0/index.js';
const RECORD_BATCH = 'kafkajs/src/protocol/recordBatch/v0/index.js';
/** The module that takes the replaced ones when it loads: too late to replace them once it is loaded. */
const PRODUCE_REQUEST = 'kafkajs/src/protocol/requests/produce/v3/request.js';
const REQUEST_QUEUE = 'kafkajs/src/network/requestQueue/index.js';
const ENCODER = 'kafkajs/src/protocol/encoder.js';
const LONG = 'kafkajs/src/utils/long.js';

interface RequestQueueLike {
  pending: unknown[];
  scheduleCheckPendingRequests(): void;
}

const patchedQueues = new WeakSet<object>();

/**
 * kafkajs 2.2.4's `RequestQueue.scheduleCheckPendingRequests` re-arms a timer after every check,
 * and with nothing throttled its delay is negative (1 ms): each broker connection that ever got a
 * response runs `checkPendingRequests` about a thousand times a second, forever. In the API under
 * load that loop and its timers were ~14 % of the CPU (docs/ingestion.md, "Performance"). The
 * timer exists only to send requests waiting in `pending`, and `push` schedules one whenever it
 * enqueues, so with nothing pending no timer is needed. Patched on the prototype: it applies to
 * queues created before and after, and needs no load order.
 */
function stopIdleRequestQueueLoop(req: NodeJS.Require): void {
  const proto = (req(req.resolve(REQUEST_QUEUE)) as { prototype: RequestQueueLike }).prototype;
  if (patchedQueues.has(proto)) return;
  const schedule = proto.scheduleCheckPendingRequests;
  proto.scheduleCheckPendingRequests = function (this: RequestQueueLike) {
    if (this.pending.length > 0) schedule.call(this);
  };
  patchedQueues.add(proto);
}

/**
 * Installs the replacements; returns whether they are in place. They are not outside Node's
 * CommonJS loader (jest keeps its own module registry) or once kafkajs has loaded its produce
 * request: kafkajs then simply runs its own code.
 */
export function installKafkajsFastPath(): boolean {
  const req = createRequire(__filename);
  const cache = req.cache as NodeJS.Dict<NodeModule> | undefined;
  if (!cache) return false;
  stopIdleRequestQueueLoop(req);
  const mod = (name: string) => cache[req.resolve(name)];
  const fast = (name: string) => (mod(name)?.exports as { fastPath?: boolean } | undefined)?.fastPath === true;
  const installed = () => mod(RECORD)?.exports === encodeRecord && mod(CRC)?.exports === crc32c && fast(PRODUCE_REQUEST) && fast(RECORD_DECODER);
  // consuming: the record decoder, unless the batch decoder has already taken kafkajs' own
  if (mod(RECORD_BATCH_DECODER) === undefined && !fast(RECORD_DECODER)) {
    req(req.resolve(RECORD_DECODER));
    mod(RECORD_DECODER)!.exports = Object.assign(createRecordDecoder(req(req.resolve(LONG)) as Parameters<typeof createRecordDecoder>[0]), { fastPath: true });
  }
  if (mod(PRODUCE_REQUEST) !== undefined) return installed();
  const Encoder = req(req.resolve(ENCODER)) as EncoderClass;
  installEncoderHeadroom(Encoder);
  // The checksum first: kafkajs' own batch encoder, kept for compressed batches, takes it on load.
  req(req.resolve(CRC));
  mod(CRC)!.exports = crc32c;
  req(req.resolve(RECORD));
  mod(RECORD)!.exports = encodeRecord;
  const batch = req(req.resolve(RECORD_BATCH)) as { RecordBatch: RecordBatchEncoder; MAGIC_BYTE: number };
  mod(RECORD_BATCH)!.exports = { ...batch, RecordBatch: createRecordBatchEncoder(batch.RecordBatch, crc32c) };
  // Loaded now, with the replacements above (it keeps them for compressed requests).
  const produce = req(req.resolve(PRODUCE_REQUEST)) as ProduceRequestV3;
  mod(PRODUCE_REQUEST)!.exports = Object.assign(createProduceRequest(produce, Encoder, req(req.resolve(LONG)) as { fromInt(n: number): unknown }, crc32c), { fastPath: true });
  return installed();
}
