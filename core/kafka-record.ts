// One Kafka record (message format v2, as in a record batch), encoded byte-for-byte as kafkajs'
// own `recordBatch/record/v0` encodes it, but into one exactly-sized buffer. kafkajs builds each
// record from three growing Encoders and allocates a fresh Buffer for every varint (about a dozen
// allocations per message): measured at ~45 µs of CPU per 3.6 KB message in the ingestion API,
// most of it allocation and GC. kafkajs' record-batch encoder takes records as anything with a
// `buf` and a `buffer` (what it copies), which is what this returns.
//   Record => Length:varint Attributes:int8 TimestampDelta:varlong OffsetDelta:varint
//             Key:varint-bytes Value:varint-bytes Headers:[HeaderKey:varint-string HeaderValue:varint-bytes]

type Bytes = Buffer | string | null | undefined;

export interface RecordInput {
  offsetDelta?: number;
  timestampDelta?: number;
  key?: Bytes;
  value?: Bytes;
  headers?: Record<string, Bytes | Bytes[]>;
}

/** What kafkajs' record-batch encoder reads from a record (an Encoder's `buf` and `buffer`). */
export interface EncodedRecord {
  buf: Buffer;
  buffer: Buffer;
}

const zigzag = (v: number): number => (v << 1) ^ (v >> 31);

function sizeOfUVarInt(value: number): number {
  let bytes = 1;
  while ((value & 0xffffff80) !== 0) {
    bytes += 1;
    value >>>= 7;
  }
  return bytes;
}

function writeUVarInt(buf: Buffer, pos: number, value: number): number {
  while ((value & 0xffffff80) !== 0) {
    buf[pos++] = (value & 0x7f) | 0x80;
    value >>>= 7;
  }
  buf[pos++] = value & 0x7f;
  return pos;
}

/** The unsigned zigzag value of a varlong, as a number when it fits 31 bits (always, in practice). */
function zigzag64(value: number): number | bigint {
  if (Number.isNaN(value)) return 0; // kafkajs' Long.fromNumber(NaN)
  if (Number.isInteger(value) && value >= -(2 ** 30) && value < 2 ** 30) return zigzag(value);
  const v = BigInt(value);
  return BigInt.asUintN(64, (v << 1n) ^ (v >> 63n));
}

function sizeOfUVarLong(value: number | bigint): number {
  if (typeof value === 'number') return sizeOfUVarInt(value);
  let bytes = 1;
  while (value >= 0x80n) {
    bytes += 1;
    value >>= 7n;
  }
  return bytes;
}

function writeUVarLong(buf: Buffer, pos: number, value: number | bigint): number {
  if (typeof value === 'number') return writeUVarInt(buf, pos, value);
  while (value >= 0x80n) {
    buf[pos++] = Number(value & 0x7fn) | 0x80;
    value >>= 7n;
  }
  buf[pos++] = Number(value);
  return pos;
}

/** A key, value or header value as kafkajs writes it: Buffers raw, anything else as UTF-8 text. */
function asBytes(value: Bytes): Buffer | string | null {
  if (value === null || value === undefined) return null;
  return Buffer.isBuffer(value) ? value : String(value);
}

function byteLength(value: Buffer | string): number {
  return typeof value === 'string' ? Buffer.byteLength(value, 'utf8') : value.length;
}

/** A record measured and ready to write: its fields as bytes or text, and their lengths. */
export interface PreparedRecord {
  keyBytes: Buffer | string | null;
  valueBytes: Buffer | string | null;
  keyLength: number;
  valueLength: number;
  headerKeys: string[];
  headerValues: (Buffer | string | null)[];
  headerKeyLengths: number[];
  headerValueLengths: number[];
  timestamp: number | bigint;
  offsetDelta: number;
  /** Bytes after the length prefix. */
  bodySize: number;
  /** Bytes of the whole record, length prefix included. */
  size: number;
}

const lengthField = (n: number) => sizeOfUVarInt(zigzag(n)) + Math.max(n, 0);

/** Measures a record (one UTF-8 length per text field) for `writeRecord`. */
export function prepareRecord({ offsetDelta = 0, timestampDelta = 0, key, value, headers = {} }: RecordInput): PreparedRecord {
  const keyBytes = asBytes(key);
  const valueBytes = asBytes(value);
  const keyLength = keyBytes === null ? -1 : byteLength(keyBytes);
  const valueLength = valueBytes === null ? -1 : byteLength(valueBytes);
  // Headers flattened as kafkajs does: one entry per value of a repeated header.
  const headerKeys: string[] = [];
  const headerValues: (Buffer | string | null)[] = [];
  for (const name of Object.keys(headers)) {
    const entry = headers[name];
    for (const v of Array.isArray(entry) ? entry : [entry]) {
      headerKeys.push(name);
      headerValues.push(asBytes(v));
    }
  }
  const headerKeyLengths = headerKeys.map((k) => Buffer.byteLength(k, 'utf8'));
  const headerValueLengths = headerValues.map((v) => (v === null ? -1 : byteLength(v)));

  const timestamp = zigzag64(timestampDelta);
  let bodySize =
    1 + sizeOfUVarLong(timestamp) + sizeOfUVarInt(zigzag(offsetDelta)) + lengthField(keyLength) + lengthField(valueLength) + sizeOfUVarInt(zigzag(headerKeys.length));
  for (let i = 0; i < headerKeys.length; i++) bodySize += lengthField(headerKeyLengths[i]) + lengthField(headerValueLengths[i]);
  const size = sizeOfUVarInt(zigzag(bodySize)) + bodySize;
  return { keyBytes, valueBytes, keyLength, valueLength, headerKeys, headerValues, headerKeyLengths, headerValueLengths, timestamp, offsetDelta, bodySize, size };
}

function writeBytes(buf: Buffer, pos: number, bytes: Buffer | string | null, length: number): number {
  pos = writeUVarInt(buf, pos, zigzag(length));
  if (bytes === null) return pos;
  return pos + (typeof bytes === 'string' ? buf.write(bytes, pos, length, 'utf8') : bytes.copy(buf, pos));
}

/** Writes a prepared record at `pos` (the caller made room for `r.size` bytes); returns the position after it. */
export function writeRecord(buf: Buffer, pos: number, r: PreparedRecord): number {
  const start = pos;
  pos = writeUVarInt(buf, pos, zigzag(r.bodySize));
  buf[pos++] = 0; // attributes: none used in records
  pos = writeUVarLong(buf, pos, r.timestamp);
  pos = writeUVarInt(buf, pos, zigzag(r.offsetDelta));
  pos = writeBytes(buf, pos, r.keyBytes, r.keyLength);
  pos = writeBytes(buf, pos, r.valueBytes, r.valueLength);
  pos = writeUVarInt(buf, pos, zigzag(r.headerKeys.length));
  for (let i = 0; i < r.headerKeys.length; i++) {
    pos = writeBytes(buf, pos, r.headerKeys[i], r.headerKeyLengths[i]);
    pos = writeBytes(buf, pos, r.headerValues[i], r.headerValueLengths[i]);
  }
  if (pos - start !== r.size) throw new Error(`kafka record encoding: wrote ${pos - start} of ${r.size} bytes`);
  return pos;
}

export function encodeRecord(input: RecordInput): EncodedRecord {
  const r = prepareRecord(input);
  // allocUnsafe is safe here: every byte up to the exact size is written below.
  const buf = Buffer.allocUnsafe(r.size);
  writeRecord(buf, 0, r);
  return { buf, buffer: buf };
}
