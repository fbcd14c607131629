// rtap's kafkajs produce path (core/kafkajs-fast-path.ts: records, batches, CRC-32C and whole
// produce requests written in one buffer) against the real broker. Jest keeps its own module
// registry, where the fast path is not installed, so the producer runs in a child under Node's own
// loader, as the API runs; the broker checks every batch's CRC and framing, and the messages read
// back (with kafkajs' own decoder, here) must be exactly the ones sent.
import { execFile } from 'node:child_process';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { logLevel, type Kafka } from 'kafkajs';
import { REPO_ROOT } from '../../core/config';
import { createKafka } from '../../core/kafka';
import { cfg, uniqueName } from './helpers';
import { createTopics, readTopic } from './kafka-read';

jest.setTimeout(120_000);

let kafka: Kafka;
beforeAll(() => {
  kafka = createKafka(cfg.kafka, { logLevel: logLevel.NOTHING });
});

interface Sent {
  key: string | null;
  value: string;
  headers: Record<string, string | string[]>;
  timestamp?: string;
}

/** Keys, values and headers of every kind the API sends: long UTF-8 values, null keys, repeated headers. */
function messages(n: number): Sent[] {
  return Array.from({ length: n }, (_, i): Sent => {
    const headers: Sent['headers'] = i % 5 === 0 ? { schema_version: '2.1', multi: ['a', 'bé'] } : { schema_version: '2.1', 'x-rtap-l': `2\u0001${'f\u0001'.repeat(35)}${i}` };
    const m: Sent = {
      key: i % 11 === 0 ? null : `tenant_${i % 13}:tok_v1_${i.toString(16).padStart(32, '0')}`,
      value: JSON.stringify({ i, text: `ünïcødé ✓ 🎉 ${'x'.repeat((i * 397) % 6000)}` }),
      headers,
    };
    if (i % 3 === 0) m.timestamp = String(1_700_000_000_000 + i);
    return m;
  });
}

test('records produced through the fast path (idempotent, acks=all) are accepted by the broker and read back as sent', async () => {
  const topic = uniqueName('fast-path');
  await createTopics(kafka, [{ topic, numPartitions: 3 }]);
  const sent = messages(600);
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'rtap-fast-path-'));
  const input = path.join(dir, 'messages.json');
  await fs.writeFile(input, JSON.stringify(sent));
  const script = `
    const { installKafkajsFastPath } = require('./core/kafkajs-fast-path.ts');
    const { createKafka } = require('./core/kafka.ts');
    const { loadConfig } = require('./core/config.ts');
    const { logLevel } = require('kafkajs');
    (async () => {
      const messages = JSON.parse(require('node:fs').readFileSync(${JSON.stringify(input)}, 'utf8'));
      const kafka = createKafka(loadConfig().kafka, { logLevel: logLevel.NOTHING });
      const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
      await producer.connect();
      for (let i = 0; i < messages.length; i += 200) {
        await producer.sendBatch({ acks: -1, topicMessages: [{ topic: ${JSON.stringify(topic)}, messages: messages.slice(i, i + 200) }] });
      }
      await producer.disconnect();
      process.stdout.write(String(installKafkajsFastPath()));
    })().catch((err) => { console.error(err); process.exit(1); });`;
  const installed = await new Promise<string>((resolve, reject) =>
    execFile(process.execPath, ['-r', 'tsx/cjs', '-e', script], { cwd: REPO_ROOT, env: { ...process.env, KAFKA_FAST_PATH: 'true' } }, (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout))),
  );
  await fs.rm(dir, { recursive: true, force: true });
  expect(installed).toBe('true');

  const read = await readTopic(kafka, topic, sent.length);
  expect(read).toHaveLength(sent.length);
  const asSent = (m: { key: string | null; value: string; headers: Record<string, unknown> }) =>
    JSON.stringify([m.key, m.value, Object.entries(m.headers).map(([k, v]) => [k, Array.isArray(v) ? v.map(String) : String(v)])]);
  const got = read.map((m) => asSent({ key: m.key, value: m.value, headers: m.headers })).sort();
  const want = sent.map((m) => asSent(m)).sort();
  expect(got).toEqual(want);
});
