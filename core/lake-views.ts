// The batch views' layout contract (docs/lake.md "Batch views"): which views exist, where their
// files live, the views manifests, and the pure cut / plan / composition logic the activities
// (activities/views.ts) and their tests share. No I/O here, and nothing a workflow could not
// import: every layer derives names and plans the same way.
import { hourLabel, type HourRef } from './hours';
import { normalizePrefix, parseRawChunkKey, parseViewsManifest, type RawChunkRef, type ViewsManifest } from './lake';
import { MEASURES, type MeasuresDeclaration, type WindowSize } from './measures/declaration';

export const VIEWS_ROOT = 'views';
export const VIEWS_VERSIONS_ROOT = 'manifests/views/versions';
/** Completion records of a version under construction (one per hour, one for the day step). */
export const VIEWS_WORK_ROOT = 'manifests/views/work';
export const VIEWS_FORMAT = 1;

/**
 * What one file of a view covers, hence when it is recomputed:
 * - `hour`: one event hour (UTC) of all tenants, recomputed when a raw chunk of the hour holds
 *   offsets between the previous and the new cut;
 * - `day`: one UTC day, recomputed from the day's hour files when any of its hours is;
 * - `feedback_day`: one UTC day joined with the FEEDBACK_DAYS days after it, recomputed when any
 *   of those days is;
 * - `version`: the whole lake, recomputed from day files whenever anything changed.
 */
export type ViewUnit = 'hour' | 'day' | 'feedback_day' | 'version';

export type ViewKind =
  | 'cells'
  | 'session_steps'
  | 'funnel'
  | 'user_activity'
  | 'user_days'
  | 'cohorts'
  | 'attribution'
  | 'fraud_events'
  | 'fraud_labels';

export type ViewGrain = WindowSize | 'day' | 'week' | 'row';

export interface ViewDef {
  name: string;
  kind: ViewKind;
  unit: ViewUnit;
  grain: ViewGrain;
  description: string;
  /** Cells views: the declaration's rollup whose parts they carry. */
  rollup?: string;
  /** Cells views above the rollup's own window: the view they are merged from (same unit or an hour view). */
  mergedFrom?: string;
}

/** Funnel steps, in order, by `event_subtype` (the generator's shopper journey). */
export const FUNNEL_STEPS = ['page_view', 'add_to_cart', 'checkout', 'purchase'] as const;

/** The fraud labels join refunds of the same cart up to this many whole UTC days after the transaction's day. */
export const FEEDBACK_DAYS = 7;

const DAY_MS = 86_400_000;
const GRAIN_SUFFIX: Readonly<Record<'minute' | 'hour' | 'day', string>> = { minute: '1m', hour: '1h', day: '1d' };

/** `country_1m` → `country`: rollup names carry their window as a suffix, views their grain. */
function rollupBase(name: string): string {
  return name.replace(/_1[mh]$/, '');
}

/**
 * Every view of a declaration: each rollup at its own window and every coarser grain up to the
 * day, then the funnel, cohort, attribution and fraud views with the hour-level inputs they are
 * built from.
 */
export function viewCatalog(decl: MeasuresDeclaration = MEASURES): ViewDef[] {
  const views: ViewDef[] = [];
  for (const r of decl.rollups) {
    const base = rollupBase(r.name);
    const grains: ('minute' | 'hour' | 'day')[] = r.window === 'minute' ? ['minute', 'hour', 'day'] : ['hour', 'day'];
    let previous: string | undefined;
    for (const grain of grains) {
      const name = grain === r.window ? r.name : `${base}_${GRAIN_SUFFIX[grain]}`;
      views.push({
        name,
        kind: 'cells',
        unit: grain === 'day' ? 'day' : 'hour',
        grain,
        rollup: r.name,
        ...(previous ? { mergedFrom: previous } : {}),
        description: `${r.description}: cells (additive parts) per ${grain}`,
      });
      previous = name;
    }
  }
  views.push(
    { name: 'session_steps', kind: 'session_steps', unit: 'hour', grain: 'row', description: 'per tenant × session: which funnel steps the session reached in the hour (input of funnel_1d)' },
    { name: 'funnel_1d', kind: 'funnel', unit: 'day', grain: 'day', description: `per tenant × day × step: sessions that reached every step up to it (${FUNNEL_STEPS.join(' → ')})` },
    { name: 'user_activity', kind: 'user_activity', unit: 'hour', grain: 'row', description: 'per tenant × user: events, purchases, first purchase time in the hour (input of user_days)' },
    { name: 'user_days', kind: 'user_days', unit: 'day', grain: 'day', description: 'per tenant × user × day: events, purchases, first purchase time (input of cohorts_weekly)' },
    { name: 'cohorts_weekly', kind: 'cohorts', unit: 'version', grain: 'week', description: 'per tenant × first-purchase week × weeks since: users active' },
    { name: 'attribution_purchases', kind: 'attribution', unit: 'hour', grain: 'row', description: 'one row per purchase: revenue and its touchpoint journey' },
    { name: 'fraud_events', kind: 'fraud_events', unit: 'hour', grain: 'row', description: 'one row per payment attempt, purchase, refund or scored event: model score and payment features' },
    { name: 'fraud_labels_1d', kind: 'fraud_labels', unit: 'feedback_day', grain: 'row', description: `one row per payment attempt or purchase of the day, joined with refunds of its cart within ${FEEDBACK_DAYS} days` },
  );
  const names = views.map((v) => v.name);
  const clash = names.find((n, i) => names.indexOf(n) !== i);
  if (clash) throw new Error(`views: two views named ${clash} (rollup names must differ in more than their window suffix)`);
  return views;
}

/** The views of THE declaration. */
export const VIEWS: readonly ViewDef[] = viewCatalog(MEASURES);

export function viewByName(name: string, views: readonly ViewDef[] = VIEWS): ViewDef {
  const v = views.find((x) => x.name === name);
  if (!v) throw new RangeError(`unknown view ${name}`);
  return v;
}

// ---------------------------------------------------------------------------------------------
// Names

const VERSION_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const DT = /^\d{4}-\d{2}-\d{2}$/;

/** Version names become path segments: letters, digits, `.`, `_`, `-`. */
export function isVersionName(v: unknown): v is string {
  return typeof v === 'string' && VERSION_NAME.test(v);
}

export function isDt(dt: unknown): dt is string {
  return typeof dt === 'string' && DT.test(dt) && new Date(`${dt}T00:00:00Z`).toISOString().slice(0, 10) === dt;
}

/** The unit key of a file: an hour label (`2026-01-05T10`), a day (`2026-01-05`) or '' (version). */
export type UnitKey = string;

/**
 * `<prefix>views/<view>/version=<V>/dt=<D>/hour=<HH>/data.parquet` (hour views),
 * `…/version=<V>/dt=<D>/data.parquet` (day views), `…/version=<V>/data.parquet` (version views):
 * Hive-style, so `read_parquet(…, hive_partitioning = true)` adds version, dt and hour columns.
 */
export function viewFileKey(prefix: string, view: ViewDef, version: string, unit: UnitKey): string {
  if (!isVersionName(version)) throw new RangeError(`invalid views version ${JSON.stringify(version)}`);
  const root = `${normalizePrefix(prefix)}${VIEWS_ROOT}/${view.name}/version=${version}`;
  switch (view.unit) {
    case 'hour': {
      const m = /^(\d{4}-\d{2}-\d{2})T(\d{2})$/.exec(unit);
      if (!m || !isDt(m[1]) || Number(m[2]) > 23) throw new RangeError(`invalid hour ${JSON.stringify(unit)}`);
      return `${root}/dt=${m[1]}/hour=${m[2]}/data.parquet`;
    }
    case 'day':
    case 'feedback_day':
      if (!isDt(unit)) throw new RangeError(`invalid day ${JSON.stringify(unit)}`);
      return `${root}/dt=${unit}/data.parquet`;
    case 'version':
      return `${root}/data.parquet`;
  }
}

/** `<prefix>views/<view>/version=<V>/`: everything one version wrote for a view. */
export function viewVersionRoot(prefix: string, view: string, version: string): string {
  return `${normalizePrefix(prefix)}${VIEWS_ROOT}/${view}/version=${version}/`;
}

export function versionManifestKey(prefix: string, version: string): string {
  if (!isVersionName(version)) throw new RangeError(`invalid views version ${JSON.stringify(version)}`);
  return `${normalizePrefix(prefix)}${VIEWS_VERSIONS_ROOT}/${version}.json`;
}

/**
 * Where computeViewsHour records that an hour of a version is complete; the name says whether
 * the hour had rows below the cut, so one listing tells the publisher both.
 */
export function hourRecordKey(prefix: string, version: string, h: HourRef, empty: boolean): string {
  return `${workRoot(prefix, version)}hours/${hourLabel(h)}${empty ? '.empty' : ''}.json`;
}

/** Parses a key of hourRecordKey; undefined for anything else. */
export function parseHourRecordKey(key: string): { label: string; empty: boolean } | undefined {
  const m = /\/hours\/(\d{4}-\d{2}-\d{2}T\d{2})(\.empty)?\.json$/.exec(key);
  return m ? { label: m[1], empty: m[2] !== undefined } : undefined;
}

export function hourRecordsRoot(prefix: string, version: string): string {
  return `${workRoot(prefix, version)}hours/`;
}

/** Where computeViewsDays records the day-level and version-level files it wrote. */
export function daysRecordKey(prefix: string, version: string): string {
  return `${workRoot(prefix, version)}days.json`;
}

function workRoot(prefix: string, version: string): string {
  if (!isVersionName(version)) throw new RangeError(`invalid views version ${JSON.stringify(version)}`);
  return `${normalizePrefix(prefix)}${VIEWS_WORK_ROOT}/${version}/`;
}

// ---------------------------------------------------------------------------------------------
// Manifests

/** The units of a published version and the version whose files hold each. */
export interface ViewUnits {
  /** Hour label → version. Hours absent here have no rows below the cut. */
  hour: Record<string, string>;
  /** Day → version (day views). */
  day: Record<string, string>;
  /** Day → version (fraud_labels_1d). */
  feedback_day: Record<string, string>;
  /** The version holding the version-unit views (cohorts_weekly), null while the lake is empty. */
  version: string | null;
}

/**
 * `manifests/views/versions/<V>.json`: one published version, kept as history. A version
 * references unchanged units of earlier versions instead of copying them, so its files are
 * `viewFileKeys(prefix, manifest, view)`.
 */
export interface ViewsVersionManifest {
  format: typeof VIEWS_FORMAT;
  version: string;
  /** Partition → first offset NOT covered (views cover exactly `_offset < cut[p]`). */
  cut: Record<string, number>;
  offset_bucket_size: number;
  /** core/measures declaration version the cells were computed with. */
  measures_version: number;
  created_at: string;
  published_at: string;
  /** The version this one was composed on (null for the first). */
  previous: { version: string; cut: Record<string, number> } | null;
  /** The units this version computed (the rest are referenced from earlier versions). */
  recomputed: { hours: string[]; days: string[]; feedback_days: string[]; cohorts: boolean };
  units: ViewUnits;
  /** The views and how their files are cut, for readers that do not import this module. */
  views: Record<string, { unit: ViewUnit; grain: ViewGrain; kind: ViewKind }>;
}

/**
 * `manifests/views/current.json`, the atomic pointer: what core/lake.ts `parseViewsManifest` reads
 * (version, cut, published_at — the speed layer drops its cells below this cut) plus where the
 * version's manifest is.
 */
export interface ViewsPointer extends ViewsManifest {
  format: typeof VIEWS_FORMAT;
  published_at: string;
  created_at: string;
  /** The version manifest's key, relative to the lake prefix. */
  manifest: string;
  offset_bucket_size: number;
}

export function pointerOf(m: ViewsVersionManifest): ViewsPointer {
  return {
    format: VIEWS_FORMAT,
    version: m.version,
    cut: m.cut,
    published_at: m.published_at,
    created_at: m.created_at,
    manifest: versionManifestKey('', m.version),
    offset_bucket_size: m.offset_bucket_size,
  };
}

/** The pointer, or undefined when the text is no views manifest. Older pointers (version + cut only) parse too. */
export function parseViewsPointer(text: string): (ViewsManifest & Partial<Omit<ViewsPointer, keyof ViewsManifest>>) | undefined {
  const base = parseViewsManifest(text);
  if (!base) return undefined;
  const value = JSON.parse(text) as Partial<ViewsPointer>;
  return {
    ...base,
    ...(typeof value.created_at === 'string' ? { created_at: value.created_at } : {}),
    ...(typeof value.manifest === 'string' ? { manifest: value.manifest } : {}),
    ...(Number.isSafeInteger(value.offset_bucket_size) ? { offset_bucket_size: value.offset_bucket_size } : {}),
  };
}

/** Reads a version manifest defensively; undefined when the JSON is not one. */
export function parseVersionManifest(text: string): ViewsVersionManifest | undefined {
  const base = parseViewsManifest(text);
  if (!base) return undefined;
  const v = JSON.parse(text) as Partial<ViewsVersionManifest>;
  const u = v.units;
  const stringMap = (x: unknown): x is Record<string, string> => typeof x === 'object' && x !== null && Object.values(x).every(isVersionName);
  if (v.format !== VIEWS_FORMAT || !u || !stringMap(u.hour) || !stringMap(u.day) || !stringMap(u.feedback_day)) return undefined;
  if (u.version !== null && !isVersionName(u.version)) return undefined;
  if (!Number.isSafeInteger(v.offset_bucket_size) || !v.recomputed || typeof v.views !== 'object' || v.views === null) return undefined;
  return v as ViewsVersionManifest;
}

/** The unit keys a view's files cover in a version, each with the version holding it. */
export function viewUnits(manifest: Pick<ViewsVersionManifest, 'units'>, view: ViewDef): [UnitKey, string][] {
  const u = manifest.units;
  switch (view.unit) {
    case 'hour':
      return Object.entries(u.hour).sort(byKey);
    case 'day':
      return Object.entries(u.day).sort(byKey);
    case 'feedback_day':
      return Object.entries(u.feedback_day).sort(byKey);
    case 'version':
      return u.version === null ? [] : [['', u.version]];
  }
}

/** Every object key that makes up a view in a published version. */
export function viewFileKeys(prefix: string, manifest: Pick<ViewsVersionManifest, 'units'>, view: ViewDef | string): string[] {
  const def = typeof view === 'string' ? viewByName(view) : view;
  return viewUnits(manifest, def).map(([unit, version]) => viewFileKey(prefix, def, version, unit));
}

const byKey = (a: [string, string], b: [string, string]) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0);

// ---------------------------------------------------------------------------------------------
// Cut and plan

export type Cut = Record<string, number>;

/**
 * A cut from untrusted input (an activity argument): partition keys of digits, offsets safe
 * non-negative integers. Throws a RangeError naming the problem.
 */
export function validateCut(cut: unknown): Cut {
  if (typeof cut !== 'object' || cut === null || Array.isArray(cut)) throw new RangeError('cut: expected an object of partition → offset');
  const out: Cut = {};
  for (const [p, o] of Object.entries(cut)) {
    if (!/^\d+$/.test(p)) throw new RangeError(`cut: partition ${JSON.stringify(p)} is not a partition number`);
    if (!Number.isSafeInteger(o) || (o as number) < 0) throw new RangeError(`cut: offset ${JSON.stringify(o)} of partition ${p} is not a non-negative integer`);
    out[String(Number(p))] = o as number;
  }
  return out;
}

/**
 * The next cut: per partition the high-water mark rounded down to a multiple of B (the speed
 * layer's offset buckets), never below the current cut (a published cut only moves forward) and
 * never above the mark (only durable offsets are covered; the current cut is ≤ the mark since the
 * mark only grows).
 */
export function alignCut(highWater: Cut, offsetBucketSize: number, current: Cut = {}): Cut {
  if (!Number.isSafeInteger(offsetBucketSize) || offsetBucketSize < 1) throw new RangeError(`offset bucket size ${offsetBucketSize} is not a positive integer`);
  const out: Cut = {};
  for (const p of new Set([...Object.keys(highWater), ...Object.keys(current)])) {
    const aligned = Math.floor((highWater[p] ?? 0) / offsetBucketSize) * offsetBucketSize;
    out[p] = Math.max(aligned, current[p] ?? 0);
  }
  return sortCut(out);
}

/** Why `next` would move the published cut back, or undefined when it does not. */
export function cutRegression(current: Cut, next: Cut): string | undefined {
  for (const [p, o] of Object.entries(current)) {
    if ((next[p] ?? 0) < o) return `partition ${p}: cut ${next[p] ?? 'absent'} is behind the published ${o}`;
  }
  return undefined;
}

export function sortCut(cut: Cut): Cut {
  return Object.fromEntries(Object.entries(cut).sort((a, b) => Number(a[0]) - Number(b[0])));
}

/** Chunks a view at `cut` reads: those holding any offset below the cut of their partition. */
export function chunksBelowCut<T extends Pick<RawChunkRef, 'partition' | 'startOffset'>>(chunks: readonly T[], cut: Cut): T[] {
  return chunks.filter((c) => c.startOffset < (cut[String(c.partition)] ?? 0));
}

/**
 * The event hours whose view input differs between two cuts: the hours of every raw chunk that
 * holds an offset in [previous[p], next[p]) of its partition (names carry the chunk's offset range,
 * so no object is read). With `full`, every hour with a chunk below `next`. A chunk that
 * straddles the previous cut makes every hour it touches count as changed, though only some of
 * its rows are new: a superset, never a miss.
 */
export function changedHours(keysOrChunks: readonly (string | RawChunkRef)[], previous: Cut, next: Cut, full = false): HourRef[] {
  const seen = new Map<string, HourRef>();
  for (const k of keysOrChunks) {
    const c = typeof k === 'string' ? parseRawChunkKey(k) : k;
    if (!c) continue;
    const p = String(c.partition);
    const hi = next[p] ?? 0;
    const lo = full ? 0 : Math.min(previous[p] ?? 0, hi);
    if (c.startOffset < hi && c.endOffset >= lo) {
      const h = { dt: c.dt, hour: c.hour };
      seen.set(hourLabel(h), h);
    }
  }
  return [...seen.keys()].sort().map((k) => seen.get(k)!);
}

/** Distinct days of the hours, sorted. */
export function daysOfHours(hours: readonly HourRef[]): string[] {
  return [...new Set(hours.map((h) => h.dt))].sort();
}

export function addDays(dt: string, n: number): string {
  return new Date(Date.parse(`${dt}T00:00:00Z`) + n * DAY_MS).toISOString().slice(0, 10);
}

export function dayStartUs(dt: string): number {
  if (!isDt(dt)) throw new RangeError(`invalid day ${JSON.stringify(dt)}`);
  return Date.parse(`${dt}T00:00:00Z`) * 1000;
}

/** The fraud-label days whose join window [d, d + FEEDBACK_DAYS] contains a changed day. */
export function feedbackDaysOf(changedDays: readonly string[], feedbackDays = FEEDBACK_DAYS): string[] {
  const out = new Set<string>();
  for (const d of changedDays) for (let k = 0; k <= feedbackDays; k++) out.add(addDays(d, -k));
  return [...out].sort();
}

/** The hour labels of a day present in a units map. */
export function hoursOfDay(hourUnits: Record<string, string>, dt: string): string[] {
  return Object.keys(hourUnits).filter((label) => label.startsWith(`${dt}T`)).sort();
}

/** What the steps of one version computed: each unit with whether it holds rows. */
export interface ComputedUnits {
  hours: { label: string; empty: boolean }[];
  days?: { dt: string; empty: boolean }[];
  feedbackDays?: { dt: string; empty: boolean }[];
  /** Whether the version-unit views were recomputed (and hold rows). */
  cohorts?: { empty: boolean };
}

/**
 * The units of a new version: the base version's, with every recomputed unit pointing at the
 * new version, or removed when it is now empty. Correct whenever the base's cut is ≤ the new cut
 * and every hour with input in between was recomputed: an hour without new input has the same
 * rows at both cuts, so the base's file for it is the new version's file.
 */
export function composeUnits(base: ViewUnits | undefined, version: string, computed: ComputedUnits): ViewUnits {
  const out: ViewUnits = {
    hour: { ...(base?.hour ?? {}) },
    day: { ...(base?.day ?? {}) },
    feedback_day: { ...(base?.feedback_day ?? {}) },
    version: base?.version ?? null,
  };
  const apply = (map: Record<string, string>, units: { key: string; empty: boolean }[]) => {
    for (const u of units) {
      if (u.empty) delete map[u.key];
      else map[u.key] = version;
    }
  };
  apply(out.hour, computed.hours.map((h) => ({ key: h.label, empty: h.empty })));
  apply(out.day, (computed.days ?? []).map((d) => ({ key: d.dt, empty: d.empty })));
  apply(out.feedback_day, (computed.feedbackDays ?? []).map((d) => ({ key: d.dt, empty: d.empty })));
  if (computed.cohorts) out.version = computed.cohorts.empty ? null : version;
  const sorted = (m: Record<string, string>) => Object.fromEntries(Object.entries(m).sort(byKey));
  return { hour: sorted(out.hour), day: sorted(out.day), feedback_day: sorted(out.feedback_day), version: out.version };
}

// ---------------------------------------------------------------------------------------------
// Sweeping old versions

/** An object of a listing, as much as the sweep needs. */
export interface SweepObject {
  key: string;
  /** Epoch ms. */
  lastModified: number;
}

export interface ViewsSweepInput {
  prefix: string;
  /** Every object under `<prefix>views/`. */
  viewFiles: readonly SweepObject[];
  /** Every object under `<prefix>manifests/views/work/`. */
  workObjects: readonly SweepObject[];
  /** The published versions' manifests the sweep read (at least those of versions that still have files, and the current one). */
  manifests: readonly Pick<ViewsVersionManifest, 'version' | 'published_at' | 'units' | 'views'>[];
  /** The version the pointer names now (undefined: nothing published yet, so nothing is swept). */
  current: string | undefined;
  nowMs: number;
  /** How long a replaced version stays readable after the one replacing it was published. */
  graceMs: number;
  /** How long an unpublished version's files wait (a run still computing, or one that failed). */
  orphanGraceMs: number;
}

export interface ViewsSweepPlan {
  deleteKeys: string[];
  /** Versions whose manifests keep their files (and the files of earlier versions they reference). */
  retained: string[];
  /** Files deleted because no retained version references them any more. */
  superseded: number;
  /** Files of versions never published, older than the orphan grace. */
  orphans: number;
  /** Unreferenced files still within a grace period. */
  waiting: number;
}

const VERSION_IN_KEY = /\/version=([^/]+)\//;
const WORK_VERSION_IN_KEY = /manifests\/views\/work\/([^/]+)\//;

/**
 * Which view files and work records can go. A reader holds a pointer for at most `graceMs`, so
 * the versions it may be reading are those published within the grace and the one that was
 * current when the grace began; every file any of them references stays (a version references
 * the unchanged units of earlier versions, so "old" files are often still live). Everything else
 * of a published version goes at once; files of a version never published (a run still computing,
 * or one that failed) go only when nothing of it was written for `orphanGraceMs`. Version
 * manifests are kept as history.
 */
export function planViewsSweep(input: ViewsSweepInput): ViewsSweepPlan {
  const plan: ViewsSweepPlan = { deleteKeys: [], retained: [], superseded: 0, orphans: 0, waiting: 0 };
  if (input.current === undefined) return plan;
  const published = [...input.manifests].sort((a, b) => Date.parse(a.published_at) - Date.parse(b.published_at));
  const publishedNames = new Set(published.map((m) => m.version));
  if (!publishedNames.has(input.current)) return plan; // the current manifest was not read: touch nothing
  const since = input.nowMs - input.graceMs;
  const recent = published.filter((m) => Date.parse(m.published_at) >= since);
  const currentAtGraceStart = published.filter((m) => Date.parse(m.published_at) < since).at(-1);
  const retained = [...recent, ...(currentAtGraceStart ? [currentAtGraceStart] : []), published.find((m) => m.version === input.current)!];
  plan.retained = [...new Set(retained.map((m) => m.version))].sort();

  const referenced = new Set<string>();
  for (const m of retained) {
    for (const [name, v] of Object.entries(m.views)) {
      for (const [unit, version] of viewUnits(m, { name, unit: v.unit } as ViewDef)) referenced.add(viewFileKey(input.prefix, { name, unit: v.unit } as ViewDef, version, unit));
    }
  }

  // the newest write of each unpublished version, over its view files and its work records
  const lastWrite = new Map<string, number>();
  const versionOf = (key: string, re: RegExp) => re.exec(key)?.[1];
  for (const [objects, re] of [[input.viewFiles, VERSION_IN_KEY], [input.workObjects, WORK_VERSION_IN_KEY]] as const) {
    for (const o of objects) {
      const v = versionOf(o.key, re);
      if (v !== undefined && !publishedNames.has(v)) lastWrite.set(v, Math.max(lastWrite.get(v) ?? 0, o.lastModified));
    }
  }
  const orphanExpired = (v: string) => input.nowMs - (lastWrite.get(v) ?? 0) >= Math.max(input.graceMs, input.orphanGraceMs);
  const retainedNames = new Set(plan.retained);

  for (const f of input.viewFiles) {
    const v = versionOf(f.key, VERSION_IN_KEY);
    if (v === undefined || !isVersionName(v) || referenced.has(f.key)) continue;
    if (publishedNames.has(v)) {
      plan.deleteKeys.push(f.key);
      plan.superseded += 1;
    } else if (orphanExpired(v)) {
      plan.deleteKeys.push(f.key);
      plan.orphans += 1;
    } else plan.waiting += 1;
  }
  // work records only matter while a version is computed and published
  for (const o of input.workObjects) {
    const v = versionOf(o.key, WORK_VERSION_IN_KEY);
    if (v === undefined || !isVersionName(v) || retainedNames.has(v)) continue;
    if (publishedNames.has(v) || orphanExpired(v)) plan.deleteKeys.push(o.key);
  }
  return plan;
}
