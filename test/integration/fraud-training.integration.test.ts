// The fraud-model training workflow on the real stack: generated events laid down in the lake as
// the sink writes them, their generator labels imported as a lake label file, then the
// `fraudTraining` workflow on a worker with the real activities — DuckDB over the raw Parquet,
// replay through the scorer, training, the version under models/fraud/<version>/ and the champion
// pointer; a second run is graded against the first and becomes champion or challenger; the speed
// layer's provider loads what the pointer names.
import { PutObjectCommand } from '@aws-sdk/client-s3';
import type { Client } from '@temporalio/client';
import { createActivities } from '../../activities';
import { openLakeDuckDb, type OpenDuckDb } from '../../core/duckdb';
import type { FraudFeedback } from '../../core/fraud-feedback';
import { labelsFileKey } from '../../core/fraud-model-labels';
import { readChampionPointer, readModel, readModelMetrics } from '../../core/fraud-model-store';
import { FRAUD_TRAINING_WORKFLOW, type FraudTrainingInput, type PublishModelResult, type TrainModelResult } from '../../core/fraud-model-training';
import { createS3 } from '../../core/s3';
import { EventGenerator } from '../../generator/generator';
import { layDown, type LayDownMessage } from '../../ingest/lay-down';
import { kafkaKeyOf } from '../../core/ingest-step';
import { createFraudModelProvider, lakeModelLoader } from '../../speed-layer/fraud/model/provider';
import { cfg, uniqueName } from './helpers';
import { startTestWorker, type TestWorker } from './temporal-worker';

jest.setTimeout(600_000);

const START_MS = Date.UTC(2026, 2, 2, 10);
const s3 = createS3(cfg.s3);
const bucket = cfg.s3.bucket;
const prefix = uniqueName('fraud-train');
const taskQueue = uniqueName('fraud-train-q');
let lake: OpenDuckDb;
let worker: TestWorker | undefined;
let client: Client;
let labels: FraudFeedback[];
let laidRows = 0;

beforeAll(async () => {
  lake = await openLakeDuckDb({ threads: 1, memoryLimit: '1GB', s3: cfg.s3, cacheDir: cfg.cacheDir });
  // ~45 min of event time, 5 % fraud (all scenarios), no broken events
  const gen = new EventGenerator({ seed: 11, tenants: 8, users: 800, rate: 3, fraudRate: 0.05, defectRate: 0, startUs: START_MS * 1000 });
  const messages: LayDownMessage[] = [];
  labels = [];
  for (let i = 0; i < 8000; i++) {
    const g = gen.next();
    messages.push({ value: JSON.stringify(g.event), key: kafkaKeyOf(g.event), timestampMs: Math.floor(gen.clockUs / 1000) });
    labels.push({ event_id: g.event.event_metadata.event_id, tenant_id: g.event.tenant_id, label: g.label.fraud ? 'fraud' : 'legit', by: 'generator', at: '2026-03-03T00:00:00.000Z' });
  }
  const laid = await layDown({ s3, bucket, duckdb: lake.connection }, messages, { prefix, partitions: 2 });
  laidRows = laid.rows;
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: labelsFileKey(prefix, 'generated'), Body: labels.map((l) => JSON.stringify(l)).join('\n') }));

  // one analyst verdict on top of the generator's labels: counted as feedback
  worker = await startTestWorker(taskQueue, createActivities({ s3, bucket, duckdb: lake.connection, lake: lake.instance, fraudFeedback: async () => [{ ...labels[0], by: 'analyst-1' }] }));
  client = worker.client;
});

afterAll(async () => {
  await worker?.stop();
  lake?.close();
  s3.destroy();
});

const train = (input: FraudTrainingInput) =>
  client.workflow.execute(FRAUD_TRAINING_WORKFLOW, { taskQueue, workflowId: uniqueName('fraud-train-wf'), args: [input] }) as Promise<{ result: TrainModelResult; published: PublishModelResult }>;

test('trains from the lake, writes the version with its metrics, publishes the first model as champion; the next run is graded against it', async () => {
  const range = { fromMs: START_MS - 3_600_000, toMs: START_MS + 6 * 3_600_000 };
  const first = await train({ prefix, range });
  const fraud = labels.filter((l) => l.label === 'fraud').length;
  expect(first.result.events).toBeGreaterThan(laidRows * 0.95); // duplicates in the generated stream are dropped
  expect(first.result.fraud).toBeGreaterThan(fraud * 0.9);
  expect(first.result.labels.feedback).toBe(1);
  expect(first.result.labels.lake).toBe(first.result.events - 1);
  expect(first.result.heldOut.auc).toBeGreaterThan(0.9);
  expect(first.result.champion).toBeNull();
  expect(first.published).toMatchObject({ champion: first.result.version, challenger: null, promoted: true });

  const { pointer } = await readChampionPointer(s3, bucket, prefix);
  expect(pointer).toMatchObject({ champion: first.result.version, challenger: null });
  const model = await readModel(s3, bucket, prefix, first.result.version);
  const metrics = await readModelMetrics(s3, bucket, prefix, first.result.version);
  expect(model.threshold).toBe(metrics!.threshold);
  expect(metrics!.source).toMatchObject({ from: new Date(range.fromMs).toISOString(), feedback_labels: 1 });
  expect(metrics!.rows.train + metrics!.rows.validation).toBe(first.result.events);

  // the second run trains the same model on the same rows: graded against the champion on the
  // held-out slice it ties, and a tie does not promote — it becomes the challenger
  const second = await train({ prefix, range });
  expect(second.result.champion).toEqual({ version: first.result.version, auc: second.result.heldOut.auc });
  expect(second.published).toMatchObject({ champion: first.result.version, challenger: second.result.version, promoted: false });
  const after = (await readChampionPointer(s3, bucket, prefix)).pointer!;
  expect(after).toMatchObject({ champion: first.result.version, challenger: second.result.version });
  expect(after.reason).toMatch(/≤ champion/);

  // the speed layer's provider follows the pointer
  const provider = createFraudModelProvider({ load: lakeModelLoader(s3, bucket, prefix) });
  expect(await provider.refresh()).toBe(true);
  expect(provider.status()).toMatchObject({ champion: after.champion, challenger: after.challenger, lastError: null });

  // a capped run replays only the newest maxEvents events of the range; --no-promote keeps it challenger
  const capped = await train({ prefix, range, maxEvents: 2000, noPromote: true });
  expect(capped.result.events).toBeLessThanOrEqual(2000);
  expect(capped.result.events).toBeGreaterThan(1900);
  expect(capped.result.fromMs).toBeGreaterThan(range.fromMs);
  expect(capped.published).toMatchObject({ champion: first.result.version, challenger: capped.result.version, promoted: false });
});

test('a range without events fails without retrying, naming the problem', async () => {
  await expect(train({ prefix, range: { fromMs: Date.UTC(2020, 0, 1), toMs: Date.UTC(2020, 0, 2) } })).rejects.toMatchObject({ cause: { cause: { message: expect.stringMatching(/no fraud labels among 0 events|no raw events/) } } });
});
