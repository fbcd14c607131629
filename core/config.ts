// One typed configuration for every process, read from the environment once at start-up.
// With no connection settings the embedded local stack (`rtap up`) is the default; setting
// KAFKA_BROKERS / TEMPORAL_ADDRESS / S3_ENDPOINT points rtap at external services instead, and
// `rtap up` then leaves that service alone.
import * as os from 'node:os';
import * as path from 'node:path';
import { ConfigError } from './errors';

export const REPO_ROOT = path.resolve(__dirname, '..');

export interface KafkaConfig {
  brokers: string[];
  clientId: string;
  /** Partitions of the `events` topic when rtap creates it. */
  eventsPartitions: number;
  /** true when KAFKA_BROKERS was not set: the local stack owns the broker. */
  local: boolean;
  /** rtap's byte-identical replacements for kafkajs' record encoding, CRC-32C and murmur2 (core/kafkajs-fast-path.ts). */
  fastPath: boolean;
}

export interface TemporalConfig {
  address: string;
  namespace: string;
  taskQueue: string;
  uiUrl: string;
  local: boolean;
}

export interface S3Config {
  endpoint: string;
  bucket: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  forcePathStyle: boolean;
  local: boolean;
}

/** Ports of the embedded local stack, shifted together by RTAP_PORT_OFFSET to run a second stack beside the first. */
export interface LocalPorts {
  kafka: number;
  kafkaController: number;
  temporal: number;
  temporalUi: number;
  minio: number;
  minioConsole: number;
  api: number;
}

export interface IngestConfig {
  /** Most events one batch request may carry (beyond it: 413). */
  maxEventsPerRequest: number;
  /** Most bytes one batch request may carry (beyond it: 413). */
  maxRequestBytes: number;
  /** Most bytes of one serialized event (beyond it the event is rejected as `event_too_large`). */
  maxEventBytes: number;
  /** Event bytes held for Kafka across all requests; the bound that turns a slow Kafka into 503s. */
  maxQueuedBytes: number;
  /** How long a request waits for room in that queue. */
  enqueueTimeoutMs: number;
  /** How long a request waits for Kafka's acknowledgement. */
  ackTimeoutMs: number;
}

export interface ApiConfig {
  host: string;
  port: number;
  /** API processes sharing the port (node:cluster); 1 = one process, no cluster primary. */
  workers: number;
  /** An analytics query still running after this long is answered 202 and finishes as an async job. */
  queryBudgetMs: number;
  /** A query planned to read more batch or lake files than this runs as an async job at once. */
  jobMaxFiles: number;
  /** Async jobs one API process keeps (running and finished); finished ones expire after jobTtlMs. */
  maxJobs: number;
  jobTtlMs: number;
}

export interface SpeedConfig {
  /** Watermark = largest event time seen in a partition − this; later events are counted as late. */
  allowedLatenessMs: number;
  /** How often the speed layer commits one Kafka transaction of its state changes. */
  commitIntervalMs: number;
  /** A user's session ends after this much event time without an event. */
  sessionGapMs: number;
  /** Offsets of a partition within which a repeated (tenant, event_id) is counted once. */
  dedupHorizonOffsets: number;
}

export interface RtapConfig {
  kafka: KafkaConfig;
  temporal: TemporalConfig;
  s3: S3Config;
  api: ApiConfig;
  localPorts: LocalPorts;
  ingest: IngestConfig;
  duckdb: { threads: number; memoryLimit: string };
  speed: SpeedConfig;
  /** Where the local stack keeps server data, logs and pid files. */
  dataDir: string;
  /** Where provisioned binaries live, outside the repo so clones share them. */
  cacheDir: string;
  logLevel: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';
}

type Env = Record<string, string | undefined>;

const BASE_PORTS: LocalPorts = { kafka: 9092, kafkaController: 9093, temporal: 7233, temporalUi: 8233, minio: 9000, minioConsole: 9001, api: 8080 };

export function localPorts(offset: number): LocalPorts {
  return Object.fromEntries(Object.entries(BASE_PORTS).map(([k, v]) => [k, v + offset])) as unknown as LocalPorts;
}

/** Local-stack endpoints: the defaults when nothing is set in the environment. */
export function localDefaults(ports: LocalPorts) {
  return {
    kafkaBrokers: `127.0.0.1:${ports.kafka}`,
    temporalAddress: `127.0.0.1:${ports.temporal}`,
    temporalUiUrl: `http://127.0.0.1:${ports.temporalUi}`,
    s3Endpoint: `http://127.0.0.1:${ports.minio}`,
    s3AccessKeyId: 'rtap-local',
    s3SecretAccessKey: 'rtap-local-secret',
  };
}

export const LOCAL_DEFAULTS = localDefaults(BASE_PORTS);

const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;

/**
 * Reads and validates the whole configuration. Every bad variable is reported at once, each
 * with its name, what was expected and what was found.
 */
export function loadConfig(env: Env = process.env): RtapConfig {
  const problems: string[] = [];
  const read = new EnvReader(env, problems);
  const ports = localPorts(read.int('RTAP_PORT_OFFSET', 0, 0, 50000));
  const local = localDefaults(ports);

  const kafkaBrokers = read.hostPortList('KAFKA_BROKERS', local.kafkaBrokers);
  const temporalAddress = read.hostPort('TEMPORAL_ADDRESS', local.temporalAddress);
  const s3Endpoint = read.url('S3_ENDPOINT', local.s3Endpoint);

  const config: RtapConfig = {
    kafka: {
      brokers: kafkaBrokers,
      clientId: read.string('KAFKA_CLIENT_ID', 'rtap'),
      eventsPartitions: read.int('KAFKA_EVENTS_PARTITIONS', 6, 1, 1024),
      local: env.KAFKA_BROKERS === undefined,
      fastPath: read.bool('KAFKA_FAST_PATH', true),
    },
    temporal: {
      address: temporalAddress,
      namespace: read.string('TEMPORAL_NAMESPACE', 'default'),
      taskQueue: read.string('TEMPORAL_TASK_QUEUE', 'rtap-batch'),
      uiUrl: read.url('TEMPORAL_UI_URL', local.temporalUiUrl),
      local: env.TEMPORAL_ADDRESS === undefined,
    },
    s3: {
      endpoint: s3Endpoint,
      bucket: read.bucketName('S3_BUCKET', 'rtap-lake'),
      region: read.string('S3_REGION', 'us-east-1'),
      accessKeyId: read.string('S3_ACCESS_KEY_ID', local.s3AccessKeyId),
      secretAccessKey: read.string('S3_SECRET_ACCESS_KEY', local.s3SecretAccessKey, 8),
      forcePathStyle: read.bool('S3_FORCE_PATH_STYLE', true),
      local: env.S3_ENDPOINT === undefined,
    },
    api: {
      host: read.string('API_HOST', '127.0.0.1'),
      port: read.int('API_PORT', ports.api, 1, 65535),
      // One process saturates about one core (JSON, validation, kafkajs encoding all run on its
      // event loop); two share a 2-core box with the broker. Beyond the cores it only adds memory.
      workers: read.int('API_WORKERS', Math.min(2, os.availableParallelism()), 1, 64),
      queryBudgetMs: read.int('API_QUERY_BUDGET_MS', 5000, 0, 600_000),
      jobMaxFiles: read.int('API_JOB_MAX_FILES', 2000, 1, 10_000_000),
      maxJobs: read.int('API_MAX_JOBS', 200, 1, 100_000),
      jobTtlMs: read.int('API_JOB_TTL_MS', 15 * 60_000, 1000, 7 * 24 * 3_600_000),
    },
    localPorts: ports,
    ingest: {
      maxEventsPerRequest: read.int('INGEST_MAX_EVENTS', 1000, 1, 100000),
      // Both stay below the 16 MiB max.message.bytes rtap sets on its topics (core/kafka.ts).
      maxRequestBytes: read.int('INGEST_MAX_BYTES', 8 * 1024 * 1024, 1024, 12 * 1024 * 1024),
      maxEventBytes: read.int('INGEST_MAX_EVENT_BYTES', 1024 * 1024, 1024, 12 * 1024 * 1024),
      maxQueuedBytes: read.int('INGEST_QUEUE_BYTES', 64 * 1024 * 1024, 1024 * 1024, 4 * 1024 * 1024 * 1024),
      enqueueTimeoutMs: read.int('INGEST_ENQUEUE_TIMEOUT_MS', 2000, 0, 600000),
      ackTimeoutMs: read.int('INGEST_ACK_TIMEOUT_MS', 10000, 100, 600000),
    },
    duckdb: {
      // Capped so a compaction burst leaves a core for the speed layer on small machines.
      threads: read.int('DUCKDB_THREADS', 1, 1, 256),
      memoryLimit: read.string('DUCKDB_MEMORY_LIMIT', '2GB'),
    },
    speed: {
      // up to a day: the windows stay open that long, and late events beyond it are still counted
      allowedLatenessMs: read.int('SPEED_ALLOWED_LATENESS_MS', 60_000, 0, 24 * 3600 * 1000),
      commitIntervalMs: read.int('SPEED_COMMIT_INTERVAL_MS', 300, 10, 60_000),
      sessionGapMs: read.int('SPEED_SESSION_GAP_MS', 30 * 60_000, 1000, 24 * 3600 * 1000),
      dedupHorizonOffsets: read.int('SPEED_DEDUP_HORIZON_OFFSETS', 50_000, 1, 10_000_000),
    },
    dataDir: path.resolve(read.string('RTAP_DATA_DIR', path.join(REPO_ROOT, '.rtap'))),
    cacheDir: path.resolve(read.string('RTAP_CACHE_DIR', path.join(os.homedir(), '.cache', 'rtap'))),
    logLevel: read.oneOf('LOG_LEVEL', 'info', LOG_LEVELS),
  };

  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}

let cached: RtapConfig | undefined;

/** The process-wide configuration, validated on first use. */
export function config(): RtapConfig {
  cached ??= loadConfig();
  return cached;
}

class EnvReader {
  constructor(
    private readonly env: Env,
    private readonly problems: string[],
  ) {}

  private raw(name: string): string | undefined {
    const value = this.env[name];
    return value === undefined || value.trim() === '' ? undefined : value.trim();
  }

  private fail<T>(name: string, expected: string, got: string, fallback: T): T {
    this.problems.push(`${name}: expected ${expected}, got ${JSON.stringify(got)}`);
    return fallback;
  }

  string(name: string, fallback: string, minLength = 1): string {
    const value = this.raw(name);
    if (value === undefined) return fallback;
    if (value.length < minLength) return this.fail(name, `at least ${minLength} characters`, value, fallback);
    return value;
  }

  int(name: string, fallback: number, min: number, max: number): number {
    const value = this.raw(name);
    if (value === undefined) return fallback;
    const parsed = Number(value);
    if (!/^-?\d+$/.test(value) || parsed < min || parsed > max) {
      return this.fail(name, `an integer from ${min} to ${max}`, value, fallback);
    }
    return parsed;
  }

  bool(name: string, fallback: boolean): boolean {
    const value = this.raw(name);
    if (value === undefined) return fallback;
    if (/^(1|true|yes|on)$/i.test(value)) return true;
    if (/^(0|false|no|off)$/i.test(value)) return false;
    return this.fail(name, 'true or false', value, fallback);
  }

  oneOf<T extends string>(name: string, fallback: T, allowed: readonly T[]): T {
    const value = this.raw(name);
    if (value === undefined) return fallback;
    if (!(allowed as readonly string[]).includes(value)) return this.fail(name, `one of ${allowed.join(', ')}`, value, fallback);
    return value as T;
  }

  url(name: string, fallback: string): string {
    const value = this.raw(name);
    if (value === undefined) return fallback;
    try {
      const url = new URL(value);
      if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('protocol');
      return value.replace(/\/+$/, '');
    } catch {
      return this.fail(name, 'an http(s) URL such as http://127.0.0.1:9000', value, fallback);
    }
  }

  hostPort(name: string, fallback: string): string {
    const value = this.raw(name);
    if (value === undefined) return fallback;
    return isHostPort(value) ? value : this.fail(name, 'host:port such as 127.0.0.1:7233', value, fallback);
  }

  hostPortList(name: string, fallback: string): string[] {
    const value = this.raw(name) ?? fallback;
    const items = value.split(',').map((s) => s.trim()).filter(Boolean);
    if (items.length === 0 || !items.every(isHostPort)) {
      return this.fail(name, 'a comma-separated list of host:port such as 127.0.0.1:9092', value, [fallback]);
    }
    return items;
  }

  bucketName(name: string, fallback: string): string {
    const value = this.raw(name);
    if (value === undefined) return fallback;
    // S3 bucket naming rules: 3-63 chars, lowercase letters, digits, dots and hyphens.
    if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(value)) {
      return this.fail(name, 'an S3 bucket name (3-63 lowercase letters, digits, dots, hyphens)', value, fallback);
    }
    return value;
  }
}

function isHostPort(value: string): boolean {
  const match = /^([A-Za-z0-9.-]+|\[[0-9a-fA-F:]+\]):(\d{1,5})$/.exec(value);
  return match !== null && Number(match[2]) > 0 && Number(match[2]) <= 65535;
}
