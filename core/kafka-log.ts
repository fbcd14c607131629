// kafkajs' log lines, as its default console logger writes them, minus one kind of noise: an error
// response of a retriable Kafka error (CONCURRENT_TRANSACTIONS between back-to-back transactions,
// a coordinator still loading, a group rebalancing) is logged by kafkajs' connection at ERROR
// before kafkajs retries the request — `rtap start` printed several a minute while nothing was
// wrong. Those are left out; kafkajs retries them, and when the retries run out the caller gets
// the error and logs it. Every other line is kept as is.
import { logLevel, type logCreator } from 'kafkajs';

interface KafkaErrorCode {
  message: string;
  retriable: boolean;
}
// kafkajs' table of Kafka protocol errors (not in its typings)
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { errorCodes } = require('kafkajs/src/protocol/error') as { errorCodes: KafkaErrorCode[] };
// eslint-disable-next-line @typescript-eslint/no-require-imports
const consoleLogCreator = require('kafkajs/src/loggers/console') as logCreator;

const RETRIABLE_MESSAGES: ReadonlySet<string> = new Set(errorCodes.filter((e) => e.retriable).map((e) => e.message));

/** Whether a kafkajs log entry is a connection's report of a retriable error response. */
export function isRetriedResponseError(namespace: string, level: number, log: { message: string; error?: unknown }): boolean {
  return level === logLevel.ERROR && namespace === 'Connection' && log.message.startsWith('Response ') && typeof log.error === 'string' && RETRIABLE_MESSAGES.has(log.error);
}

export const kafkaLogCreator: logCreator = (level) => {
  const write = consoleLogCreator(level);
  return (entry) => {
    if (isRetriedResponseError(entry.namespace, entry.level, entry.log)) return;
    write(entry);
  };
};
