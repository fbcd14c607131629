// Structured JSON logs (pino), one namespaced child logger per module.
import pino, { type Logger } from 'pino';

export type { Logger };

let root: Logger | undefined;

/**
 * Fields that may hold credentials wherever they appear one or two levels deep in a log record
 * (a logged request, config section or error): never written to a log, whoever logs them.
 */
export const SECRET_PATHS = [
  'authorization', '*.authorization', '*.*.authorization', 'req.headers.authorization', 'req.headers["x-api-key"]',
  'apiKey', '*.apiKey', '*.*.apiKey', 'password', '*.password', '*.*.password',
  'secret', '*.secret', 'secretAccessKey', '*.secretAccessKey', '*.*.secretAccessKey',
  'token', '*.token', '*.*.token', 'privateKey', '*.privateKey', 'piiKeys', '*.piiKeys',
];

export function rootLogger(level: string = process.env.LOG_LEVEL ?? 'info'): Logger {
  root ??= pino({ level, base: { service: 'rtap' }, redact: { paths: SECRET_PATHS, censor: '[redacted]' } });
  return root;
}

export function createLogger(namespace: string): Logger {
  return rootLogger().child({ ns: namespace });
}
