// The Math.imul murmur2 places every key exactly where kafkajs' (and Java's) murmur2 does.
import { randomBytes } from 'node:crypto';
import { JavaCompatiblePartitioner, murmur2 } from '../../core/kafka-partitioner';

// eslint-disable-next-line @typescript-eslint/no-require-imports -- kafkajs' own murmur2 is the reference
const reference = require('kafkajs/src/producer/partitioners/default/murmur2') as (key: Buffer | string) => number;

test('equals kafkajs’ murmur2 for strings, Unicode and random bytes of every length 0–200', () => {
  for (const key of ['', 'a', 'ab', 'abc', 'abcd', 'tenant_17:tok_v1_0123456789abcdef0123456789abcdef', 'ünïcødé ✓ 🎉', '21']) {
    expect(murmur2(key)).toBe(reference(key));
  }
  for (let len = 0; len <= 200; len++) {
    const key = randomBytes(len);
    expect(murmur2(key)).toBe(reference(key));
  }
});

test('Java’s published values: murmur2("21") = -973932308, murmur2("foobar") = -790332482', () => {
  // From the Java client's UtilsTest.testMurmur2.
  expect(murmur2('21')).toBe(-973932308);
  expect(murmur2('foobar')).toBe(-790332482);
});

test('the partitioner picks the same partition as kafkajs’ default for keyed messages', () => {
  const { Partitioners } = jest.requireActual<typeof import('kafkajs')>('kafkajs');
  const ours = JavaCompatiblePartitioner();
  const theirs = Partitioners.DefaultPartitioner();
  const partitionMetadata = Array.from({ length: 6 }, (_, partitionId) => ({ partitionId, leader: 1, partitionErrorCode: 0, replicas: [1], isr: [1] }));
  for (let i = 0; i < 500; i++) {
    const message = { key: `tenant_${i % 37}:tok_v1_${randomBytes(16).toString('hex')}`, value: 'v' };
    expect(ours({ topic: 'events', partitionMetadata, message })).toBe(theirs({ topic: 'events', partitionMetadata, message }));
  }
});
