// Fraud scoring as `rtap speed` runs it: the feature store, the fraud processor after it, and the
// control plane followed for detector rules — one definition for the CLI, the integration test
// and bench/fraud. The control plane has caught up before the first event is scored, so every
// event is scored with the rules as written when it starts; later rules apply on the next event.
import type { Kafka } from 'kafkajs';
import { ControlPlane } from '../../core/control';
import { TOPICS } from '../../core/kafka';
import type { Logger } from '../../core/logger';
import { createFeatureProcessor, type FeatureProcessor } from '../features';
import type { EventProcessor } from '../state';
import { fraudMetrics } from './metrics';
import { createFraudProcessor, type FraudProcessor, type FraudProcessorOptions } from './processor';
import { followRules } from './rules';

export interface LiveScoring {
  /** For createSpeedLayer: the feature store, then the fraud processor. */
  processors: EventProcessor[];
  features: FeatureProcessor;
  fraud: FraudProcessor;
  control: ControlPlane;
  stop(): Promise<void>;
}

export async function startLiveScoring(deps: { kafka: Kafka; logger: Logger }, opts: FraudProcessorOptions & { controlTopic?: string } = {}): Promise<LiveScoring> {
  const { controlTopic = TOPICS.control, ...fraudOpts } = opts;
  const features = createFeatureProcessor();
  const fraud = createFraudProcessor(features, fraudOpts);
  const control = new ControlPlane(deps.kafka, deps.logger, controlTopic);
  await control.start();
  const unfollow = followRules(control.state, fraud, () => fraudMetrics.rulesApplied.inc());
  return {
    processors: [features, fraud],
    features,
    fraud,
    control,
    async stop() {
      unfollow();
      await control.stop();
    },
  };
}
