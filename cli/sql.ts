// `rtap sql`: DuckDB over the lake on S3, set up the way a data engineer's own DuckDB would be
// (httpfs + an S3 secret + views over the documented layout). With a query it runs it and prints
// a table, CSV, JSON or writes Parquet; without one it opens a prompt (or reads SQL from stdin).
import * as fs from 'node:fs';
import * as readline from 'node:readline';
import type { DuckDBConnection } from '@duckdb/node-api';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { config, type RtapConfig } from '../core/config';
import { TENANT_ID_PATTERN } from '../core/control';
import { openLakeDuckDb, s3SecretSql, s3Url, httpfsExtensionPath, sqlLiteral } from '../core/duckdb';
import { normalizePrefix, rawEventsRelation, rawRoot, RAW_COLUMNS, viewsManifestKey } from '../core/lake';
import { parseVersionManifest, parseViewsPointer, viewFileKeys, VIEWS } from '../core/lake-views';
import { parquetList } from '../core/views-sql';
import { createS3, getText, listObjects } from '../core/s3';
import { compactionManifestRoot, filesOfTenant, hourManifestVersions, liveFiles, parseHourManifest } from '../core/lake-compacted';
import { cellText, toCsv, type Json } from '../core/csv';
import { positiveInt } from './options';

type Format = 'table' | 'csv' | 'json' | 'parquet';

interface SqlOptions {
  tenant?: string;
  format: Format;
  output?: string;
  prefix: string;
  maxRows: number;
  printSetup?: boolean;
}

/** One view of the lake: its name, what it is, and the SELECT behind it. */
export interface LakeView {
  name: string;
  about: string;
  select: string;
}

export function registerSqlCommands(program: Command): void {
  program
    .command('sql')
    .description(
      'DuckDB over the lake on S3 with views `events` (raw, every lake format), `events_compacted` and every published batch view; ' +
        'runs [query], or opens a prompt when none is given (`.tables`, `.quit`)',
    )
    .argument('[query]', 'SQL to run; without it: a prompt, or SQL read from stdin when it is not a terminal')
    .option('--tenant <id>', "only this tenant's rows in every view")
    .addOption(new Option('--format <format>', 'output format').choices(['table', 'csv', 'json', 'parquet']).default('table'))
    .option('--output <file>', 'write the result to a file (required for parquet)')
    .option('--prefix <prefix>', "lake root prefix inside the bucket ('' = bucket root)", '')
    .option('--max-rows <n>', 'rows shown by the table and json formats', positiveInt, 1000)
    .option('--print-setup', 'print the SQL that sets up the same views in your own DuckDB, and exit')
    .action(async (query: string | undefined, opts: SqlOptions) => {
      if (opts.tenant !== undefined && !TENANT_ID_PATTERN.test(opts.tenant)) throw new InvalidArgumentError(`--tenant: not a tenant id (expected ${TENANT_ID_PATTERN})`);
      if (opts.format === 'parquet' && !opts.output) throw new InvalidArgumentError('--format parquet needs --output <file>');
      const cfg = config();
      const s3 = createS3(cfg.s3);
      try {
        const views = await lakeViews(cfg, s3, opts);
        if (opts.printSetup) {
          process.stdout.write(setupSql(cfg, views));
          return;
        }
        const db = await openLakeDuckDb({ ...cfg.duckdb, s3: cfg.s3, cacheDir: cfg.cacheDir });
        try {
          for (const v of views) await db.connection.run(`CREATE VIEW ${v.name} AS ${v.select}`);
          if (query !== undefined) await runAndPrint(db.connection, query, opts);
          else if (process.stdin.isTTY) await prompt(db.connection, views, opts);
          else await runAndPrint(db.connection, fs.readFileSync(0, 'utf8'), opts);
        } finally {
          db.close();
        }
      } finally {
        s3.destroy();
      }
    });
}

/** The views `rtap sql` defines, filtered to one tenant when asked. */
export async function lakeViews(cfg: RtapConfig, s3: S3Client, opts: { prefix: string; tenant?: string }): Promise<LakeView[]> {
  const prefix = normalizePrefix(opts.prefix);
  const bucketUrl = `s3://${cfg.s3.bucket}/${prefix}`;
  const tenantFilter = opts.tenant ? ` WHERE tenant_id = ${sqlLiteral(opts.tenant)}` : '';
  const hasRaw = await anyObject(s3, cfg.s3.bucket, rawRoot(prefix));
  // An empty lake still has the view, typed, so queries written for it run and return nothing.
  const raw = hasRaw ? rawEventsRelation(`${bucketUrl}raw/**/*.parquet`) : `(SELECT ${RAW_COLUMNS.map((c) => `NULL::${c.type} AS ${c.name}`).join(', ')} WHERE false)`;
  const views: LakeView[] = [{ name: 'events', about: 'raw events, every lake format (docs/lake.md)', select: `SELECT * FROM ${raw} AS raw${tenantFilter}` }];
  const compacted = await compactedFiles(cfg, s3, prefix, opts.tenant);
  if (compacted.length > 0) {
    views.push({
      name: 'events_compacted',
      about: 'compacted events: deduplicated by (tenant_id, event_id), the live files of each hour (docs/lake.md "Compacted events")',
      select: `SELECT * FROM ${rawEventsRelation(compacted.map((k) => s3Url(cfg.s3.bucket, k)), { hivePartitioning: false })} AS c${tenantFilter}`,
    });
  }
  views.push(...(await batchViews(cfg, s3, prefix, tenantFilter)));
  return views;
}

/**
 * The live compacted files: each hour's current manifest (the greatest version) lists them;
 * `compacted/` also holds superseded files in their grace period, which a glob would read twice.
 */
async function compactedFiles(cfg: RtapConfig, s3: S3Client, prefix: string, tenant: string | undefined): Promise<string[]> {
  const keys = (await listObjects(s3, cfg.s3.bucket, compactionManifestRoot(prefix))).map((o) => o.key);
  const current = [...hourManifestVersions(keys).values()].map((versions) => versions[versions.length - 1].key);
  const files: string[] = [];
  for (let i = 0; i < current.length; i += 16) {
    const manifests = await Promise.all(current.slice(i, i + 16).map(async (k) => parseHourManifest((await getText(s3, cfg.s3.bucket, k)) ?? '')));
    for (const m of manifests) if (m) files.push(...(tenant ? filesOfTenant(m, tenant) : liveFiles(m)).map((f) => f.key));
  }
  return files;
}

/** Every view of the published version, by the files its manifest names (earlier versions' unchanged units included). */
async function batchViews(cfg: RtapConfig, s3: S3Client, prefix: string, tenantFilter: string): Promise<LakeView[]> {
  const pointerText = await getText(s3, cfg.s3.bucket, viewsManifestKey(prefix));
  const pointer = pointerText === undefined ? undefined : parseViewsPointer(pointerText);
  if (!pointer?.manifest) return [];
  const manifestText = await getText(s3, cfg.s3.bucket, `${prefix}${pointer.manifest}`);
  const manifest = manifestText === undefined ? undefined : parseVersionManifest(manifestText);
  if (!manifest) throw new Error(`views version manifest ${pointer.manifest} is missing or invalid`);
  return VIEWS.flatMap((view) => {
    const files = viewFileKeys(prefix, manifest, view).map((k) => s3Url(cfg.s3.bucket, k));
    if (files.length === 0) return [];
    return [{ name: view.name, about: `batch view (version ${manifest.version}, cut ${JSON.stringify(manifest.cut)}): ${view.description}`, select: `SELECT * FROM ${parquetList(files)}${tenantFilter}` }];
  });
}

async function anyObject(s3: S3Client, bucket: string, prefix: string): Promise<boolean> {
  const out = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, MaxKeys: 1 }));
  return (out.KeyCount ?? 0) > 0;
}

/** What a data engineer pastes into their own DuckDB (≥ the pinned release) to get the same views. */
export function setupSql(cfg: RtapConfig, views: LakeView[]): string {
  const lines = [
    `-- DuckDB over the rtap lake s3://${cfg.s3.bucket}/ (docs/lake.md)`,
    `-- httpfs: INSTALL httpfs; where extensions download, else LOAD the file rtap provisions:`,
    `LOAD ${sqlLiteral(httpfsExtensionPath(cfg.cacheDir))};`,
    // The local stack's credentials are public (docs/local-stack.md); any other secret stays out of terminals and logs.
    `${s3SecretSql(cfg.s3.local ? cfg.s3 : { ...cfg.s3, secretAccessKey: '<your S3 secret key>' })};`,
    ...views.flatMap((v) => [`-- ${v.about}`, `CREATE OR REPLACE VIEW ${v.name} AS ${v.select};`]),
  ];
  return `${lines.join('\n')}\n`;
}

async function runAndPrint(conn: DuckDBConnection, sql: string, opts: SqlOptions): Promise<void> {
  const statements = splitStatements(sql);
  if (statements.length === 0) throw new InvalidArgumentError('no SQL given');
  // Every statement but the last runs for its effect; the last one's result is the output.
  for (const s of statements.slice(0, -1)) await conn.run(s);
  const last = statements[statements.length - 1];
  if (opts.output) {
    const format = opts.format === 'table' ? 'csv' : opts.format;
    const copyOptions = format === 'csv' ? 'FORMAT csv, HEADER true' : format === 'json' ? 'FORMAT json, ARRAY true' : 'FORMAT parquet, COMPRESSION zstd';
    await conn.run(`COPY (${last}) TO ${sqlLiteral(opts.output)} (${copyOptions})`);
    process.stderr.write(`rtap: wrote ${opts.output}\n`);
    return;
  }
  const reader = await conn.runAndReadUntil(last, opts.maxRows + 1);
  const columns = reader.columnNames();
  const rows = reader.getRowsJson();
  const more = rows.length > opts.maxRows;
  const shown = more ? rows.slice(0, opts.maxRows) : rows;
  if (opts.format === 'json') process.stdout.write(`${JSON.stringify(shown.map((r) => Object.fromEntries(columns.map((c, i) => [c, r[i]]))), null, 2)}\n`);
  else if (opts.format === 'csv') process.stdout.write(toCsv(columns, shown));
  else process.stdout.write(toTable(columns, shown));
  if (more) process.stderr.write(`rtap: first ${opts.maxRows} rows shown (--max-rows, or --output for all)\n`);
}

async function prompt(conn: DuckDBConnection, views: LakeView[], opts: SqlOptions): Promise<void> {
  process.stderr.write(`rtap sql: DuckDB over the lake${opts.tenant ? ` (tenant ${opts.tenant})` : ''}. Views: ${views.map((v) => v.name).join(', ')}. End statements with ';'. .tables, .quit\n`);
  const rl = readline.createInterface({ input: process.stdin, output: process.stdout, prompt: 'rtap> ' });
  let buffer = '';
  rl.prompt();
  for await (const line of rl) {
    const trimmed = line.trim();
    if (buffer === '' && (trimmed === '.quit' || trimmed === '.exit')) break;
    if (buffer === '' && trimmed === '.tables') {
      for (const v of views) process.stdout.write(`${v.name.padEnd(28)} ${v.about}\n`);
      rl.prompt();
      continue;
    }
    buffer += `${line}\n`;
    if (trimmed.endsWith(';')) {
      try {
        await runAndPrint(conn, buffer, { ...opts, output: undefined, format: opts.format === 'parquet' ? 'table' : opts.format });
      } catch (err) {
        process.stderr.write(`error: ${(err as Error).message}\n`);
      }
      buffer = '';
    }
    rl.setPrompt(buffer === '' ? 'rtap> ' : '  ... ');
    rl.prompt();
  }
  rl.close();
}

/** Splits on semicolons outside quotes and comments. */
export function splitStatements(sql: string): string[] {
  const out: string[] = [];
  let current = '';
  let quote: string | undefined;
  for (let i = 0; i < sql.length; i++) {
    const c = sql[i];
    if (quote) {
      current += c;
      if (c === quote) quote = undefined;
    } else if (c === "'" || c === '"') {
      quote = c;
      current += c;
    } else if (c === '-' && sql[i + 1] === '-') {
      while (i < sql.length && sql[i] !== '\n') i++;
      current += '\n';
    } else if (c === ';') {
      if (current.trim()) out.push(current.trim());
      current = '';
    } else current += c;
  }
  if (current.trim()) out.push(current.trim());
  return out;
}

const MAX_CELL = 60;

export function toTable(columns: string[], rows: Json[][]): string {
  const clip = (s: string) => (s.length > MAX_CELL ? `${s.slice(0, MAX_CELL - 1)}…` : s).replace(/\n/g, ' ');
  const cells = rows.map((r) => r.map((v) => clip(cellText(v))));
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((r) => r[i].length)));
  const line = (vals: string[]) => vals.map((v, i) => v.padEnd(widths[i])).join(' │ ').trimEnd();
  const rule = widths.map((w) => '─'.repeat(w)).join('─┼─');
  return `${[line(columns), rule, ...cells.map(line)].join('\n')}\n(${rows.length} row${rows.length === 1 ? '' : 's'})\n`;
}
