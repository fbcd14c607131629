// The audit chain writer (core/audit-log.ts) against a fake producer and control plane: records
// reach the topic in chain order, a failed send is retried without reordering or renumbering, a
// full queue refuses (the chain stays unbroken), and the head is anchored with its offset, closed
// on shutdown.
import type { Kafka } from 'kafkajs';
import { verifyAudit, type AuditAnchor, type AuditEntry, type AuditRecord } from '../../core/audit';
import { AuditWriter } from '../../core/audit-log';
import type { ControlPlane } from '../../core/control';
import { createLogger } from '../../core/logger';

const entry = (i: number): AuditEntry => ({ ts: '2026-11-27T12:00:00Z', source: 'api', actor: { kind: 'anonymous', id: null }, tenant: null, cross_tenant: false, action: `GET /x${i}`, method: 'GET', status: 401, target: '/x' });

function fakes(failFirst = 0) {
  const topic: AuditRecord[] = [];
  const anchors: AuditAnchor[] = [];
  let failures = failFirst;
  const producer = {
    connect: async () => undefined,
    disconnect: async () => undefined,
    send: async ({ messages }: { messages: { value: string }[] }) => {
      if (failures-- > 0) throw new Error('broker down');
      const baseOffset = String(topic.length);
      for (const m of messages) topic.push(JSON.parse(m.value) as AuditRecord);
      return [{ partition: 0, baseOffset }];
    },
  };
  const kafka = { producer: () => producer } as unknown as Kafka;
  const control = { write: async (records: { value: AuditAnchor }[]) => void anchors.push(...records.map((r) => r.value)) } as unknown as ControlPlane;
  const writer = new AuditWriter({ kafka, topic: 'audit', control, chainId: 'c1', log: createLogger('test'), flushMs: 60_000, anchorMs: 0, maxQueued: 3 });
  return { writer, topic, anchors };
}

describe('AuditWriter', () => {
  it('sends records in chain order and anchors the head with its offset, closed at the end', async () => {
    const { writer, topic, anchors } = fakes();
    await writer.start();
    writer.append(entry(0));
    writer.append(entry(1));
    await writer.flush();
    writer.append(entry(2));
    await writer.close();
    expect(topic.map((r) => r.seq)).toEqual([0, 1, 2]);
    expect(anchors[0]).toMatchObject({ chain: 'c1', seq: 1, hash: topic[1].hash, offset: '1' });
    expect(anchors[anchors.length - 1]).toMatchObject({ seq: 2, hash: topic[2].hash, offset: '2', closed: true });
    const positioned = topic.map((value, i) => ({ at: { offset: String(i) }, value }));
    expect(verifyAudit(positioned, anchors.slice(-1)).ok).toBe(true);
  });

  it('keeps the queue and its order when a send fails, and refuses records while the queue is full', async () => {
    const { writer, topic, anchors } = fakes(1);
    await writer.start();
    writer.append(entry(0));
    writer.append(entry(1));
    await writer.flush();
    expect(topic).toHaveLength(0);
    expect(anchors).toHaveLength(0);
    writer.append(entry(2));
    expect(writer.backlogged).toBe(true);
    expect(writer.append(entry(3))).toBeUndefined();
    await writer.flush();
    expect(writer.backlogged).toBe(false);
    expect(writer.append(entry(4))?.seq).toBe(3);
    await writer.close();
    expect(topic.map((r) => [r.seq, r.action])).toEqual([[0, 'GET /x0'], [1, 'GET /x1'], [2, 'GET /x2'], [3, 'GET /x4']]);
    expect(verifyAudit(topic.map((value, i) => ({ at: { offset: String(i) }, value })), anchors).ok).toBe(true);
  });
});
