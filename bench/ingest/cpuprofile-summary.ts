// Summarizes V8 .cpuprofile files (node --cpu-prof) by self time: per module (a package, a repo
// file, or a V8/native bucket such as GC) and per function. Several profiles (the API's cluster
// workers) are summed. Used for the "where the time went" table in docs/ingestion.md.
//   npx tsx bench/ingest/cpuprofile-summary.ts <file-or-dir>... [--top N]
import * as fs from 'node:fs';
import * as path from 'node:path';
import { REPO_ROOT } from '../../core/config';
import { usageOnHelp } from '../args';

usageOnHelp();

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

interface CpuProfile {
  nodes: { id: number; callFrame: CallFrame }[];
  samples: number[];
  timeDeltas: number[];
}

/** Where a frame belongs: `npm:<package>`, a repo-relative file, `node:<internal>`, or a V8 bucket such as `(garbage collector)`. */
export function moduleOf(frame: CallFrame): string {
  const url = frame.url.replace(/^file:\/\//, '');
  // ajv compiles schemas with `new Function`: no URL, functions named validate<N>.
  if (!url && /^validate\d*$/.test(frame.functionName)) return 'npm:ajv (compiled validators)';
  if (!url) return `(${frame.functionName || 'native'})`;
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (nm) return `npm:${nm[1]}`;
  if (url.startsWith('node:')) return url.replace(/^node:internal\//, 'node:').split('/').slice(0, 2).join('/');
  return path.relative(REPO_ROOT, url);
}

/** A frame's file: repo-relative, or inside its package for dependencies. */
function fileOf(frame: CallFrame): string {
  const url = frame.url.replace(/^file:\/\//, '');
  const nm = /node_modules\/(.+)$/.exec(url);
  return nm ? nm[1] : moduleOf(frame);
}

/** Self time in µs per key, over every sample of every profile. */
export function selfTimes(profiles: CpuProfile[], key: (frame: CallFrame) => string): Map<string, number> {
  const totals = new Map<string, number>();
  for (const profile of profiles) {
    const frames = new Map(profile.nodes.map((n) => [n.id, n.callFrame]));
    profile.samples.forEach((id, i) => {
      const k = key(frames.get(id)!);
      totals.set(k, (totals.get(k) ?? 0) + (profile.timeDeltas[i] ?? 0));
    });
  }
  return totals;
}

function main(): void {
  const args = process.argv.slice(2);
  const topAt = args.indexOf('--top');
  const top = topAt >= 0 ? Number(args.splice(topAt, 2)[1]) : 30;
  const files = args.flatMap((a) => (fs.statSync(a).isDirectory() ? fs.readdirSync(a).filter((f) => f.endsWith('.cpuprofile')).map((f) => path.join(a, f)) : [a]));
  if (files.length === 0) throw new Error('usage: cpuprofile-summary.ts <file.cpuprofile | dir>... [--top N]');
  const profiles = files.map((f) => JSON.parse(fs.readFileSync(f, 'utf8')) as CpuProfile);
  const print = (title: string, totals: Map<string, number>) => {
    // Idle time is the event loop waiting (for requests, for Kafka); shares are of busy time.
    const idle = [...totals].filter(([k]) => k.includes('(idle)')).reduce((a, [, us]) => a + us, 0);
    for (const k of [...totals.keys()]) if (k.includes('(idle)')) totals.delete(k);
    const sum = [...totals.values()].reduce((a, b) => a + b, 0);
    process.stdout.write(`\n${title} (${files.length} profile(s), ${(sum / 1e6).toFixed(1)} s busy, ${(idle / 1e6).toFixed(1)} s idle)\n`);
    for (const [k, us] of [...totals].sort((a, b) => b[1] - a[1]).slice(0, top)) {
      process.stdout.write(`${((100 * us) / sum).toFixed(1).padStart(6)} %  ${(us / 1000).toFixed(0).padStart(7)} ms  ${k}\n`);
    }
  };
  print('self time by module', selfTimes(profiles, moduleOf));
  print('self time by function', selfTimes(profiles, (f) => `${f.functionName || '(anonymous)'}  ${fileOf(f)}:${f.lineNumber + 1}`));
}

if (require.main === module) main();
