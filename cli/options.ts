// Option parsers shared by every `rtap` subcommand, so each reports bad values the same way.
import { InvalidArgumentError } from 'commander';

export function positiveInt(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isInteger(n) || n <= 0) throw new InvalidArgumentError(`expected a positive integer, got "${value}"`);
  return n;
}

/** A TCP port to listen on, 0 meaning "do not listen". */
export function portNumber(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isInteger(n) || n > 65535) throw new InvalidArgumentError(`expected a port 0 … 65535 (0: off), got "${value}"`);
  return n;
}

/** A fault-injection count from the environment (tests only): unset → undefined, else a positive integer. */
export function faultInjectionCount(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError(`${name}: expected a positive integer, got ${JSON.stringify(raw)}`);
  return n;
}
