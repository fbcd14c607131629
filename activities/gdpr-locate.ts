// Where a GDPR subject's (or an expired tenant's) rows are: which raw objects, live compacted
// files and files of the current views version hold rows a filter matches. DuckDB counts the
// matching rows per file (`filename = true`) over s3:// directly; JavaScript sees one row per file.
//
// Pruning by tenant where the layout allows: raw/ has no tenant level, but an hour's current
// compaction manifest names every tenant of its inputs. When those inputs are exactly the hour's
// committed raw chunks (same keys and ETags), an hour whose manifest does not name the tenant holds
// no row of it in committed raw, and its raw objects are not opened. Within a scanned object, rows
// are sorted by tenant, so `tenant_id = …` skips the row groups of other tenants.
import type { S3Client } from '@aws-sdk/client-s3';
import type { DuckDBConnection } from '@duckdb/node-api';
import { s3Url, sqlLiteral } from '../core/duckdb';
import { tenantsInScope, type LocateResult, type ObjectHit, type RowFilter } from '../core/gdpr';
import { hourLabel, uniqueHours, type HourRef } from '../core/hours';
import { normalizePrefix, parseRawChunkKey, rawRoot, viewsManifestKey } from '../core/lake';
import { committedChunks, filesOfTenant, hourManifestVersions, parseCompactedFileKey, type HourManifest, type InputChunk, type ListedChunk } from '../core/lake-compacted';
import { VIEWS, daysOfHours, hoursOfDay, parseVersionManifest, parseViewsPointer, viewFileKey, viewUnits, type ViewsVersionManifest } from '../core/lake-views';
import { getText, listObjects } from '../core/s3';
import { readHighWaterMarks } from '../ingest/manifests';
import { listManifestKeys, readHourManifestAt } from './compaction-store';
import { duckStep, mapLimit } from './compaction';
import { matchSql, subjectSql } from './gdpr-sql';

export interface LocateDeps {
  s3: S3Client;
  bucket: string;
}

export interface LocateOptions {
  prefix: string;
  filter: RowFilter;
  /** Hours to scan whatever the manifests say (an erase's hours of earlier rounds). */
  alsoHours?: readonly HourRef[];
  /** Also scan the current views version (subject filters only: views carry user ids, not event times). */
  views: boolean;
  signal: AbortSignal;
  beat: (progress: unknown) => void;
}

/** Files per DuckDB statement: bounded statement size, and a heartbeat between statements. */
const SCAN_BATCH = 200;
const MANIFEST_READS_IN_FLIGHT = 8;

export async function locateRows(deps: LocateDeps, conn: DuckDBConnection, opts: LocateOptions): Promise<LocateResult> {
  const started = Date.now();
  const { s3, bucket } = deps;
  const { prefix, filter, signal, beat } = opts;
  beat({ phase: 'listing' });
  const [marks, rawObjects, manifestKeys] = await Promise.all([
    readHighWaterMarks(s3, bucket, prefix),
    listObjects(s3, bucket, rawRoot(prefix), signal),
    listManifestKeys(s3, bucket, prefix, signal),
  ]);
  const { committed, pending } = committedChunks(rawObjects, marks);
  const byHour = new Map<string, { hour: HourRef; committed: ListedChunk[]; pending: ListedChunk[] }>();
  const hourEntry = (h: HourRef) => {
    const label = hourLabel(h);
    let e = byHour.get(label);
    if (!e) byHour.set(label, (e = { hour: { dt: h.dt, hour: h.hour }, committed: [], pending: [] }));
    return e;
  };
  for (const c of committed) hourEntry(c.ref).committed.push(c);
  for (const c of pending) hourEntry(c.ref).pending.push(c);
  const versions = hourManifestVersions(manifestKeys);
  for (const list of versions.values()) hourEntry(list[0]);
  for (const h of opts.alsoHours ?? []) hourEntry(h);
  const also = new Set((opts.alsoHours ?? []).map(hourLabel));

  // Per hour: the tenants the filter may touch there, and what the manifest says of them.
  const candidates = [...byHour.entries()].filter(([, e]) => tenantsInScope(filter, e.hour).length > 0);
  const manifests = new Map<string, HourManifest | undefined>();
  let read = 0;
  await mapLimit(candidates.filter(([label]) => versions.has(label)), MANIFEST_READS_IN_FLIGHT, async ([label]) => {
    const list = versions.get(label)!;
    manifests.set(label, await readHourManifestAt(s3, bucket, list[list.length - 1].key));
    if (++read % 100 === 0) beat({ phase: 'reading manifests', read });
  });

  const rawUrls: string[] = [];
  const compactedUrls = new Set<string>();
  const scannedHours: HourRef[] = [];
  for (const [label, e] of candidates) {
    const tenants = tenantsInScope(filter, e.hour);
    const m = manifests.get(label);
    const known = m && sameInputs(m.inputs, e.committed) ? new Set(m.groups.flatMap((g) => g.tenants)) : undefined;
    const scanCommitted = also.has(label) || !known || tenants.some((t) => known.has(t));
    const files = [...(scanCommitted ? e.committed : []), ...e.pending].map((c) => s3Url(bucket, c.key));
    const compacted = m ? tenants.flatMap((t) => filesOfTenant(m, t)).map((f) => s3Url(bucket, f.key)) : [];
    if (files.length === 0 && compacted.length === 0 && !also.has(label)) continue;
    rawUrls.push(...files);
    for (const u of compacted) compactedUrls.add(u);
    scannedHours.push(e.hour);
  }

  const where = matchSql(filter);
  const rawCounts = await countPerFile(conn, rawUrls, where, signal, (done) => beat({ phase: 'scanning raw', done, of: rawUrls.length }));
  const compactedCounts = await countPerFile(conn, [...compactedUrls], where, signal, (done) => beat({ phase: 'scanning compacted', done, of: compactedUrls.size }));

  const byKey = new Map(rawObjects.map((o) => [o.key, o]));
  const keyOf = (url: string) => url.slice(`s3://${bucket}/`.length);
  const hit = (url: string, rows: number): ObjectHit => {
    const key = keyOf(url);
    const o = byKey.get(key);
    return { key, rows, etag: o?.etag ?? '', size: o?.size ?? 0 };
  };
  const pendingKeys = new Set(pending.map((c) => c.key));
  const rawHits = [...rawCounts].map(([url, rows]) => hit(url, rows)).sort(byKeyOrder);
  const result: LocateResult = {
    raw: rawHits.filter((h) => !pendingKeys.has(h.key)),
    pending: rawHits.filter((h) => pendingKeys.has(h.key)),
    compacted: [...compactedCounts].map(([url, rows]) => hit(url, rows)).sort(byKeyOrder),
    views: [],
    hours: [],
    viewsVersion: null,
    scanned: { hours: scannedHours.length, hoursPruned: byHour.size - scannedHours.length, raw: rawUrls.length, compacted: compactedUrls.size, views: 0 },
    ms: 0,
  };

  let viewsManifest: ViewsVersionManifest | undefined;
  if (opts.views && filter.kind === 'subject') {
    viewsManifest = await readCurrentViews(deps, prefix);
    result.viewsVersion = viewsManifest?.version ?? null;
    if (viewsManifest) {
      const scan = await viewFilesToScan(deps, conn, prefix, viewsManifest, scannedHours, signal);
      result.scanned.views = scan.length;
      for (const group of groupBy(scan, (f) => `${f.view}\u0000${f.anonymousId}`)) {
        const { view, anonymousId } = group[0];
        const urls = group.map((f) => s3Url(bucket, f.key));
        const counts = await countPerFile(conn, urls, subjectSql(filter.subject, { anonymousId }), signal, (done) => beat({ phase: `scanning ${view}`, done, of: urls.length }));
        const unitOf = new Map(group.map((f) => [s3Url(bucket, f.key), f.unit]));
        for (const [url, rows] of counts) result.views.push({ key: keyOf(url), view, unit: unitOf.get(url)!, rows });
      }
      result.views.sort(byKeyOrder);
    }
  }

  result.hours = hoursOfHits(result, viewsManifest);
  result.ms = Date.now() - started;
  return result;
}

/** The event hours whose recompaction and recomputation make the hits go away. */
export function hoursOfHits(found: Pick<LocateResult, 'raw' | 'pending' | 'compacted' | 'views'>, manifest?: Pick<ViewsVersionManifest, 'units'>): HourRef[] {
  const hours: HourRef[] = [];
  for (const h of [...found.raw, ...found.pending]) {
    const ref = parseRawChunkKey(h.key);
    if (ref) hours.push({ dt: ref.dt, hour: ref.hour });
  }
  for (const h of found.compacted) {
    const ref = parseCompactedFileKey(h.key);
    if (ref) hours.push({ dt: ref.dt, hour: ref.hour });
  }
  for (const v of found.views) {
    const m = /^(\d{4}-\d{2}-\d{2})(?:T(\d{2}))?$/.exec(v.unit);
    if (!m) continue;
    if (m[2] !== undefined) hours.push({ dt: m[1], hour: Number(m[2]) });
    else {
      // A day unit is rebuilt from its hour files whenever one of its hours is recomputed; with
      // no hour left in the version, recomputing hour 00 (empty) drops the day.
      const label = manifest ? hoursOfDay(manifest.units.hour, m[1])[0] : undefined;
      hours.push(label ? { dt: m[1], hour: Number(label.slice(11, 13)) } : { dt: m[1], hour: 0 });
    }
  }
  return uniqueHours(hours);
}

/** The current views version's manifest, or undefined when nothing is published. */
export async function readCurrentViews(deps: LocateDeps, prefix: string): Promise<ViewsVersionManifest | undefined> {
  const text = await getText(deps.s3, deps.bucket, viewsManifestKey(prefix));
  const pointer = text === undefined ? undefined : parseViewsPointer(text);
  if (!pointer?.manifest) return undefined;
  const body = await getText(deps.s3, deps.bucket, `${normalizePrefix(prefix)}${pointer.manifest}`);
  const manifest = body === undefined ? undefined : parseVersionManifest(body);
  return manifest?.version === pointer.version ? manifest : undefined;
}

interface ViewFile {
  view: string;
  unit: string;
  key: string;
  anonymousId: boolean;
}

/**
 * Files of the current version that may hold the subject: every view whose files carry
 * `tenant_id` and `user_id` (row views: user_activity, user_days, attribution, fraud), for the
 * units of the scanned hours and their days. Which views qualify is read from the files'
 * schemas, so a new row view is covered without a list to keep.
 */
async function viewFilesToScan(deps: LocateDeps, conn: DuckDBConnection, prefix: string, manifest: ViewsVersionManifest, hours: readonly HourRef[], signal: AbortSignal): Promise<ViewFile[]> {
  const labels = new Set(hours.map(hourLabel));
  const days = new Set(daysOfHours(hours));
  const out: ViewFile[] = [];
  for (const view of VIEWS) {
    const units = viewUnits(manifest, view).filter(([unit]) => (view.unit === 'hour' ? labels.has(unit) : view.unit === 'version' ? true : days.has(unit)));
    if (units.length === 0) continue;
    const keys = units.map(([unit, version]) => ({ unit, key: viewFileKey(prefix, view, version, unit) }));
    const columns = await duckStep(signal, async () =>
      new Set((await conn.runAndReadAll(`SELECT name FROM parquet_schema(${sqlLiteral(s3Url(deps.bucket, keys[0].key))})`)).getRowObjectsJson().map((r) => String(r.name))),
    );
    if (!columns.has('tenant_id') || !columns.has('user_id')) continue;
    for (const k of keys) out.push({ view: view.name, unit: k.unit, key: k.key, anonymousId: columns.has('anonymous_id') });
  }
  return out;
}

/** Matching rows per file (files without a match are absent), DuckDB over s3:// in batches. */
export async function countPerFile(conn: DuckDBConnection, urls: readonly string[], where: string, signal: AbortSignal, progress: (done: number) => void): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (let i = 0; i < urls.length; i += SCAN_BATCH) {
    const batch = urls.slice(i, i + SCAN_BATCH);
    const rows = await duckStep(signal, async () =>
      (
        await conn.runAndReadAll(`
          SELECT filename, count(*)::BIGINT AS n
          FROM read_parquet([${batch.map(sqlLiteral).join(', ')}], filename = true, union_by_name = true, hive_partitioning = false)
          WHERE ${where} GROUP BY filename`)
      ).getRowObjectsJson(),
    );
    for (const r of rows) out.set(String(r.filename), Number(r.n));
    progress(Math.min(urls.length, i + SCAN_BATCH));
  }
  return out;
}

function sameInputs(inputs: readonly InputChunk[], committed: readonly InputChunk[]): boolean {
  if (inputs.length !== committed.length) return false;
  const etags = new Map(inputs.map((i) => [i.key, i.etag]));
  return committed.every((c) => etags.get(c.key) === c.etag);
}

function groupBy<T>(items: readonly T[], key: (item: T) => string): T[][] {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    const g = groups.get(k);
    if (g) g.push(item);
    else groups.set(k, [item]);
  }
  return [...groups.values()];
}

const byKeyOrder = (a: { key: string }, b: { key: string }) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);

