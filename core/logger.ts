// Structured JSON logs (pino), one namespaced child logger per module.
import pino, { type Logger } from 'pino';

export type { Logger };

let root: Logger | undefined;

export function rootLogger(level: string = process.env.LOG_LEVEL ?? 'info'): Logger {
  root ??= pino({ level, base: { service: 'rtap' } });
  return root;
}

export function createLogger(namespace: string): Logger {
  return rootLogger().child({ ns: namespace });
}
