// Background server processes of the local stack: spawn detached with output to a log file,
// remember the pid, stop gracefully (SIGTERM, then SIGKILL after a grace period).
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { sleep } from '../core/retry';

export interface ProcessPaths {
  pidFile: string;
  logFile: string;
}

export function processPaths(dataDir: string, name: string): ProcessPaths {
  return { pidFile: path.join(dataDir, 'run', `${name}.pid`), logFile: path.join(dataDir, 'logs', `${name}.log`) };
}

export function readPid(paths: ProcessPaths): number | undefined {
  try {
    const pid = Number(fs.readFileSync(paths.pidFile, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

export function isAlive(pid: number | undefined): boolean {
  if (pid === undefined) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export interface SpawnSpec {
  command: string;
  args: string[];
  env?: Record<string, string>;
  cwd?: string;
}

/** Starts a server in its own process group so it outlives the CLI; returns its pid. */
export function spawnDetached(spec: SpawnSpec, paths: ProcessPaths): number {
  fs.mkdirSync(path.dirname(paths.pidFile), { recursive: true });
  fs.mkdirSync(path.dirname(paths.logFile), { recursive: true });
  const log = fs.openSync(paths.logFile, 'a');
  fs.writeSync(log, `\n===== ${new Date().toISOString()} starting: ${spec.command} ${spec.args.join(' ')}\n`);
  const child = spawn(spec.command, spec.args, {
    cwd: spec.cwd,
    env: { ...process.env, ...spec.env },
    detached: true,
    stdio: ['ignore', log, log],
  });
  fs.closeSync(log);
  if (child.pid === undefined) throw new Error(`could not spawn ${spec.command}`);
  child.unref();
  fs.writeFileSync(paths.pidFile, String(child.pid));
  return child.pid;
}

/** SIGTERM the process group, wait up to graceMs, then SIGKILL. Returns true if it was running. */
export async function stopProcess(paths: ProcessPaths, graceMs: number): Promise<boolean> {
  const pid = readPid(paths);
  if (!isAlive(pid) || pid === undefined) {
    fs.rmSync(paths.pidFile, { force: true });
    return false;
  }
  signalGroup(pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (isAlive(pid) && Date.now() < deadline) await sleep(200);
  if (isAlive(pid)) {
    signalGroup(pid, 'SIGKILL');
    while (isAlive(pid)) await sleep(100);
  }
  fs.rmSync(paths.pidFile, { force: true });
  return true;
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      /* already gone */
    }
  }
}

/** The last `lines` lines of a log file, for error messages and `rtap logs`. */
export function tailFile(file: string, lines: number): string {
  try {
    const size = fs.statSync(file).size;
    const length = Math.min(size, 256 * 1024);
    const fd = fs.openSync(file, 'r');
    const buffer = Buffer.alloc(length);
    fs.readSync(fd, buffer, 0, length, size - length);
    fs.closeSync(fd);
    return buffer.toString('utf8').split('\n').slice(-lines - 1).join('\n').trimEnd();
  } catch {
    return '(no log yet)';
  }
}
