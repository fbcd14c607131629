// `rtap speed`: the speed layer in the foreground. SIGTERM/SIGINT stop it gracefully (commit
// the open interval, leave the group, disconnect); a second signal exits at once (nothing is
// lost: the uncommitted interval is redone from the changelog and the committed offsets).
// Fraud scoring runs in the loop (speed-layer/fraud/processor.ts, after the feature store); its
// detector rules follow the control topic while running (speed-layer/fraud/rules.ts).
import { InvalidArgumentError, Option, type Command } from 'commander';
import { faultInjectionCount, portNumber, positiveInt } from '../cli/options';
import { config } from '../core/config';
import { serveMetrics } from '../core/metrics-server';
import { TOPICS } from '../core/kafka';
import { createLogger } from '../core/logger';
import { DEFAULT_OFFSET_BUCKET_SIZE } from '../core/measures';
import { SEVERITY_THRESHOLDS } from './fraud/ensemble';
import { DEFAULT_WARMUP_OFFSETS } from './fraud/processor';
import type { SpeedLaunchOptions } from './launch';
import { aggregatedMetricsText } from './thread-metrics';
import { DEFAULT_SPEED_OPTIONS, type SpeedLayerOptions } from './runtime';
import { createStreamThreads } from './threads';

interface SpeedCliOptions {
  topic: string;
  group: string;
  changelogTopic: string;
  resultsTopic: string;
  instance: string;
  deadLetter?: boolean;
  prefix: string;
  sessionTimeout: number;
  cutPollMs: number;
  offsetBucketSize: number;
  anomaliesTopic: string;
  controlTopic: string;
  anomalyCommitMs: number;
  anomalyCommitMaxLag: number;
  anomalyDelivery: SpeedLayerOptions['anomalyDelivery'];
  fraud: boolean;
  fraudThreshold: number;
  fraudWarmupOffsets: number;
  threads?: number;
  metricsPort?: number;
}

function unitInterval(value: string): number {
  const n = Number(value);
  if (!(n > 0 && n <= 1)) throw new InvalidArgumentError('expected a number in (0, 1]');
  return n;
}

function nonNegativeInt(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 0) throw new InvalidArgumentError('expected a whole number ≥ 0');
  return n;
}

export function registerSpeedCommands(program: Command): void {
  const d = DEFAULT_SPEED_OPTIONS;
  program
    .command('speed')
    .description('run the speed layer in the foreground: event-time windows over Kafka `events`, exactly once by Kafka transactions (docs/speed-layer.md)')
    .option('--topic <topic>', 'topic to read', d.topic)
    .option('--group <id>', 'consumer group id (instances sharing it share the partitions)', d.groupId)
    .option('--changelog-topic <topic>', 'compacted state changelog', d.changelogTopic)
    .option('--results-topic <topic>', 'window results (tumbling 1 min, sliding 5 min, sessions)', d.resultsTopic)
    .option('--instance <id>', 'instance id, kept across restarts (names the transactional id, so a restart fences its predecessor)', process.env.RTAP_SPEED_INSTANCE ?? d.instanceId)
    .option('--dead-letter', 'also send refused events to events.dlq (off: the lake sink already files the same letters)')
    .option('--prefix <prefix>', "lake root prefix inside the bucket, for the published batch cut ('' = bucket root)", '')
    .option('--session-timeout <ms>', 'consumer session timeout (how long a dead instance holds its partitions)', positiveInt, d.sessionTimeoutMs)
    .option('--cut-poll-ms <ms>', 'how often the published batch cut is read', positiveInt, d.cutPollMs)
    .option('--offset-bucket-size <n>', 'offsets per cell bucket floor(offset / B); must equal the batch cut alignment', positiveInt, DEFAULT_OFFSET_BUCKET_SIZE)
    .option('--anomalies-topic <topic>', 'where anomaly records go (keyed by tenant)', d.anomaliesTopic)
    .option('--control-topic <topic>', 'the control topic followed for detector rules', TOPICS.control)
    .option('--anomaly-commit-ms <ms>', 'commit this soon after the last commit while an anomaly waits (event → anomaly latency)', positiveInt, d.anomalyCommitMs)
    .option('--anomaly-commit-max-lag <n>', 'events behind (summed over the partitions) above which waiting anomalies no longer bring the commit forward', positiveInt, d.anomalyCommitMaxLag)
    .addOption(new Option('--anomaly-delivery <mode>', 'transaction: anomalies in the checkpoint transaction (exactly once); immediate: sent as soon as scored (at least once, lowest latency)').choices(['transaction', 'immediate']).default(d.anomalyDelivery))
    .option('--threads <n>', 'stream threads: copies of the layer in worker threads of this process, splitting its partitions (default SPEED_THREADS)', positiveInt)
    .option('--metrics-port <port>', 'serve Prometheus metrics of every stream thread at http://SPEED_METRICS_HOST:<port>/metrics (default SPEED_METRICS_PORT, 9464; 0: off)', portNumber)
    .option('--no-fraud', 'run without fraud scoring (windows and features only)')
    .option('--fraud-threshold <score>', 'lowest ensemble score that makes an anomaly record', unitInterval, SEVERITY_THRESHOLDS.medium)
    .option('--fraud-warmup-offsets <n>', "events per partition replayed into the fraud engine's memory and baselines after a restore (0: none)", nonNegativeInt, DEFAULT_WARMUP_OFFSETS)
    .addHelpText(
      'after',
      '\nWindow settings come from the environment (docs/configuration.md): SPEED_ALLOWED_LATENESS_MS, SPEED_COMMIT_INTERVAL_MS,\n' +
        'SPEED_SESSION_GAP_MS, SPEED_DEDUP_HORIZON_OFFSETS, SPEED_THREADS, SPEED_METRICS_HOST, SPEED_METRICS_PORT.\n' +
        'Fault injection (tests only): RTAP_SPEED_CRASH_IN_TX=n SIGKILLs the process inside its n-th transaction, before the commit.',
    )
    .action(async (cli: SpeedCliOptions) => {
      const cfg = config();
      const threads = cli.threads ?? cfg.speed.threads;
      const launch: SpeedLaunchOptions = {
        layer: {
          topic: cli.topic,
          groupId: cli.group,
          changelogTopic: cli.changelogTopic,
          resultsTopic: cli.resultsTopic,
          instanceId: cli.instance,
          deadLetter: cli.deadLetter === true,
          sessionTimeoutMs: cli.sessionTimeout,
          cutPollMs: cli.cutPollMs,
          offsetBucketSize: cli.offsetBucketSize,
          anomaliesTopic: cli.anomaliesTopic,
          anomalyCommitMs: cli.anomalyCommitMs,
          anomalyCommitMaxLag: cli.anomalyCommitMaxLag,
          anomalyDelivery: cli.anomalyDelivery,
          crashInTransaction: faultInjectionCount(process.env, 'RTAP_SPEED_CRASH_IN_TX'),
        },
        prefix: cli.prefix,
        readCut: true,
        // the trained champion/challenger, hot-loaded from the lake (none published: the hand-set weights)
        fraud: cli.fraud ? { controlTopic: cli.controlTopic, threshold: cli.fraudThreshold, warmupOffsets: cli.fraudWarmupOffsets, models: true } : false,
        clientSuffix: cli.instance,
      };
      const log = createLogger('speed');
      // /metrics from before the threads start: it answers while they restore a long changelog
      const layers = createStreamThreads(threads, launch, log);
      const metrics = await serveMetrics({
        host: cfg.speed.metricsHost,
        port: cli.metricsPort ?? cfg.speed.metricsPort,
        text: async () => aggregatedMetricsText(await layers.metrics()),
        portSetting: 'SPEED_METRICS_PORT / --metrics-port',
        log,
      });
      let signals = 0;
      const onSignal = (signal: NodeJS.Signals) => {
        signals += 1;
        if (signals > 1) process.exit(130);
        log.info({ signal }, 'stopping: commit the open interval, leave the group, disconnect');
        layers.stop().catch(() => undefined);
      };
      // before the threads start: a stop asked for while they restore or join is done once they are up
      process.on('SIGTERM', onSignal);
      process.on('SIGINT', onSignal);
      try {
        await layers.start();
        await layers.done;
      } finally {
        await metrics?.close();
      }
      log.info('speed layer stopped');
    });
}
