// DuckDB factory. Threads and memory are capped from config so batch work on a small machine
// never starves the speed layer; parquet and json are built into @duckdb/node-api.
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';

export interface DuckDbOptions {
  threads: number;
  memoryLimit: string;
  /** Database file; in-memory when omitted. */
  path?: string;
}

export async function openDuckDb(opts: DuckDbOptions): Promise<{ instance: DuckDBInstance; connection: DuckDBConnection }> {
  const instance = await DuckDBInstance.create(opts.path ?? ':memory:', {
    threads: String(opts.threads),
    memory_limit: opts.memoryLimit,
  });
  const connection = await instance.connect();
  return { instance, connection };
}

/** Quotes a string as a SQL literal (for file paths in COPY / read_parquet). */
export function sqlLiteral(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}
