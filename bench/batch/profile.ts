// Per-statement profile of the batch views (issue 9): times each SQL statement computeViewsHour
// runs for a few hours of a day laid down by `npm run bench:batch -- --keep`, on one connection of
// a lake DuckDB configured as the worker's (DUCKDB_THREADS, DUCKDB_MEMORY_LIMIT).
//   npx tsx bench/batch/profile.ts --prefix <kept prefix> [--hours 2] [--explain] [--compacted]
// --compacted: read each hour's compacted files (a bench run without --skip-compaction leaves
// them) when they cover the raw chunks below the cut, as computeViewsHour does.
// Prints one line per statement: wall ms and CPU ms of this process. With --explain, the
// EXPLAIN ANALYZE of the cells statement is written to stderr.
import '../../scripts/quiet-warnings.cjs';
import './log-level';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadConfig } from '../../core/config';
import { openLakeDuckDb, s3Url } from '../../core/duckdb';
import { parseRawChunkKey, rawHourPrefix } from '../../core/lake';
import { chunksBelowCut, VIEWS } from '../../core/lake-views';
import { MEASURES } from '../../core/measures';
import { createS3, listObjects } from '../../core/s3';
import { hourStatements } from '../../activities/views';
import { readCurrentHourManifest } from '../../activities/compaction-store';
import { compactedFilesCovering } from '../../core/views-sql';
import { readHighWaterMarks } from '../../ingest/manifests';
import { positiveArg, usageOnHelp } from '../args';

usageOnHelp();

const i = process.argv.indexOf('--prefix');
const PREFIX = i >= 0 ? process.argv[i + 1] : undefined;
const HOURS = positiveArg('hours', 2, { integer: true });
const EXPLAIN = process.argv.includes('--explain');
const COMPACTED = process.argv.includes('--compacted');

async function main(): Promise<void> {
  if (!PREFIX) throw new Error('--prefix <a prefix kept by bench:batch --keep> is required');
  const cfg = loadConfig();
  const s3 = createS3(cfg.s3);
  const bucket = cfg.s3.bucket;
  const lake = await openLakeDuckDb({ ...cfg.duckdb, s3: cfg.s3, cacheDir: cfg.cacheDir });
  const tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'rtap-views-profile-'));
  const cut = await readHighWaterMarks(s3, bucket, PREFIX);
  process.stdout.write(`load average ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}; DUCKDB_THREADS=${cfg.duckdb.threads}\n`);
  try {
    const conn = await lake.instance.connect();
    const timed = async (label: string, sql: string) => {
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      await conn.run(sql);
      const ms = performance.now() - t0;
      const c = process.cpuUsage(c0);
      process.stdout.write(`${label.padEnd(40)} ${ms.toFixed(0).padStart(6)} ms wall ${((c.user + c.system) / 1000).toFixed(0).padStart(6)} ms CPU\n`);
      return ms;
    };
    for (const hour of [12, 18, 6, 20].slice(0, HOURS)) {
      const h = { dt: '2026-05-01', hour };
      const listed = await listObjects(s3, bucket, rawHourPrefix(PREFIX, h));
      const chunks = chunksBelowCut(listed.flatMap((o) => { const r = parseRawChunkKey(o.key); return r ? [{ ...r, key: o.key }] : []; }), cut);
      const manifest = COMPACTED ? (await readCurrentHourManifest(s3, bucket, PREFIX, h))?.manifest : undefined;
      const compacted = compactedFilesCovering(manifest, listed, cut);
      if (COMPACTED && compacted.length === 0) throw new Error(`hour ${hour}: no compacted files covering the raw chunks below the cut`);
      const objects = compacted.length > 0 ? compacted : chunks.map((c) => c.key);
      process.stdout.write(`\nhour ${hour}: ${chunks.length} raw objects${compacted.length > 0 ? `, reading ${compacted.length} compacted files` : ''}\n`);
      const stmts = hourStatements(objects.map((k) => s3Url(bucket, k)), new Map(Object.entries(cut).map(([p, o]) => [Number(p), o])), { compacted: compacted.length > 0 });
      let total = 0;
      total += await timed('hour_rows (scan, cut, dedup)', stmts.rows);
      for (const st of stmts.setup) total += await timed(st.label, st.sql);
      if (EXPLAIN) {
        const r = await conn.runAndReadAll(`EXPLAIN ANALYZE ${stmts.setup.at(-1)!.sql.replace(/^CREATE OR REPLACE TEMP TABLE \w+ AS /, '')}`);
        process.stderr.write(`${r.getRows().map((x) => String(x[1])).join('\n')}\n`);
      }
      for (const v of stmts.views) {
        total += await timed(`${v.view} → local`, `COPY (${v.sql}) TO '${path.join(tmp, `${v.view}-${hour}.parquet`)}' (FORMAT parquet, COMPRESSION zstd)`);
      }
      const one = stmts.views[0];
      await timed(`${one.view} → s3 (one COPY, for comparison)`, `COPY (${one.sql}) TO '${s3Url(bucket, `${PREFIX}/profile/${one.view}-${hour}.parquet`)}' (FORMAT parquet, COMPRESSION zstd)`);
      process.stdout.write(`total (local) ${total.toFixed(0)} ms; ${VIEWS.filter((v) => v.unit === 'hour').length} hour views, measures version ${MEASURES.version}\n`);
    }
    conn.closeSync();
  } finally {
    lake.close();
    await fs.rm(tmp, { recursive: true, force: true });
    s3.destroy();
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
