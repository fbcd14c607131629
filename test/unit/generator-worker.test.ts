// The Kafka path's worker thread: wire format round trip, and the worker's batches are exactly
// the single-threaded stream (same seed → same messages, same order, same batch sizes).
import { createKeyring } from '../../core/pii';
import { DEFAULT_OPTIONS, EventGenerator, type GeneratorOptions } from '../../generator/generator';
import { countLabel, countType, toMessage } from '../../generator/run';
import type { OutMessage } from '../../generator/sinks';
import { GeneratorWorker, keyringForWorker } from '../../generator/worker';
import { decodeBatch, encodeBatch } from '../../generator/wire';

const str = (m: { key: Buffer | string; value: Buffer | string; label: Buffer | string }) => ({ key: String(m.key), value: String(m.value), label: String(m.label) });

test('wire format: encode → decode gives the same key, value and label (UTF-8 included)', () => {
  const g = new EventGenerator({ seed: 3 });
  const batch: OutMessage[] = Array.from({ length: 50 }, () => toMessage(g.next()));
  batch.push({ key: 't_00001:ünïcødé', value: '{"city":"São Paulo","emoji":"🛒"}', label: '{"fraud":false}' }, { key: '', value: '', label: '' });
  const enc = encodeBatch(batch);
  expect(enc.n).toBe(batch.length);
  expect(decodeBatch(enc).map(str)).toEqual(batch);
});

async function viaWorker(options: GeneratorOptions, count: number, batchCap: number, keyring?: ReturnType<typeof createKeyring>) {
  const w = new GeneratorWorker({ options, count, batchCap, window: 2, keyring: keyring && keyringForWorker(keyring) });
  try {
    const out: { sizes: number[]; messages: OutMessage[]; bytes: number; fraud: Record<string, number>; defects: Record<string, number>; types: Record<string, number> } = { sizes: [], messages: [], bytes: 0, fraud: {}, defects: {}, types: {} };
    while (out.messages.length < count) {
      const b = await w.take();
      out.sizes.push(b.batch.n);
      out.messages.push(...decodeBatch(b.batch).map(str));
      out.bytes += b.bytes;
      for (const [k, v] of Object.entries(b.fraudByScenario)) out.fraud[k] = (out.fraud[k] ?? 0) + v;
      for (const [k, v] of Object.entries(b.defects)) out.defects[k] = (out.defects[k] ?? 0) + v;
      for (const [k, v] of Object.entries(b.eventTypes)) out.types[k] = (out.types[k] ?? 0) + v;
    }
    return out;
  } finally {
    await w.close();
  }
}

test('the worker produces the single-threaded stream, in order, in batches of the cap', async () => {
  const options = { ...DEFAULT_OPTIONS, seed: 11, rate: 5000, fraudRate: 0.05, defectRate: 0.02 };
  const n = 2345;
  const got = await viaWorker(options, n, 400);
  const g = new EventGenerator(options);
  const fraud: Record<string, number> = {};
  const defects: Record<string, number> = {};
  const types: Record<string, number> = {};
  let bytes = 0;
  const want = Array.from({ length: n }, () => {
    const e = g.next();
    countLabel(e.label, fraud, defects);
    countType(e.event, types);
    const m = toMessage(e);
    bytes += m.value.length;
    return m;
  });
  expect(got.sizes).toEqual([400, 400, 400, 400, 400, 345]);
  expect(got.messages.length).toBe(n);
  expect(got.messages.every((m, i) => m.key === want[i].key && m.value === want[i].value && m.label === want[i].label)).toBe(true);
  expect(got.bytes).toBe(bytes);
  expect(got.fraud).toEqual(fraud);
  expect(got.defects).toEqual(defects);
  expect(got.types).toEqual(types);
  expect(Object.keys(types)).toEqual(expect.arrayContaining(['user_interaction', 'transaction', 'ml_inference', 'system_event']));
});

test('the worker tokenizes with the keyring it is given, like toMessage', async () => {
  const keyring = createKeyring({ v1: 'a-secret-of-at-least-16-chars', v2: 'another-secret-of-16-chars-plus' }, 'v2');
  const options = { ...DEFAULT_OPTIONS, seed: 4, rate: 2000 };
  const got = await viaWorker(options, 300, 128, keyring);
  const g = new EventGenerator(options);
  const want = Array.from({ length: 300 }, () => toMessage(g.next(), keyring));
  expect(got.messages).toEqual(want);
  expect(got.messages.some((m) => m.value.includes('tok_v2_'))).toBe(true);
});
