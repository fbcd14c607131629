// Tabular results in the format the caller's Accept header asks for: JSON (default), CSV,
// Parquet or Arrow IPC. The response's meta travels in the JSON body, or in the X-RTAP-Meta
// header (JSON) for the other formats.
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Request, Response } from 'express';
import type { DuckDBInstance } from '@duckdb/node-api';
import { tableFromJSON, tableToIPC } from 'apache-arrow';
import { sqlLiteral } from '../core/duckdb';
import { toCsv } from '../core/csv';

export const FORMATS = {
  json: 'application/json',
  csv: 'text/csv',
  parquet: 'application/vnd.apache.parquet',
  arrow: 'application/vnd.apache.arrow.stream',
} as const;

export type FormatName = keyof typeof FORMATS;

/** The format negotiated from Accept (or `?format=`), undefined when none can be served. */
export function negotiate(req: Request): FormatName | undefined {
  const explicit = typeof req.query.format === 'string' ? req.query.format : undefined;
  if (explicit !== undefined) return (Object.keys(FORMATS) as FormatName[]).find((f) => f === explicit);
  const picked = req.accepts([FORMATS.json, FORMATS.csv, FORMATS.parquet, 'application/x-parquet', FORMATS.arrow, 'application/vnd.apache.arrow.file']);
  if (picked === false) return undefined;
  if (picked === FORMATS.csv) return 'csv';
  if (picked === FORMATS.parquet || picked === 'application/x-parquet') return 'parquet';
  if (picked === FORMATS.arrow || picked === 'application/vnd.apache.arrow.file') return 'arrow';
  return 'json';
}

export type Row = Record<string, string | number | null>;

/**
 * Sends rows with their meta. `columns` fixes the column order (and the columns of an empty
 * result, which Arrow and Parquet need to type).
 */
export async function sendRows(res: Response, format: FormatName, columns: string[], rows: Row[], meta: object, duck: DuckDBInstance): Promise<void> {
  if (format === 'json') {
    res.json({ data: rows, meta });
    return;
  }
  res.setHeader('X-RTAP-Meta', JSON.stringify(meta));
  if (format === 'csv') {
    res.type(FORMATS.csv).send(toCsv(columns, rows.map((r) => columns.map((c) => r[c] ?? null))));
    return;
  }
  if (format === 'arrow') {
    const table = tableFromJSON(rows.length > 0 ? rows.map((r) => Object.fromEntries(columns.map((c) => [c, r[c] ?? null]))) : [Object.fromEntries(columns.map((c) => [c, null]))]);
    const body = tableToIPC(rows.length > 0 ? table : table.slice(0, 0), 'stream');
    res.type(FORMATS.arrow).send(Buffer.from(body));
    return;
  }
  res.type(FORMATS.parquet).send(await toParquet(columns, rows, duck));
}

/** Rows → Parquet through DuckDB (small, paginated results: a temp NDJSON file is fine). */
async function toParquet(columns: string[], rows: Row[], duck: DuckDBInstance): Promise<Buffer> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'rtap-result-'));
  try {
    const input = path.join(dir, 'rows.json');
    const output = path.join(dir, 'rows.parquet');
    await fs.writeFile(input, JSON.stringify(rows.map((r) => Object.fromEntries(columns.map((c) => [c, r[c] ?? null])))));
    const conn = await duck.connect();
    try {
      const select = rows.length > 0 ? `SELECT ${columns.map((c) => `"${c.replace(/"/g, '""')}"`).join(', ')} FROM read_json(${sqlLiteral(input)}, format = 'array')` : `SELECT ${columns.map((c) => `NULL::VARCHAR AS "${c.replace(/"/g, '""')}"`).join(', ')} WHERE false`;
      await conn.run(`COPY (${select}) TO ${sqlLiteral(output)} (FORMAT parquet, COMPRESSION zstd)`);
    } finally {
      conn.closeSync();
    }
    return await fs.readFile(output);
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}
