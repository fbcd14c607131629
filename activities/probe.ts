// Batch-layer probe: proves the worker can reach the lake and run DuckDB over Parquet, the two
// things every batch activity needs. Writes a Parquet object with DuckDB, uploads it, downloads
// it and reads it back.
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { heartbeat } from '@temporalio/activity';
import { DeleteObjectCommand, GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { DuckDBConnection } from '@duckdb/node-api';
import { sqlLiteral } from '../core/duckdb';

export interface ProbeDeps {
  s3: S3Client;
  bucket: string;
  duckdb: DuckDBConnection;
}

export interface LakeProbeInput {
  probeId: string;
  rows: number;
}

export interface LakeProbeResult {
  key: string;
  bytes: number;
  rowsWritten: number;
  rowsReadBack: number;
  checksumWritten: string;
  checksumReadBack: string;
}

export function createProbeActivities({ s3, bucket, duckdb }: ProbeDeps) {
  return {
    async lakeRoundTrip({ probeId, rows }: LakeProbeInput): Promise<LakeProbeResult> {
      const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'rtap-probe-'));
      const local = path.join(dir, 'probe.parquet');
      const back = path.join(dir, 'back.parquet');
      const key = `probes/${probeId}.parquet`;
      try {
        await duckdb.run(
          `COPY (SELECT i AS n, md5(i::VARCHAR) AS h FROM range(${Math.trunc(rows)}) t(i)) TO ${sqlLiteral(local)} (FORMAT parquet)`,
        );
        const written = await checksum(duckdb, local);
        heartbeat('written');
        const body = await fs.readFile(local);
        await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
        heartbeat('uploaded');
        const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
        await fs.writeFile(back, await got.Body!.transformToByteArray());
        const readBack = await checksum(duckdb, back);
        return {
          key,
          bytes: body.length,
          rowsWritten: written.rows,
          rowsReadBack: readBack.rows,
          checksumWritten: written.sum,
          checksumReadBack: readBack.sum,
        };
      } finally {
        await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key })).catch(() => undefined);
        await fs.rm(dir, { recursive: true, force: true });
      }
    },
  };
}

async function checksum(duckdb: DuckDBConnection, file: string): Promise<{ rows: number; sum: string }> {
  const reader = await duckdb.runAndReadAll(
    `SELECT count(*)::BIGINT AS rows, md5(string_agg(h, ',' ORDER BY n)) AS sum FROM read_parquet(${sqlLiteral(file)})`,
  );
  const [row] = reader.getRowObjects();
  return { rows: Number(row.rows), sum: String(row.sum) };
}
