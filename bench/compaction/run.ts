// Batch compaction benchmark: lays N generator events down as raw chunks in the sink's format
// (ingest/lay-down.ts, no Kafka), then plans and compacts every event hour through the real
// activities (Temporal's MockActivityEnvironment: heartbeats, no server), one hour at a time.
// Prints the lay-down and compaction rates, file counts (raw objects, tenant-hours, compacted
// files) and bytes. DuckDB threads and memory come from DUCKDB_THREADS / DUCKDB_MEMORY_LIMIT.
// The lake prefix is removed at the end unless --keep.
//   npx tsx bench/compaction/run.ts [events=1000000] [tenants=1000] [eventsPerHour=200000] [--keep]
import '../../scripts/quiet-warnings.cjs';
import { randomBytes } from 'node:crypto';
import { DefaultLogger } from '@temporalio/worker';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createCompactionActivities, type CompactHourResult } from '../../activities/compaction';
import { loadConfig } from '../../core/config';
import { openLakeDuckDb, s3Url } from '../../core/duckdb';
import { rawEventsRelation, rawRoot } from '../../core/lake';
import { compactedRoot } from '../../core/lake-compacted';
import { createS3, deleteKeys, ensureBucket, listObjects } from '../../core/s3';
import { EventGenerator } from '../../generator/generator';
import { generatedMessages, layDown } from '../../ingest/lay-down';
import { usageOnHelp } from '../args';

usageOnHelp();

const args = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const N = Number(args[0] ?? 1_000_000);
const TENANTS = Number(args[1] ?? 1000);
const PER_HOUR = Number(args[2] ?? 200_000);
const KEEP = process.argv.includes('--keep');
const PARTITIONS = 6;

async function main(): Promise<void> {
  const cfg = loadConfig();
  const s3 = createS3(cfg.s3);
  await ensureBucket(s3, cfg.s3.bucket);
  const lake = await openLakeDuckDb({ ...cfg.duckdb, s3: cfg.s3, cacheDir: cfg.cacheDir });
  const prefix = `bench-compaction-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
  const bucket = cfg.s3.bucket;
  const report: Record<string, unknown> = { events: N, tenants: TENANTS, eventsPerHour: PER_HOUR, partitions: PARTITIONS, duckdb: cfg.duckdb };
  const removePrefix = async () => deleteKeys(s3, bucket, (await listObjects(s3, bucket, `${prefix}/`)).map((o) => o.key));
  process.stderr.write(`lake prefix ${prefix}\n`);
  // A long run stopped by hand (or by a timeout) still removes its objects.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      process.stderr.write(`${signal}: removing ${prefix}\n`);
      const done = () => process.exit(130);
      (KEEP ? Promise.resolve() : removePrefix()).then(done, done);
    });
  }
  try {
    // Generator defaults: 1 % defects (duplicates and events the sink rejects), 2 % late events.
    const gen = new EventGenerator({ seed: 1, tenants: TENANTS, users: Math.max(50_000, TENANTS * 50), rate: PER_HOUR / 3600, startUs: Date.UTC(2026, 4, 1) * 1000 });
    let lastLog = Date.now();
    const laid = await layDown({ s3, bucket, duckdb: lake.connection }, generatedMessages(gen, N), {
      prefix,
      partitions: PARTITIONS,
      onFlush: (p) => {
        if (Date.now() - lastLog < 15_000) return;
        lastLog = Date.now();
        process.stderr.write(`[lay-down] ${p.events} events, ${Math.round((p.events / p.ms) * 1000)}/s\n`);
      },
    });
    const raw = await listObjects(s3, bucket, rawRoot(prefix));
    report.layDown = { ms: laid.ms, eventsPerSecond: Math.round((laid.events / laid.ms) * 1000), rows: laid.rows, rejected: laid.rejected, chunks: laid.chunks, rawObjects: raw.length, rawBytes: raw.reduce((n, o) => n + o.size, 0) };
    const [th] = (await lake.connection.runAndReadAll(`
      SELECT count(*)::BIGINT AS tenant_hours, count(DISTINCT h)::BIGINT AS hours FROM (
        SELECT DISTINCT tenant_id, date_trunc('hour', event_time) AS h FROM ${rawEventsRelation(s3Url(bucket, `${rawRoot(prefix)}**/*.parquet`))})`)).getRowObjectsJson();
    report.tenantHours = Number(th.tenant_hours);

    const acts = createCompactionActivities({ s3, bucket, lake: lake.instance });
    const env = new MockActivityEnvironment(undefined, { logger: new DefaultLogger('ERROR') });
    const started = Date.now();
    const plan = (await env.run(acts.planCompaction, { prefix })) as Awaited<ReturnType<typeof acts.planCompaction>>;
    const results: CompactHourResult[] = [];
    for (const h of plan.hours) {
      const r = (await env.run(acts.compactHour, { prefix, ...h })) as CompactHourResult;
      results.push(r);
      process.stderr.write(`[compact] ${r.hour}: ${r.rawRows} raw rows → ${r.rows} rows, ${r.files.live} files (${r.groups.dedicated} dedicated tenants, ${r.groups.sharedTenants} shared), ${r.ms} ms ${JSON.stringify(r.phasesMs)}\n`);
    }
    const ms = Date.now() - started;
    const compacted = await listObjects(s3, bucket, compactedRoot(prefix));
    const rawRows = results.reduce((n, r) => n + r.rawRows, 0);
    const big = results.filter((r) => r.rawRows >= 10_000);
    report.compaction = {
      hours: results.length,
      ms,
      rawRowsPerSecond: Math.round((rawRows / ms) * 1000),
      rawRowsPerSecondBigHours: big.length ? Math.round((big.reduce((n, r) => n + r.rawRows, 0) / big.reduce((n, r) => n + r.ms, 0)) * 1000) : undefined,
      rawRows,
      rows: results.reduce((n, r) => n + r.rows, 0),
      files: results.reduce((n, r) => n + r.files.live, 0),
      filesPerBigHour: big.length ? Math.round((big.reduce((n, r) => n + r.files.live, 0) / big.length) * 10) / 10 : undefined,
      dedicatedTenantHours: results.reduce((n, r) => n + r.groups.dedicated, 0),
      sharedTenantHours: results.reduce((n, r) => n + r.groups.sharedTenants, 0),
      bytes: compacted.reduce((n, o) => n + o.size, 0),
    };
    // A second plan must find nothing to do.
    report.replan = ((await env.run(acts.planCompaction, { prefix })) as Awaited<ReturnType<typeof acts.planCompaction>>).hours.length;
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  } finally {
    if (!KEEP) await removePrefix();
    else process.stderr.write(`kept lake prefix ${prefix}\n`);
    lake.close();
    s3.destroy();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
