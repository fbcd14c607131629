// GDPR requests seen from outside the worker: turning a client's user id into a lake subject
// (tokenized exactly as ingestion does), validating subjects and row filters that arrive at an
// activity, and starting and describing the workflows — one definition for the API
// (serving/data/gdpr.ts) and the CLI (cli/gdpr.ts).
import { createHash, randomUUID } from 'node:crypto';
import { WorkflowNotFoundError, type Client, type WorkflowHandle } from '@temporalio/client';
import { PROGRESS_QUERY } from './batch-run';
import { TENANT_ID_PATTERN } from './control';
import { rootCauseMessage } from './errors';
import {
  DEFAULT_URL_TTL_SECONDS,
  GDPR_ERASE_WORKFLOW,
  GDPR_EXPORT_WORKFLOW,
  MAX_URL_TTL_SECONDS,
  REQUEST_ID_PATTERN,
  RETENTION_WORKFLOW,
  gdprWorkflowId,
  type GdprEraseInput,
  type GdprExportInput,
  type GdprKind,
  type GdprProgress,
  type GdprSubject,
  type RetentionInput,
  type RowFilter,
} from './gdpr';
import { TOKEN_PATTERN, isToken, tokensForAllVersions, type PiiKeyring } from './pii';

export const MAX_USER_ID_LENGTH = 256;
export const MAX_ANONYMOUS_IDS = 100;
const MAX_TOKENS = 64;
const SHA256_HEX = /^[0-9a-f]{64}$/;

/** sha256 hex of an anonymous id: what the lake's `sha256(anonymous_id)` is compared with. */
export function anonymousIdHash(id: string): string {
  return createHash('sha256').update(id, 'utf8').digest('hex');
}

/**
 * The subject of a request: the client's user id tokenized under every PII key version (rows
 * written before a key rotation carry the older token), or the token itself when the client
 * already holds one. Throws a RangeError naming the field.
 */
export function subjectOf(tenant: string, userId: string, keyring: PiiKeyring, anonymousIds: readonly string[] = []): GdprSubject {
  if (!TENANT_ID_PATTERN.test(tenant)) throw new RangeError(`tenant: not a tenant id (expected ${TENANT_ID_PATTERN})`);
  if (typeof userId !== 'string' || userId.length === 0 || userId.length > MAX_USER_ID_LENGTH) throw new RangeError(`user_id: expected 1–${MAX_USER_ID_LENGTH} characters`);
  if (anonymousIds.length > MAX_ANONYMOUS_IDS) throw new RangeError(`anonymous_ids: at most ${MAX_ANONYMOUS_IDS}`);
  for (const a of anonymousIds) if (typeof a !== 'string' || a.length === 0 || a.length > MAX_USER_ID_LENGTH) throw new RangeError(`anonymous_ids: each 1–${MAX_USER_ID_LENGTH} characters`);
  const userTokens = isToken(userId) ? [userId] : [...new Set(tokensForAllVersions(userId, 'user', keyring))].sort();
  const hashes = [...new Set(anonymousIds.map(anonymousIdHash))].sort();
  return { tenant, userTokens, ...(hashes.length > 0 ? { anonymousIdHashes: hashes } : {}) };
}

/** A subject from untrusted input (an activity argument). Throws a RangeError naming the problem. */
export function validateSubject(value: unknown): GdprSubject {
  const s = value as Partial<GdprSubject> | null;
  if (typeof s !== 'object' || s === null) throw new RangeError('subject: expected {tenant, userTokens, anonymousIdHashes?}');
  if (typeof s.tenant !== 'string' || !TENANT_ID_PATTERN.test(s.tenant)) throw new RangeError(`subject.tenant: not a tenant id (expected ${TENANT_ID_PATTERN})`);
  if (!Array.isArray(s.userTokens) || s.userTokens.length === 0 || s.userTokens.length > MAX_TOKENS || !s.userTokens.every((t) => typeof t === 'string' && TOKEN_PATTERN.test(t))) {
    throw new RangeError(`subject.userTokens: expected 1–${MAX_TOKENS} PII tokens (tok_v<n>_<32 hex>)`);
  }
  const hashes = s.anonymousIdHashes ?? [];
  if (!Array.isArray(hashes) || hashes.length > MAX_ANONYMOUS_IDS || !hashes.every((h) => typeof h === 'string' && SHA256_HEX.test(h))) {
    throw new RangeError(`subject.anonymousIdHashes: expected at most ${MAX_ANONYMOUS_IDS} sha256 hex digests`);
  }
  return { tenant: s.tenant, userTokens: [...s.userTokens], ...(hashes.length > 0 ? { anonymousIdHashes: [...hashes] } : {}) };
}

/** A row filter from untrusted input. Throws a RangeError naming the problem. */
export function validateRowFilter(value: unknown): RowFilter {
  const f = value as { kind?: unknown; subject?: unknown; cutoffs?: unknown } | null;
  if (f?.kind === 'subject') return { kind: 'subject', subject: validateSubject(f.subject) };
  if (f?.kind === 'retention') {
    if (!Array.isArray(f.cutoffs) || f.cutoffs.length === 0) throw new RangeError('filter.cutoffs: expected a non-empty list of {tenant, beforeMs, days}');
    const cutoffs = f.cutoffs.map((c: { tenant?: unknown; beforeMs?: unknown; days?: unknown }, i: number) => {
      if (typeof c?.tenant !== 'string' || !TENANT_ID_PATTERN.test(c.tenant)) throw new RangeError(`filter.cutoffs[${i}].tenant: not a tenant id`);
      if (!Number.isSafeInteger(c.beforeMs) || (c.beforeMs as number) % 3_600_000 !== 0) throw new RangeError(`filter.cutoffs[${i}].beforeMs: expected an hour boundary in epoch ms`);
      if (!Number.isInteger(c.days) || (c.days as number) < 1) throw new RangeError(`filter.cutoffs[${i}].days: expected whole days ≥ 1`);
      return { tenant: c.tenant, beforeMs: c.beforeMs as number, days: c.days as number };
    });
    return { kind: 'retention', cutoffs };
  }
  throw new RangeError("filter.kind: expected 'subject' or 'retention'");
}

export interface GdprRequest {
  kind: GdprKind;
  subject: GdprSubject;
  requestedBy: string;
  reason?: string;
  /** Export only. */
  urlTtlSeconds?: number;
  /** Erase only: how long superseded files stay for readers in flight (default DEFAULT_PURGE_GRACE_MS). */
  purgeGraceMs?: number;
  prefix?: string;
}

export function validateUrlTtl(seconds: number): number {
  if (!Number.isInteger(seconds) || seconds < 60 || seconds > MAX_URL_TTL_SECONDS) throw new RangeError(`url_ttl_seconds: an integer in 60..${MAX_URL_TTL_SECONDS} (presigned URLs live at most 7 days)`);
  return seconds;
}

/** Starts an erase or export under a new request id. The workflow's memo names the tenant, which alone may see it. */
export async function startGdpr(client: Client, taskQueue: string, req: GdprRequest): Promise<{ requestId: string; workflowId: string; handle: WorkflowHandle }> {
  const subject = validateSubject(req.subject);
  const requestId = randomUUID();
  const workflowId = gdprWorkflowId(req.kind, requestId);
  const meta = { requestId, requestedBy: req.requestedBy, requestedAt: new Date().toISOString(), ...(req.reason ? { reason: req.reason } : {}) };
  const memo = { tenant: subject.tenant, kind: req.kind };
  if (req.kind === 'erase') {
    const input: GdprEraseInput = { ...meta, prefix: req.prefix ?? '', subject, ...(req.purgeGraceMs !== undefined ? { purgeGraceMs: req.purgeGraceMs } : {}) };
    const handle = await client.workflow.start(GDPR_ERASE_WORKFLOW, { taskQueue, workflowId, args: [input], memo });
    return { requestId, workflowId, handle };
  }
  const input: GdprExportInput = { ...meta, prefix: req.prefix ?? '', subject, urlTtlSeconds: validateUrlTtl(req.urlTtlSeconds ?? DEFAULT_URL_TTL_SECONDS) };
  const handle = await client.workflow.start(GDPR_EXPORT_WORKFLOW, { taskQueue, workflowId, args: [input], memo });
  return { requestId, workflowId, handle };
}

export interface GdprStatus {
  request_id: string;
  kind: GdprKind;
  status: string;
  started_at: string;
  closed_at?: string;
  progress?: GdprProgress;
  result?: unknown;
  /** Why a failed request failed (the root cause's message). */
  error?: string;
}

/**
 * A request's status, or undefined when there is none — or when it belongs to another tenant
 * than `tenant` (undefined = any tenant: platform callers and the CLI).
 */
export async function describeGdpr(client: Client, kind: GdprKind, requestId: string, tenant?: string): Promise<GdprStatus | undefined> {
  if (!REQUEST_ID_PATTERN.test(requestId)) return undefined;
  const handle = client.workflow.getHandle(gdprWorkflowId(kind, requestId));
  try {
    const d = await handle.describe();
    if (tenant !== undefined && d.memo?.tenant !== tenant) return undefined;
    const status = d.status.name;
    const progress = status === 'RUNNING' ? await handle.query<GdprProgress>(PROGRESS_QUERY).catch(() => undefined) : undefined;
    let result: unknown;
    let error: string | undefined;
    if (status === 'COMPLETED') result = await handle.result();
    if (status === 'FAILED') error = await handle.result().then(() => undefined, (err: unknown) => rootCauseMessage(err));
    return {
      request_id: requestId,
      kind,
      status,
      started_at: d.startTime.toISOString(),
      ...(d.closeTime ? { closed_at: d.closeTime.toISOString() } : {}),
      ...(progress ? { progress } : {}),
      ...(result !== undefined ? { result } : {}),
      ...(error ? { error } : {}),
    };
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return undefined;
    throw err;
  }
}

/** Starts a retention run now (the daily schedule starts the same workflow). */
export async function startRetention(client: Client, taskQueue: string, input: RetentionInput): Promise<{ workflowId: string; handle: WorkflowHandle }> {
  const workflowId = `rtap-retention-manual-${Date.now()}`;
  const handle = await client.workflow.start(RETENTION_WORKFLOW, { taskQueue, workflowId, args: [input] });
  return { workflowId, handle };
}
