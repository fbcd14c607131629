// What an API process starts for rate limits and the audit log (serving/main.ts): the limits view
// and counter, this process's audit chain writer, and its member of the lake archiver group.
import process from 'node:process';
import type { Kafka } from 'kafkajs';
import { AUDIT_ARCHIVER_GROUP, AuditArchiver, AuditWriter, newChainId } from '../../core/audit-log';
import type { RtapConfig } from '../../core/config';
import type { ControlPlane } from '../../core/control';
import { TOPICS } from '../../core/kafka';
import type { Logger } from '../../core/logger';
import { createS3 } from '../../core/s3';
import type { UsageRouteDeps } from '../admin/usage';
import { LimitsView, limitCounterFromPrimary, localLimitCounter, type LimitCounter } from './limits';

export interface ApiGuards {
  limits: UsageRouteDeps;
  audit: AuditWriter;
  /** Sends the audit queue, anchors the chain as closed, stops archiving. Before the control plane stops. */
  close(): Promise<void>;
}

export async function startApiGuards(o: {
  cfg: RtapConfig;
  kafka: Kafka;
  control: ControlPlane;
  log: Logger;
  auditTopic?: string;
  lakePrefix?: string;
  /** Where requests are counted; this process unless a cluster worker counts in its primary. */
  counter?: LimitCounter;
  /** The archiver group (a test's own, so runs never share offsets). */
  archiverGroup?: string;
  /**
   * Run a member of the lake archiver (default true). An API on a test's or benchmark's lake
   * prefix that writes to the shared audit topic passes false: it would copy the whole shared
   * topic under its prefix.
   */
  archive?: boolean;
}): Promise<ApiGuards> {
  const topic = o.auditTopic ?? TOPICS.audit;
  const view = new LimitsView(o.control.state, o.cfg.limits.defaults);
  const audit = new AuditWriter({ kafka: o.kafka, topic, control: o.control, chainId: newChainId('api'), log: o.log, ...o.cfg.audit });
  await audit.start();
  const s3 = createS3(o.cfg.s3);
  const archiver = o.archive === false ? undefined : new AuditArchiver({
    kafka: o.kafka,
    s3,
    bucket: o.cfg.s3.bucket,
    topic,
    prefix: o.lakePrefix ?? '',
    // one group per lake root: a test's API archives under its own prefix without taking the real archive's offsets
    groupId: o.archiverGroup ?? archiverGroup(o.lakePrefix ?? ''),
    flushMs: o.cfg.audit.archiveFlushMs,
    maxRecords: o.cfg.audit.archiveMaxRecords,
    log: o.log,
  });
  // Not awaited: joining the group can wait out a crashed member's session (tens of seconds), and
  // serving must not; a failed start is logged and the group's other members archive meanwhile.
  const archiving = archiver?.start().catch((err: unknown) => o.log.error({ err }, 'audit archiver did not start; other API processes archive'));
  o.log.info({ chain: audit.chainId, topic }, 'audit chain started');
  return {
    limits: { view, counter: o.counter ?? localLimitCounter(), plane: o.control },
    audit,
    async close() {
      view.close();
      await audit.close();
      // not waiting for `archiving`: a start still joining the group (a killed member's session
      // not yet expired) would hold the shutdown for tens of seconds; stop() leaves the group
      // whatever state the join is in, each of its steps bounded
      void archiving;
      await archiver?.stop();
      s3.destroy();
    },
  };
}

/** The archiver group of a lake root: `rtap-audit-archiver` for the bucket root. */
export function archiverGroup(prefix: string): string {
  return prefix === '' ? AUDIT_ARCHIVER_GROUP : `${AUDIT_ARCHIVER_GROUP}-${prefix.replace(/[^A-Za-z0-9._-]/g, '_')}`;
}

/** In a cluster worker: counts in the primary (serving/security/limits.ts), listening for its answers. */
export function workerLimitCounter(timeoutMs: number): LimitCounter {
  const counter = limitCounterFromPrimary(timeoutMs);
  process.on('message', (message: unknown) => counter.receive(message));
  return counter;
}
