// Health checks of the platform's dependencies, shared by `rtap status` and the API's
// detailed health endpoint. Each check is fast (seconds) and never throws.
import { Connection } from '@temporalio/client';
import { HeadBucketCommand } from '@aws-sdk/client-s3';
import { logLevel } from 'kafkajs';
import type { RtapConfig } from './config';
import { createKafka } from './kafka';
import { createS3 } from './s3';

export interface Health {
  healthy: boolean;
  detail: string;
}

export async function kafkaHealth(cfg: RtapConfig): Promise<Health> {
  const kafka = createKafka(cfg.kafka, { logLevel: logLevel.NOTHING, connectionTimeout: 1500, requestTimeout: 3000, retry: { retries: 0 } });
  const admin = kafka.admin();
  try {
    await admin.connect();
    const cluster = await admin.describeCluster();
    return { healthy: cluster.brokers.length > 0, detail: `${cluster.brokers.length} broker(s), controller ${cluster.controller}` };
  } catch (err) {
    return { healthy: false, detail: (err as Error).message };
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

export async function temporalHealth(cfg: RtapConfig): Promise<Health> {
  let connection: Connection | undefined;
  try {
    connection = await Connection.connect({ address: cfg.temporal.address, connectTimeout: 2000 });
    const info = await connection.workflowService.getSystemInfo({});
    const ui = await httpStatus(cfg.temporal.uiUrl);
    const uiOk = ui === 200;
    // The UI is part of the contract only for the local dev server; an external cluster may host it elsewhere.
    const healthy = uiOk || !cfg.temporal.local;
    return { healthy, detail: `server ${info.serverVersion || 'up'}, Web UI ${uiOk ? 'HTTP 200' : `unreachable (${ui ?? 'no answer'})`}` };
  } catch (err) {
    return { healthy: false, detail: (err as Error).message };
  } finally {
    await connection?.close().catch(() => undefined);
  }
}

export async function s3Health(cfg: RtapConfig): Promise<Health> {
  if (cfg.s3.local) {
    const status = await httpStatus(`${cfg.s3.endpoint}/minio/health/live`);
    return { healthy: status === 200, detail: status === undefined ? 'no answer' : `health HTTP ${status}` };
  }
  const s3 = createS3(cfg.s3, 1);
  try {
    await s3.send(new HeadBucketCommand({ Bucket: cfg.s3.bucket }), { abortSignal: AbortSignal.timeout(3000) });
    return { healthy: true, detail: `bucket ${cfg.s3.bucket} reachable` };
  } catch (err) {
    return { healthy: false, detail: (err as Error).message };
  } finally {
    s3.destroy();
  }
}

async function httpStatus(url: string): Promise<number | undefined> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
    await res.arrayBuffer();
    return res.status;
  } catch {
    return undefined;
  }
}
