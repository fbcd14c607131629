// The compacted layer's contract (docs/lake.md "Compacted events"): object names under
// `compacted/`, the per-hour compaction manifests, and the pure decisions of compaction — which
// hours changed, which tenants share a file, what a new manifest supersedes, what a sweep may
// delete. S3 and DuckDB work lives in activities/compaction*.ts. Not for workflow code (hashing).
import { createHash } from 'node:crypto';
import { TENANT_ID_PATTERN } from './control';
import { hourLabel, type HourRef } from './hours';
import { normalizePrefix, parseRawChunkKey, type RawChunkRef } from './lake';

export const COMPACTED_ROOT = 'compacted';
export const COMPACTION_MANIFEST_ROOT = 'manifests/compaction';
/**
 * What a compacted file holds and how files are cut. It is part of every hour's input digest, so
 * bumping it makes the next run recompact every hour.
 */
export const COMPACTION_FORMAT = 1;
/**
 * The Hive key of the tenant level. Deliberately not `tenant_id`: DuckDB (and Spark) let a Hive
 * path value override the file's column of the same name, and prune directories by it, so a
 * shared directory named `tenant_id=_shared` would both rename its rows' tenant and hide them
 * from `WHERE tenant_id = 'x'`. With `tenant_group`, `tenant_id` always comes from the rows.
 */
export const GROUP_KEY = 'tenant_group';
/** The group of tenants too small (or with ids unfit for a path) for a directory of their own. */
export const SHARED_GROUP = '_shared';

/** How compacted files are cut. Part of the input digest: changing it recompacts every hour. */
export interface CompactionLayout {
  /** Target size of one compacted file (zstd Parquet); a bigger group is split into several. */
  targetFileBytes: number;
  /** A tenant with at least this many bytes in an hour gets its own directory; smaller ones share one. */
  minDedicatedBytes: number;
}

export const DEFAULT_COMPACTION_LAYOUT: CompactionLayout = {
  targetFileBytes: 128 * 1024 * 1024,
  minDedicatedBytes: 8 * 1024 * 1024,
};

/** The layout turned into row counts for one hour, from the bytes per row of its raw inputs. */
export interface RowBudgets {
  bytes_per_row: number;
  rows_per_file: number;
  min_dedicated_rows: number;
  /** Rows per Parquet row group: a row group is buffered uncompressed while it is written. */
  row_group_rows: number;
}

/** Uncompressed bytes of one row group: what the writer holds in memory per file (plus its sort). */
export const ROW_GROUP_TARGET_BYTES = 32 * 1024 * 1024;
/** DuckDB's default row group (rows); narrow rows never need more. */
const MAX_ROW_GROUP_ROWS = 122_880;
const MIN_ROW_GROUP_ROWS = 1024;

/**
 * Compacted files hold the same rows as raw (same columns, zstd), re-sorted by tenant, so raw's
 * bytes per row predicts theirs well enough to cut files near the target without a trial write.
 * Row groups are sized by uncompressed bytes: with multi-KB events DuckDB's default of 122,880
 * rows would buffer ~400 MB per file being written (measured: out of memory at a 300 MB limit).
 */
export function rowBudgets(layout: CompactionLayout, raw: { bytes: number; rows: number; uncompressedBytes: number }): RowBudgets {
  const bytesPerRow = raw.rows > 0 && raw.bytes > 0 ? raw.bytes / raw.rows : 1;
  const uncompressedPerRow = raw.rows > 0 && raw.uncompressedBytes > 0 ? raw.uncompressedBytes / raw.rows : 1;
  return {
    bytes_per_row: Math.round(bytesPerRow * 100) / 100,
    rows_per_file: Math.max(1, Math.floor(layout.targetFileBytes / bytesPerRow)),
    min_dedicated_rows: Math.max(1, Math.ceil(layout.minDedicatedBytes / bytesPerRow)),
    row_group_rows: Math.min(MAX_ROW_GROUP_ROWS, Math.max(MIN_ROW_GROUP_ROWS, Math.floor(ROW_GROUP_TARGET_BYTES / uncompressedPerRow))),
  };
}

/**
 * Consecutive runs of files (in write order) whose rows fit `budgetBytes` uncompressed together,
 * each staged and sorted in one pass; a file bigger than the budget is a batch of its own.
 */
export function stageBatches<T extends { rows: number }>(files: readonly T[], uncompressedBytesPerRow: number, budgetBytes: number): T[][] {
  const batches: T[][] = [];
  let current: T[] = [];
  let bytes = 0;
  for (const f of files) {
    const size = f.rows * uncompressedBytesPerRow;
    if (current.length > 0 && bytes + size > budgetBytes) {
      batches.push(current);
      current = [];
      bytes = 0;
    }
    current.push(f);
    bytes += size;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}

export function validateLayout(layout: CompactionLayout): string[] {
  const problems: string[] = [];
  if (!Number.isSafeInteger(layout.targetFileBytes) || layout.targetFileBytes < 1) problems.push(`targetFileBytes must be a positive integer, got ${layout.targetFileBytes}`);
  if (!Number.isSafeInteger(layout.minDedicatedBytes) || layout.minDedicatedBytes < 1) problems.push(`minDedicatedBytes must be a positive integer, got ${layout.minDedicatedBytes}`);
  return problems;
}

// ---- names ------------------------------------------------------------------------------

const hh = (hour: number) => String(hour).padStart(2, '0');

function checkHour(h: HourRef): void {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(h.dt) || Number.isNaN(Date.parse(`${h.dt}T00:00:00Z`))) throw new RangeError(`invalid dt ${JSON.stringify(h.dt)}`);
  if (!Number.isInteger(h.hour) || h.hour < 0 || h.hour > 23) throw new RangeError(`invalid hour ${h.hour}`);
}

/** A tenant id that may name a directory (the ingestion API only accepts such ids). */
export function isPathSafeTenant(tenant: string): boolean {
  return TENANT_ID_PATTERN.test(tenant);
}

/** `<prefix>compacted/` */
export function compactedRoot(prefix: string): string {
  return `${normalizePrefix(prefix)}${COMPACTED_ROOT}/`;
}

export interface CompactedFileRef extends HourRef {
  /** A tenant id (dedicated) or SHARED_GROUP. */
  group: string;
  /** File name without `.parquet`. */
  name: string;
}

/** `<prefix>compacted/tenant_group=<group>/dt=YYYY-MM-DD/hour=HH/<name>.parquet` */
export function compactedFileKey(prefix: string, ref: CompactedFileRef): string {
  checkHour(ref);
  if (ref.group !== SHARED_GROUP && !isPathSafeTenant(ref.group)) throw new RangeError(`invalid tenant group ${JSON.stringify(ref.group)}`);
  if (!/^[a-z0-9-]+$/.test(ref.name)) throw new RangeError(`invalid compacted file name ${JSON.stringify(ref.name)}`);
  return `${compactedRoot(prefix)}${GROUP_KEY}=${ref.group}/dt=${ref.dt}/hour=${hh(ref.hour)}/${ref.name}.parquet`;
}

const COMPACTED_KEY = /(?:^|\/)compacted\/tenant_group=([^/]+)\/dt=(\d{4}-\d{2}-\d{2})\/hour=(\d{2})\/([a-z0-9-]+)\.parquet$/;

export function parseCompactedFileKey(key: string): CompactedFileRef | undefined {
  const m = COMPACTED_KEY.exec(key);
  return m ? { group: m[1], dt: m[2], hour: Number(m[3]), name: m[4] } : undefined;
}

/**
 * File names derive from the input digest of the run that writes them, so a retry or a second
 * run over the same inputs writes the same names, and a run over changed inputs never overwrites
 * a file a reader may be reading.
 */
export function compactedFileName(digest: string, index: number): string {
  return `${digest}-${String(index).padStart(4, '0')}`;
}

/** `<prefix>manifests/compaction/` */
export function compactionManifestRoot(prefix: string): string {
  return `${normalizePrefix(prefix)}${COMPACTION_MANIFEST_ROOT}/`;
}

/** Where an hour's manifest versions live: `<prefix>manifests/compaction/dt=…/hour=HH/`. */
export function hourManifestDir(prefix: string, h: HourRef): string {
  checkHour(h);
  return `${compactionManifestRoot(prefix)}dt=${h.dt}/hour=${hh(h.hour)}/`;
}

const VERSION_DIGITS = 8;

/**
 * One version of an hour's manifest: `…/hour=HH/v<version>-<input digest>.json`. The current
 * version is the greatest name: publishing is one PUT of a new name (atomic), and a listing alone
 * tells the planner every hour's current input digest.
 */
export function hourManifestKey(prefix: string, h: HourRef, version: number, digest: string): string {
  if (!Number.isSafeInteger(version) || version < 1 || version >= 10 ** VERSION_DIGITS) throw new RangeError(`invalid manifest version ${version}`);
  if (!/^[0-9a-f]{16}$/.test(digest)) throw new RangeError(`invalid digest ${JSON.stringify(digest)}`);
  return `${hourManifestDir(prefix, h)}v${String(version).padStart(VERSION_DIGITS, '0')}-${digest}.json`;
}

export interface HourManifestRef extends HourRef {
  key: string;
  version: number;
  digest: string;
}

const MANIFEST_KEY = /(?:^|\/)manifests\/compaction\/dt=(\d{4}-\d{2}-\d{2})\/hour=(\d{2})\/v(\d+)-([0-9a-f]{16})\.json$/;

export function parseHourManifestKey(key: string): HourManifestRef | undefined {
  const m = MANIFEST_KEY.exec(key);
  return m ? { key, dt: m[1], hour: Number(m[2]), version: Number(m[3]), digest: m[4] } : undefined;
}

/** Per hour label, its manifest versions oldest first (the last is current). */
export function hourManifestVersions(keys: Iterable<string>): Map<string, HourManifestRef[]> {
  const byHour = new Map<string, HourManifestRef[]>();
  for (const key of keys) {
    const ref = parseHourManifestKey(key);
    if (!ref) continue;
    const label = hourLabel(ref);
    const list = byHour.get(label) ?? [];
    list.push(ref);
    byHour.set(label, list);
  }
  for (const list of byHour.values()) list.sort((a, b) => a.version - b.version || (a.digest < b.digest ? -1 : 1));
  return byHour;
}

// ---- inputs -----------------------------------------------------------------------------

/** A raw chunk object a compaction reads: its key and ETag (a rewrite, e.g. GDPR, changes it). */
export interface InputChunk {
  key: string;
  etag: string;
  size: number;
}

export interface ListedChunk extends InputChunk {
  ref: RawChunkRef;
}

/**
 * Splits raw objects into committed chunks (wholly below their partition's published high-water
 * mark, so never written again) and pending ones (an uncommitted sink write that may still be
 * replaced or deleted). Keys that are not raw chunks are ignored.
 */
export function committedChunks(objects: readonly InputChunk[], marks: Record<string, number>): { committed: ListedChunk[]; pending: ListedChunk[] } {
  const committed: ListedChunk[] = [];
  const pending: ListedChunk[] = [];
  for (const o of objects) {
    const ref = parseRawChunkKey(o.key);
    if (!ref) continue;
    const chunk = { key: o.key, etag: o.etag, size: o.size, ref };
    if (ref.endOffset < (marks[String(ref.partition)] ?? 0)) committed.push(chunk);
    else pending.push(chunk);
  }
  return { committed, pending };
}

/** Digest of an hour's inputs under a layout: equal digests ⇒ identical compacted output. */
export function inputDigest(inputs: readonly InputChunk[], layout: CompactionLayout): string {
  const sorted = inputs.map((i) => [i.key, i.etag]).sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const text = JSON.stringify({ format: COMPACTION_FORMAT, layout: [layout.targetFileBytes, layout.minDedicatedBytes], inputs: sorted });
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}

export interface InputDelta {
  added: InputChunk[];
  /** Same key, other content (rewritten in place: lake migrate, GDPR erase). */
  changed: InputChunk[];
  removed: InputChunk[];
}

export function inputDelta(previous: readonly InputChunk[], next: readonly InputChunk[]): InputDelta {
  const before = new Map(previous.map((i) => [i.key, i]));
  const after = new Map(next.map((i) => [i.key, i]));
  return {
    added: next.filter((i) => !before.has(i.key)),
    changed: next.filter((i) => before.has(i.key) && before.get(i.key)!.etag !== i.etag),
    removed: previous.filter((i) => !after.has(i.key)),
  };
}

// ---- planning ---------------------------------------------------------------------------

export interface CompactionPlan {
  /** Hours whose committed inputs differ from their current manifest (or that have none), sorted. */
  hours: HourRef[];
  /** Hours with committed raw input. */
  hoursWithInput: number;
  upToDate: number;
  committedChunks: number;
  pendingChunks: number;
}

/**
 * "Touched since the last run" = the committed input set (keys and ETags) of an hour differs from
 * the one its current manifest was built from. An hour with no committed raw left is not planned:
 * its compacted files may be the only copy once raw retention has run.
 */
export function planHours(rawObjects: readonly InputChunk[], marks: Record<string, number>, manifestKeys: Iterable<string>, layout: CompactionLayout): CompactionPlan {
  const { committed, pending } = committedChunks(rawObjects, marks);
  const byHour = new Map<string, { hour: HourRef; inputs: InputChunk[] }>();
  for (const c of committed) {
    const label = hourLabel(c.ref);
    const entry = byHour.get(label) ?? { hour: { dt: c.ref.dt, hour: c.ref.hour }, inputs: [] };
    entry.inputs.push(c);
    byHour.set(label, entry);
  }
  const current = hourManifestVersions(manifestKeys);
  const hours: HourRef[] = [];
  for (const [label, { hour, inputs }] of byHour) {
    const versions = current.get(label);
    const digest = versions?.[versions.length - 1].digest;
    if (digest !== inputDigest(inputs, layout)) hours.push(hour);
  }
  hours.sort((a, b) => (hourLabel(a) < hourLabel(b) ? -1 : 1));
  return { hours, hoursWithInput: byHour.size, upToDate: byHour.size - hours.length, committedChunks: committed.length, pendingChunks: pending.length };
}

// ---- groups -----------------------------------------------------------------------------

export interface GroupAssignment {
  /** Tenant → group (its own id, or SHARED_GROUP), for every tenant counted. */
  groupOf: Map<string, string>;
  /** Groups whose files this run rewrites. */
  rewrite: Set<string>;
}

/**
 * Which tenants get a directory of their own. A touched tenant is placed by its row count now
 * (dedicated at `minDedicatedRows`, if its id fits a path); an untouched one keeps its previous
 * group, whose files stay valid because no new input holds its rows. A touched tenant's old and
 * new groups are both rewritten (a tenant that outgrew the shared files leaves them).
 * `touched` undefined = every tenant (a full recompaction).
 */
export function assignGroups(opts: {
  counts: ReadonlyMap<string, number>;
  minDedicatedRows: number;
  previous?: ReadonlyMap<string, string>;
  touched?: ReadonlySet<string>;
}): GroupAssignment {
  const groupOf = new Map<string, string>();
  const rewrite = new Set<string>();
  for (const [tenant, rows] of opts.counts) {
    const before = opts.previous?.get(tenant);
    if (opts.touched && !opts.touched.has(tenant) && before !== undefined) {
      groupOf.set(tenant, before);
      continue;
    }
    const group = rows >= opts.minDedicatedRows && isPathSafeTenant(tenant) ? tenant : SHARED_GROUP;
    groupOf.set(tenant, group);
    rewrite.add(group);
    if (before !== undefined && before !== group) rewrite.add(before);
  }
  return { groupOf, rewrite };
}

// ---- the manifest -----------------------------------------------------------------------

export interface CompactedFile {
  key: string;
  rows: number;
  bytes: number;
  /** First and last tenant of the file (files are sorted by tenant_id, event_time, _offset). */
  min_tenant: string;
  max_tenant: string;
}

export interface CompactedGroup {
  group: string;
  /** The tenants whose rows the files hold, sorted (one for a dedicated group). */
  tenants: string[];
  rows: number;
  files: CompactedFile[];
  /** Input digest of the run that wrote the files (an older one when later runs left the group alone). */
  written_by: string;
}

export interface SupersededFile {
  key: string;
  /** When a published manifest stopped listing the file: the sweep's grace period starts here. */
  superseded_at: string;
}

/**
 * One version of an hour's compaction. The live files hold exactly the distinct events
 * (tenant_id, event_id — first by offset) of the hour's `inputs`, which are every raw chunk of
 * the hour wholly below `high_water` when the run listed them.
 */
export interface HourManifest {
  format: typeof COMPACTION_FORMAT;
  dt: string;
  hour: number;
  version: number;
  input_digest: string;
  layout: CompactionLayout;
  budgets: RowBudgets;
  inputs: InputChunk[];
  high_water: Record<string, number>;
  /** Raw rows read (duplicates included) and live rows (distinct events). */
  raw_rows: number;
  rows: number;
  groups: CompactedGroup[];
  superseded: SupersededFile[];
  published_at: string;
}

export function liveFiles(m: HourManifest): CompactedFile[] {
  return m.groups.flatMap((g) => g.files);
}

/** Tenant → group of a manifest. */
export function groupsOf(m: HourManifest): Map<string, string> {
  return new Map(m.groups.flatMap((g) => g.tenants.map((t) => [t, g.group] as const)));
}

/** The live files that may hold a tenant's rows (its own directory, or the shared files spanning it). */
export function filesOfTenant(m: HourManifest, tenant: string): CompactedFile[] {
  return m.groups.filter((g) => g.tenants.includes(tenant)).flatMap((g) => g.files.filter((f) => f.min_tenant <= tenant && tenant <= f.max_tenant));
}

/** How long superseded entries are carried from version to version; older ones are the sweep's orphans. */
export const SUPERSEDED_MEMORY_MS = 7 * 24 * 3_600_000;

/**
 * The superseded list of a new version: the previous version's live files it no longer lists
 * (from now), plus the previous version's entries still remembered. A file live again is dropped.
 */
export function supersededAfter(previous: HourManifest | undefined, live: ReadonlySet<string>, nowMs: number): SupersededFile[] {
  const out = new Map<string, SupersededFile>();
  for (const s of previous?.superseded ?? []) {
    if (!live.has(s.key) && nowMs - Date.parse(s.superseded_at) < SUPERSEDED_MEMORY_MS) out.set(s.key, s);
  }
  const at = new Date(nowMs).toISOString();
  for (const f of previous ? liveFiles(previous) : []) if (!live.has(f.key) && !out.has(f.key)) out.set(f.key, { key: f.key, superseded_at: at });
  return [...out.values()].sort((a, b) => (a.key < b.key ? -1 : 1));
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isCount = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;

/** Reads an hour manifest defensively; undefined when the JSON is not one of this format. */
export function parseHourManifest(text: string): HourManifest | undefined {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!isObject(v) || v.format !== COMPACTION_FORMAT || typeof v.dt !== 'string' || !isCount(v.hour) || !isCount(v.version)) return undefined;
  if (typeof v.input_digest !== 'string' || typeof v.published_at !== 'string' || !isCount(v.rows) || !isCount(v.raw_rows)) return undefined;
  if (!isObject(v.layout) || !isObject(v.budgets) || !isObject(v.high_water)) return undefined;
  if (!Array.isArray(v.inputs) || !v.inputs.every((i) => isObject(i) && typeof i.key === 'string' && typeof i.etag === 'string' && isCount(i.size))) return undefined;
  const fileOk = (f: unknown) => isObject(f) && typeof f.key === 'string' && isCount(f.rows) && isCount(f.bytes) && typeof f.min_tenant === 'string' && typeof f.max_tenant === 'string';
  const groupOk = (g: unknown) =>
    isObject(g) && typeof g.group === 'string' && typeof g.written_by === 'string' && isCount(g.rows) &&
    Array.isArray(g.tenants) && g.tenants.every((t) => typeof t === 'string') && Array.isArray(g.files) && g.files.every(fileOk);
  if (!Array.isArray(v.groups) || !v.groups.every(groupOk)) return undefined;
  if (!Array.isArray(v.superseded) || !v.superseded.every((s) => isObject(s) && typeof s.key === 'string' && typeof s.superseded_at === 'string')) return undefined;
  return v as unknown as HourManifest;
}

// ---- sweeping ---------------------------------------------------------------------------

export interface SweepInput {
  /** Every object under `compacted/`. */
  files: readonly { key: string; lastModified: number }[];
  /** Every manifest version key. */
  manifestKeys: readonly string[];
  /** The current manifest per hour label; undefined = unreadable (nothing of that hour is touched). */
  current: ReadonlyMap<string, HourManifest | undefined>;
  nowMs: number;
  /** A superseded file (and a replaced manifest version) is kept this long after it was replaced. */
  graceMs: number;
  /** A file no manifest mentions (a failed run's output) is kept this long after it was written; must exceed a compaction's longest run. */
  orphanGraceMs: number;
}

export interface SweepPlan {
  deleteFiles: string[];
  deleteManifests: string[];
  /** Superseded or orphaned files still inside their grace period. */
  waiting: number;
  superseded: number;
  orphans: number;
}

/**
 * What a sweep may delete. Never a file live in its hour's current manifest; a superseded file
 * once `graceMs` passed since it was superseded (a reader that resolved the previous version has
 * that long to finish); a file no manifest knows once `orphanGraceMs` passed since it was written
 * (a run still writing has not published yet); replaced manifest versions once the current one
 * is `graceMs` old.
 */
export function planSweep(input: SweepInput): SweepPlan {
  const plan: SweepPlan = { deleteFiles: [], deleteManifests: [], waiting: 0, superseded: 0, orphans: 0 };
  const versions = hourManifestVersions(input.manifestKeys);
  const liveByHour = new Map<string, { live: Set<string>; superseded: Map<string, number> } | undefined>();
  for (const [label, m] of input.current) {
    liveByHour.set(label, m && {
      live: new Set(liveFiles(m).map((f) => f.key)),
      superseded: new Map(m.superseded.map((s) => [s.key, Date.parse(s.superseded_at)])),
    });
  }
  for (const f of input.files) {
    const ref = parseCompactedFileKey(f.key);
    if (!ref) continue;
    const label = hourLabel(ref);
    const hourState = liveByHour.get(label);
    if (versions.has(label) && !hourState) continue; // a manifest we could not read: leave the hour alone
    if (hourState?.live.has(f.key)) continue;
    const supersededAt = hourState?.superseded.get(f.key);
    if (supersededAt !== undefined) {
      if (input.nowMs - supersededAt >= input.graceMs) {
        plan.deleteFiles.push(f.key);
        plan.superseded += 1;
      } else plan.waiting += 1;
    } else if (input.nowMs - f.lastModified >= Math.max(input.graceMs, input.orphanGraceMs)) {
      plan.deleteFiles.push(f.key);
      plan.orphans += 1;
    } else plan.waiting += 1;
  }
  for (const [label, list] of versions) {
    const m = input.current.get(label);
    if (!m || list.length < 2 || input.nowMs - Date.parse(m.published_at) < input.graceMs) continue;
    const currentKey = list[list.length - 1].key;
    for (const v of list) if (v.key !== currentKey) plan.deleteManifests.push(v.key);
  }
  plan.deleteFiles.sort();
  plan.deleteManifests.sort();
  return plan;
}
