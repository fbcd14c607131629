// `rtap audit verify`: reads the audit log from the topic or the lake archive, and the chains'
// anchors from the control topic, and checks them (core/audit.ts verifyAudit).
import type { S3Client } from '@aws-sdk/client-s3';
import type { Kafka } from 'kafkajs';
import { verifyAudit, type AuditProblem, type VerifyResult } from './audit';
import { archivedOffsets, readAnchors, readAuditLake, readAuditTopic } from './audit-log';
import { ControlPlane } from './control';
import type { Logger } from './logger';

export type AuditSource = 'topic' | 'lake';

export interface VerifyAuditOptions {
  kafka: Kafka;
  s3: S3Client;
  bucket: string;
  source: AuditSource;
  topic: string;
  controlTopic: string;
  /** Lake root prefix of the archive ('' = bucket root). */
  prefix: string;
  /** The archiver group whose committed offsets say how far the archive must reach. */
  archiverGroup: string;
  log: Logger;
}

export interface AuditReport extends VerifyResult {
  source: AuditSource;
  anchors: number;
  /** Lake only: archive objects read. */
  objects?: number;
}

function positionOf(p: AuditProblem): bigint {
  return p.at ? BigInt(p.at.offset) : BigInt(Number.MAX_SAFE_INTEGER);
}

export async function verifyAuditLog(o: VerifyAuditOptions): Promise<AuditReport> {
  const control = new ControlPlane(o.kafka, o.log, o.controlTopic);
  let anchors;
  try {
    await control.start();
    anchors = readAnchors(control.state);
  } finally {
    await control.stop();
  }
  if (o.source === 'topic') {
    const { entries, trimmed, end } = await readAuditTopic(o.kafka, o.topic);
    return { ...verifyAudit(entries, anchors, { allowTrimmedStart: trimmed, anchorOffsetLimit: end }), source: 'topic', anchors: anchors.length };
  }
  const committed = await archivedOffsets(o.kafka, o.archiverGroup, o.topic);
  const lake = await readAuditLake(o.s3, o.bucket, o.prefix, committed);
  const chains = verifyAudit(lake.entries, anchors, { anchorOffsetLimit: lake.end });
  // archive problems (a missing or inconsistent object) and chain problems, in log order
  const problems = [...lake.problems, ...chains.problems].sort((a, b) => (positionOf(a) < positionOf(b) ? -1 : positionOf(a) > positionOf(b) ? 1 : 0));
  return { ...chains, ok: problems.length === 0, problems, source: 'lake', anchors: anchors.length, objects: lake.objects };
}
