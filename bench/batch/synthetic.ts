// Fast synthetic raw lake for the batch and serving benchmarks: whole days of raw chunks in the
// sink's exact format (core/lake.ts RAW_COLUMNS, rawChunkKey names, partition records and the
// high-water mark), generated in DuckDB SQL and written straight to s3:// — about 20–50× faster
// than ingest/lay-down.ts, which pushes every event's JSON through the sink's flatten SQL.
//
// How the rows are made:
// - A few thousand TEMPLATE events come from the real generator (generator/, steady state after a
//   warm-up, no defects), flattened by the sink's own SQL (ingest/flatten.ts). Every synthetic row
//   copies one template (picked by a hash): event type and subtype, source system, page type,
//   device, browser, OS, country/region/city, currency, payment method and provider, category,
//   carrier, experiments, touchpoints, LCP, fraud score and amounts (scaled by 0.6–1.4) — so the
//   columns keep the generator's proportions and their joint distribution within an event.
// - Tenants are the generator's world (the same ids `t_00000…`, Zipf(1.07) shares, per-tenant user
//   pools); users are drawn as the generator draws them (pool × u², returning shoppers first), 15 %
//   of sessions are guests (no user_id). Sessions have ~10 events (exponential), 15–25 s apart,
//   starting at the generator's DIURNAL hour weights (applied to the UTC hour here; the generator
//   applies them to each shopper's local hour).
// - Identifiers are per row: event_id (UUID-shaped), session_id, anonymous_id, device fingerprint,
//   cart id, payment token, merchant id of the tenant. `event_json` is the template's JSON with the
//   row's tenant_id, event_id and event time spliced in at the top (the template's nested ids stay),
//   so objects have realistic sizes (~3.5 KB of JSON per event, ~370–390 B of zstd Parquet per row,
//   as the sink writes generator traffic).
// - Defects as in generator traffic: 2 % late events (1 min–2 h before arrival, never before the
//   day), 0.2 % duplicates (the previous event of the session again, at the next offset), 0.6 % of
//   offsets rejected (the sink's dead letters: an offset, no row).
// - Kafka placement: partition = hash(tenant:user) mod P (the same key rule as the API, not
//   kafkajs' murmur2), offsets consecutive per partition in arrival order. Chunks are what the sink
//   flushes: every `flushMs` of arrival time (default 30 s, the sink's), cut earlier at its row and
//   byte caps; one object per chunk, partition and event hour, rows sorted by tenant_id,
//   event_time, _offset, zstd — the sink's COPY.
// What differs from generator traffic: journeys are not ordered within a session (a session's
// subtypes are independent draws), fraud campaigns are not reproduced as campaigns (their events are
// among the templates in their share), the JSON body is shared with the template apart from the
// spliced fields, and sessions that would run past midnight wrap to the day's start.
import * as os from 'node:os';
import * as path from 'node:path';
import * as fs from 'node:fs/promises';
import type { S3Client } from '@aws-sdk/client-s3';
import type { DuckDBConnection } from '@duckdb/node-api';
import { openLakeDuckDb, s3Url, sqlLiteral, type OpenDuckDb } from '../../core/duckdb';
import type { S3Config } from '../../core/config';
import { RAW_COLUMNS, rawChunkKey } from '../../core/lake';
import { DIURNAL } from '../../generator/catalog';
import { EventGenerator } from '../../generator/generator';
import { World } from '../../generator/world';
import { encodeInputLine, flattenToParquet, prepareConnection, writeInputFile } from '../../ingest/flatten';
import { createManifestStore, readHighWaterMarks } from '../../ingest/manifests';

export interface SyntheticDeps {
  s3: S3Client;
  s3Config: S3Config;
  bucket: string;
  cacheDir: string;
}

export interface SyntheticOptions {
  prefix: string;
  partitions: number;
  /** First UTC day, YYYY-MM-DD. */
  firstDay: string;
  days: number;
  /** Messages (Kafka offsets) per day, rejects and duplicates included. */
  eventsPerDay: number;
  tenants?: number;
  users?: number;
  seed?: number;
  /** The sink's flush interval over arrival time (default 30 s). */
  flushMs?: number;
  lateRate?: number;
  duplicateRate?: number;
  rejectRate?: number;
  /** Pads each partition with rejected offsets up to a multiple of this (a high-water mark a cut can equal). */
  alignTo?: number;
  /** Template events taken from the generator. */
  templates?: number;
  /** DuckDB threads and memory for generating (not a measured phase). */
  threads?: number;
  memoryLimit?: string;
  /** S3 COPYs in flight. */
  writers?: number;
  onProgress?: (line: string) => void;
}

export interface SyntheticResult {
  messages: number;
  rows: number;
  /** Rejected offsets, padding included. */
  rejected: number;
  /** Rejected offsets added so each partition ends at a multiple of alignTo. */
  padding: number;
  duplicates: number;
  late: number;
  chunks: number;
  objects: number;
  /** Per partition: the next offset after the last (the published high-water mark). */
  highWater: Record<string, number>;
  ms: number;
  phasesMs: { templates: number; plan: number; write: number };
}

const DAY_US = 86_400_000_000;
/** The message index standing for "the session itself" in random draws (sessions are shorter). */
const SESSION = 511;
/** One integer per (session, message, purpose): < 2^41 for 2^26 sessions. */
const key = (sid: string, j: string | number, k: number) => `((${sid} * 512 + ${j}) * 64 + ${k})`;
const HOUR_US = 3_600_000_000;
/** The sink's caps per flush (ingest/sink.ts defaults). */
const SINK_MAX_ROWS = 50_000;
const SINK_MAX_BYTES = 64 * 1024 * 1024;
const MEAN_SESSION_EVENTS = 10;
const MAX_SESSION_EVENTS = 400;

export async function layDownSynthetic(deps: SyntheticDeps, options: SyntheticOptions): Promise<SyntheticResult> {
  const started = Date.now();
  const o = {
    tenants: 1000,
    users: 50_000,
    seed: 1,
    flushMs: 30_000,
    lateRate: 0.02,
    duplicateRate: 0.002,
    rejectRate: 0.006,
    templates: 4000,
    threads: 2,
    memoryLimit: '3GB',
    writers: 4,
    ...options,
  };
  const log = o.onProgress ?? (() => undefined);
  if (!/^\d{4}-\d{2}-\d{2}$/.test(o.firstDay)) throw new RangeError(`firstDay ${o.firstDay} is not YYYY-MM-DD`);
  const db = await openLakeDuckDb({ threads: o.threads, memoryLimit: o.memoryLimit, s3: deps.s3Config, cacheDir: deps.cacheDir });
  const tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'rtap-synthetic-'));
  const phasesMs = { templates: 0, plan: 0, write: 0 };
  try {
    const c = db.connection;
    await prepareConnection(c);
    let t0 = Date.now();
    const avgJson = await loadTemplates(c, tmp, o.templates, o.seed, o.tenants, o.users);
    await loadWorld(c, o.tenants, o.users, o.seed);
    phasesMs.templates = Date.now() - t0;
    log(`[synthetic] ${o.templates} templates from the generator (avg event ${avgJson} B) in ${phasesMs.templates} ms`);

    t0 = Date.now();
    const startOffsets = await readHighWaterMarks(deps.s3, deps.bucket, o.prefix);
    const cap = Math.max(1, Math.min(SINK_MAX_ROWS, Math.floor(SINK_MAX_BYTES / avgJson)));
    await planMessages(c, { ...o, startOffsets, cap });
    const objects = (
      await c.runAndReadAll(`SELECT obj, p, dt, hour, start_off, end_off, rows FROM objs ORDER BY obj`)
    ).getRowObjectsJson().map((r) => ({
      obj: Number(r.obj),
      key: rawChunkKey(o.prefix, { dt: String(r.dt), hour: Number(r.hour), partition: Number(r.p), startOffset: Number(r.start_off), endOffset: Number(r.end_off) }),
      rows: Number(r.rows),
    }));
    const [stats] = (
      await c.runAndReadAll(`SELECT count(*)::BIGINT AS messages, count(*) FILTER (WHERE reject)::BIGINT AS rejected, count(*) FILTER (WHERE mid < 0)::BIGINT AS padding,
        count(*) FILTER (WHERE NOT reject AND e <> j)::BIGINT AS duplicates, count(*) FILTER (WHERE NOT reject AND late)::BIGINT AS late,
        (SELECT count(*) FROM (SELECT DISTINCT p, chunk FROM msg))::BIGINT AS chunks FROM msg`)
    ).getRowObjectsJson();
    const highWater = Object.fromEntries(
      (await c.runAndReadAll(`SELECT p, max(off) + 1 AS next FROM msg GROUP BY p ORDER BY p`)).getRowObjectsJson().map((r) => [String(r.p), Number(r.next)]),
    );
    phasesMs.plan = Date.now() - t0;
    log(`[synthetic] planned ${stats.messages} messages, ${stats.chunks} chunks, ${objects.length} objects in ${phasesMs.plan} ms`);

    t0 = Date.now();
    await writeObjects(db, deps.bucket, objects, o.writers, log);
    phasesMs.write = Date.now() - t0;

    // The sink's last steps after its commits: partition records, then the published high-water mark.
    const store = createManifestStore(deps.s3, deps.bucket, o.prefix, 'events');
    await Promise.all(Object.entries(highWater).map(([p, next]) => store.writePartitionRecord(Number(p), next, null)));
    await store.publishHighWater(highWater);
    return {
      messages: Number(stats.messages),
      rows: objects.reduce((n, x) => n + x.rows, 0),
      rejected: Number(stats.rejected),
      padding: Number(stats.padding),
      duplicates: Number(stats.duplicates),
      late: Number(stats.late),
      chunks: Number(stats.chunks),
      objects: objects.length,
      highWater,
      ms: Date.now() - started,
      phasesMs,
    };
  } finally {
    db.close();
    await fs.rm(tmp, { recursive: true, force: true });
  }
}

/** Steady-state generator events, flattened by the sink's SQL, as table `tpl` (one row per template). */
async function loadTemplates(c: DuckDBConnection, tmp: string, count: number, seed: number, tenants: number, users: number): Promise<number> {
  const gen = new EventGenerator({ seed, tenants, users, rate: 100, defectRate: 0, startUs: Date.UTC(2026, 0, 1) * 1000 });
  // The first thousands of events start many sessions at once (mostly page views and logins).
  for (let i = 0; i < 20_000; i++) gen.next();
  const lines: string[] = [];
  for (let i = 0; lines.length < count; i++) {
    const g = gen.next();
    // every 5th event, so one session's consecutive events are rarely all templates
    if (i % 5 !== 0) continue;
    const framed = encodeInputLine({ partition: 0, offset: lines.length, timestampMs: 0, value: Buffer.from(JSON.stringify(g.event)) });
    if ('line' in framed) lines.push(framed.line);
  }
  const input = path.join(tmp, 'templates.txt');
  const out = path.join(tmp, 'templates');
  await fs.mkdir(out);
  await writeInputFile(input, lines);
  await flattenToParquet(c, input, out);
  // body: the event's JSON without its first '{' and top-level tenant_id; the row's own tenant_id,
  // event_id and timestamp go in front of it (the sink reads the top-level spellings too).
  await c.run(`CREATE OR REPLACE TABLE tpl AS
    SELECT (row_number() OVER (ORDER BY _offset) - 1)::INTEGER AS tidx, * EXCLUDE (event_json),
      substr(json_merge_patch(event_json, '{"tenant_id":null}'), 2) AS body, length(event_json) AS json_bytes
    FROM read_parquet(${sqlLiteral(path.join(out, '*.parquet'))})`);
  const [r] = (await c.runAndReadAll('SELECT count(*)::INTEGER AS n, avg(json_bytes)::INTEGER AS avg FROM tpl')).getRowObjectsJson();
  if (Number(r.n) !== count) throw new Error(`expected ${count} templates, flattened ${r.n}`);
  return Number(r.avg);
}

/** The generator's tenants (Zipf shares, user pools, merchant ids) and the diurnal hour weights. */
async function loadWorld(c: DuckDBConnection, tenants: number, users: number, seed: number): Promise<void> {
  const world = new World({ seed, tenants, users, startUs: Date.UTC(2026, 0, 1) * 1000 });
  let cum = 0;
  const rows = world.tenants.map((t) => {
    const row = `(${t.idx}, ${sqlLiteral(t.id)}, ${cum}, ${t.userPool}, ${sqlLiteral(t.meta.merchant_id ?? `m_${t.idx}`)})`;
    cum += t.weight;
    return row;
  });
  await c.run(`CREATE OR REPLACE TABLE tenants AS SELECT * FROM (VALUES ${rows.join(', ')}) t(tenant_idx, tenant_id, cum_lo, user_pool, merchant_id)`);
  const total = DIURNAL.reduce((a, b) => a + b, 0);
  let h = 0;
  const hours = DIURNAL.map((w, i) => {
    const row = `(${i}, ${h / total})`;
    h += w;
    return row;
  });
  await c.run(`CREATE OR REPLACE TABLE hours AS SELECT * FROM (VALUES ${hours.join(', ')}) t(h, cum_lo)`);
}

interface PlanInput {
  partitions: number;
  firstDay: string;
  days: number;
  eventsPerDay: number;
  seed: number;
  flushMs: number;
  lateRate: number;
  duplicateRate: number;
  rejectRate: number;
  alignTo?: number;
  templates: number;
  startOffsets: Record<string, number>;
  cap: number;
}

/**
 * The light plan of every message: table `msg` (session, tenant, user, partition, offset, arrival
 * and event times, template, chunk, object) and table `objs` (one per chunk × partition × event
 * hour, with the chunk's offset range).
 */
async function planMessages(c: DuckDBConnection, o: PlanInput): Promise<void> {
  const seed = o.seed;
  const S = Math.ceil((o.eventsPerDay / MEAN_SESSION_EVENTS) * 1.3) + 10;
  // Uniform [0, 1) from one integer per (session, message, purpose): DuckDB's hash of several
  // arguments combines their hashes linearly, which correlates draws that differ in one argument.
  const u = (sid: string, j: string | number, k: number) => `rnd(${key(sid, j, k)})`;
  const firstUs = Date.parse(`${o.firstDay}T00:00:00Z`) * 1000;
  const starts = Array.from({ length: o.partitions }, (_, p) => `(${p}, ${o.startOffsets[String(p)] ?? 0})`).join(', ');
  await c.run(`CREATE OR REPLACE MACRO rnd(x) AS (hash(x::BIGINT + ${seed}::BIGINT * 281474976710656) >> 11)::DOUBLE / 9007199254740992.0`);
  await c.run(`CREATE OR REPLACE MACRO uuid_of(m) AS substr(m, 1, 8) || '-' || substr(m, 9, 4) || '-4' || substr(m, 14, 3) || '-a' || substr(m, 18, 3) || '-' || substr(m, 21, 12)`);
  await c.run(`CREATE OR REPLACE TABLE starts AS SELECT * FROM (VALUES ${starts}) t(p, first_off)`);
  // Sessions: tenant (Zipf), user (pool × u²), guest, start hour (diurnal), length; cut per day at
  // exactly eventsPerDay messages.
  await c.run(`CREATE OR REPLACE TABLE sess AS
    WITH s0 AS (
      SELECT d, ${firstUs}::BIGINT + d * ${DAY_US}::BIGINT AS day_us, d * ${S}::BIGINT + i AS sid
      FROM range(${o.days}) dd(d), range(${S}) ii(i)
    ), s1 AS (
      SELECT *, ${u('sid', SESSION, 1)} AS ut, ${u('sid', SESSION, 2)} AS uu, ${u('sid', SESSION, 3)} AS ug, ${u('sid', SESSION, 4)} AS uh, ${u('sid', SESSION, 5)} AS us,
        least(${MAX_SESSION_EVENTS}, 1 + floor(-ln(1 - ${u('sid', SESSION, 6)}) * ${MEAN_SESSION_EVENTS - 1}))::INTEGER AS len
      FROM s0
    ), s2 AS (
      SELECT *, sum(len) OVER (PARTITION BY d ORDER BY sid ROWS UNBOUNDED PRECEDING) AS cum FROM s1
    )
    SELECT s2.d, s2.day_us, s2.sid, t.tenant_idx, t.tenant_id, t.merchant_id,
      floor(t.user_pool * s2.uu * s2.uu)::INTEGER AS user_idx, s2.ug < 0.15 AS guest,
      s2.day_us + h.h * ${HOUR_US}::BIGINT + floor(s2.us * ${HOUR_US})::BIGINT AS start_us,
      least(s2.len, ${o.eventsPerDay} - (s2.cum - s2.len))::INTEGER AS len
    FROM s2 ASOF JOIN tenants t ON s2.ut >= t.cum_lo ASOF JOIN hours h ON s2.uh >= h.cum_lo
    WHERE s2.cum - s2.len < ${o.eventsPerDay}`);
  const [check] = (await c.runAndReadAll(`SELECT d, sum(len)::BIGINT AS n FROM sess GROUP BY d ORDER BY n LIMIT 1`)).getRowObjectsJson();
  if (Number(check.n) !== o.eventsPerDay) throw new Error(`sessions of day ${check.d} hold ${check.n} messages, not ${o.eventsPerDay}`);

  // Messages: j-th of its session; a duplicate repeats event e = j − 1 (same id, time, template).
  const arrival = (idx: string) => `(day_us + ((start_us - day_us + ${idx} * 15000000 + floor(${u('sid', idx, 9)} * 10000000)::BIGINT) % ${DAY_US}))`;
  await c.run(`CREATE OR REPLACE TABLE msg0 AS
    WITH m AS (
      SELECT *, unnest(range(len)) AS j FROM sess
    ), m1 AS (
      SELECT *, sid * 512 + j AS mid,
        CASE WHEN j > 0 AND ${u('sid', 'j', 7)} < ${o.duplicateRate} THEN j - 1 ELSE j END AS e,
        ${u('sid', 'j', 8)} < ${o.rejectRate} AS reject,
        ${arrival('j')} AS arrival_us
      FROM m
    )
    SELECT mid, sid, j, e, reject, arrival_us, tenant_idx, tenant_id, merchant_id, user_idx, guest, day_us,
      ${u('sid', 'e', 10)} < ${o.lateRate} AS late,
      greatest(day_us, ${arrival('e')} - floor(${u('sid', 'e', 11)} * 200000)::BIGINT
        - CASE WHEN ${u('sid', 'e', 10)} < ${o.lateRate} THEN 60000000 + floor(${u('sid', 'e', 12)} * 7140000000)::BIGINT ELSE 0 END) AS event_us,
      (hash(${key('sid', 'e', 13)} + ${seed}::BIGINT * 281474976710656) % ${o.templates})::INTEGER AS tidx,
      (hash(tenant_id || ':' || CASE WHEN guest THEN 'anon-' || sid ELSE user_idx::VARCHAR END) % ${o.partitions})::INTEGER AS p
    FROM m1`);
  // Padding: rejected offsets at the end of the last day, so each partition's next offset is a multiple of alignTo.
  if (o.alignTo && o.alignTo > 1) {
    const B = o.alignTo;
    await c.run(`INSERT INTO msg0 (mid, sid, j, e, reject, arrival_us, tenant_idx, tenant_id, merchant_id, user_idx, guest, day_us, late, event_us, tidx, p)
      WITH n AS (
        SELECT s.p, s.first_off + coalesce(m.n, 0) AS next FROM starts s LEFT JOIN (SELECT p, count(*) AS n FROM msg0 GROUP BY p) m USING (p)
      )
      SELECT -1 - (p * 1000000 + k) AS mid, -1, 0, 0, true, ${firstUs + o.days * DAY_US - 1}::BIGINT, 0, '', '', 0, false, 0, false, 0, 0, p
      FROM n, range((ceil(next / ${B}) * ${B} - next)::BIGINT) r(k)`);
  }
  // Offsets per partition in arrival order; flush windows over arrival time, split at the sink's
  // row/byte cap (rank within the window over all partitions), so each chunk is contiguous per partition.
  await c.run(`CREATE OR REPLACE TABLE msg1 AS
    SELECT m.*, s.first_off + row_number() OVER (PARTITION BY m.p ORDER BY arrival_us, mid) - 1 AS off,
      (arrival_us - ${firstUs}) // ${o.flushMs * 1000} AS win
    FROM msg0 m JOIN starts s USING (p)`);
  await c.run(`CREATE OR REPLACE TABLE msg2 AS
    SELECT *, win * 4096 + (row_number() OVER (PARTITION BY win ORDER BY arrival_us, mid) - 1) // ${o.cap} AS chunk,
      event_us // ${HOUR_US} AS hour_idx
    FROM msg1`);
  await c.run(`CREATE OR REPLACE TABLE objs AS
    WITH ranges AS (SELECT p, chunk, min(off) AS start_off, max(off) AS end_off FROM msg2 GROUP BY p, chunk),
    o AS (SELECT p, chunk, hour_idx, count(*)::BIGINT AS rows FROM msg2 WHERE NOT reject GROUP BY p, chunk, hour_idx)
    SELECT (row_number() OVER (ORDER BY o.chunk, o.p, o.hour_idx) - 1)::INTEGER AS obj, o.p, o.chunk, o.hour_idx,
      strftime(make_timestamp(o.hour_idx * ${HOUR_US}), '%Y-%m-%d') AS dt, (o.hour_idx % 24)::INTEGER AS hour,
      r.start_off, r.end_off, o.rows
    FROM o JOIN ranges r USING (p, chunk)`);
  await c.run(`CREATE OR REPLACE TABLE msg AS
    SELECT m.*, o.obj FROM msg2 m LEFT JOIN objs o USING (p, chunk, hour_idx) ORDER BY o.obj NULLS LAST`);
  await c.run('DROP TABLE msg0; DROP TABLE msg1; DROP TABLE msg2; DROP TABLE sess;');
}

/** The raw columns of a message row, in RAW_COLUMNS order and types. */
function wideSelect(): string {
  const md = (...parts: string[]) => `md5(${parts.join(" || ':' || ")})`;
  const userKey = `m.tenant_id || ':' || m.user_idx`;
  // amounts scaled by 0.6–1.4 per event, so sums are not multiples of a few template values
  const k = `(0.6 + 0.8 * rnd(${key('m.sid', 'm.e', 14)}))`;
  const exprs: Record<string, string> = {
    tenant_id: 'm.tenant_id',
    event_id: `uuid_of(${md("'e'", 'm.sid::VARCHAR', 'm.e::VARCHAR')})`,
    event_time: 'make_timestamp(m.event_us)',
    ingestion_time: 'make_timestamp(m.arrival_us)',
    user_id: `CASE WHEN m.guest OR t.event_type = 'system_event' THEN NULL ELSE 'u_' || m.tenant_idx || '_' || m.user_idx END`,
    anonymous_id: `CASE WHEN t.anonymous_id IS NULL THEN NULL ELSE 'anon_' || substr(${md("'a'", `CASE WHEN m.guest THEN m.sid::VARCHAR ELSE ${userKey} END`)}, 1, 20) END`,
    session_id: `uuid_of(${md("'s'", 'm.sid::VARCHAR')})`,
    correlation_id: `CASE WHEN t.correlation_id IS NULL THEN NULL ELSE uuid_of(${md("'s'", 'm.sid::VARCHAR')}) END`,
    causation_id: `CASE WHEN t.causation_id IS NULL THEN NULL ELSE uuid_of(${md("'c'", 'm.sid::VARCHAR', 'm.e::VARCHAR')}) END`,
    device_fingerprint: `CASE WHEN t.device_fingerprint IS NULL THEN NULL ELSE 'fp_' || substr(${md("'d'", userKey)}, 1, 24) END`,
    merchant_id: 'm.merchant_id',
    cart_id: `CASE WHEN t.cart_id IS NULL THEN NULL ELSE 'cart_' || uuid_of(${md("'k'", 'm.sid::VARCHAR')}) END`,
    final_total: `round(t.final_total * ${k}, 2)`,
    subtotal: `round(t.subtotal * ${k}, 2)`,
    discount_total: `round(t.discount_total * ${k}, 2)`,
    payment_token: `CASE WHEN t.payment_token IS NULL THEN NULL ELSE 'tok_' || substr(${md("'t'", userKey)}, 1, 24) END`,
    event_json: `concat('{"tenant_id":"', m.tenant_id, '","event_id":"', uuid_of(${md("'e'", 'm.sid::VARCHAR', 'm.e::VARCHAR')}), '","timestamp":"', strftime(make_timestamp(m.event_us), '%Y-%m-%dT%H:%M:%S.%fZ'), '",', t.body)`,
    _partition: 'm.p',
    _offset: 'm.off',
    _ingested_at: 'make_timestamp(m.arrival_us)',
    _format: '2',
  };
  return RAW_COLUMNS.map((col) => `(${exprs[col.name] ?? `t.${col.name}`})::${col.type} AS ${col.name}`).join(',\n      ');
}

/**
 * Writes every object: a batch of whole objects at a time is materialized (table `wide`), then each
 * object is one `COPY (… ORDER BY tenant_id, event_time, _offset) TO 's3://…' (FORMAT parquet,
 * COMPRESSION zstd)` — the sink's statement — with `writers` connections in flight.
 */
async function writeObjects(db: OpenDuckDb, bucket: string, objects: { obj: number; key: string; rows: number }[], writers: number, log: (line: string) => void): Promise<void> {
  const BATCH_ROWS = 120_000;
  const conns = await Promise.all(Array.from({ length: writers }, () => db.instance.connect()));
  let done = 0;
  let rows = 0;
  const started = Date.now();
  let lastLog = started;
  try {
    for (let i = 0; i < objects.length; ) {
      let j = i;
      let batchRows = 0;
      while (j < objects.length && (j === i || batchRows + objects[j].rows <= BATCH_ROWS)) batchRows += objects[j++].rows;
      const first = objects[i].obj;
      const last = objects[j - 1].obj;
      await db.connection.run(`CREATE OR REPLACE TABLE wide AS
        SELECT m.obj, ${wideSelect()}
        FROM msg m JOIN tpl t USING (tidx)
        WHERE m.obj BETWEEN ${first} AND ${last} AND NOT m.reject
        ORDER BY m.obj`);
      const batch = objects.slice(i, j);
      let next = 0;
      await Promise.all(
        conns.map(async (conn) => {
          while (next < batch.length) {
            const x = batch[next++];
            await conn.run(`COPY (SELECT * EXCLUDE (obj) FROM wide WHERE obj = ${x.obj} ORDER BY tenant_id, event_time, _offset)
              TO ${sqlLiteral(s3Url(bucket, x.key))} (FORMAT parquet, COMPRESSION zstd)`);
          }
        }),
      );
      done += batch.length;
      rows += batchRows;
      i = j;
      if (Date.now() - lastLog > 15_000 || i === objects.length) {
        lastLog = Date.now();
        log(`[synthetic] ${done}/${objects.length} objects, ${rows} rows, ${Math.round((rows / (Date.now() - started)) * 1000)} rows/s`);
      }
    }
  } finally {
    for (const conn of conns) conn.closeSync();
    await db.connection.run('DROP TABLE IF EXISTS wide');
  }
}
