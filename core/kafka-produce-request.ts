// A whole produce request (v3; v4–v7 are v3's body under another version number) written into
// one exactly-sized buffer, byte-for-byte as kafkajs' own `produce/v3/request` writes it for
// uncompressed batches. kafkajs encodes every record into a Buffer of its own (for 3.6 KB events,
// one ArrayBuffer outside V8's pool each), copies the records into the batch, then the batch into
// a partition encoder, the partitions into a topic encoder and the topics into the request — each
// a buffer grown by doubling and zero-filled — and `protocol/request.js` copies the request twice
// more to put its header and size in front. Here each record is written once, in place, and the
// request's buffer keeps room in front for that header (`installEncoderHeadroom`), so kafkajs
// puts it there instead of copying the request. Compressed requests are left to kafkajs.
import { prepareRecord, writeRecord, type PreparedRecord, type RecordInput } from './kafka-record';
import { BATCH_HEADER_BYTES, sealBatch, writeBatchHeader, type KafkajsEncoder } from './kafka-record-batch';

export type EncoderClass = (new (initialSize?: number) => KafkajsEncoder) & { prototype: KafkajsEncoder };

interface ProduceMessage extends RecordInput {
  timestamp?: string | number | null;
}

export interface ProduceArgs {
  acks: number;
  timeout: number;
  transactionalId?: string | null;
  producerId?: unknown;
  producerEpoch?: number;
  compression?: number;
  topicData: { topic: string; partitions: { partition: number; firstSequence?: number; messages: ProduceMessage[] }[] }[];
}

interface ProduceRequest {
  apiKey: number;
  apiVersion: number;
  apiName: string;
  expectResponse: () => boolean;
  encode: () => Promise<KafkajsEncoder>;
}

export type ProduceRequestV3 = (args: ProduceArgs) => ProduceRequest;

/** Room kept in front of a request for kafkajs' request header (size, api key and version, correlation id, client id). */
const HEADROOM = 512;

/** Where a payload sits in a buffer with free room before it: `backing[start, end)`, `view` its current bytes. */
interface Room {
  backing: Buffer;
  start: number;
  end: number;
  view: Buffer;
}

const rooms = new WeakMap<object, Room>();
const patchedEncoders = new WeakSet<object>();

/**
 * Lets `encoder.writeEncoder(payload)` put the encoder's few bytes in the free room before a
 * payload made here, instead of copying the payload after them: kafkajs' `protocol/request.js`
 * does that twice per request (header, then size), and each copy went to a fresh zero-filled
 * buffer of the next power of two. Applies only to payloads this module made (and encoders that
 * took one in) whose bytes are still exactly as made; everything else goes to kafkajs' own method.
 */
export function installEncoderHeadroom(Encoder: EncoderClass): void {
  const proto = Encoder.prototype;
  if (patchedEncoders.has(proto)) return;
  const writeEncoder = proto.writeEncoder;
  proto.writeEncoder = function (this: KafkajsEncoder, value: KafkajsEncoder) {
    const room = value == null ? undefined : rooms.get(value);
    if (room && value.buf === room.view && value.offset === room.end - room.start && this.offset <= room.start) {
      const start = room.start - this.offset;
      this.buf.copy(room.backing, start, 0, this.offset);
      this.buf = room.backing.subarray(start, room.end);
      this.offset = room.end - start;
      rooms.set(this, { backing: room.backing, start, end: room.end, view: this.buf });
      return this;
    }
    return writeEncoder.call(this, value);
  };
  patchedEncoders.add(proto);
}

/**
 * kafkajs' produce v3 request with `encode` replaced for uncompressed requests. `Encoder` and
 * `Long` are kafkajs' own: the scalar fields are written by its Encoder, exactly as kafkajs does.
 */
export function createProduceRequest(original: ProduceRequestV3, Encoder: EncoderClass, Long: { fromInt(n: number): unknown }, crc32c: (bytes: Uint8Array) => number): ProduceRequestV3 {
  return (args) => {
    const request = original(args);
    if ((args.compression ?? 0) !== 0) return request;
    return { ...request, encode: async () => encodeProduce(args, Encoder, Long, crc32c) };
  };
}

interface PartitionPlan {
  partition: number;
  firstSequence: number;
  firstTimestamp: unknown;
  maxTimestamp: unknown;
  records: PreparedRecord[];
  batchSize: number;
}

function encodeProduce(args: ProduceArgs, Encoder: EncoderClass, Long: { fromInt(n: number): unknown }, crc32c: (bytes: Uint8Array) => number): KafkajsEncoder {
  const { acks, timeout, transactionalId = null, producerId = Long.fromInt(-1), producerEpoch = 0, topicData } = args;
  // Measure everything first, as kafkajs' partitionsEncoder computes it.
  let total = stringSize(transactionalId) + 2 + 4 + 4;
  const plans: PartitionPlan[][] = [];
  for (const { topic, partitions } of topicData) {
    total += stringSize(topic) + 4;
    const topicPlans: PartitionPlan[] = [];
    for (const { partition, firstSequence = 0, messages } of partitions) {
      const dateNow = Date.now();
      // Sorted as kafkajs sorts them (as strings, Array.prototype.sort's default).
      const messageTimestamps = messages
        .map((m) => m.timestamp)
        .filter((t) => t != null)
        .sort();
      const timestamps: unknown[] = messageTimestamps.length === 0 ? [dateNow] : messageTimestamps;
      const firstTimestamp = timestamps[0];
      const maxTimestamp = timestamps[timestamps.length - 1];
      const records = new Array<PreparedRecord>(messages.length);
      let batchSize = BATCH_HEADER_BYTES;
      for (let i = 0; i < messages.length; i++) {
        const m = messages[i];
        const timestampDelta = ((m.timestamp || dateNow) as number) - (firstTimestamp as number);
        records[i] = prepareRecord({ key: m.key, value: m.value, headers: m.headers, offsetDelta: i, timestampDelta });
        batchSize += records[i].size;
      }
      topicPlans.push({ partition, firstSequence, firstTimestamp, maxTimestamp, records, batchSize });
      total += 4 + 4 + batchSize;
    }
    plans.push(topicPlans);
  }

  const out = new Encoder(0);
  // allocUnsafe is safe: every byte of the payload is written below (checked at the end); the
  // room before it is written only by kafkajs' request header, and never sent otherwise.
  const backing = Buffer.allocUnsafe(HEADROOM + total);
  out.buf = backing.subarray(HEADROOM);
  out.writeString(transactionalId).writeInt16(acks).writeInt32(timeout).writeInt32(topicData.length);
  topicData.forEach(({ topic }, t) => {
    out.writeString(topic).writeInt32(plans[t].length);
    for (const plan of plans[t]) {
      out.writeInt32(plan.partition).writeInt32(plan.batchSize);
      writeBatch(out, plan, { producerId, producerEpoch, transactional: !!transactionalId }, Long, crc32c);
    }
  });
  if (out.offset !== total) throw new Error(`kafka produce request encoding: wrote ${out.offset} of ${total} bytes`);
  rooms.set(out, { backing, start: HEADROOM, end: HEADROOM + total, view: out.buf });
  return out;
}

/** One uncompressed record batch (the header as core/kafka-record-batch.ts writes it), records in place. */
function writeBatch(
  out: KafkajsEncoder,
  plan: PartitionPlan,
  p: { producerId: unknown; producerEpoch: number; transactional: boolean },
  Long: { fromInt(n: number): unknown },
  crc32c: (bytes: Uint8Array) => number,
): void {
  const start = writeBatchHeader(out, {
    bytes: plan.batchSize,
    firstOffset: Long.fromInt(0),
    partitionLeaderEpoch: 0,
    transactional: p.transactional,
    lastOffsetDelta: plan.records.length - 1,
    firstTimestamp: plan.firstTimestamp,
    maxTimestamp: plan.maxTimestamp,
    producerId: p.producerId,
    producerEpoch: p.producerEpoch,
    firstSequence: plan.firstSequence,
    records: plan.records.length,
  });
  let pos = out.offset;
  for (const r of plan.records) pos = writeRecord(out.buf, pos, r);
  out.offset = pos;
  sealBatch(out, start, plan.batchSize, crc32c);
}

/** Bytes of a kafkajs `writeString` (int16 length, -1 for null). */
function stringSize(s: string | null): number {
  return 2 + (s == null ? 0 : Buffer.byteLength(s, 'utf8'));
}
