// Shared helpers for integration specs: real clients on the local stack, unique names per run.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import * as path from 'node:path';
import type { Producer } from 'kafkajs';
import { loadConfig, REPO_ROOT, type RtapConfig } from '../../core/config';
import type { EventGenerator } from '../../generator/generator';

export const cfg: RtapConfig = loadConfig();

/** Tags every name a test run creates, so global-teardown.ts removes this run's topics and objects only. */
export const RUN_TAG_ENV = 'RTAP_TEST_RUN';

/** The run tag set by global-setup.ts (`r` + hex), or `r0` when a suite runs without it. */
export function runTag(): string {
  return process.env[RUN_TAG_ENV] ?? 'r0';
}

/** A name no other test run uses, for topics, groups, object prefixes and workflow ids. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${runTag()}-${randomBytes(3).toString('hex')}`;
}

/** A TCP port free on 127.0.0.1 just now (for a child's /metrics). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** The topics an `rtap speed` child of a test reads and writes: all the test's own. */
export interface SpeedTopics {
  events: string;
  changelog: string;
  results: string;
  anomalies: string;
  control: string;
}

/** A speed layer's topics for one test, unique per run: `<prefix>-events`, `-windows`, `-results`, `-anomalies`, `-control`. */
export function uniqueSpeedTopics(prefix: string): SpeedTopics {
  return {
    events: uniqueName(`${prefix}-events`),
    changelog: uniqueName(`${prefix}-windows`),
    results: uniqueName(`${prefix}-results`),
    anomalies: uniqueName(`${prefix}-anomalies`),
    control: uniqueName(`${prefix}-control`),
  };
}

export interface SpeedChildOptions {
  topics: SpeedTopics;
  group: string;
  instance: string;
  /** Lake prefix whose published cut the layer follows. */
  prefix: string;
  offsetBucketSize?: number;
  /** More command-line options (e.g. `--cut-poll-ms`). */
  args?: string[];
  /** Environment over the defaults (LOG_LEVEL warn, a 100 ms commit interval, no /metrics). */
  env?: Record<string, string>;
  /** 'pipe' to read its output; default: inherited. */
  stdio?: 'inherit' | 'pipe';
}

/** Starts `rtap speed` as a child process on a test's own topics; `children` holds it until it exits. */
export function spawnSpeed(children: Set<ChildProcess>, o: SpeedChildOptions): ChildProcess {
  const t = o.topics;
  const child = spawn(
    process.execPath,
    [
      path.join(REPO_ROOT, 'bin', 'rtap'),
      'speed',
      ...['--topic', t.events, '--group', o.group, '--instance', o.instance, '--prefix', o.prefix, '--session-timeout', '6000'],
      ...['--changelog-topic', t.changelog, '--results-topic', t.results, '--anomalies-topic', t.anomalies, '--control-topic', t.control],
      ...(o.offsetBucketSize === undefined ? [] : ['--offset-bucket-size', String(o.offsetBucketSize)]),
      ...(o.args ?? []),
    ],
    // (no /metrics unless a test asks: several children share the host, and its default port)
    { env: { ...process.env, LOG_LEVEL: 'warn', SPEED_COMMIT_INTERVAL_MS: '100', SPEED_METRICS_PORT: '0', ...o.env }, stdio: ['ignore', o.stdio ?? 'inherit', o.stdio ?? 'inherit'] },
  );
  children.add(child);
  child.on('exit', () => children.delete(child));
  return child;
}

/** Where a test's traffic re-sends events, as a client retrying would: same key, so same partition. */
export interface Resends {
  /** After every `every`-th event sent… */
  every: number;
  /** …the event sent `behind` events before it goes again. */
  behind: number;
}

/**
 * Sends `n` generator events (and the re-sends `resends` asks for) to `topic` in sends of 500;
 * each original is appended to `sent`, the test's record of what went out. Returns the messages
 * sent, re-sends included.
 */
export async function produceWithResends(
  producer: Producer,
  topic: string,
  gen: EventGenerator,
  n: number,
  sent: { key: string; value: string }[],
  resends: Resends,
): Promise<number> {
  const messages: { key: string; value: string }[] = [];
  for (let i = 0; i < n; i++) {
    const e = gen.next();
    const m = { key: e.key, value: JSON.stringify(e.event) };
    messages.push(m);
    sent.push(m);
    if (sent.length % resends.every === 0) messages.push(sent[sent.length - resends.behind]);
  }
  for (let i = 0; i < messages.length; i += 500) await producer.send({ topic, messages: messages.slice(i, i + 500) });
  return messages.length;
}
