// The lake sink's flush without Kafka or S3: frame the input file(s) and flatten them in DuckDB to
// local Parquet files (ingest/flatten.ts), for records as the ingestion API writes them, either
// with their flat columns extracted from the JSON in DuckDB (records without the lake header) or
// read from the lake record header (core/lake-record.ts). The two alternate, so both see the same
// neighbours; prints CPU µs per row (this process, all threads: DuckDB's too) and wall time.
//   npx tsx bench/ingest/flatten.ts [--events 20000] [--rounds 4] [--threads 1]
import '../../scripts/quiet-warnings.cjs';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import type { ApiKeyRecord } from '../../core/control';
import { openDuckDb } from '../../core/duckdb';
import { createIngestStep } from '../../core/ingest-step';
import { LAKE_HEADER, lakeHeaderFields } from '../../core/lake-record';
import { createKeyring } from '../../core/pii';
import { EventGenerator } from '../../generator/generator';
import { flattenToParquet, InputFileBuilder, prepareConnection } from '../../ingest/flatten';
import { positiveArg, usageOnHelp } from '../args';

usageOnHelp();

const EVENTS = positiveArg('events', 20_000, { integer: true });
const ROUNDS = positiveArg('rounds', 4, { integer: true });
const THREADS = positiveArg('threads', 1, { integer: true });
const PARTITIONS = 6;

async function main(): Promise<void> {
  const gen = new EventGenerator({ seed: 3, tenants: 1000, fraudRate: 0.01, defectRate: 0, lateRate: 0.02 });
  const step = createIngestStep({ keyring: createKeyring({ v1: 'flatten-bench-secret-01' }, 'v1'), isActiveTenant: () => true });
  const principal = { tenant_id: '*', roles: ['ingest'], key_hash: 'bench' } as unknown as ApiKeyRecord;
  const records: { value: Buffer; header: Buffer | undefined }[] = [];
  while (records.length < EVENTS) {
    const out = step(gen.next().event, records.length, principal);
    if (out.kind !== 'ok') continue;
    const headers = out.message.headers as Record<string, string>;
    records.push({ value: Buffer.from(out.message.value as string), header: headers[LAKE_HEADER] === undefined ? undefined : Buffer.from(headers[LAKE_HEADER]) });
  }
  const bytes = records.reduce((n, r) => n + r.value.length, 0);
  const headerBytes = records.reduce((n, r) => n + (r.header?.length ?? 0), 0);
  const withHeader = records.filter((r) => r.header).length;
  process.stdout.write(
    `${EVENTS} events as the API writes them (${(bytes / EVENTS).toFixed(0)} B avg; ${withHeader} with a lake header of ${(headerBytes / Math.max(1, withHeader)).toFixed(0)} B avg), ${PARTITIONS} partitions, DuckDB threads ${THREADS}\n`,
  );

  const db = await openDuckDb({ threads: THREADS, memoryLimit: '2GB' });
  await prepareConnection(db.connection);
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'rtap-flatten-bench-'));
  const plain = new InputFileBuilder();
  const typed = new InputFileBuilder();
  const flush = async (useHeaders: boolean, out: string) => {
    plain.reset();
    typed.reset();
    records.forEach((r, i) => {
      const m = { partition: i % PARTITIONS, offset: Math.floor(i / PARTITIONS), timestampMs: 1_795_000_000_000 + i, value: r.value };
      const fields = useHeaders && r.header ? lakeHeaderFields(r.header) : undefined;
      if (fields && typed.addTyped(m, fields)) return;
      plain.add(m);
    });
    await fs.mkdir(out, { recursive: true });
    const input = plain.rows > 0 ? path.join(out, 'in.txt') : undefined;
    const typedInput = typed.rows > 0 ? path.join(out, 'in-typed.txt') : undefined;
    if (input) plain.writeTo(input);
    if (typedInput) typed.writeTo(typedInput);
    return flattenToParquet(db.connection, input, out, typedInput);
  };
  const results: Record<string, { cpu: number[]; ms: number[] }> = { extracted: { cpu: [], ms: [] }, header: { cpu: [], ms: [] } };
  try {
    await flush(true, path.join(dir, 'warm-up'));
    for (let r = 0; r < ROUNDS; r++) {
      for (const mode of r % 2 === 0 ? ['extracted', 'header'] : ['header', 'extracted']) {
        const t0 = Date.now();
        const c0 = process.cpuUsage();
        const res = await flush(mode === 'header', path.join(dir, `${mode}-${r}`));
        const c = process.cpuUsage(c0);
        results[mode].cpu.push((c.user + c.system) / EVENTS);
        results[mode].ms.push(Date.now() - t0);
        if (res.rows !== EVENTS) throw new Error(`${mode}: ${res.rows} rows written of ${EVENTS}`);
      }
    }
  } finally {
    db.close();
    await fs.rm(dir, { recursive: true, force: true });
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  for (const [mode, { cpu, ms }] of Object.entries(results)) {
    process.stdout.write(
      `${mode.padEnd(10)} CPU/row median ${median(cpu).toFixed(1)} µs (${cpu.map((x) => x.toFixed(1)).join(', ')}), wall median ${median(ms)} ms (${ms.join(', ')})\n`,
    );
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
