// One Kafka record (message format v2) decoded from a fetch response as kafkajs' own
// `recordBatch/record/v0/decoder` decodes it — the same object, field for field — without its
// 64-bit arithmetic: kafkajs builds the timestamp and offset of every record with Long objects (one
// per varlong byte, then an add and a decimal toString), and its headers object by spreading the
// object built so far once per header. The consumers of `events` (the speed layer, the lake sink)
// decode every record they read. Values that do not fit a double exactly (an offset or timestamp
// beyond 2^53) take kafkajs' own Long path, so the output never differs. Installed by
// core/kafkajs-fast-path.ts; tested against kafkajs' decoder (test/unit/kafka-record-decoder.test.ts).
//   Record => Length:varint Attributes:int8 TimestampDelta:varlong OffsetDelta:varint
//             Key:varint-bytes Value:varint-bytes Headers:[HeaderKey:varint-string HeaderValue:varint-bytes]

/** What the decoder reads from: kafkajs' Decoder (a buffer and a position). */
export interface DecoderLike {
  buffer: Buffer;
  offset: number;
  readVarLong(): { toString(): string };
}

export interface RecordBatchContext {
  firstOffset?: string;
  firstTimestamp?: string;
  magicByte?: number;
  isControlBatch?: boolean;
  timestampType?: number;
  maxTimestamp?: string;
}

/** A record as kafkajs' record decoder returns it (the fields and their order). */
export interface DecodedRecord {
  magicByte: number | undefined;
  attributes: number;
  timestamp: string;
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, unknown>;
  isControlRecord: boolean;
  batchContext: RecordBatchContext;
}

interface LongLike {
  add(other: unknown): { toString(): string };
}
type LongModule = { fromValue(v: string): LongLike };

/** kafkajs' timestamp type of LogAppendTime (protocol/timestampTypes). */
const LOG_APPEND_TIME = 1;

/** Decodes records as kafkajs' record decoder does; `Long` is kafkajs' own, for values past 2^53. */
export function createRecordDecoder(Long: LongModule): (decoder: DecoderLike, batchContext?: RecordBatchContext) => DecodedRecord {
  /** firstValue (a decimal string of a 64-bit integer) + delta, as kafkajs' Long spells it. */
  const plus = (first: string | undefined, delta: number | { toString(): string }): string => {
    if (typeof delta === 'number' && first !== undefined) {
      const base = Number(first);
      const sum = base + delta;
      // exact in a double, and `first` was a plain decimal of it (Long's toString spelling)
      if (Number.isSafeInteger(base) && Number.isSafeInteger(sum) && String(base) === first) return String(sum);
    }
    return Long.fromValue(first as string)
      .add(delta)
      .toString();
  };

  return function decodeRecord(decoder: DecoderLike, batchContext: RecordBatchContext = {}): DecodedRecord {
    const { firstOffset, firstTimestamp, magicByte, isControlBatch = false, timestampType, maxTimestamp } = batchContext;
    const buf = decoder.buffer;
    let o = decoder.offset;
    const attributes = buf.readInt8(o);
    o += 1;

    // TimestampDelta: a zigzag varlong. Up to 7 bytes (49 bits) it is read as a number; longer,
    // kafkajs reads it (and the sum is then made with its Long)
    let timestampDelta: number | { toString(): string };
    let raw = 0;
    let scale = 1;
    let i = 0;
    let byte: number;
    do {
      byte = buf[o + i];
      raw += (byte & 0x7f) * scale;
      scale *= 128;
      i++;
    } while (byte >= 0x80 && i < 7);
    if (byte >= 0x80) {
      decoder.offset = o;
      timestampDelta = decoder.readVarLong();
      o = decoder.offset;
    } else {
      o += i;
      // zigzag: even → raw / 2, odd → −(raw + 1) / 2
      timestampDelta = raw % 2 === 0 ? raw / 2 : -(raw + 1) / 2;
    }
    const timestamp = timestampType === LOG_APPEND_TIME && maxTimestamp ? maxTimestamp : plus(firstTimestamp, timestampDelta);

    pos = o;
    const offset = plus(firstOffset, readVarInt(buf));
    const key = readBytes(buf);
    const value = readBytes(buf);

    // headers: kafkajs reduces them into an object, a repeated key collecting an array
    const headers: Record<string, unknown> = {};
    const count = readVarInt(buf);
    for (let h = 0; h < count; h++) {
      const nameBytes = readBytes(buf);
      const hv = readBytes(buf);
      // kafkajs reads the name as a string (null for −1) and uses it as a computed key
      const k = nameBytes === null ? 'null' : nameBytes.toString('utf8');
      const before: unknown = headers[k];
      const next = before === undefined ? hv : Array.isArray(before) ? before.concat([hv]) : [before, hv];
      // an own property, as kafkajs' `{ ...obj, [key]: … }` makes it, even for `__proto__`
      if (k === '__proto__') Object.defineProperty(headers, k, { value: next, writable: true, enumerable: true, configurable: true });
      else headers[k] = next;
    }
    o = pos;
    decoder.offset = o;

    return {
      magicByte,
      attributes,
      timestamp,
      offset,
      key,
      value,
      headers,
      isControlRecord: isControlBatch,
      batchContext,
    };
  };
}

/** Where readVarInt reads next (one record is decoded at a time, synchronously). */
let pos = 0;

/** A zigzag varint at `pos`, as kafkajs' Decoder.readVarInt computes it (the same 32-bit shifts). */
function readVarInt(buf: Buffer): number {
  let byte: number;
  let result = 0;
  let shift = 0;
  do {
    byte = buf[pos++];
    result += (byte & 0x7f) << shift;
    shift += 7;
  } while (byte >= 0x80);
  return (result >>> 1) ^ -(result & 1);
}

/** Varint-length bytes at `pos` (null for −1), as a view of `buf`. */
function readBytes(buf: Buffer): Buffer | null {
  const n = readVarInt(buf);
  if (n === -1) return null;
  const out = buf.slice(pos, pos + n);
  pos += n;
  return out;
}
