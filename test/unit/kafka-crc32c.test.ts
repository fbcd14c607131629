// The faster CRC-32C gives exactly kafkajs' checksum, at every length and alignment, so record
// batches produced with it are byte-identical to those kafkajs would produce.
import { randomBytes } from 'node:crypto';
import { crc32c } from '../../core/kafka-crc32c';

// eslint-disable-next-line @typescript-eslint/no-require-imports -- kafkajs' own implementation, the reference
const reference = require('kafkajs/src/protocol/recordBatch/crc32C') as (buf: Buffer) => number;

test('the standard check value: CRC-32C("123456789") = 0xE3069283', () => {
  expect(crc32c(Buffer.from('123456789'))).toBe(0xe3069283);
  expect(crc32c(Buffer.alloc(0))).toBe(0);
});

test('equals kafkajs at every length 0–300 and at odd offsets into a shared buffer', () => {
  const data = randomBytes(4096);
  for (let len = 0; len <= 300; len++) {
    for (const offset of [0, 1, 3, 7]) {
      const slice = data.subarray(offset, offset + len);
      expect(crc32c(slice)).toBe(reference(slice));
    }
  }
});

test('equals kafkajs on a large record batch', () => {
  const batch = randomBytes(3 * 1024 * 1024 + 5);
  expect(crc32c(batch)).toBe(reference(batch));
});
