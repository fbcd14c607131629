// An uncompressed record batch (message format v2) written in one exactly-sized allocation,
// byte-for-byte as kafkajs' own `recordBatch/v0` writes it. kafkajs appends the records to a
// buffer that grows by doubling (zero-filled), then copies the result twice more to add the
// batch header and the length prefix: for a 4 MB send that is ~16 MB allocated and copied.
// Compressed batches are left to kafkajs.
//   RecordBatch => FirstOffset:int64 Length:int32 PartitionLeaderEpoch:int32 Magic:int8 CRC:uint32
//                  Attributes:int16 LastOffsetDelta:int32 FirstTimestamp:int64 MaxTimestamp:int64
//                  ProducerId:int64 ProducerEpoch:int16 FirstSequence:int32 Records:[Record]
// (the CRC-32C covers everything from Attributes to the end)

import type { KafkajsEncoder } from './kafka-produce-request';

export interface RecordBatchInput {
  compression?: number;
  firstOffset?: unknown;
  firstTimestamp?: unknown;
  maxTimestamp?: unknown;
  partitionLeaderEpoch?: number;
  lastOffsetDelta?: number;
  transactional?: boolean;
  producerId?: unknown;
  producerEpoch?: number;
  firstSequence?: number;
  records?: { buffer?: unknown }[];
}

export type RecordBatchEncoder = (input: RecordBatchInput) => Promise<KafkajsEncoder>;

/* eslint-disable @typescript-eslint/no-require-imports -- kafkajs' own encoder writes the scalar fields, so they stay exactly as kafkajs writes them */
const Encoder = require('kafkajs/src/protocol/encoder') as new (initialSize?: number) => KafkajsEncoder;
const Long = require('kafkajs/src/utils/long') as { fromInt(n: number): unknown; fromValue(n: number): unknown };
/* eslint-enable @typescript-eslint/no-require-imports */

const MAGIC_BYTE = 2;
const TRANSACTIONAL_MASK = 16;
/** Bytes before the first record: offset, length, epoch, magic, CRC, then the batch fields and the record count. */
const HEADER_BYTES = 8 + 4 + 4 + 1 + 4 + (2 + 4 + 8 + 8 + 8 + 2 + 4) + 4;

/** kafkajs' RecordBatch for uncompressed batches written in one allocation; `original` handles the rest. */
export function createRecordBatchEncoder(original: RecordBatchEncoder, crc32c: (bytes: Uint8Array) => number): RecordBatchEncoder {
  return async (input) => {
    const records = input.records ?? [];
    if ((input.compression ?? 0) !== 0 || !records.every((r) => Buffer.isBuffer(r.buffer))) return original(input);
    const {
      firstOffset = Long.fromInt(0),
      firstTimestamp = Date.now(),
      maxTimestamp = Date.now(),
      partitionLeaderEpoch = 0,
      lastOffsetDelta = 0,
      transactional = false,
      producerId = Long.fromValue(-1),
      producerEpoch = 0,
      firstSequence = 0,
    } = input;
    const buffers = records.map((r) => r.buffer as Buffer);
    const total = HEADER_BYTES + buffers.reduce((sum, b) => sum + b.length, 0);

    const out = new Encoder(0);
    // allocUnsafe is safe: every byte up to `total` is written below (checked at the end).
    out.buf = Buffer.allocUnsafe(total);
    out.writeInt64(firstOffset).writeInt32(total - 12).writeInt32(partitionLeaderEpoch).writeInt8(MAGIC_BYTE);
    const crcAt = out.offset;
    out.writeUInt32(0);
    const bodyStart = out.offset;
    out
      .writeInt16(transactional ? TRANSACTIONAL_MASK : 0)
      .writeInt32(lastOffsetDelta)
      .writeInt64(firstTimestamp)
      .writeInt64(maxTimestamp)
      .writeInt64(producerId)
      .writeInt16(producerEpoch)
      .writeInt32(firstSequence)
      .writeInt32(buffers.length);
    for (const b of buffers) out.offset += b.copy(out.buf, out.offset);
    if (out.offset !== total) throw new Error(`kafka record batch encoding: wrote ${out.offset} of ${total} bytes`);
    out.buf.writeUInt32BE(crc32c(out.buf.subarray(bodyStart, total)), crcAt);
    return out;
  };
}
