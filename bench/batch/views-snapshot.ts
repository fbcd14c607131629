// Checks that a change to the views' SQL leaves their results alone: snapshot the view files a
// `bench:batch --keep` run published under its prefix, change the code, run the bench again with
// `--reuse <prefix>`, and compare every file with its snapshot (EXCEPT ALL both ways: rows as
// multisets, values exact, column names and types equal).
//   npx tsx bench/batch/views-snapshot.ts snap <prefix> <dir>
//   npx tsx bench/batch/views-snapshot.ts compare <prefix> <dir>
// A file whose rows differ is then compared again with its DOUBLE columns apart: rows joined on
// every other column (IS NOT DISTINCT FROM), and the largest relative difference of the doubles
// printed ("sums only": every row matched, only floating-point sums differ, e.g. in the order
// their terms were added). Files differing that way are counted apart from the real differences.
import '../../scripts/quiet-warnings.cjs';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { loadConfig } from '../../core/config';
import { openLakeDuckDb, s3Url } from '../../core/duckdb';
import { createS3, listObjects } from '../../core/s3';
import { usageOnHelp } from '../args';

usageOnHelp();

const [mode, PREFIX, dir] = process.argv.slice(2);
async function main() {
  const cfg = loadConfig();
  const s3 = createS3(cfg.s3);
  const bucket = cfg.s3.bucket;
  const files = (await listObjects(s3, bucket, `${PREFIX}/views/`)).map((o) => o.key);
  const rel = (k: string) => k.slice(`${PREFIX}/views/`.length).replace(/version=[^/]+\//, '');
  if (mode === 'snap') {
    for (const k of files) {
      const out = path.join(dir, rel(k));
      fs.mkdirSync(path.dirname(out), { recursive: true });
      const r = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: k }));
      fs.writeFileSync(out, Buffer.from(await r.Body!.transformToByteArray()));
    }
    console.log(`snapshot ${files.length} files`);
  } else {
    const lake = await openLakeDuckDb({ ...cfg.duckdb, s3: cfg.s3, cacheDir: cfg.cacheDir });
    const c = lake.connection;
    let bad = 0; let n = 0; let sumsOnly = 0; let worst = 0;
    const seen = new Set<string>();
    for (const k of files) {
      const old = path.join(dir, rel(k));
      seen.add(old);
      if (!fs.existsSync(old)) { console.log(`new only: ${rel(k)}`); bad++; continue; }
      const a = `read_parquet('${old}', hive_partitioning = false)`; const b = `read_parquet('${s3Url(bucket, k)}', hive_partitioning = false)`;
      let r: Record<string, unknown>;
      try { r = (await c.runAndReadAll(`SELECT (SELECT count(*) FROM (FROM ${a} EXCEPT ALL FROM ${b})) AS x, (SELECT count(*) FROM (FROM ${b} EXCEPT ALL FROM ${a})) AS y, (SELECT count(*) FROM ${a}) AS na, (SELECT count(*) FROM ${b}) AS nb`)).getRowObjectsJson()[0]; } catch (e) { console.log(`ERR ${rel(k)} ${String(e).slice(0, 200)}`); bad++; continue; }
      const ta = JSON.stringify((await c.runAndReadAll(`DESCRIBE SELECT * FROM ${a}`)).getRows());
      const tb = JSON.stringify((await c.runAndReadAll(`DESCRIBE SELECT * FROM ${b}`)).getRows());
      n++;
      if (Number(r.x) || Number(r.y) || r.na !== r.nb || ta !== tb) {
        // the doubles apart: rows joined on every other column, then the largest relative difference
        const cols = (await c.runAndReadAll(`DESCRIBE SELECT * FROM ${a}`)).getRowObjectsJson().map((x) => ({ name: String(x.column_name), type: String(x.column_type) }));
        const dbl = cols.filter((x) => x.type === 'DOUBLE' || x.type === 'FLOAT').map((x) => `"${x.name}"`);
        const keys = cols.filter((x) => x.type !== 'DOUBLE' && x.type !== 'FLOAT').map((x) => `"${x.name}"`);
        if (ta === tb && r.na === r.nb && dbl.length > 0) {
          const rels = dbl.map((d) => `max(CASE WHEN p.${d} IS NOT DISTINCT FROM q.${d} THEN 0 ELSE abs(p.${d} - q.${d}) / greatest(abs(p.${d}), abs(q.${d})) END)`);
          const s = (await c.runAndReadAll(`SELECT count(*) AS joined, greatest(${rels.join(', ')}) AS rel, count(*) FILTER (WHERE ${dbl.map((d) => `p.${d} IS DISTINCT FROM q.${d}`).join(' OR ')}) AS inexact
            FROM ${a} p JOIN ${b} q ON ${keys.map((x) => `p.${x} IS NOT DISTINCT FROM q.${x}`).join(' AND ')}`)).getRowObjectsJson()[0];
          if (Number(s.joined) === Number(r.na)) {
            sumsOnly++;
            worst = Math.max(worst, Number(s.rel));
            console.log(`SUMS ${rel(k)}: ${s.inexact} of ${r.na} rows differ in doubles only, largest relative difference ${Number(s.rel).toExponential(2)}`);
            continue;
          }
        }
        bad++;
        console.log(`DIFF ${rel(k)} ${JSON.stringify(r)} types ${ta === tb}`);
      }
    }
    const walk = (d: string): string[] => fs.readdirSync(d, { withFileTypes: true }).flatMap((e) => e.isDirectory() ? walk(path.join(d, e.name)) : [path.join(d, e.name)]);
    for (const f of walk(dir)) if (!seen.has(f)) { console.log(`old only: ${f}`); bad++; }
    console.log(`compared ${n} files, ${bad} differ; ${sumsOnly} differ in floating-point values only (largest relative difference ${worst.toExponential(2)})`);
    lake.close();
  }
  s3.destroy();
}
main().then(() => process.exit(0), (e) => { console.error(e); process.exit(1); });
