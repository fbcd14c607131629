// GDPR erase and export, and per-tenant retention (docs/gdpr.md): the contract between the
// workflows (workflows/gdpr.ts), the activities (activities/gdpr.ts) and whoever starts them
// (core/gdpr-control.ts: the API and the CLI), and the pure rules they share. Free of Node
// built-ins and I/O: workflow code imports it.
import type { UnitFailure } from './batch-run';
import { hourLabel, type HourRef } from './hours';
import { normalizePrefix } from './lake';

export const GDPR_ERASE_WORKFLOW = 'gdprErase';
export const GDPR_EXPORT_WORKFLOW = 'gdprExport';
export const RETENTION_WORKFLOW = 'applyRetention';

export type GdprKind = 'erase' | 'export';

/**
 * A data subject as the lake knows them: a tenant's user, by the `user_id` tokens the ingestion
 * API wrote (core/pii: the client's id under every PII key version, so rows ingested before a key
 * rotation are found too), and optionally by anonymous ids the client names. Never the raw user
 * id: this object travels through workflow histories and into audit records.
 */
export interface GdprSubject {
  tenant: string;
  /** `tok_v<n>_<hex>` tokens of the subject's user id; rows match on `user_id`. */
  userTokens: string[];
  /**
   * sha256 (hex) of anonymous ids (pre-login cookies, device ids) the client names as the
   * subject's. `anonymous_id` is not tokenized in the lake; rows match on `sha256(anonymous_id)`,
   * so the id itself stays out of histories and audit records.
   */
  anonymousIdHashes?: string[];
}

/** Which rows a rewrite removes (and a scan looks for). */
export type RowFilter =
  | { kind: 'subject'; subject: GdprSubject }
  | { kind: 'retention'; cutoffs: RetentionCutoff[] };

/** Rows of `tenant` with an event time before `beforeMs` (an hour boundary) are past retention. */
export interface RetentionCutoff {
  tenant: string;
  beforeMs: number;
  days: number;
}

export const DEFAULT_URL_TTL_SECONDS = 24 * 3600;
/** The longest a SigV4 presigned URL may live. */
export const MAX_URL_TTL_SECONDS = 7 * 24 * 3600;
/** Superseded compacted and view files of erased hours stay this long for readers in flight. */
export const DEFAULT_PURGE_GRACE_MS = 10 * 60_000;
/** How long an erase waits in total for uncommitted sink chunks holding the subject to commit. */
export const DEFAULT_PENDING_WAIT_MS = 30 * 60_000;
/** Retention days a tenant policy may name. */
export const MAX_RETENTION_DAYS = 36_500;

export interface GdprRequestMeta {
  /** The request's id (a UUID): names the workflow, the export's directory and the audit record. */
  requestId: string;
  /** Who asked: the API key's label and hash prefix, or the CLI user. */
  requestedBy: string;
  requestedAt: string;
  /** Free text for the audit record (a ticket number); never parsed. */
  reason?: string;
}

export interface GdprEraseInput extends GdprRequestMeta {
  /** Lake root prefix inside the bucket ('' = bucket root). */
  prefix?: string;
  subject: GdprSubject;
  /** Raw objects rewritten at once (default 2). */
  concurrency?: number;
  /** Default DEFAULT_PURGE_GRACE_MS. */
  purgeGraceMs?: number;
  /** Default DEFAULT_PENDING_WAIT_MS. */
  pendingWaitMs?: number;
}

export interface GdprExportInput extends GdprRequestMeta {
  prefix?: string;
  subject: GdprSubject;
  /** Lifetime of the presigned URLs (default DEFAULT_URL_TTL_SECONDS, at most MAX_URL_TTL_SECONDS). */
  urlTtlSeconds?: number;
}

export interface RetentionInput {
  prefix?: string;
  /** Tenant → retention days. Default: the tenants' policies in the control plane (TenantRecord.retention_days). */
  policies?: Record<string, number>;
  /** Apply the policies as of this instant (ISO-8601, not in the future); default: the workflow's start. */
  asOf?: string;
  concurrency?: number;
  purgeGraceMs?: number;
}

// ---- what activities report --------------------------------------------------------------------

/** A Parquet object holding matching rows. */
export interface ObjectHit {
  key: string;
  rows: number;
  etag: string;
  size: number;
}

/** A file of the current views version holding the subject's rows. */
export interface ViewHit {
  key: string;
  view: string;
  /** Hour label, day, or '' for version-wide views. */
  unit: string;
  rows: number;
}

export interface LocateResult {
  /** Committed raw objects (below the sink's high-water mark) holding matching rows. */
  raw: ObjectHit[];
  /** Raw objects of chunks the sink has not committed yet (it may still replay them). */
  pending: ObjectHit[];
  /** Live compacted files (current hour manifests) holding matching rows. */
  compacted: ObjectHit[];
  /** Files of the current views version holding the subject's rows (subject filters only). */
  views: ViewHit[];
  /** The event hours to recompact and recompute so the hits disappear. */
  hours: HourRef[];
  viewsVersion: string | null;
  scanned: { hours: number; hoursPruned: number; raw: number; compacted: number; views: number };
  ms: number;
}

export type RewriteStatus = 'rewritten' | 'clean' | 'pending' | 'missing';

export interface RewriteResult {
  key: string;
  /** `clean`: no matching row (already rewritten: a retry converges); `pending`: not committed by the sink yet, left alone; `missing`: no such object. */
  status: RewriteStatus;
  rowsBefore: number;
  removed: number;
  rowsAfter: number;
  etagBefore?: string;
  etagAfter?: string;
  ms: number;
}

export interface PurgeResult {
  /** Compacted files of the hours no current manifest lists (superseded, or orphans of failed runs). */
  compacted: string[];
  /** View files of the hours' units no current version references. */
  views: string[];
}

export interface ExportedFile {
  format: 'json' | 'parquet';
  key: string;
  bytes: number;
}

export interface ExportResult {
  rows: number;
  files: ExportedFile[];
  manifestKey: string;
}

export interface SignedFile extends ExportedFile {
  url: string;
  expiresAt: string;
}

export interface RetentionPlan {
  asOf: string;
  cutoffs: RetentionCutoff[];
  raw: ObjectHit[];
  pending: ObjectHit[];
  compacted: ObjectHit[];
  hours: HourRef[];
}

// ---- workflow results and progress ----------------------------------------------------------------

export interface Remaining {
  raw: number;
  pending: number;
  compacted: number;
  views: number;
}

export interface GdprEraseResult {
  requestId: string;
  /** False when rows of the subject were still in the lake at the end (uncommitted chunks that never committed in time): see `remaining`. */
  complete: boolean;
  rowsRemoved: number;
  objectsRewritten: number;
  /** Raw objects that held nothing but the subject's rows: deleted. */
  objectsDeleted: number;
  hours: string[];
  batchRuns: string[];
  purged: { compacted: number; views: number };
  exportsDeleted: number;
  remaining: Remaining;
  auditKey: string;
}

export interface GdprExportResult {
  requestId: string;
  rows: number;
  files: SignedFile[];
  auditKey: string;
}

export interface RetentionResult {
  asOf: string;
  cutoffs: RetentionCutoff[];
  rowsRemoved: number;
  objectsRewritten: number;
  objectsDeleted: number;
  hours: string[];
  batchRuns: string[];
  exportsExpired: number;
  remaining: Remaining;
  auditKey: string;
}

export type GdprPhase =
  | 'finding'
  | 'rewriting'
  | 'waiting for the sink'
  | 'recomputing'
  | 'purging'
  | 'exporting'
  | 'signing'
  | 'auditing'
  | 'done'
  | 'failed';

export interface GdprProgress {
  kind: GdprKind | 'retention';
  phase: GdprPhase;
  round: number;
  objects: { total: number; done: number; running: string[]; failed: UnitFailure[] };
  rowsRemoved: number;
  hours: number;
  /** Child batchRun workflows that recompacted and recomputed the hours. */
  batchRuns: string[];
  startedAt: string;
}

// ---- the audit record --------------------------------------------------------------------------

export const AUDIT_FORMAT = 1;

export interface AuditObject {
  key: string;
  rows_before: number;
  rows_removed: number;
  rows_after: number;
  etag_before?: string;
  etag_after?: string;
}

/**
 * One audit record per request under `audit/`: what was removed (or exported), where, for whom,
 * asked by whom and when. Subjects appear only as tokens and hashes, never as raw ids.
 */
export interface AuditRecord {
  format: typeof AUDIT_FORMAT;
  kind: 'gdpr_erase' | 'gdpr_export' | 'retention';
  request_id: string;
  tenant?: string;
  subject?: { user_tokens: string[]; anonymous_id_sha256: string[] };
  requested_by: string;
  requested_at: string;
  reason?: string;
  completed_at: string;
  outcome: 'complete' | 'incomplete';
  rows_removed: number;
  objects: AuditObject[];
  /** Raw objects left with no row, deleted once their hours were recomputed. */
  objects_deleted: string[];
  recomputed: { hours: string[]; batch_runs: string[] };
  purged: PurgeResult;
  exports_deleted: string[];
  /** Matching rows left when the request ended (all zero for a complete erase). */
  remaining?: Remaining;
  export?: { rows: number; files: ExportedFile[]; url_expires_at: string };
  retention?: { as_of: string; cutoffs: RetentionCutoff[] };
}

// ---- names ------------------------------------------------------------------------------------

export const REQUEST_ID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function gdprWorkflowId(kind: GdprKind, requestId: string): string {
  return `rtap-gdpr-${kind}-${requestId}`;
}

/** `<prefix>exports/<tenant>/<request-id>/`: one export's files and its manifest. */
export function exportRoot(prefix: string, tenant: string, requestId: string): string {
  return `${exportsTenantRoot(prefix, tenant)}${requestId}/`;
}

export function exportsTenantRoot(prefix: string, tenant: string): string {
  return `${normalizePrefix(prefix)}exports/${tenant}/`;
}

export function exportsRoot(prefix: string): string {
  return `${normalizePrefix(prefix)}exports/`;
}

/** The export's manifest: who it is for, what it holds, when its URLs expire (retention deletes it after). */
export interface ExportManifest {
  format: typeof AUDIT_FORMAT;
  request_id: string;
  tenant: string;
  user_tokens: string[];
  rows: number;
  files: ExportedFile[];
  created_at: string;
  /** When the presigned URLs stop working; the retention run deletes the export after this. */
  expires_at: string;
}

/**
 * `audit/gdpr/tenant=<t>/dt=<day requested>/<request-id>-<erase|export>.json`, or
 * `audit/retention/dt=<day>/<run id>.json`: per tenant and day, so an auditor lists one directory.
 */
export function auditKey(prefix: string, kind: AuditRecord['kind'], requestId: string, atIso: string, tenant?: string): string {
  const dt = atIso.slice(0, 10);
  if (!/^\d{4}-\d{2}-\d{2}$/.test(dt)) throw new RangeError(`not an ISO instant: ${JSON.stringify(atIso)}`);
  const id = requestId.replace(/[^A-Za-z0-9_.-]/g, '_');
  if (kind === 'retention') return `${normalizePrefix(prefix)}audit/retention/dt=${dt}/${id}.json`;
  if (!tenant) throw new RangeError('a GDPR audit record names its tenant');
  return `${normalizePrefix(prefix)}audit/gdpr/tenant=${tenant}/dt=${dt}/${id}-${kind === 'gdpr_erase' ? 'erase' : 'export'}.json`;
}

// ---- rules ------------------------------------------------------------------------------------

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

/**
 * The cutoff of each tenant policy as of an instant: rows with an event time before the hour
 * boundary at or before `asOf − days` are past retention. Hour-aligned, because raw objects are
 * cut by event hour: an expired hour is expired for the tenant as a whole.
 */
export function retentionCutoffs(policies: Record<string, number>, asOfMs: number): RetentionCutoff[] {
  const out: RetentionCutoff[] = [];
  for (const [tenant, days] of Object.entries(policies)) {
    if (!Number.isInteger(days) || days < 1 || days > MAX_RETENTION_DAYS) throw new RangeError(`retention of ${tenant}: expected whole days in 1..${MAX_RETENTION_DAYS}, got ${JSON.stringify(days)}`);
    out.push({ tenant, days, beforeMs: Math.floor((asOfMs - days * DAY_MS) / HOUR_MS) * HOUR_MS });
  }
  return out.sort((a, b) => (a.tenant < b.tenant ? -1 : a.tenant > b.tenant ? 1 : 0));
}

/** The tenants a filter may remove rows of in an event hour (none: the hour is not touched). */
export function tenantsInScope(filter: RowFilter, h: HourRef): string[] {
  if (filter.kind === 'subject') return [filter.subject.tenant];
  const start = Date.parse(`${hourLabel(h)}:00:00Z`);
  return filter.cutoffs.filter((c) => start < c.beforeMs).map((c) => c.tenant);
}

export type EraseStep = 'clean' | 'erase' | 'wait';

/**
 * What an erase does after a look at the lake: `clean` when nothing matches anywhere; `erase`
 * when committed raw objects hold the subject (rewrite them) or compacted files or views still do
 * (recompute their hours); `wait` when only chunks the sink has not committed hold the subject:
 * the sink may replay them with the subject's rows, so they are erased once committed.
 */
export function eraseStep(found: Pick<LocateResult, 'raw' | 'pending' | 'compacted' | 'views'>): EraseStep {
  if (found.raw.length > 0 || found.compacted.length > 0 || found.views.length > 0) return 'erase';
  return found.pending.length > 0 ? 'wait' : 'clean';
}

export function remainingOf(found: Pick<LocateResult, 'raw' | 'pending' | 'compacted' | 'views'>): Remaining {
  const rows = (hits: readonly { rows: number }[]) => hits.reduce((n, h) => n + h.rows, 0);
  return { raw: rows(found.raw), pending: rows(found.pending), compacted: rows(found.compacted), views: rows(found.views) };
}

export function auditObjects(results: readonly RewriteResult[]): AuditObject[] {
  return results
    .filter((r) => r.status === 'rewritten')
    .map((r) => ({ key: r.key, rows_before: r.rowsBefore, rows_removed: r.removed, rows_after: r.rowsAfter, etag_before: r.etagBefore, etag_after: r.etagAfter }));
}
