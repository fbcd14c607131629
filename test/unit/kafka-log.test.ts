// kafkajs' log lines: a connection's report of an error response kafkajs handles (retries, or
// re-joins the group on) is left out; everything else is written as kafkajs' console logger writes it.
import { logLevel } from 'kafkajs';
import { isHandledResponseError, kafkaLogCreator } from '../../core/kafka-log';

const CONCURRENT = 'The producer attempted to update a transaction while another concurrent operation on the same transaction was ongoing';
const LOADING = "The coordinator is loading and hence can't process requests for this group";
const REBALANCING = 'The group is rebalancing, so a rejoin is needed';
const FENCED = "Producer attempted an operation with an old epoch. Either there is a newer producer with the same transactionalId, or the producer's transaction has been expired by the broker";

function entry(namespace: string, level: number, error?: string) {
  return { namespace, level, label: level === logLevel.ERROR ? 'ERROR' : 'WARN', log: { message: 'Response AddPartitionsToTxn(key: 24, version: 1)', timestamp: 't', logger: 'kafkajs', ...(error ? { error } : {}) } };
}

test('handled error responses of a connection (retriable, rebalancing) are recognised; fatal ones, other levels and other namespaces are not', () => {
  expect(isHandledResponseError('Connection', logLevel.ERROR, entry('Connection', logLevel.ERROR, CONCURRENT).log)).toBe(true);
  expect(isHandledResponseError('Connection', logLevel.ERROR, entry('Connection', logLevel.ERROR, LOADING).log)).toBe(true);
  expect(isHandledResponseError('Connection', logLevel.ERROR, entry('Connection', logLevel.ERROR, REBALANCING).log)).toBe(true);
  expect(isHandledResponseError('Connection', logLevel.ERROR, entry('Connection', logLevel.ERROR, FENCED).log)).toBe(false);
  expect(isHandledResponseError('Connection', logLevel.WARN, entry('Connection', logLevel.WARN, CONCURRENT).log)).toBe(false);
  expect(isHandledResponseError('Producer', logLevel.ERROR, entry('Producer', logLevel.ERROR, CONCURRENT).log)).toBe(false);
  expect(isHandledResponseError('Connection', logLevel.ERROR, { message: 'Connection error: ECONNREFUSED' })).toBe(false);
});

test('the log creator drops only those, and writes the rest as kafkajs does', () => {
  const errors: string[] = [];
  const spy = jest.spyOn(console, 'error').mockImplementation((line: string) => void errors.push(line));
  try {
    const log = kafkaLogCreator(logLevel.WARN);
    log(entry('Connection', logLevel.ERROR, CONCURRENT));
    log(entry('Connection', logLevel.ERROR, FENCED));
    expect(errors).toHaveLength(1);
    expect(JSON.parse(errors[0])).toMatchObject({ level: 'ERROR', message: '[Connection] Response AddPartitionsToTxn(key: 24, version: 1)', error: FENCED, logger: 'kafkajs' });
  } finally {
    spy.mockRestore();
  }
});
