// Event → window-update latency at a fixed rate: this process consumes a fresh topic while
// bench/speed/run.ts produces to it, paced, from another process. The first event is a warm-up
// (group join, restore of the empty changelog): once it is through, this prints `READY` and the
// paced events follow; every one of them is counted (no duplicates). Times are taken from each
// event's Kafka record timestamp (set by the producer when it sends):
//   instance (default): the whole speed layer (`createSpeedLayer`, feature store included, its
//     checkpoint transactions running) — "updated": the windows and features in memory hold the
//     event (what in-process readers such as detectors see); "committed": the transaction carrying
//     its changelog records has committed (what the serving reader sees);
//   core: the per-event loop alone (core-loop.ts, no transactions), "updated" only;
//   floor: a bare kafkajs consumer with the same fetch settings that does nothing with an event
//     but, with --burn-us N, spin N µs of CPU on it ("updated" = when its turn came): the machine's
//     floor for any kafkajs consumer at this rate, and what a consumer that costs N µs more per
//     event gets without any state, GC or transactions of ours (run.ts sets N to the core loop's
//     extra CPU per event over the bare consumer, measured in the same run).
// Each mode also prints its process's CPU per event (all threads) and a `RESULT-JSON` line.
// With --threads N the instance runs N stream threads (`rtap speed --threads N`).
//   node -r tsx/cjs bench/speed/latency.ts <topic> <events after the warm-up> [instance|core|floor] [--threads N] [--burn-us N]
import '../../scripts/quiet-warnings.cjs';
import '../../core/kafkajs-preload.cjs';
import { logLevel, type IHeaders, type Kafka } from 'kafkajs';
import { loadConfig } from '../../core/config';
import { createKafka, EVENT_FETCH } from '../../core/kafka';
import { createLogger } from '../../core/logger';
import { createFeatureProcessor } from '../../speed-layer/features';
import { DEFAULT_SPEED_OPTIONS as D } from '../../speed-layer/runtime';
import { createSpeedState } from '../../speed-layer/state';
import { startSpeedLayers } from '../../speed-layer/threads';
import { afterWarmUp, percentiles, steadyPercentiles, WARM_UP_MS, worstPerSecond } from '../stats';
import { observeGc } from './gc';
import { positiveArg, usageOnHelp } from '../args';

usageOnHelp();

/** Latencies of `expected` events, in arrival order, with their send times. */
class Samples {
  readonly ms: Float64Array;
  readonly sentAt: Float64Array;
  n = 0;
  constructor(expected: number) {
    this.ms = new Float64Array(expected);
    this.sentAt = new Float64Array(expected);
  }
  add(ms: number, sentAtMs: number): void {
    if (this.n < this.ms.length) {
      this.sentAt[this.n] = sentAtMs;
      this.ms[this.n++] = ms;
    }
  }
  get full(): boolean {
    return this.n === this.ms.length;
  }
  text(): string {
    const [p50, p95, p99, max] = percentiles(this.ms.subarray(0, this.n), [50, 95, 99, 100]);
    return `p50=${p50} p95=${p95} p99=${p99} max=${max}`;
  }
  /** The same after the run's first `warmUpMs` (bench/stats.ts afterWarmUp). */
  steadyText(warmUpMs: number): string {
    return afterWarmUp(this.sentAt, this.ms, warmUpMs, this.n);
  }
  /** p50 and p99 after the run's first `warmUpMs`, for the JSON result. */
  steady(warmUpMs: number): { p50: number; p99: number } | undefined {
    const p = steadyPercentiles(this.sentAt, this.ms, warmUpMs, [50, 99], this.n);
    return p && { p50: p[0], p99: p[1] };
  }
  /** The worst latency of the events sent in each second of the run. */
  perSecondMax(): string {
    return worstPerSecond(this.sentAt, this.ms, this.n);
  }
}

/** The core loop: every event through SpeedState.process() with the feature store. */
async function core(read: Reader, updated: Samples, ready: () => void): Promise<void> {
  const state = createSpeedState({ allowedLatenessMs: D.allowedLatenessMs, sessionGapMs: D.sessionGapMs, dedupHorizonOffsets: D.dedupHorizonOffsets, processors: [createFeatureProcessor()] });
  const sample = sampler(updated, ready);
  await read((partition, offset, value, headers, timestampMs) => {
    state.process(partition, offset, value, headers);
    sample(timestampMs);
  }, () => updated.full);
}

/** Takes an event's latency now, but of the first (the warm-up) only the signal that it came. */
function sampler(updated: Samples, ready: () => void): (timestampMs: number) => void {
  let warm = false;
  return (timestampMs) => {
    if (warm) updated.add(Date.now() - timestampMs, timestampMs);
    else {
      warm = true;
      ready();
    }
  };
}

/** Spins `us` microseconds of CPU: the stand-in for per-event work in the floor mode. */
function burn(us: number): void {
  const until = performance.now() + us / 1000;
  while (performance.now() < until);
}

/** A bare consumer: nothing done with an event but `burnUs` of CPU spun on it. */
async function floor(read: Reader, burnUs: number, updated: Samples, ready: () => void): Promise<void> {
  const sample = sampler(updated, ready);
  await read((_partition, _offset, _value, _headers, timestampMs) => {
    if (burnUs > 0) burn(burnUs);
    sample(timestampMs);
  }, () => updated.full);
}

/** One record as the core and floor modes take it. */
type OnMessage = (partition: number, offset: number, value: Buffer | null, headers: IHeaders, timestampMs: number) => void;
type Reader = (onMessage: OnMessage, finished: () => boolean) => Promise<void>;

/**
 * Reads `topic` from its start with the speed layer's fetch settings, calling `onMessage` for each
 * record, until `finished()` is true after one. No offsets are committed: kafkajs' auto-commit
 * (an OffsetCommit request after every batch) once doubled a bare consumer's CPU per event here
 * and tripled its p99.
 */
async function readUntil(kafka: Kafka, topic: string, onMessage: OnMessage, finished: () => boolean): Promise<void> {
  const consumer = kafka.consumer({ groupId: `rtap-bench-speed-latency-${Date.now()}`, maxWaitTimeInMs: 100, ...EVENT_FETCH });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await new Promise<void>((resolve, reject) => {
    consumer
      .run({
        autoCommit: false,
        eachBatch: async ({ batch }) => {
          for (const m of batch.messages) onMessage(batch.partition, Number(m.offset), m.value, m.headers ?? {}, Number(m.timestamp));
          if (finished()) resolve();
        },
      })
      .catch(reject);
  });
  await consumer.disconnect();
}

async function instance(kafka: Kafka, topic: string, threads: number, updated: Samples, committed: Samples, ready: () => void): Promise<string> {
  const run = `${Date.now()}`;
  const changelogTopic = `${topic}-windows`;
  const resultsTopic = `${topic}-results`;
  const admin = kafka.admin();
  await admin.connect();
  const partitions = (await admin.fetchTopicOffsets(topic)).length;
  await admin.createTopics({
    topics: [
      { topic: changelogTopic, numPartitions: partitions, configEntries: [{ name: 'cleanup.policy', value: 'compact' }] },
      { topic: resultsTopic, numPartitions: partitions },
    ],
    waitForLeaders: true,
  });
  let done!: () => void;
  const finished = new Promise<void>((resolve) => (done = resolve));
  let warm = 0; // 1: the warm-up event is in the state, 2: committed too
  const cfg = loadConfig();
  // READY once the warm-up is committed and every stream thread holds its partitions (the
  // rebalances of threads joining one after the other are over)
  let pending = 2;
  const warmedUp = () => --pending === 0 && ready();
  const layers = await startSpeedLayers(
    threads,
    {
      layer: { topic, groupId: `rtap-bench-speed-latency-${run}`, changelogTopic, resultsTopic, instanceId: `bench-latency-${run}`, commitIntervalMs: cfg.speed.commitIntervalMs },
      prefix: '',
      readCut: false,
      fraud: false,
      clientSuffix: `bench-latency-${run}`,
      logName: 'bench.speed',
    },
    createLogger('bench.speed'),
    {
      observer: {
        updated: (t, at) => {
          if (warm > 0) updated.add(at - t, t);
          else warm = 1;
        },
        committed: (ts, at) => {
          if (warm === 1 && ts.length > 0) {
            warm = 2;
            ts = ts.slice(1);
            warmedUp();
          }
          for (const t of ts) committed.add(at - t, t);
          if (committed.full) done();
        },
      },
    },
  );
  warmedUp();
  await finished;
  await layers.stop();
  await admin.deleteTopics({ topics: [changelogTopic, resultsTopic] }).catch(() => undefined);
  await admin.disconnect();
  return `committed ${committed.text()}`;
}

async function main(): Promise<void> {
  const topic = process.argv[2];
  const expected = Number(process.argv[3]);
  const mode = process.argv[4] ?? 'instance';
  const t = process.argv.indexOf('--threads');
  const threads = t < 0 ? 1 : Number(process.argv[t + 1]);
  const burnUs = process.argv.includes('--burn-us') ? positiveArg('burn-us', 0) : 0;
  if (!topic || !(expected > 0) || (mode !== 'instance' && mode !== 'core' && mode !== 'floor')) throw new Error('usage: latency.ts <topic> <events after the warm-up> [instance|core|floor]');
  const cfg = loadConfig();
  const kafka = createKafka(cfg.kafka, { clientId: 'rtap-bench-speed-latency', logLevel: logLevel.ERROR });
  const read: Reader = (onMessage, finished) => readUntil(kafka, topic, onMessage, finished);
  const updated = new Samples(expected);
  // CPU per event is counted from the warm-up on (start-up, group join and restore left out)
  let cpuAtReady: NodeJS.CpuUsage | undefined;
  const ready = () => {
    cpuAtReady = process.cpuUsage();
    process.stdout.write('READY\n');
  };
  const gc = observeGc();
  let extra = '';
  let committed: Samples | undefined;
  if (mode === 'core') await core(read, updated, ready);
  else if (mode === 'floor') await floor(read, burnUs, updated, ready);
  else extra = await instance(kafka, topic, threads, updated, (committed = new Samples(expected)), ready);
  const cpu = process.cpuUsage(cpuAtReady);
  const cpuUsPerEvent = (cpu.user + cpu.system) / Math.max(1, updated.n);
  await new Promise((r) => setImmediate(r));
  process.stdout.write(`RESULT-JSON ${JSON.stringify({ mode, burnUs, cpuUsPerEvent, updated: updated.steady(WARM_UP_MS), committed: committed?.steady(WARM_UP_MS) })}\n`);
  process.stdout.write(
    `RESULT latency ${mode}: ${updated.n} events, ${cpuUsPerEvent.toFixed(1)} µs of CPU per event, event→update ms: updated ${updated.text()}${extra ? `; ${extra}` : ''} | after the first ${WARM_UP_MS / 1000} s: updated ${updated.steadyText(WARM_UP_MS)}${committed ? `; committed ${committed.steadyText(WARM_UP_MS)}` : ''} | updated, worst per second sent: ${updated.perSecondMax()} | ${gc.text()}\n`,
  );
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
