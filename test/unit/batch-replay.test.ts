// Replays recorded histories of the batch pipeline against today's workflow code: a change that
// would break determinism for runs in flight (a reordered activity call, a new timer) fails here
// instead of in a worker mid-backfill. Histories come from
// test/integration/batch-workflow.integration.test.ts with RTAP_RECORD_HISTORIES=1.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';

const dir = path.join(__dirname, '..', 'fixtures', 'histories');
const histories = fs.readdirSync(dir).filter((f) => f.endsWith('.json'));

beforeAll(() => {
  Runtime.install({ logger: new DefaultLogger('WARN') });
});

test('there are recorded histories to replay', () => {
  expect(histories.length).toBeGreaterThan(0);
});

test.each(histories)('%s replays deterministically', async (file) => {
  const history = historyFromJSON(JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8')));
  await expect(Worker.runReplayHistory({ workflowsPath: require.resolve('../../workflows') }, history)).resolves.toBeUndefined();
}, 60_000);
