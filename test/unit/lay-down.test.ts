// Lay-down places each event where the API's producer would: same key, same partition.
import { Partitioners, type PartitionMetadata } from 'kafkajs';
import { kafkaKeyOf } from '../../core/ingest-step';
import { EventGenerator } from '../../generator/generator';
import { generatedMessages, keyOfValue, keyPartitioner } from '../../ingest/lay-down';

describe('lay-down placement', () => {
  it('hashes keys to the partitions kafkajs’ default (Java-compatible) partitioner picks', () => {
    const metadata: PartitionMetadata[] = Array.from({ length: 12 }, (_, i) => ({ partitionId: i, leader: 0, partitionErrorCode: 0, replicas: [0], isr: [0] }));
    const reference = Partitioners.DefaultPartitioner();
    const ours = keyPartitioner(12);
    for (let i = 0; i < 2000; i++) {
      const key = `t_${i % 97}:user-${i}`;
      expect(ours(key)).toBe(reference({ topic: 'events', partitionMetadata: metadata, message: { key, value: null } }));
    }
    expect(() => keyPartitioner(0)).toThrow(RangeError);
  });

  it('keys an event as the API does, and anything else by its text', () => {
    const [m] = [...generatedMessages(new EventGenerator({ seed: 3, tenants: 5, users: 100, defectRate: 0 }), 1)];
    expect(m.key).toBe(kafkaKeyOf(JSON.parse(m.value)));
    expect(keyOfValue(m.value)).toBe(m.key);
    expect(keyOfValue('not json')).toBe('not json');
    expect(keyOfValue('{"tenant_id":"a"}')).toBe('{"tenant_id":"a"}');
  });

  it('is deterministic for a seed', () => {
    const run = () => [...generatedMessages(new EventGenerator({ seed: 9, tenants: 5, users: 100 }), 50)];
    expect(run()).toEqual(run());
  });
});
