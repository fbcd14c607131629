// Command-line flags of the benchmarks: `--name value`, read once at start-up.
import { readFileSync } from 'node:fs';

/**
 * `--help` or `-h`: prints the bench's header comment (what it measures, its flags) and exits
 * before anything runs. Every bench entry point calls it first.
 */
export function usageOnHelp(): void {
  if (!process.argv.includes('--help') && !process.argv.includes('-h')) return;
  const usage: string[] = [];
  for (const line of readFileSync(process.argv[1], 'utf8').split('\n')) {
    if (!line.startsWith('//')) break;
    usage.push(line.replace(/^\/\/ ?/, ''));
  }
  process.stdout.write(`${usage.join('\n')}\n`);
  process.exit(0);
}

/** The number after `--name`, or `fallback` when the flag is absent; anything but a positive number (an integer, with `integer`) stops the bench naming the flag. */
export function positiveArg(name: string, fallback: number, opts: { integer?: boolean } = {}): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const v = Number(process.argv[i + 1]);
  if (!Number.isFinite(v) || v <= 0 || (opts.integer && !Number.isInteger(v))) {
    throw new Error(`--${name} needs a positive ${opts.integer ? 'integer' : 'number'}, got ${process.argv[i + 1]}`);
  }
  return v;
}

/** The positional arguments: what is left once each `--flag value` pair is taken out. */
export function positionalArgs(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i].startsWith('--')) i++;
    else out.push(argv[i]);
  }
  return out;
}
