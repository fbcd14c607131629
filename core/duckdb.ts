// DuckDB factory. Threads and memory are capped from config so batch work on a small machine
// never starves the speed layer; parquet and json are built into @duckdb/node-api, httpfs (for
// s3:// paths) is loaded from the file `rtap up` provisions from PyPI (stack/provision.ts).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import type { S3Config } from './config';
import { ConfigError } from './errors';

/**
 * The DuckDB release @duckdb/node-api is pinned to (package.json). It must equal the newest
 * `duckdb-extension-httpfs` wheel on PyPI, since an extension loads only into its own release;
 * test/unit/duckdb-version.test.ts fails when the two drift.
 */
export const DUCKDB_VERSION = '1.5.5';

export interface DuckDbOptions {
  threads: number;
  memoryLimit: string;
  /** Database file; in-memory when omitted. */
  path?: string;
}

export interface LakeDuckDbOptions extends DuckDbOptions {
  s3: S3Config;
  cacheDir: string;
}

export interface OpenDuckDb {
  instance: DuckDBInstance;
  connection: DuckDBConnection;
  close(): void;
}

export async function openDuckDb(opts: DuckDbOptions): Promise<OpenDuckDb> {
  const instance = await DuckDBInstance.create(opts.path ?? ':memory:', {
    threads: String(opts.threads),
    memory_limit: opts.memoryLimit,
    // Extension downloads are unreachable here and would stall a query for their timeout.
    autoinstall_known_extensions: 'false',
    autoload_known_extensions: 'false',
    // Spills of big sorts go to the system temp dir, not `.tmp` in whatever directory the process started in.
    temp_directory: path.join(os.tmpdir(), `rtap-duckdb-${process.pid}`),
  });
  const connection = await instance.connect();
  return {
    instance,
    connection,
    close() {
      connection.closeSync();
      instance.closeSync();
    },
  };
}

/** Where `rtap up` puts the httpfs extension of the pinned DuckDB. */
export function httpfsExtensionPath(cacheDir: string): string {
  return path.join(cacheDir, 'duckdb-extensions', `v${DUCKDB_VERSION}`, 'httpfs.duckdb_extension');
}

/**
 * A DuckDB that reads and writes the lake as `s3://<bucket>/…`: httpfs loaded and an S3 secret
 * for the configured endpoint, exactly what a data engineer's own DuckDB would set up.
 */
export async function openLakeDuckDb(opts: LakeDuckDbOptions): Promise<OpenDuckDb> {
  const extension = httpfsExtensionPath(opts.cacheDir);
  if (!fs.existsSync(extension)) {
    throw new ConfigError([`DuckDB's httpfs extension is not provisioned at ${extension}: run \`rtap up\` (it fetches duckdb-extension-httpfs==${DUCKDB_VERSION} from PyPI)`]);
  }
  const db = await openDuckDb(opts);
  try {
    await db.connection.run(`LOAD ${sqlLiteral(extension)}`);
    await db.connection.run(s3SecretSql(opts.s3));
  } catch (err) {
    db.close();
    throw err;
  }
  return db;
}

/** The CREATE SECRET statement for an S3 config (also printed by `rtap sql --print-setup`). */
export function s3SecretSql(s3: S3Config, name = 'rtap_lake'): string {
  const url = new URL(s3.endpoint);
  const parts = [
    'TYPE s3',
    `KEY_ID ${sqlLiteral(s3.accessKeyId)}`,
    `SECRET ${sqlLiteral(s3.secretAccessKey)}`,
    `REGION ${sqlLiteral(s3.region)}`,
    `ENDPOINT ${sqlLiteral(url.host)}`,
    `URL_STYLE ${sqlLiteral(s3.forcePathStyle ? 'path' : 'vhost')}`,
    `USE_SSL ${url.protocol === 'https:'}`,
  ];
  return `CREATE OR REPLACE SECRET ${name} (${parts.join(', ')})`;
}

/** `s3://<bucket>/<key>` for DuckDB paths. */
export function s3Url(bucket: string, key: string): string {
  return `s3://${bucket}/${key.replace(/^\/+/, '')}`;
}

/** Quotes a string as a SQL literal (for file paths in COPY / read_parquet). */
export function sqlLiteral(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

/** Quotes an identifier. */
export function sqlIdent(value: string): string {
  return `"${value.replace(/"/g, '""')}"`;
}
