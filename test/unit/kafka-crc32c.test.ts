// The faster CRC-32Cs give exactly kafkajs' checksum, at every length and alignment, so record
// batches produced with them are byte-identical to those kafkajs would produce: the JavaScript
// one, and the native one (`@node-rs/crc32`) that `crc32c` is wherever its binary loads.
import { randomBytes } from 'node:crypto';
import { crc32c, crc32cJs, crc32cNative } from '../../core/kafka-crc32c';

// eslint-disable-next-line @typescript-eslint/no-require-imports -- kafkajs' own implementation, the reference
const reference = require('kafkajs/src/protocol/recordBatch/crc32C') as (buf: Buffer) => number;

const implementations: [string, (bytes: Uint8Array) => number][] = [['javascript', crc32cJs]];
if (crc32cNative) implementations.push(['native', crc32cNative]);

test('the native CRC-32C loads on linux x64 (its prebuilt binary is installed with the package) and is the one in use', () => {
  if (process.platform === 'linux' && process.arch === 'x64') expect(crc32cNative).toBeDefined();
  expect(crc32c).toBe(crc32cNative ?? crc32cJs);
});

describe.each(implementations)('%s', (_name, crc) => {
  test('the standard check value: CRC-32C("123456789") = 0xE3069283', () => {
    expect(crc(Buffer.from('123456789'))).toBe(0xe3069283);
    expect(crc(Buffer.alloc(0))).toBe(0);
    expect(crc(new Uint8Array(Buffer.from('123456789')))).toBe(0xe3069283);
  });

  test('equals kafkajs at every length 0–300 and at odd offsets into a shared buffer', () => {
    const data = randomBytes(4096);
    for (let len = 0; len <= 300; len++) {
      for (const offset of [0, 1, 3, 7]) {
        const slice = data.subarray(offset, offset + len);
        expect(crc(slice)).toBe(reference(slice));
      }
    }
  });

  test('equals kafkajs on a large record batch', () => {
    const batch = randomBytes(3 * 1024 * 1024 + 5);
    expect(crc(batch)).toBe(reference(batch));
  });
});
