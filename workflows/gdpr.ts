// GDPR erase and export, and per-tenant retention (docs/gdpr.md). Deterministic workflow code:
// every look at the lake is an activity (activities/gdpr.ts), and compacted files and views are
// brought up to date by the pipeline itself — a child `batchRun` told which hours to recompute,
// since an in-place rewrite changes no offset and no planner would see those hours otherwise.
//
//   erase:     find → rewrite each raw object without the subject (bounded concurrency) →
//              child batchRun(hours) → find again … until nothing holds the subject → grace →
//              purge superseded files of those hours → find again (verify) → audit record
//   export:    find → export (JSON + Parquet) → presign → audit record
//   retention: plan → rewrite → child batchRun(hours) → delete emptied objects → grace → purge →
//              plan again (verify) → expire old exports → audit record
import { ApplicationFailure, defineQuery, executeChild, log, proxyActivities, setHandler, sleep, workflowInfo } from '@temporalio/workflow';
import type { GdprActivities } from '../activities/gdpr';
import { PROGRESS_QUERY, type BatchRunInput } from '../core/batch-run';
import {
  AUDIT_FORMAT,
  DEFAULT_PENDING_WAIT_MS,
  DEFAULT_PURGE_GRACE_MS,
  DEFAULT_URL_TTL_SECONDS,
  MAX_URL_TTL_SECONDS,
  REQUEST_ID_PATTERN,
  auditObjects,
  eraseStep,
  remainingOf,
  type AuditRecord,
  type GdprEraseInput,
  type GdprEraseResult,
  type GdprExportInput,
  type GdprExportResult,
  type GdprKind,
  type GdprProgress,
  type LocateResult,
  type PurgeResult,
  type Remaining,
  type RetentionInput,
  type RetentionResult,
  type RewriteResult,
  type RowFilter,
} from '../core/gdpr';
import { rootCauseMessage } from '../core/errors';
import { hourLabel, uniqueHours, type HourRef } from '../core/hours';
import { batchRun } from './batch';

export const gdprProgressQuery = defineQuery<GdprProgress>(PROGRESS_QUERY);

// Scans and rewrites read whole objects: minutes on a big lake, heartbeating throughout.
const heavy = proxyActivities<GdprActivities>({
  startToCloseTimeout: '30 minutes',
  heartbeatTimeout: '2 minutes',
  retry: { initialInterval: '5 seconds', backoffCoefficient: 2, maximumInterval: '2 minutes', maximumAttempts: 5 },
});
// Listings, deletions, small JSON objects, URL signing.
const light = proxyActivities<GdprActivities>({
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '2 minutes',
  retry: { initialInterval: '2 seconds', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 10 },
});

/** Rewrite-and-recompute rounds before an erase gives up (a concurrent run re-publishing stale hours each time). */
const MAX_ROUNDS = 3;
/** How often an erase looks again while only uncommitted sink chunks hold the subject (the sink flushes every 30 s). */
const PENDING_POLL_MS = 30_000;

export async function gdprErase(input: GdprEraseInput): Promise<GdprEraseResult> {
  const { prefix, concurrency, subject } = common(input);
  const graceMs = duration(input.purgeGraceMs ?? DEFAULT_PURGE_GRACE_MS, 'purgeGraceMs');
  const pendingWaitMs = duration(input.pendingWaitMs ?? DEFAULT_PENDING_WAIT_MS, 'pendingWaitMs');
  const progress = newProgress('erase');
  setHandler(gdprProgressQuery, () => progress);

  const affected = new Map<string, HourRef>();
  const rewrites: RewriteResult[] = [];
  const batchRuns: string[] = [];
  const purged: PurgeResult = { compacted: [], views: [] };
  let exportsDeleted: string[] = [];
  let objectsDeleted: string[] = [];
  let found: LocateResult | undefined;
  const audit = (outcome: AuditRecord['outcome']): AuditRecord => ({
    ...auditBase('gdpr_erase', input, outcome, rewrites, affected, batchRuns, purged, objectsDeleted),
    tenant: subject.tenant,
    subject: { user_tokens: subject.userTokens, anonymous_id_sha256: subject.anonymousIdHashes ?? [] },
    exports_deleted: exportsDeleted,
    ...(found ? { remaining: remainingOf(found) } : {}),
  });

  try {
    // Earlier exports are copies of the rows about to go.
    exportsDeleted = (await light.deleteSubjectExports({ prefix, subject })).deleted;
    let rounds = 0;
    let waitedMs = 0;
    let verified = false;
    for (;;) {
      progress.phase = 'finding';
      found = await heavy.findSubjectFiles({ prefix, subject, alsoHours: [...affected.values()] });
      for (const h of found.hours) affected.set(hourLabel(h), h);
      progress.hours = affected.size;
      const step = eraseStep(found);
      if (step === 'clean') {
        // Clean after the purge: nothing came back meanwhile (a concurrent run republishing a
        // stale hour). Clean at the first look: nothing of the subject anywhere, nothing to purge.
        if (verified || affected.size === 0) {
          verified = true;
          break;
        }
        progress.phase = 'purging';
        if (graceMs > 0) await sleep(graceMs);
        const p = await light.purgeSuperseded({ prefix, hours: [...affected.values()], graceMs });
        purged.compacted.push(...p.compacted);
        purged.views.push(...p.views);
        verified = true;
        continue;
      }
      verified = false;
      if (step === 'wait') {
        if (waitedMs >= pendingWaitMs) break;
        progress.phase = 'waiting for the sink';
        await sleep(PENDING_POLL_MS);
        waitedMs += PENDING_POLL_MS;
        continue;
      }
      if (++rounds > MAX_ROUNDS) break;
      progress.round = rounds;
      await rewriteAll(prefix, found.raw.map((h) => h.key), { kind: 'subject', subject }, concurrency, progress, rewrites);
      await recompute(prefix, found.hours, concurrency, `batch-${rounds}`, progress, batchRuns);
    }

    const remaining: Remaining = remainingOf(found);
    const complete = verified && eraseStep(found) === 'clean';
    if (!complete) log.warn('erase incomplete: rows of the subject remain', { remaining, rounds, waitedMs });
    objectsDeleted = await deleteEmptied(prefix, rewrites);
    progress.phase = 'auditing';
    const { key } = await light.appendAudit({ prefix, record: audit(complete ? 'complete' : 'incomplete') });
    progress.phase = 'done';
    return {
      requestId: input.requestId,
      complete,
      rowsRemoved: progress.rowsRemoved,
      objectsRewritten: rewrites.filter((r) => r.status === 'rewritten').length,
      objectsDeleted: objectsDeleted.length,
      hours: [...affected.keys()].sort(),
      batchRuns,
      purged: { compacted: purged.compacted.length, views: purged.views.length },
      exportsDeleted: exportsDeleted.length,
      remaining,
      auditKey: key,
    };
  } catch (err) {
    progress.phase = 'failed';
    // What was removed before the failure is on record all the same.
    if (rewrites.length > 0 || exportsDeleted.length > 0) await light.appendAudit({ prefix, record: audit('incomplete') }).catch(() => undefined);
    throw err;
  }
}

export async function gdprExport(input: GdprExportInput): Promise<GdprExportResult> {
  const { prefix, subject } = common(input);
  const ttlSeconds = input.urlTtlSeconds ?? DEFAULT_URL_TTL_SECONDS;
  if (!Number.isInteger(ttlSeconds) || ttlSeconds < 60 || ttlSeconds > MAX_URL_TTL_SECONDS) {
    throw ApplicationFailure.nonRetryable(`urlTtlSeconds must be an integer in 60..${MAX_URL_TTL_SECONDS}`, 'InvalidInput');
  }
  const progress = newProgress('export');
  setHandler(gdprProgressQuery, () => progress);
  try {
    const found = await heavy.findSubjectFiles({ prefix, subject, views: false });
    progress.phase = 'exporting';
    const expiresAt = new Date(Date.now() + ttlSeconds * 1000).toISOString();
    const exported = await heavy.exportSubject({ prefix, requestId: input.requestId, subject, rawKeys: found.raw.map((h) => h.key), expiresAt });
    progress.phase = 'signing';
    const files = await light.presignExport({ files: exported.files, ttlSeconds });
    progress.phase = 'auditing';
    const record: AuditRecord = {
      ...auditBase('gdpr_export', input, 'complete', [], new Map(), [], { compacted: [], views: [] }, []),
      tenant: subject.tenant,
      subject: { user_tokens: subject.userTokens, anonymous_id_sha256: subject.anonymousIdHashes ?? [] },
      export: { rows: exported.rows, files: exported.files, url_expires_at: files[0]?.expiresAt ?? expiresAt },
    };
    const { key } = await light.appendAudit({ prefix, record });
    progress.phase = 'done';
    return { requestId: input.requestId, rows: exported.rows, files, auditKey: key };
  } catch (err) {
    progress.phase = 'failed';
    throw err;
  }
}

export async function applyRetention(input: RetentionInput = {}): Promise<RetentionResult> {
  const prefix = input.prefix ?? '';
  const concurrency = concurrencyOf(input.concurrency);
  const graceMs = duration(input.purgeGraceMs ?? DEFAULT_PURGE_GRACE_MS, 'purgeGraceMs');
  const asOfMs = input.asOf === undefined ? Date.now() : Date.parse(input.asOf);
  if (!Number.isFinite(asOfMs) || asOfMs > Date.now()) throw ApplicationFailure.nonRetryable(`asOf must be an ISO-8601 instant not in the future, got ${JSON.stringify(input.asOf)}`, 'InvalidInput');
  const progress = newProgress('retention');
  setHandler(gdprProgressQuery, () => progress);
  const runId = workflowInfo().workflowId;
  try {
    const plan = await heavy.planRetention({ prefix, asOfMs, ...(input.policies ? { policies: input.policies } : {}) });
    const rewrites: RewriteResult[] = [];
    const batchRuns: string[] = [];
    const affected = new Map(plan.hours.map((h) => [hourLabel(h), h]));
    progress.hours = affected.size;
    await rewriteAll(prefix, plan.raw.map((h) => h.key), { kind: 'retention', cutoffs: plan.cutoffs }, concurrency, progress, rewrites);
    await recompute(prefix, plan.hours, concurrency, 'batch', progress, batchRuns);
    const deleted = await deleteEmptied(prefix, rewrites);
    const purged: PurgeResult = { compacted: [], views: [] };
    if (affected.size > 0) {
      progress.phase = 'purging';
      if (graceMs > 0) await sleep(graceMs);
      Object.assign(purged, await light.purgeSuperseded({ prefix, hours: [...affected.values()], graceMs }));
    }
    progress.phase = 'finding';
    const policies = Object.fromEntries(plan.cutoffs.map((c) => [c.tenant, c.days]));
    const after = plan.cutoffs.length > 0 ? await heavy.planRetention({ prefix, asOfMs, policies }) : plan;
    const expired = (await light.expireExports({ prefix })).deleted;
    const remaining = remainingOf({ ...after, views: [] });
    progress.phase = 'auditing';
    const requestedAt = new Date(workflowInfo().startTime).toISOString();
    const record: AuditRecord = {
      ...auditBase('retention', { requestId: runId, requestedBy: 'schedule or operator', requestedAt }, after.raw.length + after.compacted.length === 0 ? 'complete' : 'incomplete', rewrites, affected, batchRuns, purged, deleted),
      exports_deleted: expired,
      remaining,
      retention: { as_of: plan.asOf, cutoffs: plan.cutoffs },
    };
    const { key } = await light.appendAudit({ prefix, record });
    progress.phase = 'done';
    return {
      asOf: plan.asOf,
      cutoffs: plan.cutoffs,
      rowsRemoved: progress.rowsRemoved,
      objectsRewritten: rewrites.filter((r) => r.status === 'rewritten').length,
      objectsDeleted: deleted.length,
      hours: [...affected.keys()].sort(),
      batchRuns,
      exportsExpired: expired.length,
      remaining,
      auditKey: key,
    };
  } catch (err) {
    progress.phase = 'failed';
    throw err;
  }
}

// ---- shared steps ------------------------------------------------------------------------------

/** Rewrites the objects with at most `limit` in flight; a unit that fails after its retries fails the request (the audit says what went before). */
async function rewriteAll(prefix: string, keys: string[], filter: RowFilter, limit: number, progress: GdprProgress, out: RewriteResult[]): Promise<void> {
  if (keys.length === 0) return;
  progress.phase = 'rewriting';
  progress.objects = { total: keys.length, done: 0, running: [], failed: [] };
  await pool(keys, limit, progress.objects, async (key) => {
    const r = await heavy.rewriteWithout({ prefix, key, filter });
    out.push(r);
    progress.rowsRemoved += r.removed;
  });
  if (progress.objects.failed.length > 0) {
    const f = progress.objects.failed;
    throw ApplicationFailure.nonRetryable(`${f.length} object(s) could not be rewritten: ${f.slice(0, 3).map((x) => `${x.unit} (${x.error})`).join('; ')}`, 'RewriteFailed');
  }
}

/** The pipeline, told which hours to recompact and recompute: a child batchRun with a deterministic id. */
async function recompute(prefix: string, hours: HourRef[], concurrency: number, suffix: string, progress: GdprProgress, runs: string[]): Promise<void> {
  if (hours.length === 0) return;
  progress.phase = 'recomputing';
  const workflowId = `${workflowInfo().workflowId}-${suffix}`;
  progress.batchRuns.push(workflowId);
  runs.push(workflowId);
  const args: [BatchRunInput] = [{ prefix, hours: uniqueHours(hours), concurrency }];
  const result = await executeChild(batchRun, { workflowId, args });
  if (result.compactionFailures.length > 0) {
    // Compacted files of those hours would still hold the rows: fail rather than report done.
    throw ApplicationFailure.nonRetryable(`recompaction failed for ${result.compactionFailures.map((f) => f.unit).join(', ')}`, 'RecomputeFailed');
  }
}

/**
 * Deletes the rewritten objects left with no row. Only once their hours were recomputed: while
 * an emptied object exists its hour's compaction sees the changed input, but with every object of
 * an hour gone compaction has no input and would leave the hour's old files alone.
 */
async function deleteEmptied(prefix: string, rewrites: readonly RewriteResult[]): Promise<string[]> {
  const emptied = rewrites.filter((r) => r.status === 'rewritten' && r.rowsAfter === 0).map((r) => r.key);
  return emptied.length > 0 ? (await light.deleteEmptyRaw({ prefix, keys: emptied })).deleted : [];
}

async function pool<T extends string>(items: T[], limit: number, counters: GdprProgress['objects'], work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const item = items[next++];
      counters.running.push(item);
      try {
        await work(item);
      } catch (err) {
        counters.failed.push({ unit: item, error: rootCauseMessage(err) });
      } finally {
        counters.running.splice(counters.running.indexOf(item), 1);
        counters.done += 1;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
}

function common(input: GdprEraseInput | GdprExportInput): { prefix: string; concurrency: number; subject: GdprEraseInput['subject'] } {
  if (typeof input?.requestId !== 'string' || !REQUEST_ID_PATTERN.test(input.requestId)) throw ApplicationFailure.nonRetryable('requestId must be a UUID', 'InvalidInput');
  if (typeof input.subject?.tenant !== 'string' || !Array.isArray(input.subject.userTokens)) throw ApplicationFailure.nonRetryable('subject must be {tenant, userTokens, anonymousIdHashes?}', 'InvalidInput');
  return { prefix: input.prefix ?? '', concurrency: concurrencyOf((input as GdprEraseInput).concurrency), subject: input.subject };
}

function concurrencyOf(value: number | undefined): number {
  const c = value ?? 2;
  if (!Number.isInteger(c) || c < 1 || c > 64) throw ApplicationFailure.nonRetryable(`concurrency must be an integer in 1..64, got ${c}`, 'InvalidInput');
  return c;
}

function duration(ms: number, name: string): number {
  if (!Number.isSafeInteger(ms) || ms < 0) throw ApplicationFailure.nonRetryable(`${name} must be a duration in ms ≥ 0`, 'InvalidInput');
  return ms;
}

function newProgress(kind: GdprKind | 'retention'): GdprProgress {
  return { kind, phase: 'finding', round: 0, objects: { total: 0, done: 0, running: [], failed: [] }, rowsRemoved: 0, hours: 0, batchRuns: [], startedAt: new Date(workflowInfo().startTime).toISOString() };
}

function auditBase(
  kind: AuditRecord['kind'],
  meta: { requestId: string; requestedBy: string; requestedAt: string; reason?: string },
  outcome: AuditRecord['outcome'],
  rewrites: RewriteResult[],
  hours: Map<string, HourRef>,
  batchRuns: string[],
  purged: PurgeResult,
  deleted: string[],
): AuditRecord {
  const objects = auditObjects(rewrites);
  return {
    format: AUDIT_FORMAT,
    kind,
    request_id: meta.requestId,
    requested_by: meta.requestedBy,
    requested_at: meta.requestedAt,
    ...(meta.reason ? { reason: meta.reason } : {}),
    completed_at: new Date(Date.now()).toISOString(),
    outcome,
    rows_removed: objects.reduce((n, o) => n + o.rows_removed, 0),
    objects,
    objects_deleted: [...deleted],
    recomputed: { hours: [...hours.keys()].sort(), batch_runs: [...batchRuns] },
    purged: { compacted: [...purged.compacted], views: [...purged.views] },
    exports_deleted: [],
  };
}
