// Runs one SQL statement of the analytics endpoints on a DuckDB and returns its rows as JSON
// values. Builders state their parameters by name ($tenant, $from, …); DuckDB refuses a bound name
// the statement does not use, so only the names the text mentions are bound.
import type { DuckDBInstance, DuckDBValue } from '@duckdb/node-api';
import type { Row } from '../formats';

export type SqlParams = Record<string, string | number | bigint | boolean | null>;

export async function queryRows(duck: DuckDBInstance, sql: string, params: SqlParams = {}): Promise<Row[]> {
  const used = Object.fromEntries(Object.entries(params).filter(([name]) => new RegExp(`\\$${name}\\b`).test(sql))) as Record<string, DuckDBValue>;
  const conn = await duck.connect();
  try {
    const reader = await conn.runAndReadAll(sql, used);
    return reader.getRowObjectsJson() as Row[];
  } finally {
    conn.closeSync();
  }
}
