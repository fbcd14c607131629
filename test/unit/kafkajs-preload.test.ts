// The linear replacement of kafkajs' groupMessagesPerPartition (core/kafkajs-preload.cjs) gives
// what kafkajs' own gives: the same partitions, the same messages in the same order, the same
// empty result without metadata.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { groupMessagesPerPartition } = require('../../core/kafkajs-preload.cjs') as { groupMessagesPerPartition: Grouping };
// kafkajs' module read straight from its file (jest's registry does not hold the preloaded one)
const kafkajsGrouping = jest.requireActual('kafkajs/src/producer/groupMessagesPerPartition.js') as Grouping;

interface Message {
  key: string | null;
  value: string;
  partition?: number;
}
type Grouping = (a: { topic: string; partitionMetadata: { partitionId: number }[]; messages: Message[]; partitioner: (a: { topic: string; partitionMetadata: { partitionId: number }[]; message: Message }) => number }) => Record<string, Message[]>;

describe('kafkajs preload: linear groupMessagesPerPartition', () => {
  test('equals kafkajs’ own on random sends', () => {
    let seed = 7;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let round = 0; round < 50; round++) {
      const partitions = 1 + Math.floor(random() * 8);
      const partitionMetadata = Array.from({ length: partitions }, (_, i) => ({ partitionId: i }));
      const messages: Message[] = Array.from({ length: Math.floor(random() * 400) }, (_, i) => ({ key: `k${i}`, value: `v${i}`, partition: random() < 0.5 ? Math.floor(random() * partitions) : undefined }));
      // explicit partitions as given, the others by a deterministic function of the key
      const partitioner = ({ message }: { message: Message }) => message.partition ?? Number(message.key!.slice(1)) % partitions;
      const ours = groupMessagesPerPartition({ topic: 't', partitionMetadata, messages, partitioner });
      const theirs = kafkajsGrouping({ topic: 't', partitionMetadata, messages, partitioner });
      expect(Object.keys(ours)).toEqual(Object.keys(theirs));
      for (const p of Object.keys(theirs)) expect(ours[p]).toEqual(theirs[p]);
      expect(Object.values(ours).flat().length).toBe(messages.length);
    }
  });

  test('no partition metadata: nothing grouped', () => {
    const partitioner = () => 0;
    expect(groupMessagesPerPartition({ topic: 't', partitionMetadata: [], messages: [{ key: null, value: 'x' }], partitioner })).toEqual({});
  });
});
