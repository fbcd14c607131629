// `rtap backfill` and `rtap batch run`: start the batch pipeline (workflows/batch.ts) on the
// Temporal worker and follow its progress until it ends. The same runs are visible, and can be
// started, in the Temporal UI.
import type { Command } from 'commander';
import { InvalidArgumentError, Option } from 'commander';
import type { WorkflowHandle } from '@temporalio/client';
import { BATCH_WORKFLOW, PROGRESS_QUERY, type BatchProgress, type BatchRunInput, type BatchRunResult } from '../core/batch-run';
import { connectTemporal, startBackfill, workflowUiUrl } from '../core/batch-control';
import { config } from '../core/config';
import { followWorkflow, say } from './follow';
import { positiveInt } from './options';

interface FollowOptions {
  wait: boolean;
  json: boolean;
}

export function registerBatchCommands(program: Command): void {
  program
    .command('backfill')
    .description(
      'recompute a past range on the batch layer: compaction and views of every event hour in [--from, --to), ' +
        'an hour of all tenants per unit; progress until it ends (also visible in the Temporal UI)',
    )
    .requiredOption('--from <when>', 'first hour: YYYY-MM-DD, YYYY-MM-DDTHH (UTC) or an ISO-8601 instant')
    .requiredOption('--to <when>', 'end of the range, exclusive, same forms')
    .option('--tenant <id>', "rewrite only this tenant's compacted files (views are always per hour of all tenants)")
    .option('--concurrency <n>', 'hours in flight at once', positiveInt, 2)
    .option('--full', 'also recompute the views of every other hour in the lake')
    .option('--prefix <prefix>', "lake root prefix inside the bucket ('' = bucket root)", '')
    .addOption(new Option('--no-wait', 'start it and print its id, without following it'))
    .option('--json', 'print the final result as JSON')
    .action(async (opts: { from: string; to: string; tenant?: string; concurrency: number; full?: boolean; prefix: string } & FollowOptions) => {
      const cfg = config();
      const temporal = await connectTemporal(cfg.temporal);
      try {
        let started;
        try {
          started = await startBackfill(temporal.client, cfg.temporal.taskQueue, { ...opts, full: opts.full ?? false });
        } catch (err) {
          if (err instanceof RangeError) throw new InvalidArgumentError(err.message);
          throw err;
        }
        const { handle, workflowId, hours, alreadyRunning } = started;
        say(`${alreadyRunning ? 'already running' : 'started'}: backfill of ${hours} hour(s), workflow ${workflowId}`);
        say(`Temporal UI: ${workflowUiUrl(cfg.temporal.uiUrl, cfg.temporal.namespace, workflowId)}`);
        await follow(handle, opts);
      } finally {
        await temporal.close();
      }
    });

  program
    .command('batch')
    .description('the batch layer on demand')
    .command('run')
    .description('run the hourly batch pipeline now: compact touched hours, recompute changed views at a new offset cut, publish')
    .option('--full', 'recompute the views of every hour in the lake')
    .option('--prefix <prefix>', "lake root prefix inside the bucket ('' = bucket root)", '')
    .addOption(new Option('--no-wait', 'start it and print its id, without following it'))
    .option('--json', 'print the final result as JSON')
    .action(async (opts: { full?: boolean; prefix: string } & FollowOptions) => {
      const cfg = config();
      const temporal = await connectTemporal(cfg.temporal);
      try {
        const workflowId = `rtap-batch-manual-${Date.now()}`;
        const input: BatchRunInput = { prefix: opts.prefix, ...(opts.full ? { full: true } : {}) };
        const handle = await temporal.client.workflow.start(BATCH_WORKFLOW, { taskQueue: cfg.temporal.taskQueue, workflowId, args: [input] });
        say(`started: batch run, workflow ${workflowId}`);
        say(`Temporal UI: ${workflowUiUrl(cfg.temporal.uiUrl, cfg.temporal.namespace, workflowId)}`);
        await follow(handle, opts);
      } finally {
        await temporal.close();
      }
    });
}

/** Prints progress whenever it changes, then the result; a failed run exits non-zero with its reason. */
async function follow(handle: WorkflowHandle, opts: FollowOptions): Promise<void> {
  if (!opts.wait) return;
  const result = await followWorkflow<BatchProgress, BatchRunResult>(handle, PROGRESS_QUERY, describeProgress);
  if (opts.json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  else {
    say(`done: compacted ${result.compactedHours.length} hour(s), recomputed views of ${result.viewHours.length} hour(s), published version ${result.version}`);
    if (result.compactionFailures.length > 0) say(`compaction failed for: ${result.compactionFailures.map((f) => `${f.unit} (${f.error})`).join('; ')}`);
  }
  if (result.compactionFailures.length > 0) process.exitCode = 1;
}

export function describeProgress(p: BatchProgress): string {
  const part = (name: string, c: BatchProgress['compaction']) =>
    `${name} ${c.done}/${c.total}${c.failed.length ? ` (${c.failed.length} failed)` : ''}${c.running.length ? ` [${c.running.join(', ')}]` : ''}`;
  const slices = p.slices ? `slice ${Math.min(p.slices.done + 1, p.slices.total)}/${p.slices.total}${p.slices.running ? ` (${p.slices.running})` : ''}; ` : '';
  return `${p.phase}: ${slices}${part('compaction', p.compaction)}; ${part('views', p.views)}${p.version ? `; version ${p.version}` : ''}`;
}

