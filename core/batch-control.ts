// The batch layer seen from outside the worker: the schedules it keeps in Temporal, and how the
// CLI and the admin API start a backfill and follow its progress. One definition, so the Temporal
// UI, `rtap backfill` and POST /api/v2/admin/backfill start the same workflow the same way.
import { Client, Connection, ScheduleAlreadyRunning, ScheduleOverlapPolicy, WorkflowIdReusePolicy, type WorkflowHandle } from '@temporalio/client';
import type { TemporalConfig } from './config';
import { TENANT_ID_PATTERN } from './control';
import { hourLabel, hourOf, hoursInRange, parseHourBound } from './hours';
import { BATCH_WORKFLOW, PROGRESS_QUERY, type BatchProgress, type BatchRunInput } from './batch-run';
import { FRAUD_TRAINING_WORKFLOW, type FraudTrainingInput } from './fraud-model-training';
import { RETENTION_WORKFLOW, type RetentionInput } from './gdpr';

export interface ScheduleDef {
  id: string;
  /** What the Temporal UI shows next to the schedule. */
  note: string;
  /** Cron expression, UTC. */
  cron: string;
  workflowType: string;
  args: unknown[];
}

/**
 * The schedules the worker keeps in Temporal. Hourly at :05 so the sink has flushed the hour that
 * just ended; a backfill from the UI runs the same workflow for each past hour, which then
 * recomputes that hour (workflows/batch.ts forcedHours).
 */
export function batchSchedules(prefix: string): ScheduleDef[] {
  return [
    {
      id: 'rtap-batch-hourly',
      note: 'rtap batch layer: compact touched hours, recompute changed views at a new offset cut, publish (backfill here to recompute past hours)',
      cron: '5 * * * *',
      workflowType: BATCH_WORKFLOW,
      args: [{ prefix } satisfies BatchRunInput],
    },
    {
      id: 'rtap-retention-daily',
      note: "rtap retention: drop events past each tenant's retention_days from raw, compacted files and views; delete expired GDPR exports (docs/gdpr.md)",
      cron: '30 3 * * *',
      workflowType: RETENTION_WORKFLOW,
      args: [{ prefix } satisfies RetentionInput],
    },
    {
      id: 'rtap-fraud-train-daily',
      note: 'rtap fraud model: train on the last 7 days of labelled events, promote if it beats the champion on the held-out slice, else challenger (docs/fraud.md)',
      cron: '45 4 * * *',
      workflowType: FRAUD_TRAINING_WORKFLOW,
      args: [{ prefix } satisfies FraudTrainingInput],
    },
  ];
}

export interface TemporalClient {
  client: Client;
  close(): Promise<void>;
}

export async function connectTemporal(cfg: TemporalConfig): Promise<TemporalClient> {
  const connection = await Connection.connect({ address: cfg.address });
  const client = new Client({ connection, namespace: cfg.namespace });
  return { client, close: () => connection.close() };
}

/**
 * Creates each schedule, or updates it to this definition when it exists: idempotent at every
 * worker start, and a changed definition reaches Temporal with the next deploy.
 */
export async function ensureSchedules(client: Client, taskQueue: string, defs: ScheduleDef[]): Promise<{ created: string[]; updated: string[] }> {
  const created: string[] = [];
  const updated: string[] = [];
  for (const def of defs) {
    const action = { type: 'startWorkflow' as const, workflowType: def.workflowType, taskQueue, args: def.args, workflowId: def.id };
    const spec = { cronExpressions: [def.cron] };
    // A run still going when the next is due is not doubled; missed runs within a day are caught up.
    const policies = { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 day' } as const;
    try {
      await client.schedule.create({ scheduleId: def.id, spec, action, policies, state: { note: def.note } });
      created.push(def.id);
    } catch (err) {
      if (!(err instanceof ScheduleAlreadyRunning)) throw err;
      await client.schedule.getHandle(def.id).update((previous) => ({ ...previous, spec, action, policies, state: { ...previous.state, note: def.note } }));
      updated.push(def.id);
    }
  }
  return { created, updated };
}

export interface BackfillRequest {
  from: string;
  to: string;
  tenant?: string;
  full?: boolean;
  concurrency?: number;
  prefix?: string;
}

/** Validates a backfill request into the workflow's input; throws RangeError naming the field. */
export function backfillInput(req: BackfillRequest): { input: BatchRunInput; hours: number; label: string } {
  const fromMs = parseHourBound(req.from, 'from');
  const toMs = parseHourBound(req.to, 'to');
  if (toMs > Date.now() + 3_600_000) throw new RangeError('to: a backfill covers past hours; this is in the future');
  const hours = hoursInRange(fromMs, toMs).length;
  if (req.tenant !== undefined && !TENANT_ID_PATTERN.test(req.tenant)) throw new RangeError(`tenant: not a tenant id (expected ${TENANT_ID_PATTERN})`);
  if (req.concurrency !== undefined && (!Number.isInteger(req.concurrency) || req.concurrency < 1 || req.concurrency > 64)) {
    throw new RangeError('concurrency: an integer in 1..64');
  }
  const input: BatchRunInput = {
    prefix: req.prefix ?? '',
    range: { fromMs, toMs },
    ...(req.tenant ? { tenant: req.tenant } : {}),
    ...(req.full ? { full: true } : {}),
    ...(req.concurrency ? { concurrency: req.concurrency } : {}),
  };
  const label = `${hourLabel(hourOf(fromMs))}..${hourLabel(hourOf(toMs - 1))}${req.tenant ? ` tenant ${req.tenant}` : ''}`;
  return { input, hours, label };
}

/**
 * Starts a backfill. Its id derives from the range and tenant, so asking twice for the same
 * backfill while it runs returns the running one instead of starting a second.
 */
export async function startBackfill(client: Client, taskQueue: string, req: BackfillRequest): Promise<{ handle: WorkflowHandle; workflowId: string; hours: number; alreadyRunning: boolean }> {
  const { input, hours } = backfillInput(req);
  const prefixPart = req.prefix ? `-${req.prefix.replace(/[^a-zA-Z0-9_-]/g, '_')}` : '';
  const workflowId = `rtap-backfill-${input.range!.fromMs}-${input.range!.toMs}${prefixPart}${req.tenant ? `-${req.tenant}` : ''}`;
  try {
    const handle = await client.workflow.start(BATCH_WORKFLOW, {
      taskQueue,
      workflowId,
      args: [input],
      // Who may see it: GET /api/v2/admin/backfill/{id} shows a tenant key its own tenant's only.
      memo: { tenant: req.tenant ?? '*' },
      workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
    });
    return { handle, workflowId, hours, alreadyRunning: false };
  } catch (err) {
    if ((err as Error).name !== 'WorkflowExecutionAlreadyStartedError') throw err;
    return { handle: client.workflow.getHandle(workflowId), workflowId, hours, alreadyRunning: true };
  }
}

export async function queryProgress(handle: WorkflowHandle): Promise<BatchProgress> {
  return handle.query<BatchProgress>(PROGRESS_QUERY);
}

/** The Temporal UI page of a workflow. */
export function workflowUiUrl(uiUrl: string, namespace: string, workflowId: string): string {
  return `${uiUrl.replace(/\/+$/, '')}/namespaces/${encodeURIComponent(namespace)}/workflows/${encodeURIComponent(workflowId)}`;
}
