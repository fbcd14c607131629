// An uncompressed record batch (message format v2) written in one exactly-sized allocation,
// byte-for-byte as kafkajs' own `recordBatch/v0` writes it. kafkajs appends the records to a
// buffer that grows by doubling (zero-filled), then copies the result twice more to add the
// batch header and the length prefix: for a 4 MB send that is ~16 MB allocated and copied.
// Compressed batches are left to kafkajs.
//   RecordBatch => FirstOffset:int64 Length:int32 PartitionLeaderEpoch:int32 Magic:int8 CRC:uint32
//                  Attributes:int16 LastOffsetDelta:int32 FirstTimestamp:int64 MaxTimestamp:int64
//                  ProducerId:int64 ProducerEpoch:int16 FirstSequence:int32 Records:[Record]
// (the CRC-32C covers everything from Attributes to the end)

/** kafkajs' Encoder, as far as rtap's produce path uses it. */
export interface KafkajsEncoder {
  buf: Buffer;
  offset: number;
  writeInt8(v: number): KafkajsEncoder;
  writeInt16(v: number): KafkajsEncoder;
  writeInt32(v: number): KafkajsEncoder;
  writeUInt32(v: number): KafkajsEncoder;
  writeInt64(v: unknown): KafkajsEncoder;
  writeString(v: string | null): KafkajsEncoder;
  writeEncoder(v: KafkajsEncoder): KafkajsEncoder;
  readonly buffer: Buffer;
}

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
export const BATCH_HEADER_BYTES = 8 + 4 + 4 + 1 + 4 + (2 + 4 + 8 + 8 + 8 + 2 + 4) + 4;

/** A batch's header fields; `bytes` is the whole batch's size, header included. */
export interface BatchHeader {
  bytes: number;
  firstOffset: unknown;
  partitionLeaderEpoch: number;
  transactional: boolean;
  lastOffsetDelta: number;
  firstTimestamp: unknown;
  maxTimestamp: unknown;
  producerId: unknown;
  producerEpoch: number;
  firstSequence: number;
  records: number;
}

/**
 * Writes a batch's header at `out.offset` with a zero CRC, to be filled by `sealBatch` once the
 * records follow it; returns where the batch started.
 */
export function writeBatchHeader(out: KafkajsEncoder, h: BatchHeader): number {
  const start = out.offset;
  out.writeInt64(h.firstOffset).writeInt32(h.bytes - 12).writeInt32(h.partitionLeaderEpoch).writeInt8(MAGIC_BYTE).writeUInt32(0);
  out
    .writeInt16(h.transactional ? TRANSACTIONAL_MASK : 0)
    .writeInt32(h.lastOffsetDelta)
    .writeInt64(h.firstTimestamp)
    .writeInt64(h.maxTimestamp)
    .writeInt64(h.producerId)
    .writeInt16(h.producerEpoch)
    .writeInt32(h.firstSequence)
    .writeInt32(h.records);
  return start;
}

/** Checks that the batch begun at `start` ends at `out.offset` with the size its header gave, and fills in its CRC-32C. */
export function sealBatch(out: KafkajsEncoder, start: number, bytes: number, crc32c: (bytes: Uint8Array) => number): void {
  const end = out.offset;
  if (end - start !== bytes) throw new Error(`kafka record batch encoding: wrote ${end - start} of ${bytes} bytes`);
  // the CRC (at byte 17) covers everything from the attributes (byte 21) to the end
  out.buf.writeUInt32BE(crc32c(out.buf.subarray(start + 21, end)), start + 17);
}

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
    const total = BATCH_HEADER_BYTES + buffers.reduce((sum, b) => sum + b.length, 0);

    const out = new Encoder(0);
    // allocUnsafe is safe: every byte up to `total` is written below (checked by sealBatch).
    out.buf = Buffer.allocUnsafe(total);
    const start = writeBatchHeader(out, {
      bytes: total,
      firstOffset,
      partitionLeaderEpoch,
      transactional,
      lastOffsetDelta,
      firstTimestamp,
      maxTimestamp,
      producerId,
      producerEpoch,
      firstSequence,
      records: buffers.length,
    });
    for (const b of buffers) out.offset += b.copy(out.buf, out.offset);
    sealBatch(out, start, total, crc32c);
    return out;
  };
}
