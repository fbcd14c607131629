// Batch views at an offset cut (DESIGN "The one rule that makes the merge exact"; docs/lake.md
// "Batch views"). A run: chooseCut → planViews → computeViewsHour for each planned hour →
// computeViewsDays → publishViews. DuckDB reads the hour's raw chunks on S3 directly (or its
// compacted files, deduplicated already, when their manifest covers exactly the raw chunks below
// the cut: core/views-sql.ts compactedCoversHour) and writes the views (hour views to local
// files, each uploaded while the next is computed; day views straight to s3://); a view file is
// a pure function of (view, unit, rows below the cut), written under a deterministic name, so
// every activity is idempotent and a retry simply overwrites.
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { activityInfo, ApplicationFailure, cancellationSignal, heartbeat, log } from '@temporalio/activity';
import { s3Url } from '../core/duckdb';
import { RtapError } from '../core/errors';
import { hourLabel, type HourRef } from '../core/hours';
import { normalizePrefix, parseRawChunkKey, rawHourPrefix, rawRoot, viewsManifestKey } from '../core/lake';
import {
  addDays,
  alignCut,
  changedHours,
  chunksBelowCut,
  composeUnits,
  cutRegression,
  daysOfHours,
  daysRecordKey,
  FEEDBACK_DAYS,
  feedbackDaysOf,
  hourRecordKey,
  hourRecordsRoot,
  hoursOfDay,
  isDt,
  isVersionName,
  parseHourRecordKey,
  parseVersionManifest,
  parseViewsPointer,
  planViewsSweep,
  pointerOf,
  sortCut,
  validateCut,
  versionManifestKey,
  VIEWS,
  VIEWS_FORMAT,
  VIEWS_ROOT,
  VIEWS_WORK_ROOT,
  viewFileKey,
  type ComputedUnits,
  type Cut,
  type ViewDef,
  type ViewsVersionManifest,
  type ViewUnits,
} from '../core/lake-views';
import { DEFAULT_OFFSET_BUCKET_SIZE, MEASURES } from '../core/measures';
import { deleteKeys, getText, getTextWithEtag, listObjects, putJson, putJsonIfUnchanged } from '../core/s3';
import {
  attributionSql,
  cellsDayViewSql,
  cellsHourViewSql,
  cohortsSql,
  compactedFilesCovering,
  fraudEventsSql,
  fraudLabelsSql,
  funnelDaySql,
  hourCellsFromEventsSql,
  hourEventsSql,
  hourRowsSql,
  sessionStepsSql,
  userActivitySql,
  userDaysSql,
} from '../core/views-sql';
import { readHighWaterMarks } from '../ingest/manifests';
import { durationOf, mapLimit } from './compaction';
import { readCurrentHourManifest } from './compaction-store';

export interface ViewsDeps {
  s3: S3Client;
  bucket: string;
  /** The worker's lake DuckDB (core/duckdb openLakeDuckDb): one instance, a connection per call. */
  lake: DuckDBInstance;
  /** B of the speed layer's offset buckets (its `--offset-bucket-size`): cuts are multiples of it. */
  offsetBucketSize?: number;
  /** The sweep's clock (tests move it forward); default Date.now. */
  nowMs?: () => number;
  /**
   * Read an hour's compacted files instead of its raw chunks when its compaction manifest covers
   * exactly the raw chunks below the cut (core/views-sql.ts compactedCoversHour). Default true;
   * false always reads raw (the benchmark compares the two).
   */
  readCompacted?: boolean;
}

export interface SweepViewsInput {
  prefix?: string;
  /** How long a replaced version stays readable after the one replacing it was published. */
  graceMs: number;
  /** How long files of a version never published wait (default 24 h: a long backfill is still writing). */
  orphanGraceMs?: number;
}

export interface SweepViewsResult {
  deleted: number;
  superseded: number;
  orphans: number;
  waiting: number;
  retained: string[];
  ms: number;
}

/** Unpublished versions' files outlive any run still computing them (a backfill can take hours). */
export const VIEWS_ORPHAN_GRACE_MS = 24 * 3_600_000;

/** A published views version: its name and cut. */
export interface PublishedRef {
  version: string;
  cut: Cut;
}

export interface ChooseCutInput {
  prefix?: string;
  /** Default: the worker's configured B (ViewsDeps.offsetBucketSize). */
  offsetBucketSize?: number;
}

export interface ChooseCutResult {
  /** Partition → first offset not covered: the high-water mark rounded down to B, never below `previous.cut`. */
  cut: Cut;
  /** The sink's high-water mark the cut was taken from. */
  highWater: Cut;
  offsetBucketSize: number;
  previous: PublishedRef | null;
}

export interface PlanViewsInput {
  prefix?: string;
  cut: Cut;
  /** Recompute every hour with rows below the cut. */
  full?: boolean;
}

export interface PlanViewsResult {
  /** Event hours to recompute, sorted. */
  hours: HourRef[];
  /** Their days (the day views computeViewsDays will recompute). */
  days: string[];
  /** True when every hour is planned (asked for, no usable previous version, or it was computed with another declaration). */
  full: boolean;
  /** Why the plan is full when it was not asked for. */
  fullReason?: string;
  previous: PublishedRef | null;
  /** Raw chunk objects listed. */
  chunks: number;
}

export interface ComputeViewsHourInput {
  prefix?: string;
  version: string;
  cut: Cut;
  dt: string;
  hour: number;
}

export interface ComputeViewsHourResult {
  hour: string;
  /** Raw chunks of the hour holding offsets below the cut. */
  chunks: number;
  /** What was read: the raw chunks, or the hour's compacted files when they cover those chunks exactly. */
  source?: 'raw' | 'compacted';
  /** Objects read (the raw chunks, or the compacted files). */
  objects?: number;
  /** Rows below the cut after deduplication; 0 means the hour has no views. */
  rows: number;
  files: number;
  ms: number;
  /** Where the time went: listing, reading raw (scan, cut, dedup), cells, writing the files (COPY to local files, uploads overlapped), the record. */
  phasesMs?: { list: number; rows: number; cells: number; write: number; record: number };
}

export interface ComputeViewsDaysInput {
  prefix?: string;
  version: string;
  cut: Cut;
  /** Every hour computeViewsHour ran for in this version (the planned and the forced ones). */
  hours: HourRef[];
}

export interface ComputeViewsDaysResult {
  days: string[];
  feedbackDays: string[];
  /** Whether cohorts_weekly was rewritten (always, when any hour was recomputed). */
  cohorts: boolean;
  files: number;
  ms: number;
}

export interface PublishViewsInput {
  prefix?: string;
  version: string;
  cut: Cut;
  /** The same hours computeViewsDays was given. */
  hours: HourRef[];
  /** The B the cut was aligned to (recorded in the manifest); default: the worker's. */
  offsetBucketSize?: number;
}

export type PublishViewsResult =
  | { published: true; version: string; cut: Cut; manifest: string; hours: number; recomputedHours: number; alreadyPublished: boolean }
  | { published: false; reason: string };

/** What computeViewsDays leaves for publishViews. */
interface DaysRecord {
  format: typeof VIEWS_FORMAT;
  version: string;
  cut: Cut;
  created_at: string;
  base: PublishedRef | null;
  computed: ComputedUnits;
}

interface ViewsState {
  pointer: ReturnType<typeof parseViewsPointer>;
  etag: string | undefined;
  manifest: ViewsVersionManifest | undefined;
}

const HOUR_VIEWS = VIEWS.filter((v) => v.unit === 'hour');
const DAY_VIEWS = VIEWS.filter((v) => v.unit === 'day');
const FEEDBACK_VIEWS = VIEWS.filter((v) => v.unit === 'feedback_day');
const VERSION_VIEWS = VIEWS.filter((v) => v.unit === 'version');
const PARQUET = '(FORMAT parquet, COMPRESSION zstd)';
/** Hour view files uploaded at once while the next ones are written (computeViewsHour). */
const UPLOADS_IN_FLIGHT = 4;
/** Well inside the workflow's 2-minute heartbeat timeout (docs/batch-layer.md). */
const HEARTBEAT_EVERY_MS = 20_000;

export function createViewsActivities(deps: ViewsDeps) {
  const { s3, bucket, lake } = deps;
  const defaultB = deps.offsetBucketSize ?? DEFAULT_OFFSET_BUCKET_SIZE;
  const now = deps.nowMs ?? Date.now;
  const readCompacted = deps.readCompacted ?? true;
  const url = (key: string) => s3Url(bucket, key);

  async function readState(prefix: string, signal?: AbortSignal): Promise<ViewsState> {
    const current = await getTextWithEtag(s3, bucket, viewsManifestKey(prefix), signal);
    if (!current) return { pointer: undefined, etag: undefined, manifest: undefined };
    const pointer = parseViewsPointer(current.text);
    if (!pointer) throw new RtapError(`s3://${bucket}/${viewsManifestKey(prefix)} is not a views manifest`);
    const text = pointer.manifest ? await getText(s3, bucket, `${normalizePrefix(prefix)}${pointer.manifest}`) : undefined;
    const manifest = text === undefined ? undefined : parseVersionManifest(text);
    return { pointer, etag: current.etag, manifest: manifest?.version === pointer.version ? manifest : undefined };
  }

  /**
   * Runs `work` on a fresh connection of the lake DuckDB. `beat` heartbeats progress; the last
   * progress is repeated every HEARTBEAT_EVERY_MS, since one statement (a big hour's scan, the
   * cohorts over every day) can outlast the heartbeat timeout. Cancellation interrupts the query.
   */
  async function withConnection<T>(work: (conn: DuckDBConnection, beat: (progress: unknown) => void) => Promise<T>): Promise<T> {
    const conn = await lake.connect();
    const signal = cancellationSignal();
    const interrupt = () => conn.interrupt();
    signal.addEventListener('abort', interrupt);
    let last: unknown;
    const beat = (progress: unknown) => {
      last = progress;
      heartbeat(progress);
    };
    const ticker = setInterval(() => heartbeat(last), HEARTBEAT_EVERY_MS);
    try {
      return await work(conn, beat);
    } finally {
      clearInterval(ticker);
      signal.removeEventListener('abort', interrupt);
      conn.closeSync();
    }
  }

  async function putFile(key: string, file: string, signal: AbortSignal): Promise<void> {
    const body = await fs.readFile(file);
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: 'application/vnd.apache.parquet' }), { abortSignal: signal });
  }

  async function copy(conn: DuckDBConnection, sql: string, key: string): Promise<void> {
    await conn.run(`COPY (${sql}) TO '${url(key).replace(/'/g, "''")}' ${PARQUET}`);
  }

  return {
    async chooseCut(input: ChooseCutInput = {}): Promise<ChooseCutResult> {
      return boundary(async () => {
        const prefix = prefixOf(input);
        const B = input.offsetBucketSize ?? defaultB;
        if (!Number.isSafeInteger(B) || B < 1) throw invalid(`offsetBucketSize must be a positive integer, got ${B}`);
        const [highWater, state] = await Promise.all([readHighWaterMarks(s3, bucket, prefix), readState(prefix, cancellationSignal())]);
        const previous = state.pointer ? { version: state.pointer.version, cut: state.pointer.cut } : null;
        return { cut: alignCut(highWater, B, previous?.cut), highWater: sortCut(highWater), offsetBucketSize: B, previous };
      });
    },

    async planViews(input: PlanViewsInput): Promise<PlanViewsResult> {
      return boundary(async () => {
        const prefix = prefixOf(input);
        const cut = cutOf(input.cut);
        const signal = cancellationSignal();
        const state = await readState(prefix, signal);
        const previous = state.pointer ? { version: state.pointer.version, cut: state.pointer.cut } : null;
        let fullReason: string | undefined;
        if (!input.full && state.pointer) {
          if (!state.manifest) fullReason = `the published version ${state.pointer.version} has no readable version manifest`;
          else if (state.manifest.measures_version !== MEASURES.version) fullReason = `the published version was computed with measures version ${state.manifest.measures_version}, this worker has ${MEASURES.version}`;
          else if (state.manifest.format !== VIEWS_FORMAT) fullReason = `the published version has views format ${state.manifest.format}`;
        }
        const full = input.full === true || fullReason !== undefined || !state.pointer;
        heartbeat({ step: 'listing raw chunks' });
        const keys = (await listObjects(s3, bucket, rawRoot(prefix), signal)).map((o) => o.key);
        const hours = changedHours(keys, previous?.cut ?? {}, cut, full);
        return { hours, days: daysOfHours(hours), full, ...(fullReason ? { fullReason } : {}), previous, chunks: keys.length };
      });
    },

    async computeViewsHour(input: ComputeViewsHourInput): Promise<ComputeViewsHourResult> {
      return boundary(async () => {
        const started = Date.now();
        const prefix = prefixOf(input);
        const version = versionOf(input.version);
        const cut = cutOf(input.cut);
        const h = hourOf(input);
        const label = hourLabel(h);
        const signal = cancellationSignal();
        const [listed, compaction] = await Promise.all([
          listObjects(s3, bucket, rawHourPrefix(prefix, h), signal),
          readCompacted ? readCurrentHourManifest(s3, bucket, prefix, h, signal) : undefined,
        ]);
        const chunks = chunksBelowCut(
          listed.flatMap((o) => {
            const ref = parseRawChunkKey(o.key);
            return ref ? [{ ...ref, key: o.key }] : [];
          }),
          cut,
        );
        // The compacted files when they hold exactly the rows of those chunks (deduplicated already)
        const compactedFiles = compactedFilesCovering(compaction?.manifest, listed, cut);
        const source = compactedFiles.length > 0 ? ('compacted' as const) : ('raw' as const);
        const objects = source === 'compacted' ? compactedFiles : chunks.map((c) => c.key);
        const record = async (rows: number, files: string[]) =>
          putJson(s3, bucket, hourRecordKey(prefix, version, h, rows === 0), { format: VIEWS_FORMAT, version, hour: label, cut, chunks: chunks.length, source, objects: objects.length, rows, files, computed_at: new Date().toISOString() });
        if (chunks.length === 0) {
          await record(0, []);
          return { hour: label, chunks: 0, source, objects: 0, rows: 0, files: 0, ms: Date.now() - started };
        }
        const listedAt = Date.now();
        const tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'rtap-views-'));
        try {
          return await withConnection(async (conn, beat) => {
            const phasesMs = { list: listedAt - started, rows: 0, cells: 0, write: 0, record: 0 };
            let t = Date.now();
            const lap = (phase: keyof typeof phasesMs) => {
              const now = Date.now();
              phasesMs[phase] += now - t;
              t = now;
            };
            const stmts = hourStatements(objects.map(url), cutMap(cut), { compacted: source === 'compacted' });
            beat({ hour: label, step: `reading ${source}`, chunks: chunks.length, objects: objects.length });
            await conn.run(stmts.rows);
            const rows = Number((await conn.runAndReadAll('SELECT count(*)::BIGINT AS n FROM hour_rows')).getRowObjectsJson()[0].n);
            lap('rows');
            if (rows === 0) {
              await record(0, []);
              return { hour: label, chunks: chunks.length, source, objects: objects.length, rows: 0, files: 0, ms: Date.now() - started, phasesMs };
            }
            for (const st of stmts.setup) await conn.run(st.sql);
            lap('cells');
            // Each file is written locally by DuckDB, then uploaded (one PUT) while the next ones
            // are computed: a COPY straight to s3:// waits for its multipart upload before the
            // next statement can start. Same Parquet writer, same names.
            const files: string[] = [];
            const uploads = uploader(UPLOADS_IN_FLIGHT);
            try {
              for (const v of stmts.views) {
                const key = viewFileKey(prefix, byName(v.view), version, label);
                const file = path.join(tmp, `${v.view}.parquet`);
                await conn.run(`COPY (${v.sql}) TO '${file.replace(/'/g, "''")}' ${PARQUET}`);
                uploads.add(async () => {
                  await putFile(key, file, signal);
                  files.push(key);
                  beat({ hour: label, step: 'writing views', done: files.length, of: stmts.views.length });
                });
              }
            } catch (err) {
              await uploads.settle(); // none left reading the files removed below
              throw err;
            }
            await uploads.done();
            lap('write');
            // the record last: its presence says every file of the hour is written
            await record(rows, stmts.views.map((v) => viewFileKey(prefix, byName(v.view), version, label)));
            lap('record');
            return { hour: label, chunks: chunks.length, source, objects: objects.length, rows, files: files.length, ms: Date.now() - started, phasesMs };
          });
        } finally {
          await fs.rm(tmp, { recursive: true, force: true });
        }
      });
    },

    async computeViewsDays(input: ComputeViewsDaysInput): Promise<ComputeViewsDaysResult> {
      return boundary(async () => {
        const started = Date.now();
        const prefix = prefixOf(input);
        const version = versionOf(input.version);
        const cut = cutOf(input.cut);
        const hours = hoursOf(input.hours);
        const signal = cancellationSignal();
        const state = await readState(prefix, signal);
        const computedHours = await hourRecords(prefix, version, hours, signal);
        const hourUnits = composeUnits(state.manifest?.units, version, { hours: computedHours }).hour;
        const days = daysOfHours(hours);
        const feedbackDays = feedbackDaysOf(days);
        // A retry resumes after the units its previous attempt finished (files are overwritten anyway).
        const resumed = new Set<string>((activityInfo().heartbeatDetails as { done?: string[] } | undefined)?.done ?? []);
        const done: string[] = [...resumed];
        const computed: ComputedUnits & Required<Pick<ComputedUnits, 'days' | 'feedbackDays'>> = { hours: computedHours, days: [], feedbackDays: [] };
        let files = 0;
        const hourFiles = (view: string, labels: string[]) => labels.map((l) => url(viewFileKey(prefix, byName(view), hourUnits[l], l)));

        await withConnection(async (conn, beat) => {
          const progress = (unit: string) => {
            done.push(unit);
            beat({ done, of: days.length + feedbackDays.length + 1 });
          };
          beat({ done, of: days.length + feedbackDays.length + 1 });
          for (const dt of days) {
            const labels = hoursOfDay(hourUnits, dt);
            computed.days.push({ dt, empty: labels.length === 0 });
            if (labels.length === 0 || resumed.has(`day ${dt}`)) continue;
            for (const view of DAY_VIEWS) {
              await copy(conn, dayViewSql(view, dt, (from) => hourFiles(from, labels)), viewFileKey(prefix, view, version, dt));
              files++;
            }
            progress(`day ${dt}`);
          }
          for (const dt of feedbackDays) {
            const labels = hoursOfDay(hourUnits, dt);
            computed.feedbackDays.push({ dt, empty: labels.length === 0 });
            if (labels.length === 0 || resumed.has(`feedback ${dt}`)) continue;
            const window = Array.from({ length: FEEDBACK_DAYS + 1 }, (_, k) => hoursOfDay(hourUnits, addDays(dt, k))).flat();
            for (const view of FEEDBACK_VIEWS) {
              await copy(conn, fraudLabelsSql(dt, hourFiles('fraud_events', labels), hourFiles('fraud_events', window)), viewFileKey(prefix, view, version, dt));
              files++;
            }
            progress(`feedback ${dt}`);
          }
          // nothing changed, nothing to redo: the base's cohorts stay
          if (hours.length === 0) return;
          const dayUnits = composeUnits(state.manifest?.units, version, { hours: [], days: computed.days }).day;
          const userDays = Object.entries(dayUnits).map(([dt, v]) => url(viewFileKey(prefix, byName('user_days'), v, dt)));
          computed.cohorts = { empty: userDays.length === 0 };
          if (userDays.length > 0) {
            for (const view of VERSION_VIEWS) {
              await copy(conn, cohortsSql(userDays), viewFileKey(prefix, view, version, ''));
              files++;
            }
          }
          progress('cohorts');
        });
        const record: DaysRecord = {
          format: VIEWS_FORMAT,
          version,
          cut,
          created_at: new Date().toISOString(),
          base: state.pointer ? { version: state.pointer.version, cut: state.pointer.cut } : null,
          computed,
        };
        await putJson(s3, bucket, daysRecordKey(prefix, version), record);
        return { days, feedbackDays: computed.feedbackDays.filter((d) => !d.empty).map((d) => d.dt), cohorts: computed.cohorts?.empty === false, files, ms: Date.now() - started };
      });
    },

    async publishViews(input: PublishViewsInput): Promise<PublishViewsResult> {
      return boundary(async () => {
        const prefix = prefixOf(input);
        const version = versionOf(input.version);
        const cut = cutOf(input.cut);
        const hours = hoursOf(input.hours);
        const B = input.offsetBucketSize ?? defaultB;
        if (!Number.isSafeInteger(B) || B < 1) throw invalid(`offsetBucketSize must be a positive integer, got ${B}`);
        const signal = cancellationSignal();
        const state = await readState(prefix, signal);
        if (state.pointer?.version === version) {
          // a retry after the pointer was written: done already
          return published(state.manifest, version, cut, prefix, true);
        }
        const regression = state.pointer ? cutRegression(state.pointer.cut, cut) : undefined;
        if (regression) return { published: false, reason: `a later cut was published meanwhile (${state.pointer!.version}): ${regression}` };

        let computed: ComputedUnits = { hours: [] };
        let createdAt = new Date().toISOString();
        if (hours.length > 0) {
          const text = await getText(s3, bucket, daysRecordKey(prefix, version));
          const record = text === undefined ? undefined : (JSON.parse(text) as DaysRecord);
          if (!record || record.version !== version) {
            throw ApplicationFailure.nonRetryable(`views version ${version}: computeViewsDays has not run; run it after every computeViewsHour and before publishViews`, 'ViewsIncomplete');
          }
          const recorded = new Set(record.computed.hours.map((x) => x.label));
          const missing = hours.map(hourLabel).filter((l) => !recorded.has(l));
          if (missing.length > 0) throw ApplicationFailure.nonRetryable(`views version ${version}: computeViewsDays did not see hours ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? '…' : ''}`, 'ViewsIncomplete');
          if (JSON.stringify(sortCut(record.cut)) !== JSON.stringify(sortCut(cut))) throw invalid(`views version ${version} was computed at another cut`);
          computed = record.computed;
          createdAt = record.created_at;
        }
        const units: ViewUnits = composeUnits(state.manifest?.units, version, computed);
        const now = new Date().toISOString();
        const manifest: ViewsVersionManifest = {
          format: VIEWS_FORMAT,
          version,
          cut: sortCut(cut),
          offset_bucket_size: B,
          measures_version: MEASURES.version,
          created_at: createdAt,
          published_at: now,
          previous: state.pointer ? { version: state.pointer.version, cut: state.pointer.cut } : null,
          recomputed: {
            hours: computed.hours.map((x) => x.label),
            days: (computed.days ?? []).map((d) => d.dt),
            feedback_days: (computed.feedbackDays ?? []).map((d) => d.dt),
            cohorts: computed.cohorts !== undefined,
          },
          units,
          views: Object.fromEntries(VIEWS.map((v) => [v.name, { unit: v.unit, grain: v.grain, kind: v.kind }])),
        };
        // history first, then the pointer: a reader that sees the pointer finds the manifest
        await putJson(s3, bucket, versionManifestKey(prefix, version), manifest);
        const swapped = await putJsonIfUnchanged(s3, bucket, viewsManifestKey(prefix), pointerOf(manifest), state.etag, signal);
        if (!swapped) return { published: false, reason: 'manifests/views/current.json changed while publishing' };
        return published(manifest, version, cut, prefix, false);
      });
    },

    /**
     * Deletes view files no version a reader may still hold references, and work records of
     * versions done with (core/lake-views.ts planViewsSweep). Reads the manifests of the versions
     * that still have files (the others are history only), so each run's cost follows what is
     * left to sweep, not the whole history.
     */
    async sweepViews(input: SweepViewsInput): Promise<SweepViewsResult> {
      return boundary(async () => {
        const started = now();
        const prefix = prefixOf(input);
        const graceMs = durationOf(input.graceMs, 'graceMs');
        const orphanGraceMs = input.orphanGraceMs === undefined ? VIEWS_ORPHAN_GRACE_MS : durationOf(input.orphanGraceMs, 'orphanGraceMs');
        const signal = cancellationSignal();
        const root = normalizePrefix(prefix);
        const [state, viewFiles, workObjects] = await Promise.all([
          readState(prefix, signal),
          listObjects(s3, bucket, `${root}${VIEWS_ROOT}/`, signal),
          listObjects(s3, bucket, `${root}${VIEWS_WORK_ROOT}/`, signal),
        ]);
        heartbeat({ phase: 'reading manifests', files: viewFiles.length });
        const withFiles = new Set(viewFiles.map((f) => /\/version=([^/]+)\//.exec(f.key)?.[1]).filter(isVersionName));
        if (state.pointer) withFiles.add(state.pointer.version);
        const manifests: ViewsVersionManifest[] = [];
        await mapLimit([...withFiles], 8, async (v) => {
          const text = await getText(s3, bucket, versionManifestKey(prefix, v));
          const m = text === undefined ? undefined : parseVersionManifest(text);
          if (m?.version === v) manifests.push(m);
        });
        const plan = planViewsSweep({ prefix, viewFiles, workObjects, manifests, current: state.manifest?.version, nowMs: now(), graceMs, orphanGraceMs });
        heartbeat({ phase: 'deleting', keys: plan.deleteKeys.length });
        await deleteKeys(s3, bucket, plan.deleteKeys);
        const result: SweepViewsResult = { deleted: plan.deleteKeys.length, superseded: plan.superseded, orphans: plan.orphans, waiting: plan.waiting, retained: plan.retained, ms: now() - started };
        log.info('views sweep', { prefix, ...result, retained: result.retained.length });
        return result;
      });
    },
  };

  async function hourRecords(prefix: string, version: string, hours: HourRef[], signal: AbortSignal): Promise<{ label: string; empty: boolean }[]> {
    const listed = new Map<string, boolean>();
    for (const o of await listObjects(s3, bucket, hourRecordsRoot(prefix, version), signal)) {
      const r = parseHourRecordKey(o.key);
      if (r) listed.set(r.label, r.empty);
    }
    const missing = hours.map(hourLabel).filter((l) => !listed.has(l));
    if (missing.length > 0) {
      throw ApplicationFailure.nonRetryable(`views version ${version}: computeViewsHour has not completed ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? '…' : ''}`, 'ViewsIncomplete');
    }
    return hours.map((h) => ({ label: hourLabel(h), empty: listed.get(hourLabel(h))! }));
  }
}


/**
 * Runs added tasks, at most `limit` at a time, in the order added. settle() waits for all of them;
 * done() also throws the first failure (after the others settled, so none is left running).
 */
function uploader(limit: number): { add: (task: () => Promise<void>) => void; settle: () => Promise<PromiseSettledResult<void>[]>; done: () => Promise<void> } {
  let active = 0;
  const waiting: (() => void)[] = [];
  const all: Promise<void>[] = [];
  const acquire = async () => {
    if (active < limit) active++;
    else await new Promise<void>((resolve) => waiting.push(resolve)); // the releaser hands its slot over
  };
  const release = () => {
    const next = waiting.shift();
    if (next) next();
    else active--;
  };
  const settle = () => Promise.allSettled(all);
  return {
    add(task) {
      const run = (async () => {
        await acquire();
        try {
          await task();
        } finally {
          release();
        }
      })();
      run.catch(() => undefined); // reported by done()
      all.push(run);
    },
    settle,
    async done() {
      const failed = (await settle()).find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
    },
  };
}

/** The statements of one hour's views, in order (computeViewsHour runs them; bench/batch/profile.ts times them). */
export interface HourStatements {
  /** Creates the temp table `hour_rows`: the hour's deduplicated rows below the cut (from raw chunks, or compacted files: `files`). */
  rows: string;
  /** Temp tables the views are read from, once `hour_rows` has rows. */
  setup: { label: string; sql: string }[];
  /** One query per hour view, in VIEWS order. */
  views: { view: string; sql: string }[];
}

export function hourStatements(files: readonly string[], cut: ReadonlyMap<number, number>, opts: { compacted?: boolean } = {}): HourStatements {
  return {
    rows: `CREATE OR REPLACE TEMP TABLE hour_rows AS ${hourRowsSql(files, cut, opts)}`,
    setup: [
      { label: 'hour_events', sql: `CREATE OR REPLACE TEMP TABLE hour_events AS ${hourEventsSql(MEASURES, 'hour_rows')}` },
      { label: 'hour_cells', sql: `CREATE OR REPLACE TEMP TABLE hour_cells AS ${hourCellsFromEventsSql(MEASURES, 'hour_events')}` },
    ],
    views: HOUR_VIEWS.map((view) => ({ view: view.name, sql: hourViewSql(view) })),
  };
}

function hourViewSql(view: ViewDef): string {
  switch (view.kind) {
    case 'cells':
      return cellsHourViewSql(MEASURES, view, 'hour_cells');
    case 'session_steps':
      return sessionStepsSql('hour_rows');
    case 'user_activity':
      return userActivitySql('hour_rows');
    case 'attribution':
      return attributionSql('hour_rows');
    case 'fraud_events':
      return fraudEventsSql('hour_rows');
    default:
      throw new Error(`${view.name} is not an hour view`);
  }
}

function dayViewSql(view: ViewDef, dt: string, filesOf: (view: string) => string[]): string {
  switch (view.kind) {
    case 'cells':
      return cellsDayViewSql(MEASURES, view, filesOf(view.mergedFrom!));
    case 'funnel':
      return funnelDaySql(dt, filesOf('session_steps'));
    case 'user_days':
      return userDaysSql(dt, filesOf('user_activity'));
    default:
      throw new Error(`${view.name} is not a day view`);
  }
}

function published(manifest: ViewsVersionManifest | undefined, version: string, cut: Cut, prefix: string, already: boolean): PublishViewsResult {
  return {
    published: true,
    version,
    cut: sortCut(cut),
    manifest: versionManifestKey(prefix, version),
    hours: manifest ? Object.keys(manifest.units.hour).length : 0,
    recomputedHours: manifest ? manifest.recomputed.hours.length : 0,
    alreadyPublished: already,
  };
}

function byName(name: string): ViewDef {
  return VIEWS.find((v) => v.name === name)!;
}

function invalid(message: string): ApplicationFailure {
  return ApplicationFailure.nonRetryable(message, 'InvalidInput');
}

function prefixOf(input: { prefix?: unknown }): string {
  if (input.prefix !== undefined && typeof input.prefix !== 'string') throw invalid('prefix must be a string');
  return input.prefix ?? '';
}

function versionOf(v: unknown): string {
  if (!isVersionName(v)) throw invalid(`version ${JSON.stringify(v)} is not a version name (letters, digits, ".", "_", "-"; at most 128)`);
  return v;
}

function cutOf(cut: unknown): Cut {
  try {
    return sortCut(validateCut(cut));
  } catch (err) {
    throw invalid((err as Error).message);
  }
}

const cutMap = (cut: Cut) => new Map(Object.entries(cut).map(([p, o]) => [Number(p), o]));

function hourOf(h: { dt: unknown; hour: unknown }): HourRef {
  if (!isDt(h.dt) || !Number.isInteger(h.hour) || (h.hour as number) < 0 || (h.hour as number) > 23) {
    throw invalid(`not an event hour: dt ${JSON.stringify(h.dt)}, hour ${JSON.stringify(h.hour)}`);
  }
  return { dt: h.dt, hour: h.hour as number };
}

function hoursOf(hours: unknown): HourRef[] {
  if (!Array.isArray(hours)) throw invalid('hours must be a list of {dt, hour}');
  const byLabel = new Map(hours.map((h) => hourOf(h as HourRef)).map((h) => [hourLabel(h), h]));
  return [...byLabel.keys()].sort().map((k) => byLabel.get(k)!);
}

/**
 * The activity boundary: bad input and non-retriable rtap errors fail for good; everything else
 * (S3, DuckDB I/O, retriable rtap errors) is left to the retry policy.
 */
async function boundary<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (err instanceof ApplicationFailure) throw err;
    if (err instanceof RtapError) throw err.retriable ? ApplicationFailure.retryable(err.message, err.name) : ApplicationFailure.nonRetryable(err.message, err.name);
    throw err;
  }
}
