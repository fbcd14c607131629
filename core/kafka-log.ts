// kafkajs' log lines, as its default console logger writes them, minus one kind of noise: an error
// response that kafkajs handles — a retriable Kafka error (CONCURRENT_TRANSACTIONS between
// back-to-back transactions, a coordinator still loading), which it retries, or a heartbeat's
// REBALANCE_IN_PROGRESS, on which its consumer re-joins and says so at WARN — is first logged by
// kafkajs' connection at ERROR: `rtap start` printed several a minute while nothing was wrong.
// Those lines are left out; when retries run out, the caller gets the error and logs it. Every
// other line is kept as is.
import { logLevel, type logCreator } from 'kafkajs';

interface KafkaErrorCode {
  type: string;
  message: string;
  retriable: boolean;
}
// kafkajs' table of Kafka protocol errors (not in its typings)
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { errorCodes } = require('kafkajs/src/protocol/error') as { errorCodes: KafkaErrorCode[] };
// eslint-disable-next-line @typescript-eslint/no-require-imports
const consoleLogCreator = require('kafkajs/src/loggers/console') as logCreator;

const HANDLED_MESSAGES: ReadonlySet<string> = new Set(errorCodes.filter((e) => e.retriable || e.type === 'REBALANCE_IN_PROGRESS').map((e) => e.message));

/** Whether a kafkajs log entry is a connection's report of an error response kafkajs handles (retries, or re-joins on). */
export function isHandledResponseError(namespace: string, level: number, log: { message: string; error?: unknown }): boolean {
  return level === logLevel.ERROR && namespace === 'Connection' && log.message.startsWith('Response ') && typeof log.error === 'string' && HANDLED_MESSAGES.has(log.error);
}

export const kafkaLogCreator: logCreator = (level) => {
  const write = consoleLogCreator(level);
  return (entry) => {
    if (isHandledResponseError(entry.namespace, entry.level, entry.log)) return;
    write(entry);
  };
};
