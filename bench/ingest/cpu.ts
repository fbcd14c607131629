// CPU accounting for benchmarks on a shared machine (Linux /proc): the CPU time a process tree
// used, and how busy the whole machine was, over a measured window. Events per CPU-second is a
// figure that other load on the box barely moves, unlike events per wall-second.
import * as fs from 'node:fs';

const TICKS_PER_SECOND = 100; // USER_HZ, 100 on every Linux this runs on

/** A process's or thread's parent pid and CPU ticks (user + system) from its `stat` file; throws when it is gone. */
function readStat(file: string): { ppid: number; ticks: number } {
  const stat = fs.readFileSync(file, 'utf8');
  // Fields after the parenthesized command: state ppid ... utime(14) stime(15).
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { ppid: Number(fields[1]), ticks: Number(fields[11]) + Number(fields[12]) };
}

/** CPU seconds (user + system) used so far by `rootPid` and all its descendants; 0 where /proc is missing. */
export function treeCpuSeconds(rootPid: number): number {
  const stats = new Map<number, { ppid: number; ticks: number }>();
  let pids: string[];
  try {
    pids = fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d));
  } catch {
    return 0;
  }
  for (const pid of pids) {
    try {
      stats.set(Number(pid), readStat(`/proc/${pid}/stat`));
    } catch {
      // the process ended meanwhile
    }
  }
  let ticks = 0;
  const queue = [rootPid];
  while (queue.length > 0) {
    const pid = queue.pop()!;
    ticks += stats.get(pid)?.ticks ?? 0;
    for (const [child, s] of stats) if (s.ppid === pid) queue.push(child);
  }
  return ticks / TICKS_PER_SECOND;
}

/** Busy and total CPU seconds of the whole machine so far (all cores). */
export function machineCpuSeconds(): { busy: number; total: number } {
  try {
    const [, ...values] = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/);
    const [user, nice, system, idle, iowait, irq, softirq, steal] = values.map(Number);
    const busy = user + nice + system + irq + softirq + steal;
    return { busy: busy / TICKS_PER_SECOND, total: (busy + idle + iowait) / TICKS_PER_SECOND };
  } catch {
    return { busy: 0, total: 0 };
  }
}

/** CPU seconds (user + system) used so far by each thread of this process, by thread id; empty where /proc is missing. */
export function threadCpuSeconds(): Map<number, number> {
  const out = new Map<number, number>();
  let tids: string[];
  try {
    tids = fs.readdirSync('/proc/self/task');
  } catch {
    return out;
  }
  for (const tid of tids) {
    try {
      out.set(Number(tid), readStat(`/proc/self/task/${tid}/stat`).ticks / TICKS_PER_SECOND);
    } catch {
      // the thread ended meanwhile
    }
  }
  return out;
}
