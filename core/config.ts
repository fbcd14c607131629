// One typed configuration for every process, read from the environment once at start-up.
// With no connection settings the embedded local stack (`rtap up`) is the default; setting
// KAFKA_BROKERS / TEMPORAL_ADDRESS / S3_ENDPOINT points rtap at external services instead, and
// `rtap up` then leaves that service alone.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ConfigError } from './errors';
import type { EffectiveLimits } from './limits';

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
  /** Default server-side encryption (SSE-S3, AES-256) set on the bucket, so every lake object is encrypted at rest. */
  sse: boolean;
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
  /** `rtap speed`'s /metrics. */
  speedMetrics: number;
  /** `rtap sink`'s /metrics. */
  sinkMetrics: number;
  /** `rtap worker`'s /metrics (the Temporal SDK's exporter). */
  workerMetrics: number;
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
  /**
   * Whether accepted events carry the lake record header (`x-rtap-l`, core/lake-record.ts): the
   * lake's flat columns computed by the API, so the lake sink need not extract them in DuckDB.
   * Costs the API a few µs of CPU per event; records without it take the sink's extraction path.
   */
  lakeHeader: boolean;
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
  /** Browser origins allowed to call the API (exact `scheme://host[:port]`); empty = no cross-origin access. */
  corsOrigins: string[];
  /** PEM certificate and key files: the API serves HTTPS when both are set. */
  tls?: { certFile: string; keyFile: string };
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
  /** Stream threads of `rtap speed` (worker threads splitting the partitions; docs/speed-layer.md). */
  threads: number;
  /** Where `rtap speed` serves /metrics (all its stream threads aggregated); port 0: not served. */
  metricsHost: string;
  metricsPort: number;
}

/** Asymmetric JWS algorithms only: `none` and HS* are never accepted, so no HS/RS confusion is possible. */
export const JWT_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'] as const;
export type JwtAlgorithm = (typeof JWT_ALGORITHMS)[number];

/** Where the JWT issuer's public keys come from: exactly one of the three. */
export type JwtKeySource = { kind: 'jwks-file'; path: string } | { kind: 'jwks-url'; url: string } | { kind: 'pem-file'; path: string };

export interface JwtConfig {
  keys: JwtKeySource;
  issuer: string;
  audience: string;
  algorithms: JwtAlgorithm[];
  /** Claim naming the tenant the token acts for (`*` only with the platform-admin role). */
  tenantClaim: string;
  /** Claim listing the token's roles (an array, or a space-separated string). */
  rolesClaim: string;
  clockToleranceSec: number;
}

export interface AuthConfig {
  /** Absent: JWTs are refused and only API keys authenticate. */
  jwt?: JwtConfig;
  /** How long a rotated API key's previous secret keeps working. */
  keyRotationGraceMs: number;
}

/** Rate limits and quotas (docs/security.md "Limits"): the defaults a tenant's `limits/<tenant>` record overrides. */
export interface LimitsConfig {
  defaults: EffectiveLimits;
  /** How long a cluster worker waits for the primary's decision before admitting the request anyway. */
  ipcTimeoutMs: number;
}

/** The audit log (docs/security.md "Audit"). */
export interface AuditConfig {
  /** Records are sent to the audit topic at least this often. */
  flushMs: number;
  /** A chain's head is anchored in the control topic at most this often: the tail a truncation could hide. */
  anchorMs: number;
  /** Records a process holds for Kafka at most; beyond it /api requests are answered 503. */
  maxQueued: number;
  /** The lake archive writes an object at least this often, or every archiveMaxRecords records. */
  archiveFlushMs: number;
  archiveMaxRecords: number;
}

export interface RtapConfig {
  limits: LimitsConfig;
  audit: AuditConfig;
  auth: AuthConfig;
  kafka: KafkaConfig;
  temporal: TemporalConfig;
  s3: S3Config;
  api: ApiConfig;
  localPorts: LocalPorts;
  ingest: IngestConfig;
  duckdb: { threads: number; memoryLimit: string };
  speed: SpeedConfig;
  /** Where `rtap sink` serves /metrics; port 0: not served. */
  sink: { metricsHost: string; metricsPort: number };
  /** Where `rtap worker` serves the Temporal SDK's metrics; port 0: not served. */
  worker: { metricsHost: string; metricsPort: number };
  /** Where the local stack keeps server data, logs and pid files. */
  dataDir: string;
  /** Where provisioned binaries live, outside the repo so clones share them. */
  cacheDir: string;
  logLevel: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';
}

type Env = Record<string, string | undefined>;

const BASE_PORTS: LocalPorts = { kafka: 9092, kafkaController: 9093, temporal: 7233, temporalUi: 8233, minio: 9000, minioConsole: 9001, api: 8080, speedMetrics: 9464, sinkMetrics: 9465, workerMetrics: 9466 };

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
  /** Where a process without an HTTP server of its own serves /metrics: `<NAME>_METRICS_HOST`, `<NAME>_METRICS_PORT` (0: not served). */
  const metricsEndpoint = (name: string, port: number) => ({
    metricsHost: read.string(`${name}_METRICS_HOST`, '127.0.0.1'),
    metricsPort: read.int(`${name}_METRICS_PORT`, port, 0, 65535),
  });

  const config: RtapConfig = {
    limits: {
      defaults: {
        requests_per_second: read.int('LIMIT_REQUESTS_PER_SECOND', 1000, 1, 1_000_000),
        burst: read.int('LIMIT_BURST', 2000, 1, 1_000_000),
        key_requests_per_second: read.int('LIMIT_KEY_REQUESTS_PER_SECOND', 1000, 1, 1_000_000),
        key_burst: read.int('LIMIT_KEY_BURST', 2000, 1, 1_000_000),
        events_per_day: read.int('LIMIT_EVENTS_PER_DAY', 50_000_000, 0, 1e12),
        query_cost_per_minute: read.int('LIMIT_QUERY_COST_PER_MINUTE', 1_000_000, 0, 1e12),
      },
      ipcTimeoutMs: read.int('LIMITS_IPC_TIMEOUT_MS', 1000, 10, 60_000),
    },
    audit: {
      flushMs: read.int('AUDIT_FLUSH_MS', 200, 10, 60_000),
      anchorMs: read.int('AUDIT_ANCHOR_MS', 5000, 0, 3_600_000),
      maxQueued: read.int('AUDIT_MAX_QUEUED', 100_000, 100, 10_000_000),
      archiveFlushMs: read.int('AUDIT_ARCHIVE_FLUSH_MS', 30_000, 100, 3_600_000),
      archiveMaxRecords: read.int('AUDIT_ARCHIVE_MAX_RECORDS', 50_000, 1, 10_000_000),
    },
    auth: {
      jwt: readJwtConfig(env, read, problems),
      keyRotationGraceMs: read.int('API_KEY_ROTATION_GRACE_S', 3600, 0, 30 * 86_400) * 1000,
    },
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
      sse: read.bool('S3_SSE', true),
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
      corsOrigins: read.originList('API_CORS_ORIGINS'),
      ...tlsFiles(read),
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
      lakeHeader: read.bool('INGEST_LAKE_HEADER', true),
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
      threads: read.int('SPEED_THREADS', 1, 1, 64),
      ...metricsEndpoint('SPEED', ports.speedMetrics),
    },
    sink: metricsEndpoint('SINK', ports.sinkMetrics),
    worker: metricsEndpoint('WORKER', ports.workerMetrics),
    dataDir: path.resolve(read.string('RTAP_DATA_DIR', path.join(REPO_ROOT, '.rtap'))),
    cacheDir: path.resolve(read.string('RTAP_CACHE_DIR', path.join(os.homedir(), '.cache', 'rtap'))),
    logLevel: read.oneOf('LOG_LEVEL', 'info', LOG_LEVELS),
  };

  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}

/** JWT settings: none at all (JWTs refused), or one key source with an issuer and an audience. */
function readJwtConfig(env: Env, read: EnvReader, problems: string[]): JwtConfig | undefined {
  const set = (name: string) => env[name] !== undefined && env[name]!.trim() !== '';
  const sources = (['JWT_JWKS_FILE', 'JWT_JWKS_URL', 'JWT_PUBLIC_KEY_FILE'] as const).filter(set);
  if (sources.length === 0) {
    const stray = ['JWT_ISSUER', 'JWT_AUDIENCE', 'JWT_ALGORITHMS'].filter(set);
    if (stray.length > 0) problems.push(`${stray.join(', ')}: set without a key source; set one of JWT_JWKS_FILE, JWT_JWKS_URL, JWT_PUBLIC_KEY_FILE`);
    return undefined;
  }
  if (sources.length > 1) problems.push(`${sources.join(', ')}: expected exactly one JWT key source, got ${sources.length}`);
  const source = sources[0];
  let keys: JwtKeySource;
  if (source === 'JWT_JWKS_URL') keys = { kind: 'jwks-url', url: read.url(source, 'https://invalid.example/jwks.json') };
  else {
    const file = path.resolve(env[source]!.trim());
    // Read once here so a wrong path fails at start-up, not on the first request.
    if (!fs.existsSync(file) || !fs.statSync(file).isFile()) problems.push(`${source}: expected a readable file, got ${JSON.stringify(env[source])} (not found)`);
    keys = source === 'JWT_JWKS_FILE' ? { kind: 'jwks-file', path: file } : { kind: 'pem-file', path: file };
  }
  for (const name of ['JWT_ISSUER', 'JWT_AUDIENCE']) if (!set(name)) problems.push(`${name}: required when ${source} is set (tokens of another issuer or audience must not pass)`);
  const algorithms = read.string('JWT_ALGORITHMS', 'RS256,ES256,EdDSA').split(',').map((a) => a.trim());
  const unknown = algorithms.filter((a) => !(JWT_ALGORITHMS as readonly string[]).includes(a));
  if (unknown.length > 0) problems.push(`JWT_ALGORITHMS: expected asymmetric algorithms among ${JWT_ALGORITHMS.join(', ')}, got ${JSON.stringify(unknown.join(','))} (none and HS* are never allowed)`);
  return {
    keys,
    issuer: read.string('JWT_ISSUER', ''),
    audience: read.string('JWT_AUDIENCE', ''),
    algorithms: algorithms.filter((a): a is JwtAlgorithm => (JWT_ALGORITHMS as readonly string[]).includes(a)),
    tenantClaim: read.string('JWT_TENANT_CLAIM', 'rtap_tenant'),
    rolesClaim: read.string('JWT_ROLES_CLAIM', 'rtap_roles'),
    clockToleranceSec: read.int('JWT_CLOCK_TOLERANCE_S', 30, 0, 600),
  };
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

  /** A problem that is not about one variable's format. */
  problem(message: string): void {
    this.problems.push(message);
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

  /** Comma-separated browser origins such as https://app.example.com (no path, no wildcard). */
  originList(name: string): string[] {
    const value = this.raw(name);
    if (value === undefined) return [];
    const items = value.split(',').map((s) => s.trim()).filter(Boolean);
    const bad = items.find((o) => !/^https?:\/\/[A-Za-z0-9.-]+(:\d{1,5})?$/.test(o));
    if (bad !== undefined) return this.fail(name, 'comma-separated origins such as https://app.example.com (scheme and host, no path or *)', bad, []);
    return items;
  }

  /** A path to a readable file, or undefined when unset. */
  readableFile(name: string): string | undefined {
    const value = this.raw(name);
    if (value === undefined) return undefined;
    try {
      fs.accessSync(value, fs.constants.R_OK);
      return value;
    } catch {
      return this.fail(name, 'a readable file', value, undefined);
    }
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

/** HTTPS for the API: both files or neither. */
function tlsFiles(read: EnvReader): { tls?: { certFile: string; keyFile: string } } {
  const certFile = read.readableFile('API_TLS_CERT_FILE');
  const keyFile = read.readableFile('API_TLS_KEY_FILE');
  if (certFile === undefined && keyFile === undefined) return {};
  if (certFile === undefined || keyFile === undefined) {
    read.problem('API_TLS_CERT_FILE and API_TLS_KEY_FILE: set both (PEM certificate and private key) or neither');
    return {};
  }
  return { tls: { certFile, keyFile } };
}

function isHostPort(value: string): boolean {
  const match = /^([A-Za-z0-9.-]+|\[[0-9a-fA-F:]+\]):(\d{1,5})$/.exec(value);
  return match !== null && Number(match[2]) > 0 && Number(match[2]) <= 65535;
}
