// Faster drop-ins for three modules of kafkajs' produce path, byte-identical in output (tested
// against kafkajs' own, down to whole produce requests): the record encoder
// (core/kafka-record.ts), the uncompressed record-batch encoder (core/kafka-record-batch.ts) and
// the batch checksum (core/kafka-crc32c.ts). kafkajs spent ~45 µs of CPU per 3.6 KB message in
// the ingestion API, mostly allocating and copying (docs/ingestion.md, "Performance"). kafkajs
// 2.2.4 is its last release, so these internal module paths are stable. They are swapped in
// Node's module cache before kafkajs loads its produce request, which it does lazily at the
// first send; consuming and decoding are untouched.
import { createRequire } from 'node:module';
import { crc32c } from './kafka-crc32c';
import { encodeRecord } from './kafka-record';
import { createRecordBatchEncoder, type RecordBatchEncoder } from './kafka-record-batch';

const CRC = 'kafkajs/src/protocol/recordBatch/crc32C/index.js';
const RECORD = 'kafkajs/src/protocol/recordBatch/record/v0/index.js';
const RECORD_BATCH = 'kafkajs/src/protocol/recordBatch/v0/index.js';
/** The module that takes the replaced ones when it loads: too late to replace them once it is loaded. */
const PRODUCE_REQUEST = 'kafkajs/src/protocol/requests/produce/v3/request.js';

/**
 * Installs the replacements; returns whether they are in place. They are not outside Node's
 * CommonJS loader (jest keeps its own module registry) or once kafkajs has loaded its produce
 * request: kafkajs then simply runs its own code.
 */
export function installKafkajsFastPath(): boolean {
  const req = createRequire(__filename);
  const cache = req.cache as NodeJS.Dict<NodeModule> | undefined;
  if (!cache) return false;
  const mod = (name: string) => cache[req.resolve(name)];
  const installed = () => mod(RECORD)?.exports === encodeRecord && mod(CRC)?.exports === crc32c;
  if (mod(PRODUCE_REQUEST) !== undefined) return installed();
  // The checksum first: kafkajs' own batch encoder, kept for compressed batches, takes it on load.
  req(req.resolve(CRC));
  mod(CRC)!.exports = crc32c;
  req(req.resolve(RECORD));
  mod(RECORD)!.exports = encodeRecord;
  const batch = req(req.resolve(RECORD_BATCH)) as { RecordBatch: RecordBatchEncoder; MAGIC_BYTE: number };
  mod(RECORD_BATCH)!.exports = { ...batch, RecordBatch: createRecordBatchEncoder(batch.RecordBatch, crc32c) };
  return installed();
}
