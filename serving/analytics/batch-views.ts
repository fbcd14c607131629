// The batch half of the merge: the published views version (manifests/views/current.json and its
// version manifest), and the cells of a cells view over a time range for one tenant. View files
// are immutable (a version never rewrites a file), so each is downloaded once into a local cache
// and DuckDB reads the local copy: a query costs a local Parquet scan, not S3 round trips.
// Day-unit cells views (event_type_1d, country_1d, …: what a query over whole days reads) are also
// made resident: on first use, in the background, the view's day files of the snapshot are loaded
// into one DuckDB table sorted by tenant (its numeric parts only), and a query that asks only for
// numeric parts then reads the tenant's rows from it (row groups pruned by tenant) instead of
// scanning every day file for one tenant. A table is named by the set of files it holds, so a new
// version that keeps those files keeps the table; until a table is ready, the Parquet scan answers.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { DuckDBInstance } from '@duckdb/node-api';
import { sqlLiteral } from '../../core/duckdb';
import { normalizePrefix, viewsManifestKey } from '../../core/lake';
import { parseVersionManifest, parseViewsPointer, viewByName, viewFileKey, viewUnits, type ViewsVersionManifest } from '../../core/lake-views';
import { CELL_KEY_COLUMNS, cellFromSqlRow, MEASURES, type Cell, type MeasuresDeclaration, type PartValue } from '../../core/measures';
import { getText } from '../../core/s3';
import { GRAIN_US } from './query-model';

export interface BatchSnapshot {
  version: string;
  /** Partition → first offset not covered. */
  cut: Record<string, number>;
  publishedAt: string;
  manifest: ViewsVersionManifest;
}

export interface BatchViewsOptions {
  s3: S3Client;
  bucket: string;
  prefix: string;
  duck: DuckDBInstance;
  /** Local directory for downloaded view files. */
  cacheDir: string;
  /** The pointer is re-read when older than this (ms). */
  refreshMs?: number;
  declaration?: MeasuresDeclaration;
  /** Rows the resident day-view tables may hold in all (0: none resident, every query scans Parquet). Default 4,000,000. */
  residentMaxRows?: number;
  /** Failures of a background table load (the Parquet scan keeps answering). */
  onResidentError?: (err: unknown, view: string) => void;
}

export interface BatchViews {
  /** The newest published version, or undefined before the first publish; `fresh` re-reads S3 now. */
  snapshot(fresh?: boolean): Promise<BatchSnapshot | undefined>;
  /**
   * Cells of a cells view for a tenant with window_start in [fromUs, toUs), only the given parts
   * read (the other parts of a cell are placeholders: merge only the parts asked for).
   */
  cells(snap: BatchSnapshot, view: string, tenant: string, fromUs: number, toUs: number, partNames: readonly string[]): Promise<Cell[]>;
  /**
   * The object keys of any view whose units (hour, day or feedback day) overlap [fromUs, toUs);
   * a version-unit view (cohorts_weekly) has its one file whatever the range. No I/O: callers
   * count them to plan (serving/analytics/jobs.ts) before reading.
   */
  unitKeys(snap: BatchSnapshot, view: string, fromUs: number, toUs: number): string[];
  /** Local copies of view objects (downloaded once, then read from the cache). */
  localFiles(keys: readonly string[]): Promise<string[]>;
  /** Resolves once the resident table of a day-unit cells view of the snapshot is loaded (false: not eligible or failed). For warm-up and tests. */
  resident(snap: BatchSnapshot, view: string): Promise<boolean>;
  /** Stops loading and dropping resident tables (before the DuckDB that holds them is closed). */
  close(): void;
}

const DOWNLOADS_IN_FLIGHT = 8;
/** A replaced resident table is dropped this long after (queries that picked it finish first). */
const RESIDENT_DROP_AFTER_MS = 30_000;
/** A table that failed to load is tried again after this long (the Parquet scan answers meanwhile). */
const RESIDENT_RETRY_MS = 60_000;

interface ViewUnitIndex {
  /** A version-unit view: its one file whatever the range. */
  whole: boolean;
  startUs: number[];
  lengthUs: number;
  keys: string[];
  /** Every file of the view, sorted and joined (names a resident table). */
  identity: string;
}

/** The first index whose value is ≥ x (values ascending). */
function lowerBound(values: readonly number[], x: number): number {
  let lo = 0;
  let hi = values.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (values[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

interface ResidentTable {
  /** The files it holds, sorted and joined: its identity. */
  files: string;
  view: string;
  table: string;
  rows: number;
  usedAt: number;
  /** Settles once loaded (true) or not (false: failed, or over the row budget). */
  ready: Promise<boolean>;
  /** 'failed' is retried after RESIDENT_RETRY_MS; 'refused' (more rows than the budget) is not. */
  state: 'loading' | 'loaded' | 'failed' | 'refused';
  failedAt?: number;
}

export function createBatchViews(o: BatchViewsOptions): BatchViews {
  const decl = o.declaration ?? MEASURES;
  const prefix = normalizePrefix(o.prefix);
  const refreshMs = o.refreshMs ?? 1000;
  let cached: { at: number; pointerText: string | undefined; snap: BatchSnapshot | undefined } | undefined;
  let refreshing: Promise<BatchSnapshot | undefined> | undefined;
  const downloads = new Map<string, Promise<string>>();
  const residentMaxRows = o.residentMaxRows ?? 4_000_000;
  /** files identity → table; at most one loaded table per view is used (the newest). */
  const residents = new Map<string, ResidentTable>();
  const numericParts = decl.parts.filter((p) => p.kind !== 'hll' && p.kind !== 'digest').map((p) => p.name);
  const partIndex = new Map(decl.parts.map((p, i) => [p.name, i]));
  let tableSeq = 0;
  let closed = false;

  async function refresh(): Promise<BatchSnapshot | undefined> {
    const text = await getText(o.s3, o.bucket, viewsManifestKey(prefix));
    if (cached && text === cached.pointerText) {
      cached.at = Date.now();
      return cached.snap;
    }
    let snap: BatchSnapshot | undefined;
    if (text !== undefined) {
      const pointer = parseViewsPointer(text);
      if (!pointer?.manifest) throw new Error(`s3://${o.bucket}/${viewsManifestKey(prefix)} is not a views pointer`);
      const manifestText = await getText(o.s3, o.bucket, `${prefix}${pointer.manifest}`);
      const manifest = manifestText === undefined ? undefined : parseVersionManifest(manifestText);
      if (!manifest) throw new Error(`views version manifest ${pointer.manifest} is missing or invalid`);
      snap = { version: manifest.version, cut: manifest.cut, publishedAt: manifest.published_at, manifest };
    }
    cached = { at: Date.now(), pointerText: text, snap };
    return snap;
  }

  /** The local copy of an object, downloaded once (atomic rename, so a reader never sees half a file). */
  function local(key: string): Promise<string> {
    const file = path.join(o.cacheDir, key);
    let p = downloads.get(key);
    if (!p) {
      p = (async () => {
        if (fs.existsSync(file)) return file;
        fs.mkdirSync(path.dirname(file), { recursive: true });
        const out = await o.s3.send(new GetObjectCommand({ Bucket: o.bucket, Key: key }));
        const tmp = `${file}.${process.pid}.part`;
        fs.writeFileSync(tmp, await out.Body!.transformToByteArray());
        fs.renameSync(tmp, file);
        return file;
      })();
      downloads.set(key, p);
      p.catch(() => downloads.delete(key));
    }
    return p;
  }

  /** Per snapshot and view: its units' start times (ascending) and object keys, computed once (a request only searches them). */
  const unitIndex = new WeakMap<BatchSnapshot, Map<string, ViewUnitIndex>>();
  function unitsOf(snap: BatchSnapshot, viewName: string): ViewUnitIndex {
    let byView = unitIndex.get(snap);
    if (!byView) unitIndex.set(snap, (byView = new Map()));
    let idx = byView.get(viewName);
    if (!idx) {
      const view = viewByName(viewName);
      const units = viewUnits(snap.manifest, view);
      const keys = units.map(([unit, version]) => viewFileKey(prefix, view, version, unit));
      const lengthUs = view.unit === 'hour' ? GRAIN_US.hour : GRAIN_US.day;
      const startUs = view.unit === 'version' ? [] : units.map(([unit]) => Date.parse(view.unit === 'hour' ? `${unit}:00:00Z` : `${unit}T00:00:00Z`) * 1000);
      idx = { whole: view.unit === 'version', startUs, lengthUs, keys, identity: [...keys].sort().join('\n') };
      byView.set(viewName, idx);
    }
    return idx;
  }

  function unitKeys(snap: BatchSnapshot, viewName: string, fromUs: number, toUs: number): string[] {
    const idx = unitsOf(snap, viewName);
    if (idx.whole) return idx.keys.slice();
    // units overlapping [fromUs, toUs): start < toUs and start + length > fromUs (starts ascend)
    const first = lowerBound(idx.startUs, fromUs - idx.lengthUs + 1);
    const end = lowerBound(idx.startUs, toUs);
    return idx.keys.slice(first, Math.max(first, end));
  }

  async function localFiles(keys: readonly string[]): Promise<string[]> {
    const files: string[] = [];
    for (let i = 0; i < keys.length; i += DOWNLOADS_IN_FLIGHT) files.push(...(await Promise.all(keys.slice(i, i + DOWNLOADS_IN_FLIGHT).map(local))));
    return files;
  }

  const dropTimers = new Set<NodeJS.Timeout>();
  /** Drops a replaced table once queries that picked it are done (never after close: the DuckDB goes with its tables). */
  function dropLater(t: ResidentTable): void {
    residents.delete(t.files);
    const timer = setTimeout(() => {
      dropTimers.delete(timer);
      if (!closed) dropTable(t).catch((err: unknown) => o.onResidentError?.(err, t.view));
    }, RESIDENT_DROP_AFTER_MS);
    timer.unref();
    dropTimers.add(timer);
  }

  async function dropTable(t: ResidentTable): Promise<void> {
    if (residents.get(t.files) === t) residents.delete(t.files);
    await t.ready.catch(() => false);
    const conn = await o.duck.connect();
    try {
      await conn.run(`DROP TABLE IF EXISTS ${t.table}`);
    } finally {
      conn.closeSync();
    }
  }

  /** The resident table of a view's files, loading it in the background on first ask (undefined until loaded). */
  function residentTable(snap: BatchSnapshot, viewName: string): ResidentTable | undefined {
    if (residentMaxRows <= 0 || closed) return undefined;
    const view = viewByName(viewName);
    if (view.kind !== 'cells' || view.unit !== 'day') return undefined;
    const { keys, identity: files } = unitsOf(snap, viewName);
    if (keys.length === 0) return undefined;
    let t = residents.get(files);
    if (t?.state === 'failed' && Date.now() - (t.failedAt ?? 0) > RESIDENT_RETRY_MS) {
      residents.delete(files);
      t = undefined;
    }
    if (!t) {
      const table = `resident_${process.pid}_${++tableSeq}`;
      const entry: ResidentTable = { files, view: viewName, table, rows: 0, usedAt: Date.now(), state: 'loading', ready: Promise.resolve(false) };
      residents.set(files, entry);
      entry.ready = (async () => {
        const local = await localFiles(keys);
        const conn = await o.duck.connect();
        try {
          const columns = ['tenant_id', 'window_start_us', 'dimension', ...numericParts.map((p) => `"${p}"::DOUBLE AS "${p}"`)].join(', ');
          // sorted by tenant: each tenant's rows sit in few row groups, which the scan's zone maps pick
          await conn.run(`CREATE TABLE ${table} AS SELECT ${columns} FROM read_parquet([${local.map(sqlLiteral).join(', ')}]) ORDER BY tenant_id, window_start_us, dimension NULLS FIRST`);
          const counted = await conn.runAndReadAll(`SELECT count(*)::DOUBLE FROM ${table}`);
          entry.rows = Number(counted.getRows()[0][0]);
        } finally {
          conn.closeSync();
        }
        if (closed || residents.get(files) !== entry) {
          await dropTable(entry);
          return false;
        }
        if (entry.rows > residentMaxRows) {
          // kept as refused, so it is not loaded again for every query
          await dropTable(entry);
          entry.state = 'refused';
          entry.rows = 0;
          residents.set(files, entry);
          return false;
        }
        entry.state = 'loaded';
        // the view's older tables (other files: an older version) go once in-flight queries are done
        for (const other of [...residents.values()]) {
          if (other !== entry && other.view === viewName) dropLater(other);
        }
        // within the row budget: the least recently used tables of other views go
        let total = [...residents.values()].reduce((n, r) => n + r.rows, 0);
        for (const lru of [...residents.values()].filter((r) => r !== entry && r.state === 'loaded').sort((a, b) => a.usedAt - b.usedAt)) {
          if (total <= residentMaxRows) break;
          total -= lru.rows;
          dropLater(lru);
        }
        return true;
      })();
      entry.ready.catch((err: unknown) => {
        entry.state = 'failed';
        entry.failedAt = Date.now();
        o.onResidentError?.(err, viewName);
        // a half-made table goes; the entry stays until retried
        if (!closed) dropTable(entry).then(() => residents.set(files, entry), () => undefined);
      });
      return undefined;
    }
    if (t.state !== 'loaded') return undefined;
    t.usedAt = Date.now();
    return t;
  }

  return {
    async snapshot(fresh = false) {
      if (!fresh && cached && Date.now() - cached.at < refreshMs) return cached.snap;
      refreshing ??= refresh().finally(() => (refreshing = undefined));
      return refreshing;
    },

    unitKeys,
    localFiles,

    async resident(snap, viewName) {
      residentTable(snap, viewName);
      const t = residents.get(unitsOf(snap, viewName).identity);
      return t ? t.ready.catch(() => false) : false;
    },

    close() {
      closed = true;
      residents.clear();
      for (const t of dropTimers) clearTimeout(t);
      dropTimers.clear();
    },

    async cells(snap, viewName, tenant, fromUs, toUs, partNames) {
      if (viewByName(viewName).kind !== 'cells') throw new RangeError(`${viewName} is not a cells view`);
      const keys = unitKeys(snap, viewName, fromUs, toUs);
      if (keys.length === 0) return [];
      const t = partNames.every((p) => numericParts.includes(p)) ? residentTable(snap, viewName) : undefined;
      if (t) {
        const conn = await o.duck.connect();
        try {
          const reader = await conn.runAndReadAll(
            `SELECT window_start_us::DOUBLE, dimension${partNames.map((p) => `, "${p}"`).join('')} FROM ${t.table} WHERE tenant_id = $tenant AND window_start_us >= $from AND window_start_us < $to`,
            { tenant, from: BigInt(fromUs), to: BigInt(toUs) },
          );
          const indexes = partNames.map((p) => partIndex.get(p)!);
          return reader.getRows().map((row): Cell => {
            // parts not asked for are null placeholders (the merge reads only the parts it asked for)
            const parts: PartValue[] = new Array<PartValue>(decl.parts.length).fill(null);
            for (let i = 0; i < indexes.length; i++) parts[indexes[i]] = row[2 + i] as number | null;
            return { key: { rollup: viewName, tenant_id: tenant, window_start_us: row[0] as number, dimension: row[1] as string | null, partition: -1, bucket: -1 }, parts };
          });
        } finally {
          conn.closeSync();
        }
      }
      const files = await localFiles(keys);
      const columns = [...CELL_KEY_COLUMNS.map((c) => `"${c}"`), ...partNames.map((p) => `"${p}"`)].join(', ');
      const conn = await o.duck.connect();
      try {
        const reader = await conn.runAndReadAll(
          `SELECT ${columns} FROM read_parquet([${files.map(sqlLiteral).join(', ')}]) WHERE tenant_id = $tenant AND window_start_us >= $from AND window_start_us < $to`,
          { tenant, from: BigInt(fromUs), to: BigInt(toUs) },
        );
        return reader.getRowObjectsJson().map((row) => cellFromSqlRow(decl, row));
      } finally {
        conn.closeSync();
      }
    },
  };
}
