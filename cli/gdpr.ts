// `rtap gdpr erase|export|status` and `rtap retention run`: start the GDPR and retention workflows
// (workflows/gdpr.ts) on the Temporal worker and follow their progress until they end, as
// `rtap backfill` does for the batch pipeline. The same runs are visible in the Temporal UI.
import * as os from 'node:os';
import type { Command } from 'commander';
import { InvalidArgumentError, Option } from 'commander';
import type { WorkflowHandle } from '@temporalio/client';
import { PROGRESS_QUERY } from '../core/batch-run';
import { connectTemporal, workflowUiUrl } from '../core/batch-control';
import { config } from '../core/config';
import { DEFAULT_URL_TTL_SECONDS, type GdprEraseResult, type GdprExportResult, type GdprKind, type GdprProgress, type RetentionResult } from '../core/gdpr';
import { describeGdpr, startGdpr, startRetention, subjectOf } from '../core/gdpr-control';
import { resolvePiiKeyring } from '../core/ingest-step';
import { createLogger } from '../core/logger';
import { followWorkflow, say } from './follow';
import { positiveInt } from './options';

interface FollowOptions {
  wait: boolean;
  json: boolean;
}

interface SubjectOptions extends FollowOptions {
  tenant: string;
  user: string;
  anonymousId: string[];
  reason?: string;
  prefix: string;
  ttl: number;
}

const collect = (value: string, previous: string[]) => [...previous, value];

export function registerGdprCommands(program: Command): void {
  const gdpr = program.command('gdpr').description("GDPR: erase or export one data subject's events (docs/gdpr.md)");
  for (const kind of ['erase', 'export'] as const) {
    const cmd = gdpr
      .command(kind)
      .description(
        kind === 'erase'
          ? "remove every row of a tenant's user from raw, compacted files and views, recompute the views, write an audit record"
          : "export every event of a tenant's user as JSON and Parquet, and print presigned download URLs",
      )
      .requiredOption('--tenant <id>', 'the tenant the user belongs to')
      .requiredOption('--user <user_id>', 'the user id as the tenant sends it (tokenized here with PII_KEYS, as ingestion does), or its token')
      .option('--anonymous-id <id>', "an anonymous id that is the user's too (repeatable)", collect, [] as string[])
      .option('--reason <text>', 'free text for the audit record (a ticket number)')
      .option('--prefix <prefix>', "lake root prefix inside the bucket ('' = bucket root)", '')
      .addOption(new Option('--no-wait', 'start it and print its request id, without following it'))
      .option('--json', 'print the final result as JSON');
    if (kind === 'export') cmd.option('--ttl <seconds>', 'lifetime of the download URLs (at most 604800 = 7 days)', positiveInt, DEFAULT_URL_TTL_SECONDS);
    cmd.action(async (opts: SubjectOptions) => {
      const cfg = config();
      let subject;
      try {
        subject = subjectOf(opts.tenant, opts.user, resolvePiiKeyring(cfg, createLogger('gdpr')), opts.anonymousId);
      } catch (err) {
        if (err instanceof RangeError) throw new InvalidArgumentError(err.message);
        throw err;
      }
      const temporal = await connectTemporal(cfg.temporal);
      try {
        let started;
        try {
          started = await startGdpr(temporal.client, cfg.temporal.taskQueue, {
            kind,
            subject,
            requestedBy: `cli:${os.userInfo().username}@${os.hostname()}`,
            ...(opts.reason ? { reason: opts.reason } : {}),
            ...(kind === 'export' ? { urlTtlSeconds: opts.ttl } : {}),
            prefix: opts.prefix,
          });
        } catch (err) {
          if (err instanceof RangeError) throw new InvalidArgumentError(err.message);
          throw err;
        }
        say(`started: GDPR ${kind} of a user of ${subject.tenant}, request ${started.requestId}`);
        say(`Temporal UI: ${workflowUiUrl(cfg.temporal.uiUrl, cfg.temporal.namespace, started.workflowId)}`);
        if (!opts.wait) process.stdout.write(`${started.requestId}\n`);
        await follow(started.handle, opts, (result) => (kind === 'erase' ? describeErase(result as GdprEraseResult) : describeExport(result as GdprExportResult)));
      } finally {
        await temporal.close();
      }
    });
  }

  gdpr
    .command('status')
    .description('the status, progress and result of a GDPR request')
    .argument('<kind>', 'erase | export')
    .argument('<request_id>', 'the id printed when it started')
    .action(async (kind: string, requestId: string) => {
      if (kind !== 'erase' && kind !== 'export') throw new InvalidArgumentError(`kind: expected erase or export, got ${JSON.stringify(kind)}`);
      const cfg = config();
      const temporal = await connectTemporal(cfg.temporal);
      try {
        const status = await describeGdpr(temporal.client, kind as GdprKind, requestId);
        if (!status) throw new InvalidArgumentError(`no GDPR ${kind} request ${requestId}`);
        process.stdout.write(`${JSON.stringify(status, null, 2)}\n`);
      } finally {
        await temporal.close();
      }
    });

  program
    .command('retention')
    .description("per-tenant retention (tenants' retention_days; daily schedule rtap-retention-daily)")
    .command('run')
    .description("apply every tenant's retention now: drop its events older than its retention from raw, compacted files and views")
    .option('--as-of <instant>', 'apply the policies as of this ISO-8601 instant (not in the future)')
    .option('--prefix <prefix>', "lake root prefix inside the bucket ('' = bucket root)", '')
    .addOption(new Option('--no-wait', 'start it and print its id, without following it'))
    .option('--json', 'print the final result as JSON')
    .action(async (opts: { asOf?: string; prefix: string } & FollowOptions) => {
      const cfg = config();
      const temporal = await connectTemporal(cfg.temporal);
      try {
        const { workflowId, handle } = await startRetention(temporal.client, cfg.temporal.taskQueue, { prefix: opts.prefix, ...(opts.asOf ? { asOf: opts.asOf } : {}) });
        say(`started: retention run, workflow ${workflowId}`);
        say(`Temporal UI: ${workflowUiUrl(cfg.temporal.uiUrl, cfg.temporal.namespace, workflowId)}`);
        await follow(handle, opts, (r) => {
          const result = r as RetentionResult;
          return `done: ${result.rowsRemoved} row(s) past retention removed from ${result.objectsRewritten} raw object(s) (${result.objectsDeleted} emptied and deleted), ${result.hours.length} hour(s) recomputed, ${result.exportsExpired} expired export object(s) deleted; audit ${result.auditKey}`;
        });
      } finally {
        await temporal.close();
      }
    });
}

function describeErase(r: GdprEraseResult): string {
  const left = r.remaining.raw + r.remaining.pending + r.remaining.compacted + r.remaining.views;
  return (
    `${r.complete ? 'done' : 'INCOMPLETE'}: ${r.rowsRemoved} row(s) removed from ${r.objectsRewritten} raw object(s); ${r.hours.length} hour(s) recompacted and recomputed; ` +
    `${r.purged.compacted + r.purged.views} superseded file(s) purged; ${r.exportsDeleted} export object(s) deleted; audit ${r.auditKey}` +
    (left > 0 ? `; rows left: ${JSON.stringify(r.remaining)}` : '')
  );
}

function describeExport(r: GdprExportResult): string {
  return [`done: ${r.rows} event(s) exported; audit ${r.auditKey}`, ...r.files.map((f) => `  ${f.format} (${f.bytes} bytes, until ${f.expiresAt}): ${f.url}`)].join('\n');
}

/** Prints progress whenever it changes, then the result; an incomplete or failed run exits non-zero. */
async function follow(handle: WorkflowHandle, opts: FollowOptions, describe: (result: unknown) => string): Promise<void> {
  if (!opts.wait) return;
  const describeProgress = (p: GdprProgress) =>
    `${p.phase}${p.round ? ` (round ${p.round})` : ''}: objects ${p.objects.done}/${p.objects.total}${p.objects.running.length ? ` [${p.objects.running.length} running]` : ''}, ${p.rowsRemoved} row(s) removed, ${p.hours} hour(s)`;
  const result = await followWorkflow<GdprProgress, unknown>(handle, PROGRESS_QUERY, describeProgress);
  if (opts.json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  else process.stdout.write(`${describe(result)}\n`);
  if ((result as { complete?: boolean }).complete === false) process.exitCode = 1;
}

