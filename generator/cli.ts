// `rtap generate`: synthetic multi-tenant traffic with labelled fraud to Kafka, the ingestion
// API, or NDJSON/Parquet files. Also registers `rtap schema …` (core/schema/cli.ts).
import { Command, InvalidArgumentError, Option } from 'commander';
import { config } from '../core/config';
import { createKafka, TOPICS } from '../core/kafka';
import { loadPiiKeyring } from '../core/pii';
import { registerSchemaCommands } from '../core/schema/cli';
import { FRAUD_SCENARIOS, type FraudScenario } from './events';
import { DEFAULT_OPTIONS, EventGenerator, type GeneratorOptions } from './generator';
import { runGenerator, type Progress } from './run';
import { HttpSink, KafkaSink, labelsPathFor, NdjsonSink, ParquetSink, type Sink } from './sinks';
import { runGeneratorInWorker } from './worker';

const OUTPUTS = ['kafka', 'http', 'ndjson', 'parquet'] as const;
type Output = (typeof OUTPUTS)[number];

interface GenerateOptions {
  rate: number;
  duration?: number;
  count?: number;
  tenants: number;
  users: number;
  fraudRate: number;
  defectRate: number;
  systemRate: number;
  lateRate: number;
  scenarios: FraudScenario[];
  seed: number;
  start: number;
  timeScale: number;
  to: Output;
  topic: string;
  url?: string;
  apiKey?: string;
  out?: string;
  labels?: string;
  batchSize: number;
  fast?: boolean;
  tokenize?: boolean;
  quiet?: boolean;
}

export function positiveNumber(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`expected a positive number, got "${value}"`);
  return n;
}

export function intIn(min: number, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^\d+$/.test(value.trim()) || n < min || n > max) throw new InvalidArgumentError(`expected an integer from ${min} to ${max}, got "${value}"`);
    return n;
  };
}

export function share(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0 || n > 1) throw new InvalidArgumentError(`expected a share from 0 to 1 (e.g. 0.01), got "${value}"`);
  return n;
}

/** `60s`, `5m`, `1h`, `500ms` or plain seconds → seconds. */
export function duration(value: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(value.trim());
  if (!m || Number(m[1]) <= 0) throw new InvalidArgumentError(`expected a duration such as 60s, 5m, 1h or 500ms, got "${value}"`);
  const unit = { ms: 0.001, s: 1, m: 60, h: 3600 }[(m[2] ?? 's') as 'ms' | 's' | 'm' | 'h'];
  return Number(m[1]) * unit;
}

export function startTime(value: string): number {
  if (!/^\d{4}-\d\d-\d\d(T\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:?\d\d)?)?$/.test(value)) {
    throw new InvalidArgumentError(`expected an ISO-8601 time such as 2026-01-01T00:00:00Z, got "${value}"`);
  }
  const ms = Date.parse(/T/.test(value) && !/(Z|[+-]\d\d:?\d\d)$/.test(value) ? `${value}Z` : value);
  if (Number.isNaN(ms)) throw new InvalidArgumentError(`"${value}" is not a valid date`);
  return ms * 1000;
}

export function scenarioList(value: string): FraudScenario[] {
  if (value === 'all') return [...FRAUD_SCENARIOS];
  const items = value.split(',').map((s) => s.trim()).filter(Boolean);
  const unknown = items.filter((s) => !(FRAUD_SCENARIOS as readonly string[]).includes(s));
  if (items.length === 0 || unknown.length > 0) {
    throw new InvalidArgumentError(`unknown scenario(s) ${unknown.join(', ') || '(none given)'}; expected a comma-separated subset of: ${FRAUD_SCENARIOS.join(', ')}`);
  }
  return items as FraudScenario[];
}

function say(message: string): void {
  process.stderr.write(`rtap generate: ${message}\n`);
}

function fmt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

function makeSink(o: GenerateOptions): Sink {
  switch (o.to) {
    case 'kafka':
      return new KafkaSink(createKafka(config().kafka), o.topic);
    case 'http': {
      const url = o.url ?? `http://${config().api.host}:${config().api.port}`;
      const apiKey = o.apiKey ?? process.env.RTAP_API_KEY;
      if (!apiKey) throw new InvalidArgumentError('--to http needs an API key: pass --api-key <key> or set RTAP_API_KEY');
      return new HttpSink(url, apiKey, o.labels);
    }
    case 'ndjson':
    case 'parquet':
      if (!o.out) throw new InvalidArgumentError(`--to ${o.to} needs --out <file>`);
      return o.to === 'ndjson' ? new NdjsonSink(o.out, o.labels ?? labelsPathFor(o.out)) : new ParquetSink(o.out, o.labels ?? labelsPathFor(o.out));
  }
}

export function registerGeneratorCommands(program: Command): void {
  program
    .command('generate')
    .description(
      'generate realistic multi-tenant e-commerce traffic in the 2.1 event shapes (sessions, journeys, carts, payments, model inferences, ' +
        'platform events, seasonality, late and out-of-order events, data-quality defects) with labelled fraud scenarios. Labels travel outside the payload: Kafka header x-rtap-label, or a side file ' +
        '<out>.labels.ndjson. Deterministic: the same options and --seed give byte-identical events.',
    )
    .option('-r, --rate <events/s>', 'target events per second (also sets the event-time spacing)', positiveNumber, 1000)
    .option('-d, --duration <time>', 'how long to run: 60s, 5m, 1h (events = rate × duration)', duration)
    .option('-n, --count <events>', 'number of events (instead of --duration)', intIn(1, 1_000_000_000))
    .option('--tenants <n>', 'tenants (sizes follow a Zipf law)', intIn(1, 1_000_000), DEFAULT_OPTIONS.tenants)
    .option('--users <n>', 'shoppers across all tenants', intIn(1, 10_000_000), DEFAULT_OPTIONS.users)
    .option('--fraud-rate <share>', 'share of events from fraud campaigns, split evenly across --scenarios', share, DEFAULT_OPTIONS.fraudRate)
    .option('--defect-rate <share>', 'share of events with a data-quality defect (missing field, wrong type, bad timestamp, duplicate, unknown value)', share, DEFAULT_OPTIONS.defectRate)
    .option('--system-rate <share>', 'share of platform events (system_event: health checks, API errors, rate limits, deployments)', share, DEFAULT_OPTIONS.systemRate)
    .option('--late-rate <share>', 'share of events arriving 1 min–2 h after their event time', share, DEFAULT_OPTIONS.lateRate)
    .addOption(new Option('--scenarios <list>', `fraud scenarios, comma-separated, or "all": ${FRAUD_SCENARIOS.join(', ')}`).argParser(scenarioList).default([...FRAUD_SCENARIOS], 'all'))
    .option('--seed <n>', 'random seed', intIn(0, 4_294_967_295), 1)
    .addOption(new Option('--start <time>', 'simulated start (event time of the first event), ISO-8601').argParser(startTime).default(DEFAULT_OPTIONS.startUs, '2026-01-01T00:00:00Z'))
    .option('--time-scale <x>', 'simulated seconds per real second (1440 = a day per minute; shows daily seasonality)', positiveNumber, 1)
    .addOption(new Option('--to <output>', 'where events go').choices(OUTPUTS).default('kafka'))
    .option('--topic <name>', 'Kafka topic (--to kafka)', TOPICS.events)
    .option('--url <url>', 'ingestion API base URL (--to http); default from API_HOST/API_PORT')
    .option('--api-key <key>', 'API key sent as x-api-key (--to http); default RTAP_API_KEY')
    .option('-o, --out <file>', 'output file (--to ndjson | parquet)')
    .option('--labels <file>', 'labels side file (default <out>.labels.ndjson; optional with --to http)')
    .option('--batch-size <n>', 'events per Kafka send / HTTP request / file write', intIn(1, 10_000), 500)
    .option('--fast', 'do not throttle to --rate: send as fast as the destination takes them')
    .option('--tokenize', 'tokenize PII with PII_KEYS/PII_KEY_VERSION before sending (for producers that bypass the ingestion API)')
    .option('-q, --quiet', 'no progress line, only the summary')
    .action(async (o: GenerateOptions) => {
      if (o.duration !== undefined && o.count !== undefined) throw new InvalidArgumentError('give --duration or --count, not both');
      if (o.url !== undefined) {
        try {
          const u = new URL(o.url);
          if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('protocol');
        } catch {
          throw new InvalidArgumentError(`--url: expected an http(s) URL such as http://127.0.0.1:8080, got "${o.url}"`);
        }
      }
      if (o.to !== 'http' && (o.url !== undefined || o.apiKey !== undefined)) throw new InvalidArgumentError('--url and --api-key only apply to --to http');
      if ((o.to === 'kafka' || o.to === 'http') && o.out !== undefined) throw new InvalidArgumentError(`--out only applies to --to ndjson or parquet`);
      const count = o.count ?? Math.max(1, Math.round(o.rate * (o.duration ?? 10)));
      const keyring = o.tokenize ? loadPiiKeyring() : undefined;
      const sink = makeSink(o);
      const genOptions: GeneratorOptions = {
        seed: o.seed,
        tenants: o.tenants,
        users: o.users,
        startUs: o.start,
        rate: o.rate,
        timeScale: o.timeScale,
        fraudRate: o.fraudRate,
        defectRate: o.defectRate,
        systemRate: o.systemRate,
        lateRate: o.lateRate,
        scenarios: o.scenarios,
      };
      const tty = process.stderr.isTTY === true;
      let lastLine = 0;
      const onProgress = (p: Progress) => {
        if (o.quiet) return;
        const line = `${fmt(p.currentRate)} events/s · generated ${fmt(p.generated)}/${fmt(count)} · sent ${fmt(p.sent)} · rejected ${fmt(p.rejected)} · errors ${fmt(p.errors)} · ${(p.elapsedMs / 1000).toFixed(0)}s`;
        if (tty) process.stderr.write(`\r\x1b[2K${line}`);
        else if (p.elapsedMs - lastLine >= 5000) {
          lastLine = p.elapsedMs;
          say(line);
        }
      };
      const abort = new AbortController();
      const stop = () => {
        say('interrupted: flushing what was generated…');
        abort.abort();
      };
      process.once('SIGINT', stop);
      if (!o.quiet) say(`${fmt(count)} events at ${o.fast ? 'full speed' : `${fmt(o.rate)}/s`} to ${sink.description} (seed ${o.seed})`);
      try {
        const run = { count, rate: o.rate, batchSize: o.batchSize, fast: o.fast ?? false, maxInFlight: o.to === 'kafka' ? 4 : o.to === 'http' ? 2 : 1, keyring, signal: abort.signal, onProgress };
        // Kafka: generate and serialize in a worker thread, send from this one (two cores).
        const s = sink instanceof KafkaSink ? await runGeneratorInWorker(genOptions, sink, run) : await runGenerator(new EventGenerator(genOptions), sink, run);
        if (tty && !o.quiet) process.stderr.write('\n');
        const fraud = Object.values(s.fraudByScenario).reduce((a, b) => a + b, 0);
        process.stdout.write(
          [
            `${s.interrupted ? 'interrupted' : 'done'}: ${fmt(s.generated)} events generated, ${fmt(s.sent)} sent, ${fmt(s.rejected)} rejected, ${fmt(s.errors)} errors`,
            `  ${(s.elapsedMs / 1000).toFixed(1)}s, ${fmt(s.averageRate)} events/s average, ${(s.bytes / Math.max(1, s.generated) / 1024).toFixed(2)} KiB/event`,
            `  fraud: ${fmt(fraud)} events (${((fraud / Math.max(1, s.generated)) * 100).toFixed(2)}%) ${JSON.stringify(s.fraudByScenario)}`,
            `  event types: ${JSON.stringify(s.eventTypes)}`,
            `  defects: ${JSON.stringify(s.defects)}`,
            `  destination: ${sink.description}`,
          ].join('\n') + '\n',
        );
      } finally {
        process.removeListener('SIGINT', stop);
      }
    });

  registerSchemaCommands(program);
}
