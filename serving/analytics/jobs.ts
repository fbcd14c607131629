// Async jobs: an analytics query whose planned work is large (more batch or lake files than
// API_JOB_MAX_FILES), or that is still running when its time budget (API_QUERY_BUDGET_MS) runs
// out, is answered `202 {job_id, status_url}` and finishes in the background; GET
// /api/v2/analytics/jobs/{id} returns its status, then its result in any format.
//
// Deliberately simple: the table is in the memory of the API process that started the job, with a
// cap and a TTL; with API_WORKERS > 1 another worker asks the owner through the cluster primary
// (serving/analytics/job-relay.ts). A job is lost when its process restarts, and a running job is
// not cancelled when nobody polls it (docs/api.md "Async jobs").
import { randomBytes } from 'node:crypto';
import express, { type Request, type Response, type Router } from 'express';
import type { DuckDBInstance } from '@duckdb/node-api';
import type { ControlState } from '../../core/control';
import { sendError } from '../errors';
import { FORMATS, negotiate, sendRows, type FormatName, type Row } from '../formats';
import { QueryError } from './query-model';

export const JOBS_PATH = '/api/v2/analytics/jobs';
export const JOB_ID_PATTERN = '^job_[A-Za-z0-9_-]{16,64}$';

/** What a query produces: a table (served in any format) or a JSON document (lineage). */
export type JobResult =
  /** `extra`: more of the JSON body beside data and meta (a funnel's attribution); the other formats carry the rows only. */
  | { kind: 'rows'; columns: string[]; rows: Row[]; meta: object; extra?: object }
  | { kind: 'document'; body: object };

export interface JobLimits {
  /** A query still running after this long becomes a job. */
  budgetMs: number;
  /** A query planned to read more files than this is a job from the start. */
  maxFiles: number;
  /** Jobs kept (running and finished) by this process. */
  maxJobs: number;
  /** How long a finished job is kept. */
  ttlMs: number;
  /** Running jobs one tenant may have at once. */
  perTenantRunning: number;
}

export const DEFAULT_JOB_LIMITS: JobLimits = { budgetMs: 5000, maxFiles: 2000, maxJobs: 200, ttlMs: 15 * 60_000, perTenantRunning: 4 };

export type JobStatus = 'running' | 'done' | 'failed';

export interface Job {
  id: string;
  tenant: string;
  kind: string;
  status: JobStatus;
  createdAt: number;
  finishedAt?: number;
  /** Why it became a job: planned work, the time budget, or the caller asked. */
  reason: JobReason;
  result?: JobResult;
  error?: { status: number; error: string; message: string; details?: { path: string; reason: string }[] };
}

export type JobReason = 'planned_work' | 'time_budget' | 'requested';

export type JobRefusal = { refused: 'table_full' | 'tenant_limit' };

export class JobTable {
  private readonly jobs = new Map<string, Job>();

  /** `owner`: this process's cluster worker id, written into job ids (serving/analytics/job-relay.ts). */
  constructor(
    readonly limits: JobLimits = DEFAULT_JOB_LIMITS,
    private readonly now: () => number = Date.now,
    private readonly owner?: number,
  ) {}

  get size(): number {
    return this.jobs.size;
  }

  /** Registers running work as a job, or says why not (too many jobs). */
  start(tenant: string, kind: string, reason: JobReason, work: Promise<JobResult>): Job | JobRefusal {
    this.expire();
    const running = [...this.jobs.values()].filter((j) => j.status === 'running');
    if (running.filter((j) => j.tenant === tenant).length >= this.limits.perTenantRunning) return { refused: 'tenant_limit' };
    if (this.jobs.size >= this.limits.maxJobs) {
      // make room by dropping the oldest finished jobs; running ones are never dropped
      const finished = [...this.jobs.values()].filter((j) => j.status !== 'running').sort((a, b) => a.finishedAt! - b.finishedAt!);
      for (const j of finished.slice(0, this.jobs.size - this.limits.maxJobs + 1)) this.jobs.delete(j.id);
      if (this.jobs.size >= this.limits.maxJobs) return { refused: 'table_full' };
    }
    const job: Job = { id: `job_${this.owner === undefined ? '' : `${this.owner}_`}${randomBytes(12).toString('base64url')}`, tenant, kind, status: 'running', createdAt: this.now(), reason };
    this.jobs.set(job.id, job);
    work.then(
      (result) => {
        job.status = 'done';
        job.result = result;
        job.finishedAt = this.now();
      },
      (err: unknown) => {
        job.status = 'failed';
        job.error = jobError(err);
        job.finishedAt = this.now();
      },
    );
    return job;
  }

  /** The tenant's job, or undefined (unknown, expired, or another tenant's: indistinguishable on purpose). */
  get(tenant: string, id: string): Job | undefined {
    this.expire();
    const job = this.jobs.get(id);
    return job?.tenant === tenant ? job : undefined;
  }

  private expire(): void {
    const now = this.now();
    for (const [id, j] of this.jobs) if (j.finishedAt !== undefined && now - j.finishedAt > this.limits.ttlMs) this.jobs.delete(id);
  }
}

/** An answer a query gives the client instead of rows (a 404 for an id with no data); not logged as a failure. */
export class TaskError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: { path: string; reason: string }[],
  ) {
    super(message);
  }
}

/** What the client is told of an error: a QueryError keeps its field, a TaskError its status, anything else is generic (and logged). */
export function clientErrorOf(err: unknown): NonNullable<Job['error']> | undefined {
  if (err instanceof QueryError) return { status: 400, error: 'invalid_request', message: err.message, details: [{ path: err.path, reason: err.reason }] };
  if (err instanceof TaskError) return { status: err.status, error: err.code, message: err.message, ...(err.details ? { details: err.details } : {}) };
  return undefined;
}

function jobError(err: unknown): NonNullable<Job['error']> {
  return clientErrorOf(err) ?? { status: 503, error: 'query_failed', message: 'the query could not be answered (batch views, lake or speed layer unavailable)' };
}

export interface JobContext {
  jobs: JobTable;
  duck: DuckDBInstance;
  /** Logs a job's failure (the client sees only a generic error). */
  onJobError?: (err: unknown, job: Job) => void;
}

export interface Task {
  kind: string;
  /** Files the work will read, as planned before it starts. */
  plannedFiles: number;
  run: () => Promise<JobResult>;
}

/**
 * Runs a query within the time budget and answers it, or answers 202 and leaves it running as a
 * job. `format` is negotiated by the caller first, so a 406 never becomes a job.
 */
export async function answerWithin(req: Request, res: Response, ctx: JobContext, format: FormatName, task: Task): Promise<void> {
  const limits = ctx.jobs.limits;
  // the validator has coerced the documented boolean; an undocumented route would see the text
  const asked = String(req.query.async) === 'true';
  const reason: JobReason | undefined = asked ? 'requested' : task.plannedFiles > limits.maxFiles ? 'planned_work' : undefined;
  if (reason) return startJob(req, res, ctx, task, task.run(), reason);
  const work = task.run();
  let timer: NodeJS.Timeout | undefined;
  const overtime = new Promise<'overtime'>((resolve) => (timer = setTimeout(() => resolve('overtime'), limits.budgetMs)));
  try {
    const first = await Promise.race([work, overtime]);
    if (first === 'overtime') return startJob(req, res, ctx, task, work, 'time_budget');
    await sendResult(res, format, first, ctx.duck);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * An express handler for a query endpoint: negotiates the format (a JSON-only document answers
 * 406 to anything else), plans the query (a QueryError is a 400 naming the field), then answers
 * within the budget or as a job.
 */
export function taskHandler(ctx: JobContext, plan: (req: Request) => Task | Promise<Task>, opts: { document?: boolean } = {}) {
  return (req: Request, res: Response, next: (err?: unknown) => void) => {
    (async () => {
      const format = negotiate(req);
      if (!format || (opts.document && format !== 'json')) {
        return sendError(res, 406, 'not_acceptable', opts.document ? `this result is a JSON document (${FORMATS.json})` : `results are served as ${Object.values(FORMATS).join(', ')}`);
      }
      try {
        await answerWithin(req, res, ctx, format, await plan(req));
      } catch (err) {
        const known = res.headersSent ? undefined : clientErrorOf(err);
        if (!known) throw err;
        sendError(res, known.status, known.error, known.message, known.details);
      }
    })().catch(next);
  };
}

function startJob(req: Request, res: Response, ctx: JobContext, task: Task, work: Promise<JobResult>, reason: JobReason): void {
  const job = ctx.jobs.start(req.tenant!, task.kind, reason, work);
  if ('refused' in job) {
    // the work already started goes on unobserved: swallow its outcome
    work.catch(() => undefined);
    res.setHeader('Retry-After', '10');
    if (job.refused === 'tenant_limit') return sendError(res, 429, 'too_many_jobs', `at most ${ctx.jobs.limits.perTenantRunning} async jobs of a tenant run at once; poll the running ones first`);
    return sendError(res, 503, 'too_many_jobs', 'this API process holds as many async jobs as it keeps; try again shortly');
  }
  work.catch((err: unknown) => {
    if (!clientErrorOf(err)) ctx.onJobError?.(err, job);
  });
  const url = statusUrl(req, job.id);
  res.status(202).setHeader('Location', url);
  res.json({ job_id: job.id, status: job.status, kind: job.kind, reason, status_url: url, created_at: new Date(job.createdAt).toISOString() });
}

/** A platform key names its tenant on every request, so the status URL carries it. */
function statusUrl(req: Request, id: string): string {
  const platform = req.principal?.tenant_id === '*';
  return `${JOBS_PATH}/${id}${platform ? `?tenant=${encodeURIComponent(req.tenant!)}` : ''}`;
}

async function sendResult(res: Response, format: FormatName, result: JobResult, duck: DuckDBInstance): Promise<void> {
  if (result.kind === 'document') return void res.json(result.body);
  if (format === 'json') return void res.json({ data: result.rows, ...result.extra, meta: result.meta });
  await sendRows(res, format, result.columns, result.rows, result.meta, duck);
}

/**
 * GET /api/v2/analytics/jobs/{id}: status while running; the result (any format) once done.
 * `remoteJobs` looks a job up in the other workers of a clustered API.
 */
export function jobsRouter(deps: { control: ControlState; jobs: JobTable; duck: DuckDBInstance; remoteJobs?: (tenant: string, id: string) => Promise<Job | undefined> }): Router {
  const router = express.Router();
  router.get(`${JOBS_PATH}/:id`, (req, res, next) => {
    (async () => {
      const id = String(req.params.id);
      const job = deps.jobs.get(req.tenant!, id) ?? (await deps.remoteJobs?.(req.tenant!, id));
      if (!job) return sendError(res, 404, 'not_found', 'no such job for this tenant (jobs live in the memory of the API process that started them, and expire)', [{ path: '/id', reason: 'unknown, expired or not this tenant’s' }]);
      const head = {
        job_id: job.id,
        status: job.status,
        kind: job.kind,
        reason: job.reason,
        created_at: new Date(job.createdAt).toISOString(),
        finished_at: job.finishedAt === undefined ? null : new Date(job.finishedAt).toISOString(),
        status_url: statusUrl(req, job.id),
      };
      res.setHeader('X-RTAP-Job-Status', job.status);
      if (job.status !== 'done' || !job.result) return res.json({ ...head, ...(job.error ? { error: job.error } : {}) });
      const format = negotiate(req);
      const result = job.result;
      if (result.kind === 'document') {
        if (format !== 'json') return sendError(res, 406, 'not_acceptable', `this job's result is a JSON document (${FORMATS.json})`);
        return res.json({ ...head, result: result.body });
      }
      if (!format) return sendError(res, 406, 'not_acceptable', `results are served as ${Object.values(FORMATS).join(', ')}`);
      if (format === 'json') return res.json({ ...head, data: result.rows, ...result.extra, meta: result.meta });
      await sendRows(res, format, result.columns, result.rows, result.meta, deps.duck);
    })().catch(next);
  });
  return router;
}
