// The lake sink as the benchmarks run it: `rtap sink` in a process of its own, as production runs
// it. Run inside a benchmark's process, the sink shared its V8 heap with the benchmark's event
// generator and pre-built bodies, and concurrent marking of that heap took ~40 % of the sink's
// CPU (perf, 2026-11-28): the figure said more about the benchmark than about the sink.
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { REPO_ROOT } from '../../core/config';
import { treeCpuSeconds } from './cpu';

export interface SinkProcessOptions {
  topic: string;
  groupId: string;
  dlqTopic: string;
  prefix: string;
  flushMs: number;
  /** `--max-bytes` (default: the sink's own). */
  maxBytes?: number;
  /** Extra environment (e.g. DUCKDB_THREADS). */
  env?: NodeJS.ProcessEnv;
}

export interface SinkProcess {
  readonly pid: number;
  /** Epoch ms at which the sink logged "lake sink started" (consuming from then on). */
  readonly started: Promise<number>;
  /** Lines the sink logged that were not JSON log records (errors, stack traces), for the bench's failure message. */
  readonly otherOutput: string[];
  /** CPU seconds the sink process used so far. */
  cpuSeconds(): number;
  /** Graceful stop (SIGTERM: flush, commit, disconnect); resolves when the process exited. */
  stop(): Promise<void>;
}

export function spawnSink(o: SinkProcessOptions): SinkProcess {
  const args = ['sink', '--topic', o.topic, '--group', o.groupId, '--dlq-topic', o.dlqTopic, '--prefix', o.prefix, '--flush-ms', String(o.flushMs)];
  if (o.maxBytes !== undefined) args.push('--max-bytes', String(o.maxBytes));
  const child = spawn(process.execPath, [path.join(REPO_ROOT, 'bin', 'rtap'), ...args], {
    env: { ...process.env, LOG_LEVEL: 'info', ...o.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const otherOutput: string[] = [];
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const started = new Promise<number>((resolve, reject) => {
    let rest = '';
    child.stdout.on('data', (chunk: Buffer) => {
      const lines = (rest + chunk.toString('utf8')).split('\n');
      rest = lines.pop() ?? '';
      for (const line of lines) {
        let record: { msg?: string; time?: number } | undefined;
        try {
          record = JSON.parse(line) as { msg?: string; time?: number };
        } catch {
          otherOutput.push(line);
        }
        if (record?.msg === 'lake sink started' && typeof record.time === 'number') resolve(record.time);
      }
    });
    child.stderr.on('data', (chunk: Buffer) => otherOutput.push(chunk.toString('utf8')));
    child.once('exit', (code, signal) => reject(new Error(`rtap sink exited (${code ?? signal}) before it started: ${otherOutput.join('\n').slice(-2000)}`)));
  });
  started.catch(() => undefined);
  return {
    pid: child.pid!,
    started,
    otherOutput,
    cpuSeconds: () => treeCpuSeconds(child.pid!),
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
