// Every benchmark entry point answers --help with its usage (its header comment) and exits 0
// without running anything: no stack, no topic, no minutes of load for someone asking how to call it.
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '../..');
const BENCH = path.join(ROOT, 'bench');
const TSX = path.join(ROOT, 'node_modules', '.bin', 'tsx');

/** The bench scripts a user runs: those that call usageOnHelp (the rest are children of those, or helpers). */
const entries = readdirSync(BENCH, { recursive: true, encoding: 'utf8' })
  .filter((f) => f.endsWith('.ts') && f !== 'args.ts')
  .filter((f) => /^usageOnHelp\(\);$/m.test(readFileSync(path.join(BENCH, f), 'utf8')));

function help(file: string): Promise<{ code: number; stdout: string }> {
  return new Promise((resolve) => {
    // a broker address nothing listens on: a bench that went past --help would fail to connect, not load the local stack
    execFile(TSX, [path.join(BENCH, file), '--help'], { cwd: ROOT, timeout: 60_000, env: { ...process.env, KAFKA_BROKERS: '127.0.0.1:1' } }, (err, stdout) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout }),
    );
  });
}

test('the user-facing benches all call usageOnHelp', () => {
  for (const f of ['speed/run.ts', 'ingest/http.ts', 'fraud/run.ts', 'batch/run.ts', 'serving/run.ts', 'generator/run.ts']) expect(entries).toContain(f);
});

test('each bench prints its header comment for --help and exits 0', async () => {
  const results = await Promise.all(entries.map(async (f) => ({ f, ...(await help(f)) })));
  for (const { f, code, stdout } of results) {
    const header = readFileSync(path.join(BENCH, f), 'utf8').split('\n')[0].replace(/^\/\/ ?/, '');
    expect({ f, code, first: stdout.split('\n')[0] }).toEqual({ f, code: 0, first: header });
  }
}, 120_000);
