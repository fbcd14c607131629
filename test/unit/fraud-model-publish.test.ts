// Publishing a trained version (activities/fraud-training.ts publishFraudModel) against an
// in-memory S3 with ETag semantics: the first model becomes champion, a winner replaces the
// champion (which becomes challenger), a loser or an unpromoted winner becomes challenger, a
// winner graded against a champion that changed meanwhile is not promoted, and a pointer changed
// between read and write is re-read rather than overwritten.
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { DuckDBInstance } from '@duckdb/node-api';
import { createFraudTrainingActivities } from '../../activities/fraud-training';
import { championKey, modelKey, parseChampionPointer, writeModelVersion } from '../../core/fraud-model-store';
import type { ModelMetrics } from '../../speed-layer/fraud/model/fit';
import type { FraudModelDoc } from '../../speed-layer/fraud/model/model';

function memoryS3(onPut?: (key: string) => void) {
  const objects = new Map<string, { text: string; etag: string }>();
  let n = 0;
  const send = async (cmd: unknown) => {
    if (cmd instanceof GetObjectCommand) {
      const o = objects.get(cmd.input.Key!);
      if (!o) throw Object.assign(new Error('NoSuchKey'), { name: 'NoSuchKey', $metadata: { httpStatusCode: 404 } });
      return { Body: { transformToString: async () => o.text }, ETag: o.etag };
    }
    if (cmd instanceof PutObjectCommand) {
      const key = cmd.input.Key!;
      onPut?.(key);
      const current = objects.get(key);
      const { IfMatch, IfNoneMatch } = cmd.input;
      if ((IfNoneMatch === '*' && current) || (IfMatch !== undefined && current?.etag !== IfMatch)) throw Object.assign(new Error('PreconditionFailed'), { $metadata: { httpStatusCode: 412 } });
      objects.set(key, { text: String(cmd.input.Body), etag: `"e${++n}"` });
      return {};
    }
    throw new Error('unexpected command');
  };
  return { s3: { send } as unknown as S3Client, objects };
}

const pointerOf = (objects: Map<string, { text: string }>) => parseChampionPointer(objects.get(championKey('p'))!.text);

function setup(onPut?: (key: string) => void) {
  const mem = memoryS3(onPut);
  const acts = createFraudTrainingActivities({ s3: mem.s3, bucket: 'b', lake: {} as DuckDBInstance });
  const publish = (version: string, promote: boolean, comparedWith: string | null) => acts.publishFraudModel({ prefix: 'p', version, promote, comparedWith, reason: 'test', at: '2026-11-27T00:00:00Z' });
  return { ...mem, publish };
}

test('champion/challenger transitions', async () => {
  const { objects, publish } = setup();
  expect(await publish('v1', true, null)).toMatchObject({ champion: 'v1', challenger: null, promoted: true });
  expect(await publish('v2', false, 'v1')).toMatchObject({ champion: 'v1', challenger: 'v2', promoted: false });
  expect(await publish('v3', true, 'v1')).toMatchObject({ champion: 'v3', challenger: 'v1', promoted: true });
  // graded against v1, but v3 is champion now: not promoted
  const stale = await publish('v4', true, 'v1');
  expect(stale).toMatchObject({ champion: 'v3', challenger: 'v4', promoted: false });
  expect(stale.note).toMatch(/champion changed during training/);
  expect(pointerOf(objects)).toMatchObject({ format: 1, champion: 'v3', challenger: 'v4', reason: 'test' });
});

test('a pointer changed between read and write is re-read, not overwritten', async () => {
  let interfere = true;
  const { objects, publish } = setup((key) => {
    // another publisher makes x9 champion just before our conditional write lands
    if (interfere && key === championKey('p') && objects.has(key)) {
      interfere = false;
      objects.set(key, { text: JSON.stringify({ format: 1, champion: 'x9', challenger: null, updatedAt: 'now', reason: 'other' }), etag: '"other"' });
    }
  });
  await publish('v1', true, null);
  const r = await publish('v2', true, 'v1');
  // the retry saw x9, which v2 was not graded against: v2 becomes its challenger
  expect(r).toMatchObject({ champion: 'x9', challenger: 'v2', promoted: false });
  expect(pointerOf(objects)).toMatchObject({ champion: 'x9', challenger: 'v2' });
});

test('a version is written once: the same run may rewrite it on retry, another run may not', async () => {
  const { s3, objects } = memoryS3();
  const doc = (trainedAt: string) => ({ format: 1, version: 'v1', kind: 'logistic', features: [], threshold: 0.5, trainedAt, mean: [], scale: [], weights: [0] }) as FraudModelDoc;
  const metrics = { version: 'v1' } as ModelMetrics;
  await writeModelVersion(s3, 'b', 'p', doc('2026-11-27T04:45:00Z'), metrics);
  await writeModelVersion(s3, 'b', 'p', doc('2026-11-27T04:45:00Z'), metrics);
  await expect(writeModelVersion(s3, 'b', 'p', doc('2026-11-28T04:45:00Z'), metrics)).rejects.toThrow(/already exists/);
  expect(JSON.parse(objects.get(modelKey('p', 'v1', 'model.json'))!.text).trainedAt).toBe('2026-11-27T04:45:00Z');
  expect(objects.has(modelKey('p', 'v1', 'metrics.json'))).toBe(true);
});
