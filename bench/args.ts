// Command-line flags of the benchmarks: `--name value`, read once at start-up.

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
