// `rtap sink`: the lake sink in the foreground. SIGTERM/SIGINT stop it gracefully (flush,
// commit, disconnect); a second signal exits at once (nothing is lost: uncommitted chunks are
// rewritten under the same names on restart). `rtap lake migrate`: the one-off rewrite of raw
// objects of an older lake format (ingest/lake-migrate.ts).
import type { Command } from 'commander';
import { config } from '../core/config';
import { createKafka } from '../core/kafka';
import { createLogger } from '../core/logger';
import { registry } from '../core/metrics';
import { serveMetrics } from '../core/metrics-server';
import { createS3, ensureBucket } from '../core/s3';
import { LAKE_FORMAT } from '../core/lake';
import { migrateLake } from './lake-migrate';
import { DEFAULT_SINK_OPTIONS, createLakeSink, type LakeSinkOptions } from './sink';
import { faultInjectionCount, portNumber, positiveInt } from '../cli/options';

interface SinkCliOptions {
  topic: string;
  group: string;
  dlqTopic: string;
  prefix: string;
  maxRows: number;
  maxBytes: number;
  flushMs: number;
  duckdbThreads?: number;
  sessionTimeout: number;
  metricsPort?: number;
}

export function registerSinkCommands(program: Command): void {
  const d = DEFAULT_SINK_OPTIONS;
  program
    .command('sink')
    .description('run the lake sink in the foreground: Kafka events → raw Parquet chunks on S3, exactly once by offsets (docs/lake.md)')
    .option('--topic <topic>', 'topic to read', d.topic)
    .option('--group <id>', 'consumer group id', d.groupId)
    .option('--dlq-topic <topic>', 'dead-letter topic for events that cannot be lake rows', d.dlqTopic)
    .option('--prefix <prefix>', "lake root prefix inside the bucket ('' = bucket root)", d.prefix)
    .option('--max-rows <n>', 'flush when this many events are buffered', positiveInt, d.maxRows)
    .option('--max-bytes <n>', 'flush when this many bytes of events are buffered', positiveInt, d.maxBytes)
    .option('--flush-ms <ms>', 'flush when the oldest buffered event waited this long', positiveInt, d.flushIntervalMs)
    .option('--session-timeout <ms>', 'consumer session timeout (how long a dead sink holds its partitions)', positiveInt, d.sessionTimeoutMs)
    .option('--duckdb-threads <n>', 'DuckDB threads for flattening (default: DUCKDB_THREADS)', positiveInt)
    .option('--metrics-port <port>', 'serve Prometheus metrics at http://SINK_METRICS_HOST:<port>/metrics (default SINK_METRICS_PORT, 9465; 0: off)', portNumber)
    .addHelpText('after', '\nFault injection (tests only): RTAP_SINK_CRASH_AFTER_UPLOADS=n SIGKILLs the sink after n object uploads, before the commit.')
    .action(async (cli: SinkCliOptions) => {
      const cfg = config();
      const s3 = createS3(cfg.s3);
      await ensureBucket(s3, cfg.s3.bucket);
      const opts: Partial<LakeSinkOptions> = {
        topic: cli.topic,
        groupId: cli.group,
        dlqTopic: cli.dlqTopic,
        prefix: cli.prefix,
        maxRows: cli.maxRows,
        maxBytes: cli.maxBytes,
        flushIntervalMs: cli.flushMs,
        duckdbThreads: cli.duckdbThreads ?? cfg.duckdb.threads,
        duckdbMemoryLimit: cfg.duckdb.memoryLimit,
        sessionTimeoutMs: cli.sessionTimeout,
        crashAfterUploads: faultInjectionCount(process.env, 'RTAP_SINK_CRASH_AFTER_UPLOADS'),
      };
      const log = createLogger('ingest.sink');
      const sink = createLakeSink({ kafka: createKafka(cfg.kafka, { clientId: `${cfg.kafka.clientId}-sink` }), s3, bucket: cfg.s3.bucket, logger: log }, opts);
      let signals = 0;
      const onSignal = (signal: NodeJS.Signals) => {
        signals += 1;
        if (signals > 1) process.exit(130);
        log.info({ signal }, 'stopping: flush, commit, disconnect');
        sink.stop().catch(() => undefined);
      };
      process.on('SIGTERM', onSignal);
      process.on('SIGINT', onSignal);
      const metrics = await serveMetrics({ host: cfg.sink.metricsHost, port: cli.metricsPort ?? cfg.sink.metricsPort, text: () => registry.metrics(), portSetting: 'SINK_METRICS_PORT / --metrics-port', log });
      try {
        await sink.start();
        await sink.done;
      } finally {
        await metrics?.close();
      }
      log.info({ stats: sink.stats() }, 'lake sink stopped');
    });

  const lake = program.command('lake').description('the Parquet lake (docs/lake.md)');
  lake
    .command('migrate')
    .description(`rewrite raw objects of an older lake format into format ${LAKE_FORMAT}, in place under the same names (idempotent; safe beside a running sink)`)
    .option('--prefix <prefix>', "lake root prefix inside the bucket ('' = bucket root)", d.prefix)
    .option('--dry-run', 'list what would be rewritten, write nothing')
    .option('--json', 'print the full report as JSON')
    .action(async (cli: { prefix: string; dryRun?: boolean; json?: boolean }) => {
      const cfg = config();
      const s3 = createS3(cfg.s3);
      const report = await migrateLake(s3, cfg.s3.bucket, {
        prefix: cli.prefix,
        dryRun: cli.dryRun,
        duckdbThreads: cfg.duckdb.threads,
        duckdbMemoryLimit: cfg.duckdb.memoryLimit,
        logger: createLogger('lake.migrate'),
      });
      if (cli.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
      else {
        const rows = report.rewritten.reduce((n, r) => n + r.rows, 0);
        process.stdout.write(
          `${report.objects} raw object(s): ${report.current} already format ${LAKE_FORMAT}, ` +
            `${report.rewritten.length} ${cli.dryRun ? 'to rewrite' : 'rewritten'} (${rows} rows), ` +
            `${report.uncommitted.length} of uncommitted chunks left to the sink, ${report.failed.length} failed\n`,
        );
        for (const f of report.failed) process.stdout.write(`  failed ${f.key}: ${f.error}\n`);
      }
      if (report.failed.length > 0) process.exitCode = 1;
    });
}
