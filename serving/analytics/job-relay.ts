// Async jobs across the workers of a clustered API (API_WORKERS > 1). A job lives in the memory
// of the worker that started it, but the primary hands each new connection to any worker, so a
// status request often lands elsewhere. The job id names its worker (`job_<worker>_…`); a worker
// that does not hold the job asks the primary, which asks the named worker over IPC and relays its
// answer (the job, or nothing: tenant scoping is applied by the owner's table). A job is still lost
// when its worker restarts (a new worker has a new id).
import type { Job, JobTable } from './jobs';

const LOOKUP = 'rtap:job-lookup';

/** One end of an IPC link: a worker as the primary sees it, or the primary as a worker sees it. */
export interface Channel {
  send(message: unknown): void;
  on(listener: (message: unknown) => void): void;
}

interface Lookup {
  type: typeof LOOKUP;
  id: number;
  tenant: string;
  jobId: string;
}

interface Reply {
  type: typeof LOOKUP;
  id: number;
  reply: true;
  job?: Job;
}

const isLookup = (m: unknown): m is Lookup | Reply => typeof m === 'object' && m !== null && (m as { type?: unknown }).type === LOOKUP;

/** The worker a job id names, or undefined for an id without one (a single-process API). */
export function ownerOf(jobId: string): number | undefined {
  const m = /^job_(\d+)_/.exec(jobId);
  return m ? Number(m[1]) : undefined;
}

/** In the primary: relays lookups between workers. `attach` each worker as it is forked, `detach` it when it exits. */
export function createJobRelay(timeoutMs = 5000) {
  const workers = new Map<number, Channel>();
  const pending = new Map<number, (job: Job | undefined) => void>();
  let next = 0;
  return {
    attach(workerId: number, ch: Channel): void {
      workers.set(workerId, ch);
      ch.on((m) => {
        if (!isLookup(m)) return;
        if ('reply' in m) return pending.get(m.id)?.(m.job);
        const answer = (job: Job | undefined) => ch.send({ type: LOOKUP, id: m.id, reply: true, ...(job ? { job } : {}) } satisfies Reply);
        const ownerId = ownerOf(m.jobId);
        const owner = ownerId === undefined || ownerId === workerId ? undefined : workers.get(ownerId);
        if (!owner) return answer(undefined);
        const relayId = next++;
        const timer = setTimeout(() => done(undefined), timeoutMs);
        const done = (job: Job | undefined) => {
          clearTimeout(timer);
          pending.delete(relayId);
          answer(job);
        };
        pending.set(relayId, done);
        owner.send({ type: LOOKUP, id: relayId, tenant: m.tenant, jobId: m.jobId } satisfies Lookup);
      });
    },
    detach(workerId: number): void {
      workers.delete(workerId);
    },
  };
}

/**
 * In a worker: answers the primary's lookups from this worker's table, and returns how to look a
 * job up in the other workers (undefined when none holds it or the primary does not answer).
 */
export function serveJobLookups(primary: Channel, table: JobTable, timeoutMs = 5000): (tenant: string, jobId: string) => Promise<Job | undefined> {
  const pending = new Map<number, (job: Job | undefined) => void>();
  let next = 0;
  primary.on((m) => {
    if (!isLookup(m)) return;
    if ('reply' in m) return pending.get(m.id)?.(m.job);
    const job = table.get(m.tenant, m.jobId);
    primary.send({ type: LOOKUP, id: m.id, reply: true, ...(job ? { job } : {}) } satisfies Reply);
  });
  return (tenant, jobId) =>
    new Promise((resolve) => {
      const id = next++;
      const timer = setTimeout(() => done(undefined), timeoutMs);
      const done = (job: Job | undefined) => {
        clearTimeout(timer);
        pending.delete(id);
        resolve(job);
      };
      pending.set(id, done);
      primary.send({ type: LOOKUP, id, tenant, jobId } satisfies Lookup);
    });
}
