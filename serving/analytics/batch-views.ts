// The batch half of the merge: the published views version (manifests/views/current.json and its
// version manifest), and the cells of a cells view over a time range for one tenant. View files
// are immutable (a version never rewrites a file), so each is downloaded once into a local cache
// and DuckDB reads the local copy: a query costs a local Parquet scan, not S3 round trips.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { DuckDBInstance } from '@duckdb/node-api';
import { sqlLiteral } from '../../core/duckdb';
import { normalizePrefix, viewsManifestKey } from '../../core/lake';
import { parseVersionManifest, parseViewsPointer, viewByName, viewFileKey, viewUnits, type ViewsVersionManifest } from '../../core/lake-views';
import { CELL_KEY_COLUMNS, cellFromSqlRow, MEASURES, type Cell, type MeasuresDeclaration } from '../../core/measures';
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
}

export interface BatchViews {
  /** The newest published version, or undefined before the first publish; `fresh` re-reads S3 now. */
  snapshot(fresh?: boolean): Promise<BatchSnapshot | undefined>;
  /** Cells of a cells view for a tenant with window_start in [fromUs, toUs), only the given parts read. */
  cells(snap: BatchSnapshot, view: string, tenant: string, fromUs: number, toUs: number, partNames: readonly string[]): Promise<Cell[]>;
  /**
   * The object keys of any view whose units (hour, day or feedback day) overlap [fromUs, toUs);
   * a version-unit view (cohorts_weekly) has its one file whatever the range. No I/O: callers
   * count them to plan (serving/analytics/jobs.ts) before reading.
   */
  unitKeys(snap: BatchSnapshot, view: string, fromUs: number, toUs: number): string[];
  /** Local copies of view objects (downloaded once, then read from the cache). */
  localFiles(keys: readonly string[]): Promise<string[]>;
}

const DOWNLOADS_IN_FLIGHT = 8;

export function createBatchViews(o: BatchViewsOptions): BatchViews {
  const decl = o.declaration ?? MEASURES;
  const prefix = normalizePrefix(o.prefix);
  const refreshMs = o.refreshMs ?? 1000;
  let cached: { at: number; pointerText: string | undefined; snap: BatchSnapshot | undefined } | undefined;
  let refreshing: Promise<BatchSnapshot | undefined> | undefined;
  const downloads = new Map<string, Promise<string>>();

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

  function unitKeys(snap: BatchSnapshot, viewName: string, fromUs: number, toUs: number): string[] {
    const view = viewByName(viewName);
    const units = viewUnits(snap.manifest, view);
    if (view.unit === 'version') return units.map(([unit, version]) => viewFileKey(prefix, view, version, unit));
    const unitUs = view.unit === 'hour' ? GRAIN_US.hour : GRAIN_US.day;
    return units
      .filter(([unit]) => {
        const startUs = Date.parse(view.unit === 'hour' ? `${unit}:00:00Z` : `${unit}T00:00:00Z`) * 1000;
        return startUs < toUs && startUs + unitUs > fromUs;
      })
      .map(([unit, version]) => viewFileKey(prefix, view, version, unit));
  }

  async function localFiles(keys: readonly string[]): Promise<string[]> {
    const files: string[] = [];
    for (let i = 0; i < keys.length; i += DOWNLOADS_IN_FLIGHT) files.push(...(await Promise.all(keys.slice(i, i + DOWNLOADS_IN_FLIGHT).map(local))));
    return files;
  }

  return {
    async snapshot(fresh = false) {
      if (!fresh && cached && Date.now() - cached.at < refreshMs) return cached.snap;
      refreshing ??= refresh().finally(() => (refreshing = undefined));
      return refreshing;
    },

    unitKeys,
    localFiles,

    async cells(snap, viewName, tenant, fromUs, toUs, partNames) {
      if (viewByName(viewName).kind !== 'cells') throw new RangeError(`${viewName} is not a cells view`);
      const keys = unitKeys(snap, viewName, fromUs, toUs);
      if (keys.length === 0) return [];
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
