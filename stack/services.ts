// The three servers of the local stack: how each is provisioned, started and checked.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { LocalPorts, RtapConfig } from '../core/config';
import { kafkaHealth, s3Health, temporalHealth, type Health } from '../core/health';
import { provisionKafka, provisionMinio, provisionTemporal, type Progress } from './provision';
import type { SpawnSpec } from './process';

export type ServiceName = 'kafka' | 'temporal' | 'minio';

export type { Health };

export interface ServiceDef {
  name: ServiceName;
  /** false when the environment points rtap at an external server that `rtap up` must not manage. */
  managed: boolean;
  /** Seconds to wait for health after starting. */
  startTimeoutSec: number;
  /** Seconds a graceful stop may take before SIGKILL. */
  stopGraceSec: number;
  provision(progress: Progress): Promise<void>;
  /** Prepares data directories and returns how to start the server. */
  prepare(): Promise<SpawnSpec>;
  health(): Promise<Health>;
  /** Where users find it: addresses, UIs, credentials. */
  describe(): string[];
}

export function serviceDefs(cfg: RtapConfig): ServiceDef[] {
  return [kafkaService(cfg), temporalService(cfg), minioService(cfg)];
}

function kafkaService(cfg: RtapConfig): ServiceDef {
  const home = path.join(cfg.dataDir, 'kafka');
  let libs = '';
  return {
    name: 'kafka',
    managed: cfg.kafka.local,
    startTimeoutSec: 120,
    stopGraceSec: 30,
    async provision(progress) {
      libs = await provisionKafka(cfg.cacheDir, progress);
    },
    async prepare() {
      const logDir = path.join(home, 'data');
      fs.mkdirSync(logDir, { recursive: true });
      const props = path.join(home, 'server.properties');
      fs.writeFileSync(props, kafkaProperties(logDir, cfg.localPorts));
      fs.writeFileSync(path.join(home, 'log4j2.yaml'), LOG4J2_YAML);
      const classpath = `${libs}/*`;
      if (!fs.existsSync(path.join(logDir, 'meta.properties'))) {
        // KRaft storage is formatted once per data dir; the cluster id is a random Kafka Uuid.
        const clusterId = randomBytes(16).toString('base64url');
        // `=` form: a base64url id may start with '-', which argparse would take for an option.
        await runJava(classpath, ['kafka.tools.StorageTool', 'format', `--cluster-id=${clusterId}`, '--config', props, '--ignore-formatted'], home);
      }
      return {
        command: 'java',
        args: [
          '-Xms256m', '-Xmx1g', '-XX:+UseG1GC', '-Djava.awt.headless=true',
          `-Dlog4j2.configurationFile=${path.join(home, 'log4j2.yaml')}`,
          `-Dkafka.logs.dir=${home}`,
          '-cp', classpath, 'kafka.Kafka', props,
        ],
        cwd: home,
      };
    },
    health: () => kafkaHealth(cfg),
    describe: () => [`bootstrap ${cfg.kafka.brokers.join(',')}`, `topics: events (${cfg.kafka.eventsPartitions} partitions), events.dlq, anomalies, speed-windows, speed-results, control, audit`],
  };
}

function kafkaProperties(logDir: string, ports: LocalPorts): string {
  const { kafka, kafkaController } = ports;
  return [
    'process.roles=broker,controller',
    'node.id=1',
    `controller.quorum.voters=1@127.0.0.1:${kafkaController}`,
    `listeners=PLAINTEXT://127.0.0.1:${kafka},CONTROLLER://127.0.0.1:${kafkaController}`,
    `advertised.listeners=PLAINTEXT://127.0.0.1:${kafka}`,
    'controller.listener.names=CONTROLLER',
    'inter.broker.listener.name=PLAINTEXT',
    'listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
    `log.dirs=${logDir}`,
    // A single node: the internal topics must have replication 1, or group and transaction
    // coordinators are never found.
    'offsets.topic.replication.factor=1',
    'transaction.state.log.replication.factor=1',
    'transaction.state.log.min.isr=1',
    'share.coordinator.state.topic.replication.factor=1',
    'share.coordinator.state.topic.min.isr=1',
    'group.initial.rebalance.delay.ms=0',
    'auto.create.topics.enable=false',
    // rtap's event topics take record batches up to 16 MiB (see core/kafka.ts).
    'message.max.bytes=16777216',
    'num.partitions=6',
    'log.retention.hours=168',
    '',
  ].join('\n');
}

const LOG4J2_YAML = `Configuration:
  Appenders:
    Console:
      name: STDOUT
      PatternLayout:
        pattern: "[%d] %p %m (%c)%n"
  Loggers:
    Logger:
      - name: kafka
        level: INFO
      - name: org.apache.kafka
        level: WARN
    Root:
      level: WARN
      AppenderRef:
        - ref: STDOUT
`;

async function runJava(classpath: string, args: string[], cwd: string): Promise<void> {
  await new Promise<void>((resolve, reject) =>
    execFile('java', ['-cp', classpath, ...args], { cwd }, (err, _stdout, stderr) =>
      err ? reject(new Error(`${args[0]} failed: ${stderr || err.message}`)) : resolve(),
    ),
  );
}

function temporalService(cfg: RtapConfig): ServiceDef {
  let bin = '';
  return {
    name: 'temporal',
    managed: cfg.temporal.local,
    startTimeoutSec: 90,
    stopGraceSec: 15,
    async provision(progress) {
      bin = await provisionTemporal(cfg.cacheDir, progress);
    },
    async prepare() {
      const dir = path.join(cfg.dataDir, 'temporal');
      fs.mkdirSync(dir, { recursive: true });
      return {
        command: bin,
        args: [
          'server', 'start-dev',
          '--ip', '127.0.0.1', '--port', String(cfg.localPorts.temporal),
          '--ui-port', String(cfg.localPorts.temporalUi),
          '--db-filename', path.join(dir, 'temporal.db'),
          '--namespace', cfg.temporal.namespace,
          '--log-level', 'warn',
        ],
        cwd: dir,
      };
    },
    health: () => temporalHealth(cfg),
    describe: () => [`frontend ${cfg.temporal.address} (namespace ${cfg.temporal.namespace}, task queue ${cfg.temporal.taskQueue})`, `Web UI ${cfg.temporal.uiUrl}`],
  };
}

/**
 * The local MinIO's encryption key (32 random bytes, base64), made on first start and kept beside
 * the data it encrypts (RTAP_DATA_DIR/secrets/): losing it makes every lake object unreadable.
 */
export function localKmsKey(dataDir: string): string {
  const file = path.join(dataDir, 'secrets', 'minio-kms.key');
  if (!fs.existsSync(file)) {
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    fs.writeFileSync(file, `${randomBytes(32).toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
  }
  return fs.readFileSync(file, 'utf8').trim();
}

function minioService(cfg: RtapConfig): ServiceDef {
  let bin = '';
  return {
    name: 'minio',
    managed: cfg.s3.local,
    startTimeoutSec: 60,
    stopGraceSec: 10,
    async provision(progress) {
      bin = await provisionMinio(cfg.cacheDir, progress);
    },
    async prepare() {
      const dir = path.join(cfg.dataDir, 'minio');
      fs.mkdirSync(dir, { recursive: true });
      return {
        command: bin,
        args: ['server', '--quiet', '--address', `127.0.0.1:${cfg.localPorts.minio}`, '--console-address', `127.0.0.1:${cfg.localPorts.minioConsole}`, dir],
        env: {
          MINIO_ROOT_USER: cfg.s3.accessKeyId,
          MINIO_ROOT_PASSWORD: cfg.s3.secretAccessKey,
          MINIO_UPDATE: 'off',
          // MinIO's built-in single-key KMS: enough for SSE-S3 on one local server.
          MINIO_KMS_SECRET_KEY: `rtap-lake:${localKmsKey(cfg.dataDir)}`,
        },
        cwd: dir,
      };
    },
    health: () => s3Health(cfg),
    describe: () => [
      `S3 endpoint ${cfg.s3.endpoint}, bucket ${cfg.s3.bucket}`,
      ...(cfg.s3.local ? [`console http://127.0.0.1:${cfg.localPorts.minioConsole}`, `credentials ${cfg.s3.accessKeyId} / ${cfg.s3.secretAccessKey} (local only)`] : []),
    ],
  };
}
