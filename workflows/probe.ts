import { ApplicationFailure, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { LakeProbeInput, LakeProbeResult } from '../activities/probe';

const { lakeRoundTrip } = proxyActivities<Activities>({
  startToCloseTimeout: '2 minutes',
  heartbeatTimeout: '30 seconds',
  retry: { maximumAttempts: 3 },
});

/** Checks the batch layer end to end: worker → DuckDB → S3 → DuckDB. */
export async function batchLayerProbe(input: LakeProbeInput): Promise<LakeProbeResult> {
  if (!input.probeId || !(input.rows > 0)) {
    throw ApplicationFailure.nonRetryable('batchLayerProbe needs a probeId and rows > 0', 'InvalidInput');
  }
  const result = await lakeRoundTrip(input);
  if (result.checksumReadBack !== result.checksumWritten || result.rowsReadBack !== result.rowsWritten) {
    throw ApplicationFailure.nonRetryable(`lake round trip corrupted ${result.key}`, 'LakeCorruption');
  }
  return result;
}
