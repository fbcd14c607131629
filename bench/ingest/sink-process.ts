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

/** One "flushed chunk(s) to the lake" record of the sink's log. */
export interface SinkFlush {
  /** Epoch ms at which the flush ended. */
  time: number;
  reason: string;
  rows: number;
  ms: number;
  /** Milliseconds per step of the flush (frame, flatten, wait, pending, upload, commit, publish). */
  steps: Record<string, number>;
}

export interface SinkProcess {
  readonly pid: number;
  /** Epoch ms at which the sink logged "lake sink started" (consuming from then on). */
  readonly started: Promise<number>;
  /** Lines the sink logged that were not JSON log records (errors, stack traces), for the bench's failure message. */
  readonly otherOutput: string[];
  /** The flushes logged so far, in order. */
  readonly flushes: SinkFlush[];
  /** CPU seconds the sink process used so far. */
  cpuSeconds(): number;
  /** Graceful stop (SIGTERM: flush, commit, disconnect); resolves when the process exited. */
  stop(): Promise<void>;
}

/**
 * Rows per second of the sink's full flushes (size-triggered: `rows` or `bytes`) in their steady
 * run: the rows of the second to the last full flush over the time from the end of the first to
 * the end of the last. Leaves out start-up and the tail (the last, partial chunk waits for the
 * flush interval), which the start-to-durable figure includes. Undefined with fewer than 2.
 */
export function steadyRate(flushes: SinkFlush[]): number | undefined {
  const full = flushes.filter((f) => f.reason === 'rows' || f.reason === 'bytes');
  if (full.length < 2) return undefined;
  const [first, last] = [full[0], full[full.length - 1]];
  const between = flushes.filter((f) => f.time > first.time && f.time <= last.time);
  return between.reduce((n, f) => n + f.rows, 0) / ((last.time - first.time) / 1000);
}

/** Mean milliseconds per step over the full flushes, e.g. "frame 95, flatten 610, … (mean of 12 full flushes)". */
export function stepSummary(flushes: SinkFlush[]): string | undefined {
  const full = flushes.filter((f) => f.reason === 'rows' || f.reason === 'bytes');
  if (full.length === 0) return undefined;
  const sums = new Map<string, number>();
  for (const f of full) for (const [step, ms] of Object.entries(f.steps)) sums.set(step, (sums.get(step) ?? 0) + ms);
  const parts = [...sums].map(([step, ms]) => `${step} ${(ms / full.length).toFixed(0)}`);
  const total = full.reduce((n, f) => n + f.ms, 0) / full.length;
  return `${parts.join(', ')}; whole flush ${total.toFixed(0)} ms (mean of ${full.length} full flushes)`;
}

export function spawnSink(o: SinkProcessOptions): SinkProcess {
  const args = ['sink', '--topic', o.topic, '--group', o.groupId, '--dlq-topic', o.dlqTopic, '--prefix', o.prefix, '--flush-ms', String(o.flushMs)];
  if (o.maxBytes !== undefined) args.push('--max-bytes', String(o.maxBytes));
  const child = spawn(process.execPath, [path.join(REPO_ROOT, 'bin', 'rtap'), ...args], {
    // no /metrics: the bench reads the sink's flush logs, and a sink of `rtap start` may hold the port
    env: { ...process.env, LOG_LEVEL: 'info', SINK_METRICS_PORT: '0', ...o.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const otherOutput: string[] = [];
  const flushes: SinkFlush[] = [];
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const started = new Promise<number>((resolve, reject) => {
    let rest = '';
    child.stdout.on('data', (chunk: Buffer) => {
      const lines = (rest + chunk.toString('utf8')).split('\n');
      rest = lines.pop() ?? '';
      for (const line of lines) {
        let record: { msg?: string; time?: number; reason?: string; rows?: number; ms?: number; steps?: Record<string, number> } | undefined;
        try {
          record = JSON.parse(line) as typeof record;
        } catch {
          otherOutput.push(line);
        }
        if (typeof record?.time !== 'number') continue;
        if (record.msg === 'lake sink started') resolve(record.time);
        if (record.msg === 'flushed chunk(s) to the lake') flushes.push({ time: record.time, reason: String(record.reason), rows: Number(record.rows), ms: Number(record.ms), steps: record.steps ?? {} });
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
    flushes,
    cpuSeconds: () => treeCpuSeconds(child.pid!),
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
