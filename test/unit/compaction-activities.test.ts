// Compaction activities refuse bad input before any I/O, without retries (ApplicationFailure
// nonRetryable), and a bad layout at construction.
import type { S3Client } from '@aws-sdk/client-s3';
import type { DuckDBInstance } from '@duckdb/node-api';
import { DefaultLogger } from '@temporalio/worker';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createCompactionActivities } from '../../activities/compaction';

const unreachable = new Proxy({}, { get: () => { throw new Error('no I/O expected'); } });
const acts = createCompactionActivities({ s3: unreachable as S3Client, bucket: 'b', lake: unreachable as DuckDBInstance });
const env = () => new MockActivityEnvironment(undefined, { logger: new DefaultLogger('ERROR') });

describe('compaction activity input', () => {
  it.each([
    ['a missing prefix', { dt: '2026-01-01', hour: 1 }],
    ['a malformed dt', { prefix: '', dt: '2026-1-1', hour: 1 }],
    ['an impossible date', { prefix: '', dt: '2026-02-31x', hour: 1 }],
    ['hour 24', { prefix: '', dt: '2026-01-01', hour: 24 }],
    ['a fractional hour', { prefix: '', dt: '2026-01-01', hour: 1.5 }],
    ['a tenant that is no tenant id', { prefix: '', dt: '2026-01-01', hour: 1, tenant: '../x' }],
  ])('compactHour refuses %s', async (_name, input) => {
    await expect(env().run(acts.compactHour, input as never)).rejects.toMatchObject({ nonRetryable: true, type: 'InvalidInput' });
  });

  it('planCompaction and sweepSuperseded refuse bad input', async () => {
    await expect(env().run(acts.planCompaction, {} as never)).rejects.toMatchObject({ nonRetryable: true });
    await expect(env().run(acts.sweepSuperseded, { prefix: '', graceMs: -5 })).rejects.toMatchObject({ nonRetryable: true });
    await expect(env().run(acts.sweepSuperseded, { prefix: '', graceMs: 0, orphanGraceMs: 1.5 })).rejects.toMatchObject({ nonRetryable: true });
  });

  it('refuses an impossible layout when the worker builds the activities', () => {
    expect(() => createCompactionActivities({ s3: unreachable as S3Client, bucket: 'b', lake: unreachable as DuckDBInstance, compactionLayout: { targetFileBytes: 0 } })).toThrow(/targetFileBytes/);
  });
});
