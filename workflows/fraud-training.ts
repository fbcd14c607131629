// The fraud model's training run (docs/fraud.md "The trained model"), daily from the worker's
// schedule and on demand (`rtap fraud train`): train on the range's labelled events, write the
// version, then promote it to champion if it beat the current champion on the held-out slice, else
// publish it as challenger (scored beside the champion, not acted on). Deterministic: the version
// name and times come from the workflow's start.
import { ApplicationFailure, defineQuery, proxyActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import {
  DEFAULT_MAX_TRAINING_EVENTS,
  DEFAULT_TRAINING_DAYS,
  FRAUD_TRAINING_PROGRESS_QUERY,
  type FraudTrainingActivities,
  type FraudTrainingInput,
  type FraudTrainingProgress,
  type PublishModelResult,
  type TrainModelResult,
} from '../core/fraud-model-training';

export const fraudTrainingProgressQuery = defineQuery<FraudTrainingProgress>(FRAUD_TRAINING_PROGRESS_QUERY);

const { trainFraudModel } = proxyActivities<FraudTrainingActivities>({
  // replaying a week of events through the scorer and training: minutes, heartbeating throughout
  startToCloseTimeout: '2 hours',
  heartbeatTimeout: '2 minutes',
  retry: { initialInterval: '10 seconds', backoffCoefficient: 2, maximumInterval: '5 minutes', maximumAttempts: 3 },
});
const { publishFraudModel } = proxyActivities<FraudTrainingActivities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '2 seconds', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 10 },
});

const DAY_MS = 86_400_000;

/** `20261127T043000-ab12cd34`: sortable by time, unique per run. */
function versionOf(startMs: number, runId: string): string {
  return `${new Date(startMs).toISOString().replace(/[-:]/g, '').slice(0, 15)}-${runId.replace(/[^0-9a-zA-Z]/g, '').slice(0, 8)}`;
}

export async function fraudTraining(input: FraudTrainingInput = {}): Promise<{ result: TrainModelResult; published: PublishModelResult }> {
  const info = workflowInfo();
  const startMs = info.runStartTime.getTime();
  const days = input.days ?? DEFAULT_TRAINING_DAYS;
  if (!input.range && !(Number.isInteger(days) && days >= 1 && days <= 90)) throw ApplicationFailure.nonRetryable('days must be an integer in 1..90', 'InvalidInput');
  const range = input.range ?? { fromMs: startMs - days * DAY_MS, toMs: startMs };
  if (!(range.fromMs < range.toMs)) throw ApplicationFailure.nonRetryable('range: from must be before to', 'InvalidInput');
  const algorithm = input.algorithm ?? 'logistic';
  const maxEvents = input.maxEvents ?? DEFAULT_MAX_TRAINING_EVENTS;
  if (!(Number.isInteger(maxEvents) && maxEvents >= 1000)) throw ApplicationFailure.nonRetryable('maxEvents must be an integer ≥ 1000', 'InvalidInput');
  const prefix = input.prefix ?? '';
  const version = versionOf(startMs, info.runId);
  const at = new Date(startMs).toISOString();
  const progress: FraudTrainingProgress = { phase: 'training', version, range };
  setHandler(fraudTrainingProgressQuery, () => progress);
  try {
    const result = await trainFraudModel({ prefix, fromMs: range.fromMs, toMs: range.toMs, algorithm, maxEvents, version, trainedAt: at });
    progress.result = result;
    progress.phase = 'publishing';
    const beats = result.champion === null || result.heldOut.auc > result.champion.auc;
    const promote = beats && !input.noPromote;
    const reason = result.champion
      ? `held-out AUC ${result.heldOut.auc.toFixed(4)} ${beats ? '>' : '≤'} champion ${result.champion.version}'s ${result.champion.auc.toFixed(4)}${beats && input.noPromote ? ' (promotion not asked for)' : ''}`
      : `first model (held-out AUC ${result.heldOut.auc.toFixed(4)})`;
    const published = await publishFraudModel({ prefix, version, promote, comparedWith: result.champion?.version ?? null, reason, at });
    progress.published = published;
    progress.phase = 'done';
    return { result, published };
  } catch (err) {
    progress.phase = 'failed';
    progress.error = err instanceof Error ? err.message : String(err);
    throw err;
  }
}
