// GDPR benchmark: lays N generator events down as raw chunks (ingest/lay-down.ts, tokenized as
// ingestion does), then times the GDPR activities through MockActivityEnvironment (no server):
// finding a subject before and after compaction (the compaction manifests prune the hours that
// cannot hold the tenant), rewriting every raw object that holds the subject, and exporting a
// subject. Two subjects: the busiest user of the biggest tenant and of the smallest. Views are
// not computed here (their scan is measured by the integration test only). DuckDB threads and
// memory come from DUCKDB_THREADS / DUCKDB_MEMORY_LIMIT. The lake prefix is removed at the end.
//   npx tsx bench/gdpr/run.ts [events=200000] [tenants=200] [eventsPerHour=50000]
import '../../scripts/quiet-warnings.cjs';
import { randomBytes, randomUUID } from 'node:crypto';
import { DefaultLogger } from '@temporalio/worker';
import { MockActivityEnvironment } from '@temporalio/testing';
import pino from 'pino';
import { createCompactionActivities } from '../../activities/compaction';
import { createGdprActivities } from '../../activities/gdpr';
import { loadConfig } from '../../core/config';
import { openLakeDuckDb, s3Url } from '../../core/duckdb';
import type { GdprSubject, LocateResult } from '../../core/gdpr';
import { rawRoot } from '../../core/lake';
import { createKeyring } from '../../core/pii';
import { createS3, deleteKeys, ensureBucket, listObjects } from '../../core/s3';
import { EventGenerator } from '../../generator/generator';
import { generatedMessages, layDown } from '../../ingest/lay-down';
import { usageOnHelp } from '../args';

usageOnHelp();

const args = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const N = Number(args[0] ?? 200_000);
const TENANTS = Number(args[1] ?? 200);
const PER_HOUR = Number(args[2] ?? 50_000);
const PARTITIONS = 6;

const call = <A extends unknown[], R>(fn: (...a: A) => Promise<R>, ...a: A): Promise<R> =>
  new MockActivityEnvironment(undefined, { logger: new DefaultLogger('ERROR') }).run(fn, ...a) as Promise<R>;

async function main(): Promise<void> {
  const cfg = loadConfig();
  const s3 = createS3(cfg.s3);
  const bucket = cfg.s3.bucket;
  await ensureBucket(s3, bucket);
  const lake = await openLakeDuckDb({ ...cfg.duckdb, s3: cfg.s3, cacheDir: cfg.cacheDir });
  const prefix = `bench-gdpr-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
  const removePrefix = async () => deleteKeys(s3, bucket, (await listObjects(s3, bucket, `${prefix}/`)).map((o) => o.key));
  const report: Record<string, unknown> = { events: N, tenants: TENANTS, eventsPerHour: PER_HOUR, partitions: PARTITIONS, duckdb: cfg.duckdb };
  const quiet = pino({ level: 'silent' });
  const gdpr = createGdprActivities({ s3, bucket, lake: lake.instance, logger: quiet });
  const compaction = createCompactionActivities({ s3, bucket, lake: lake.instance, logger: quiet });
  process.stderr.write(`lake prefix ${prefix}\n`);
  try {
    const keyring = createKeyring({ v1: 'bench-gdpr-secret-0123456789' }, 'v1');
    const gen = new EventGenerator({ seed: 9, tenants: TENANTS, users: Math.max(20_000, TENANTS * 50), rate: PER_HOUR / 3600, startUs: Date.UTC(2026, 4, 1) * 1000 });
    const laid = await layDown({ s3, bucket, duckdb: lake.connection }, generatedMessages(gen, N, keyring), { prefix, partitions: PARTITIONS });
    const raw = await listObjects(s3, bucket, rawRoot(prefix));
    report.layDown = { ms: laid.ms, rows: laid.rows, rawObjects: raw.length, rawBytes: raw.reduce((n, o) => n + o.size, 0) };

    // the busiest user of the biggest and of the smallest tenant
    const conn = await lake.instance.connect();
    const rows = (await conn.runAndReadAll(`
      WITH u AS (SELECT tenant_id, user_id, count(*) AS n FROM read_parquet('${s3Url(bucket, `${rawRoot(prefix)}**/*.parquet`)}', hive_partitioning = false)
                 WHERE user_id IS NOT NULL GROUP BY ALL),
           t AS (SELECT tenant_id, sum(n) AS rows FROM u GROUP BY ALL)
      SELECT t.tenant_id, t.rows, arg_max(u.user_id, u.n) AS user_id, max(u.n) AS events FROM t JOIN u USING (tenant_id)
      GROUP BY ALL ORDER BY t.rows DESC`)).getRowObjectsJson();
    conn.closeSync();
    const pick = (r: Record<string, unknown>) => ({ tenant: String(r.tenant_id), tenantRows: Number(r.rows), events: Number(r.events), subject: { tenant: String(r.tenant_id), userTokens: [String(r.user_id)] } as GdprSubject });
    const subjects = { big: pick(rows[0]), small: pick(rows[rows.length - 1]) };

    const find = async (s: GdprSubject) => {
      const t0 = Date.now();
      const found: LocateResult = await call(gdpr.findSubjectFiles, { prefix, subject: s });
      return { ms: Date.now() - t0, rawHits: found.raw.length, rows: found.raw.reduce((n, h) => n + h.rows, 0), scanned: found.scanned, found };
    };
    const before = { big: await find(subjects.big.subject), small: await find(subjects.small.subject) };

    const t0 = Date.now();
    const plan = await call(compaction.planCompaction, { prefix });
    for (const h of plan.hours) await call(compaction.compactHour, { prefix, ...h });
    report.compaction = { hours: plan.hours.length, ms: Date.now() - t0 };

    const after = { big: await find(subjects.big.subject), small: await find(subjects.small.subject) };
    const strip = (f: Awaited<ReturnType<typeof find>>) => ({ ms: f.ms, rawHits: f.rawHits, rows: f.rows, scanned: f.scanned });
    report.find = {
      big: { tenantRows: subjects.big.tenantRows, subjectEvents: subjects.big.events, beforeCompaction: strip(before.big), afterCompaction: strip(after.big) },
      small: { tenantRows: subjects.small.tenantRows, subjectEvents: subjects.small.events, beforeCompaction: strip(before.small), afterCompaction: strip(after.small) },
    };

    // export the small tenant's subject, then erase the big one's (every object holding them)
    const e0 = Date.now();
    const exported = await call(gdpr.exportSubject, { prefix, requestId: randomUUID(), subject: subjects.small.subject, rawKeys: after.small.found.raw.map((h) => h.key), expiresAt: new Date(Date.now() + 3_600_000).toISOString() });
    report.export = { rows: exported.rows, bytes: exported.files.reduce((n, f) => n + f.bytes, 0), ms: Date.now() - e0 };

    const r0 = Date.now();
    let objectRows = 0;
    let removed = 0;
    const perObject: number[] = [];
    for (const h of after.big.found.raw) {
      const t = Date.now();
      const r = await call(gdpr.rewriteWithout, { prefix, key: h.key, filter: { kind: 'subject' as const, subject: subjects.big.subject } });
      perObject.push(Date.now() - t);
      objectRows += r.rowsBefore;
      removed += r.removed;
    }
    const ms = Date.now() - r0;
    perObject.sort((a, b) => a - b);
    report.rewrite = {
      objects: perObject.length,
      objectRows,
      removed,
      ms,
      rowsPerSecond: Math.round((objectRows / Math.max(1, ms)) * 1000),
      perObjectMs: { p50: perObject[Math.floor(perObject.length / 2)], max: perObject[perObject.length - 1] },
    };
    const again = await find(subjects.big.subject);
    report.afterErase = { rawHits: again.rawHits, compactedHits: again.found.compacted.length, note: 'compacted hits remain until the hours are recompacted (the workflow runs batchRun for them)' };
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  } finally {
    await removePrefix();
    lake.close();
    s3.destroy();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
