// `rtap audit verify|archive`, and the audit records of the CLI's own admin actions: every
// `rtap keys|tenants|limits|gdpr …` invocation appends one record (done or failed) to a chain of
// its own, anchored as closed, so a CLI action is as traceable as an API request.
import { hostname, userInfo } from 'node:os';
import { Command, Option } from 'commander';
import type { AuditEntry } from '../core/audit';
import { describeProblem } from '../core/audit';
import { AuditArchiver, AuditWriter, newChainId } from '../core/audit-log';
import { verifyAuditLog, type AuditSource } from '../core/audit-verify';
import { config } from '../core/config';
import { ControlPlane, TENANT_ID_PATTERN } from '../core/control';
import { errorMessage } from '../core/errors';
import { TOPICS, createKafka } from '../core/kafka';
import { createLogger } from '../core/logger';
import { createS3 } from '../core/s3';
import { archiverGroup } from '../serving/security/audit-start';

/** The command groups whose invocations are admin actions. */
const AUDITED = new Set(['keys', 'tenants', 'limits', 'gdpr', 'audit']);

interface PendingAction {
  action: string;
  target: string;
  tenant: string | null;
  started: number;
}

let pending: PendingAction | undefined;

function commandPath(command: Command): string[] {
  const names: string[] = [];
  for (let c: Command | null = command; c?.parent; c = c.parent) names.unshift(c.name());
  return names;
}

function operator(): string {
  let user = process.env.USER ?? 'unknown';
  try {
    user = userInfo().username;
  } catch {
    // no passwd entry (containers): the environment's name stands
  }
  return user;
}

/** Installs the hooks that audit admin commands; failures are recorded by `auditCliFailure` from the entry point. */
export function installCliAudit(program: Command): void {
  program.hook('preAction', (_root, action) => {
    const path = commandPath(action);
    if (!AUDITED.has(path[0]) || path.join(' ') === 'audit archive') return;
    const opts = action.opts<{ tenant?: unknown }>();
    const first = action.args[0];
    const tenant = typeof opts.tenant === 'string' ? opts.tenant : typeof first === 'string' && TENANT_ID_PATTERN.test(first) && path[0] !== 'keys' ? first : null;
    // option names only (a GDPR subject's user id is PII), with values for limits (numbers)
    const options = Object.entries(action.opts() as Record<string, unknown>)
      .filter(([, v]) => v !== undefined && !(Array.isArray(v) && v.length === 0))
      .map(([k, v]) => `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}${path[0] === 'limits' ? `=${String(v)}` : ''}`);
    const target = `rtap ${path.join(' ')} ${[...action.args, ...options].join(' ')}`.trim();
    pending = { action: path.join(' '), target: target.length > 512 ? `${target.slice(0, 512)}…` : target, tenant, started: Date.now() };
  });
  program.hook('postAction', async () => {
    await appendCliRecord(0);
  });
}

/** Records the pending admin action as failed (called by the CLI's error handler). */
export async function auditCliFailure(err: unknown): Promise<void> {
  await appendCliRecord(1, errorMessage(err));
}

async function appendCliRecord(status: number, error?: string): Promise<void> {
  const action = pending;
  pending = undefined;
  if (!action) return;
  const cfg = config();
  const log = createLogger('audit');
  const kafka = createKafka(cfg.kafka);
  const plane = new ControlPlane(kafka, log);
  const writer = new AuditWriter({ kafka, topic: TOPICS.audit, control: plane, chainId: newChainId('cli'), log, ...cfg.audit, anchorMs: 0 });
  const entry: AuditEntry = {
    ts: new Date(action.started).toISOString(),
    source: 'cli',
    actor: { kind: 'cli', id: `${operator()}@${hostname()}` },
    tenant: action.tenant,
    // the CLI's operator is a platform actor: whatever tenant it touches is not its own
    cross_tenant: true,
    action: action.action,
    method: 'CLI',
    status,
    target: action.target,
    duration_ms: Date.now() - action.started,
    ...(error !== undefined ? { detail: { error: error.slice(0, 300) } } : {}),
  };
  try {
    await writer.start();
    writer.append(entry);
    await writer.close();
  } finally {
    await plane.stop();
  }
}

export function registerAuditCommands(program: Command): void {
  const audit = program.command('audit').description('the tamper-evident audit log: verify its hash chains, run the lake archiver');
  audit
    .command('verify')
    .description('check every chain of the audit log (topic or lake archive) against the anchored heads; names the first bad record; exit code 1 when any is found')
    .addOption(new Option('--source <source>', 'where to read the records').choices(['topic', 'lake']).default('topic'))
    .option('--prefix <prefix>', "lake root prefix of the archive ('' = bucket root)", '')
    .option('--topic <topic>', 'the audit topic', TOPICS.audit)
    .option('--control-topic <topic>', 'the control topic holding the anchors', TOPICS.control)
    .option('--json', 'machine-readable report')
    .action(async (opts: { source: AuditSource; prefix: string; topic: string; controlTopic: string; json?: boolean }) => {
      const cfg = config();
      const s3 = createS3(cfg.s3);
      try {
        const report = await verifyAuditLog({
          kafka: createKafka(cfg.kafka),
          s3,
          bucket: cfg.s3.bucket,
          source: opts.source,
          topic: opts.topic,
          controlTopic: opts.controlTopic,
          prefix: opts.prefix,
          archiverGroup: archiverGroup(opts.prefix),
          log: createLogger('audit'),
        });
        if (opts.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
        else if (report.ok) process.stdout.write(`audit ok (${report.source}): ${report.records} records in ${report.chains} chains, ${report.anchors} anchored heads\n`);
        else {
          process.stdout.write(`audit FAILED (${report.source}): ${report.problems.length} problem(s) in ${report.records} records\nfirst bad: ${describeProblem(report.problems[0])}\n`);
          for (const p of report.problems.slice(1, 20)) process.stdout.write(`  then: ${describeProblem(p)}\n`);
        }
        if (!report.ok) process.exitCode = 1;
      } finally {
        s3.destroy();
      }
    });
  audit
    .command('archive')
    .description('run the audit archiver in the foreground (every API process runs one already): copies the audit topic to audit/ in the lake; Ctrl-C stops it')
    .option('--prefix <prefix>', "lake root prefix ('' = bucket root)", '')
    .action(async (opts: { prefix: string }) => {
      const cfg = config();
      const log = createLogger('audit');
      const s3 = createS3(cfg.s3);
      const archiver = new AuditArchiver({ kafka: createKafka(cfg.kafka), s3, bucket: cfg.s3.bucket, topic: TOPICS.audit, prefix: opts.prefix, groupId: archiverGroup(opts.prefix), flushMs: cfg.audit.archiveFlushMs, maxRecords: cfg.audit.archiveMaxRecords, log });
      await archiver.start();
      log.info('audit archiver running; Ctrl-C to stop');
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      await archiver.stop();
      s3.destroy();
    });
}
