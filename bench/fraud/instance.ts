// One speed-layer instance for bench/fraud/run.ts, in its own process, launched as `rtap speed`
// launches it (`startSpeedLayers`: the whole runtime, checkpoint transactions every commit
// interval) with the feature store (`baseline`) or with fraud scoring (hand-set weights),
// anomalies delivered in the checkpoint transactions, committed early while one waits
// (`transaction`), or sent as soon as scored (`immediate`). The first event is a warm-up (group join, restore); once its transaction commits this
// prints READY, then measures every following event: the scoring cost inside the loop (fraud
// only) and event → commit (Kafka record timestamp → the commit of the transaction carrying it).
// With --threads N (N > 1) the layer runs as `rtap speed --threads N` runs it: N stream threads
// (worker threads splitting the partitions, one consumer and transactional producer each).
//   node -r tsx/cjs bench/fraud/instance.ts <events topic> baseline|transaction|immediate <events after the warm-up> <anomalies topic> <control topic> [--threads N]
import '../../scripts/quiet-warnings.cjs';
import '../../core/kafkajs-preload.cjs';
import { logLevel } from 'kafkajs';
import { loadConfig } from '../../core/config';
import { createKafka } from '../../core/kafka';
import { createLogger } from '../../core/logger';
import type { SpeedLaunchOptions } from '../../speed-layer/launch';
import { startSpeedLayers } from '../../speed-layer/threads';
import { percentiles, worstPerSecond } from '../stats';
import { usageOnHelp } from '../args';

usageOnHelp();

export const MODES = ['baseline', 'transaction', 'immediate'] as const;
export type Mode = (typeof MODES)[number];

export interface InstanceResult {
  mode: Mode;
  events: number;
  /** Wall time from the first measured event's commit to the last's: the rate the instance kept. */
  processedPerSecond: number;
  commitMs: { p50: number; p99: number; max: number };
  /** The longest event → commit of the events sent in each second (ms, space-separated): warm-up vs steady state. */
  commitWorstPerSecond: string;
  scoringMs: { p50: number; p99: number; max: number; mean: number } | null;
  anomalies: number;
  /** Checkpoint transactions committed and their mean duration (produce, sendOffsets, commit). */
  transactions: number;
  transactionMeanMs: number;
  /**
   * CPU of this process (all its threads) per measured event, µs, from the warm-up's commit to the
   * last event's: moves much less with the neighbours than the rates and latencies do.
   */
  cpuUsPerEvent: number;
}

async function main(): Promise<void> {
  const [topic, mode, expectedText, anomaliesTopic, controlTopic] = process.argv.slice(2);
  const expected = Number(expectedText);
  const t = process.argv.indexOf('--threads');
  const threads = t < 0 ? 1 : Number(process.argv[t + 1]);
  if (!topic || !(MODES as readonly string[]).includes(mode) || !(expected > 0) || !anomaliesTopic || !controlTopic || !(Number.isSafeInteger(threads) && threads >= 1)) {
    throw new Error('usage: instance.ts <topic> baseline|transaction|immediate <events after the warm-up> <anomalies topic> <control topic> [--threads N]');
  }
  const cfg = loadConfig();
  const kafka = createKafka(cfg.kafka, { clientId: `rtap-bench-fraud-${mode}`, logLevel: logLevel.ERROR });
  const log = createLogger('bench.fraud');
  const admin = kafka.admin();
  await admin.connect();
  const partitions = (await admin.fetchTopicOffsets(topic)).length;
  const changelogTopic = `${topic}-windows`;
  const resultsTopic = `${topic}-results`;
  await admin.createTopics({
    topics: [
      { topic: changelogTopic, numPartitions: partitions, configEntries: [{ name: 'cleanup.policy', value: 'compact' }] },
      { topic: resultsTopic, numPartitions: partitions },
    ],
    waitForLeaders: true,
  });

  const scoring = new Float64Array(expected + threads);
  let scored = 0;

  const commit = new Float64Array(expected);
  /** each committed event's Kafka timestamp (its send time), for the worst wait per second sent */
  const sent = new Float64Array(expected);
  let n = 0;
  let warm = false;
  let firstAt = 0;
  let lastAt = 0;
  let done!: () => void;
  const finished = new Promise<void>((resolve) => (done = resolve));
  const run = `${Date.now()}`;
  // READY once the warm-up is committed and every stream thread holds its partitions: printed on
  // the first commit alone, it came before the second thread joined, and the rebalance that
  // followed stalled the first seconds of the paced load 2–4 s in every mode (as bench/speed/latency.ts)
  let pending = 2;
  let cpuAtReady: NodeJS.CpuUsage | undefined;
  const warmedUp = () => {
    if (--pending !== 0) return;
    cpuAtReady = process.cpuUsage();
    process.stdout.write('READY\n');
  };
  const launch: SpeedLaunchOptions = {
    layer: {
      topic,
      groupId: `rtap-bench-fraud-${mode}-${run}`,
      changelogTopic,
      resultsTopic,
      anomaliesTopic,
      anomalyDelivery: mode === 'immediate' ? 'immediate' : 'transaction',
      instanceId: `bench-fraud-${mode}-${run}`,
      commitIntervalMs: cfg.speed.commitIntervalMs,
    },
    prefix: '',
    readCut: false,
    // the hand-set weights: the bench measures the cost of scoring, not a model's quality
    fraud: mode === 'baseline' ? false : { controlTopic, models: false },
    clientSuffix: `bench-fraud-${mode}-${run}`,
    logName: 'bench.fraud',
  };
  const layers = await startSpeedLayers(threads, launch, log, {
    onScored: (ms) => {
      if (scored < scoring.length) scoring[scored++] = ms;
    },
    observer: {
      committed: (ts, at) => {
        let from = 0;
        if (!warm && ts.length > 0) {
          warm = true;
          from = 1;
          warmedUp();
        }
        for (let i = from; i < ts.length && n < expected; i++) {
          if (n === 0) firstAt = at;
          sent[n] = ts[i];
          commit[n++] = at - ts[i];
          lastAt = at;
        }
        if (n === expected) done();
      },
    },
  });
  warmedUp();
  await finished;
  const cpu = process.cpuUsage(cpuAtReady);
  await layers.stop();
  const figures = await layers.figures();
  await admin.deleteTopics({ topics: [changelogTopic, resultsTopic] }).catch(() => undefined);
  await admin.disconnect();

  const [c50, c99, cmax] = percentiles(commit, [50, 99, 100]);
  // the first scored event is the warm-up
  const s = scoring.subarray(1, scored);
  const [s50, s99, smax] = s.length > 0 ? percentiles(s, [50, 99, 100]) : [NaN, NaN, NaN];
  const anomalies = figures.reduce((sum, f) => sum + f.anomalies, 0);
  const txCount = figures.reduce((sum, f) => sum + f.transactions, 0);
  const txSum = figures.reduce((sum, f) => sum + f.transactionMsSum, 0);
  const result: InstanceResult = {
    mode: mode as Mode,
    events: n,
    processedPerSecond: lastAt > firstAt ? Math.round((n / (lastAt - firstAt)) * 1000) : NaN,
    commitMs: { p50: c50, p99: c99, max: cmax },
    commitWorstPerSecond: worstPerSecond(sent, commit, n),
    scoringMs: mode !== 'baseline' ? { p50: s50, p99: s99, max: smax, mean: s.reduce((a, b) => a + b, 0) / Math.max(1, s.length) } : null,
    anomalies,
    transactions: txCount,
    transactionMeanMs: txCount > 0 ? txSum / txCount : NaN,
    cpuUsPerEvent: Math.round((cpu.user + cpu.system) / Math.max(1, n)),
  };
  process.stdout.write(`RESULT ${JSON.stringify(result)}\n`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
