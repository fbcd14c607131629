import { LOCAL_DEFAULTS, loadConfig } from '../../core/config';
import { ConfigError } from '../../core/errors';

test('with an empty environment the local stack is the default', () => {
  const cfg = loadConfig({});
  expect(cfg.kafka.brokers).toEqual([LOCAL_DEFAULTS.kafkaBrokers]);
  expect(cfg.kafka.local).toBe(true);
  expect(cfg.temporal.address).toBe(LOCAL_DEFAULTS.temporalAddress);
  expect(cfg.s3.endpoint).toBe(LOCAL_DEFAULTS.s3Endpoint);
  expect(cfg.s3.local).toBe(true);
});

test('connection settings from the environment switch each service to external', () => {
  const cfg = loadConfig({
    KAFKA_BROKERS: 'k1:9092, k2:9092',
    TEMPORAL_ADDRESS: 'temporal.internal:7233',
    S3_ENDPOINT: 'https://s3.example.com/',
    S3_BUCKET: 'lake.prod',
    API_PORT: '9090',
  });
  expect(cfg.kafka.brokers).toEqual(['k1:9092', 'k2:9092']);
  expect(cfg.kafka.local).toBe(false);
  expect(cfg.temporal.local).toBe(false);
  expect(cfg.s3.endpoint).toBe('https://s3.example.com');
  expect(cfg.s3.local).toBe(false);
  expect(cfg.s3.bucket).toBe('lake.prod');
  expect(cfg.api.port).toBe(9090);
});

test('every bad value is reported at once, naming the variable and what was expected', () => {
  let error: unknown;
  try {
    loadConfig({ KAFKA_BROKERS: 'localhost', API_PORT: '70000', S3_ENDPOINT: 'ftp://x', S3_BUCKET: 'Bad_Bucket', LOG_LEVEL: 'loud', S3_FORCE_PATH_STYLE: 'maybe' });
  } catch (err) {
    error = err;
  }
  expect(error).toBeInstanceOf(ConfigError);
  const problems = (error as ConfigError).problems;
  expect(problems).toHaveLength(6);
  expect(problems.find((p) => p.startsWith('KAFKA_BROKERS:'))).toContain('host:port');
  expect(problems.find((p) => p.startsWith('API_PORT:'))).toContain('from 1 to 65535');
  expect(problems.find((p) => p.startsWith('S3_ENDPOINT:'))).toContain('http(s) URL');
  expect(problems.find((p) => p.startsWith('S3_BUCKET:'))).toContain('bucket name');
  expect(problems.find((p) => p.startsWith('LOG_LEVEL:'))).toContain('one of');
  expect(problems.find((p) => p.startsWith('S3_FORCE_PATH_STYLE:'))).toContain('true or false');
  expect((error as ConfigError).message).toContain('"70000"');
});

test('a too-short S3 secret is rejected (MinIO needs at least 8 characters)', () => {
  expect(() => loadConfig({ S3_SECRET_ACCESS_KEY: 'short' })).toThrow(/S3_SECRET_ACCESS_KEY: expected at least 8 characters/);
});

test('RTAP_PORT_OFFSET shifts every local port together, so a second stack can run beside the first', () => {
  const base = loadConfig({});
  const shifted = loadConfig({ RTAP_PORT_OFFSET: '20000' });
  for (const [name, port] of Object.entries(base.localPorts)) {
    expect(shifted.localPorts[name as keyof typeof base.localPorts]).toBe(port + 20000);
  }
  expect(shifted.kafka.brokers).toEqual([`127.0.0.1:${base.localPorts.kafka + 20000}`]);
  expect(shifted.s3.endpoint).toBe(`http://127.0.0.1:${base.localPorts.minio + 20000}`);
  expect(shifted.api.port).toBe(base.api.port + 20000);
});

test('API_WORKERS: the API processes sharing the port, at most two by default, validated at start-up', () => {
  expect(loadConfig({}).api.workers).toBeGreaterThanOrEqual(1);
  expect(loadConfig({}).api.workers).toBeLessThanOrEqual(2);
  expect(loadConfig({ API_WORKERS: '4' }).api.workers).toBe(4);
  expect(() => loadConfig({ API_WORKERS: '0' })).toThrow(/API_WORKERS: expected an integer from 1 to 64, got "0"/);
  expect(() => loadConfig({ API_WORKERS: 'two' })).toThrow(/API_WORKERS: expected an integer from 1 to 64/);
});

test('KAFKA_FAST_PATH: on unless turned off', () => {
  expect(loadConfig({}).kafka.fastPath).toBe(true);
  expect(loadConfig({ KAFKA_FAST_PATH: 'false' }).kafka.fastPath).toBe(false);
  expect(() => loadConfig({ KAFKA_FAST_PATH: 'fast' })).toThrow(/KAFKA_FAST_PATH: expected true or false/);
});
