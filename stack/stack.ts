// `rtap up | down | status | logs`: the local stack as one idempotent unit.
import { logLevel } from 'kafkajs';
import type { RtapConfig } from '../core/config';
import { StackError } from '../core/errors';
import { TOPICS, createKafka, ensureTopics, fetchCommittedOffsets, topicSpecs } from '../core/kafka';
import { waitUntil } from '../core/retry';
import { createS3, ensureBucket, ensureBucketEncryption } from '../core/s3';
import { isAlive, processPaths, readPid, spawnDetached, stopProcess, tailFile } from './process';
import { provisionHttpfs, type Progress } from './provision';
import { serviceDefs, type Health, type ServiceDef, type ServiceName } from './services';

export interface ServiceStatus {
  name: ServiceName;
  managed: boolean;
  pid?: number;
  health: Health;
  where: string[];
}

export interface UpResult {
  started: ServiceName[];
  alreadyRunning: ServiceName[];
  createdTopics: string[];
  createdBucket: boolean;
}

/**
 * Provisions what is missing, starts what is down, waits for health, then creates topics and the
 * bucket. Running it twice changes nothing the second time.
 */
export async function up(cfg: RtapConfig, progress: Progress): Promise<UpResult> {
  const services = serviceDefs(cfg).filter((s) => s.managed);
  const result: UpResult = { started: [], alreadyRunning: [], createdTopics: [], createdBucket: false };

  // Provisioning is sequential on purpose: parallel Go builds on a 2-core machine are no faster
  // and make the progress output unreadable.
  const toStart: ServiceDef[] = [];
  for (const service of services) {
    if ((await service.health()).healthy) {
      result.alreadyRunning.push(service.name);
      continue;
    }
    await service.provision(progress);
    toStart.push(service);
  }

  await Promise.all(
    toStart.map(async (service) => {
      const paths = processPaths(cfg.dataDir, service.name);
      const oldPid = readPid(paths);
      if (isAlive(oldPid)) {
        // Running but not healthy yet (still starting, or wedged): give it the start timeout first.
        progress(`${service.name}: process ${oldPid} is running but not healthy; waiting for it`);
      } else {
        const spec = await service.prepare();
        const pid = spawnDetached(spec, paths);
        progress(`${service.name}: started (pid ${pid}), waiting until healthy…`);
      }
      const healthy = await waitUntil(async () => (await service.health()).healthy, service.startTimeoutSec * 1000, 500);
      if (!healthy) {
        const health = await service.health();
        const pidNow = readPid(paths);
        const state = isAlive(pidNow) ? `still running (pid ${pidNow}) but not healthy after ${service.startTimeoutSec}s` : 'exited during start-up';
        throw new StackError(service.name, `did not come up: ${state}; last check: ${health.detail} (log: ${paths.logFile})`, tailFile(paths.logFile, 30));
      }
      result.started.push(service.name);
      progress(`${service.name}: healthy`);
    }),
  );

  // DuckDB is a library, not a server: its httpfs extension is provisioned even when the
  // services are external, since every batch activity and `rtap sql` reads s3:// through it.
  await provisionHttpfs(cfg.cacheDir, progress);

  const kafka = createKafka(cfg.kafka);
  result.createdTopics = await ensureTopics(kafka, topicSpecs(cfg.kafka));
  // A fresh broker creates __consumer_offsets on first use and loads its coordinator; wait for
  // that here so the first consumer group of whoever runs next does not race it.
  // (A quiet client: kafkajs logs each retried "coordinator is loading" answer as an error.)
  await fetchCommittedOffsets(createKafka(cfg.kafka, { logLevel: logLevel.NOTHING }), 'rtap-up-probe', TOPICS.events);
  const s3 = createS3(cfg.s3);
  try {
    result.createdBucket = await ensureBucket(s3, cfg.s3.bucket);
    if (cfg.s3.sse) await ensureBucketEncryption(s3, cfg.s3.bucket);
  } finally {
    s3.destroy();
  }
  return result;
}

/** Stops the servers this checkout started, Kafka last so clients still connected drain first. */
export async function down(cfg: RtapConfig, progress: Progress, only?: ServiceName[]): Promise<ServiceName[]> {
  const order: ServiceName[] = ['temporal', 'minio', 'kafka'];
  const services = serviceDefs(cfg)
    .filter((s) => s.managed && (!only || only.includes(s.name)))
    .sort((a, b) => order.indexOf(a.name) - order.indexOf(b.name));
  const stopped: ServiceName[] = [];
  for (const service of services) {
    const wasRunning = await stopProcess(processPaths(cfg.dataDir, service.name), service.stopGraceSec * 1000);
    if (wasRunning) {
      stopped.push(service.name);
      progress(`${service.name}: stopped`);
    } else {
      progress(`${service.name}: not running`);
    }
  }
  return stopped;
}

export async function status(cfg: RtapConfig): Promise<ServiceStatus[]> {
  return Promise.all(
    serviceDefs(cfg).map(async (service) => {
      const pid = readPid(processPaths(cfg.dataDir, service.name));
      return {
        name: service.name,
        managed: service.managed,
        pid: isAlive(pid) ? pid : undefined,
        health: await service.health(),
        where: service.describe(),
      };
    }),
  );
}

export function logs(cfg: RtapConfig, name: ServiceName, lines: number): string {
  return tailFile(processPaths(cfg.dataDir, name).logFile, lines);
}

export function logFile(cfg: RtapConfig, name: ServiceName): string {
  return processPaths(cfg.dataDir, name).logFile;
}

export function describeAll(cfg: RtapConfig): { name: ServiceName; where: string[] }[] {
  return serviceDefs(cfg).map((s) => ({ name: s.name, where: s.describe() }));
}
