// The DuckDB SQL of every batch view (core/lake-views.ts VIEWS; docs/lake.md "Batch views").
// Hour views are computed from one relation of the hour's raw rows below the cut, deduplicated
// (hourRowsSql); day and version views from the hour or day files of the views they are built
// from, never from raw again. Pure string builders: activities/views.ts runs them against S3,
// the unit tests against local Parquet.
import { parseRawChunkKey, rawEventsRelation } from './lake';
import { liveFiles, type HourManifest } from './lake-compacted';
import { chunksBelowCut, dayStartUs as dayUs, FEEDBACK_DAYS, FUNNEL_STEPS, type Cut, type ViewDef } from './lake-views';
import { cellsFromEventsSql, cutPredicateSql, FIELD_COLUMNS, measureEventsSql, measuresSql, mergeCellsSql, type MeasuresDeclaration } from './measures';

const quote = (s: string) => `'${s.replace(/'/g, "''")}'`;
const DAY_US = 86_400_000_000;

/** `read_parquet([...])` of files (local paths or s3:// URLs); the list must not be empty. */
export function parquetList(files: readonly string[]): string {
  if (files.length === 0) throw new RangeError('parquetList: no files');
  return `read_parquet([${files.map(quote).join(', ')}])`;
}

/** The raw columns hour views read (never event_json: it is most of a raw object's bytes). */
export const HOUR_ROW_COLUMNS: readonly string[] = [
  ...new Set([
    'tenant_id',
    'event_id',
    'event_time',
    'event_type',
    'event_subtype',
    'user_id',
    'anonymous_id',
    'session_id',
    'cart_id',
    'device_fingerprint',
    'country',
    'payment_method_type',
    'payment_provider',
    'payment_token',
    'final_total',
    'currency',
    'fraud_score',
    'touchpoints',
    ...Object.values(FIELD_COLUMNS),
    '_partition',
    '_offset',
  ]),
];

/**
 * The rows of raw objects `files` that a cut covers, first occurrence of each (tenant_id,
 * event_id) only: what every hour view of those objects' hour is computed from. Duplicates share
 * their event time (a re-sent event is the same event), so deduplicating within the hour is the
 * same as over the whole lake; a re-send with a different timestamp would count in both hours.
 *
 * The rule is firstSeenSql's (keep the lowest `(_offset, _partition)` of each id), applied without
 * sorting every row by id: duplicates are rare, so the ids seen more than once and their first
 * coordinates are found with one hash aggregate, and a row is dropped when its id is among them
 * at other coordinates (`IS NOT DISTINCT FROM`: a NULL id groups with NULL ids, as the window's
 * PARTITION BY does).
 */
export function hourRowsSql(files: readonly string[], cut: ReadonlyMap<number, number>, opts: { compacted?: boolean } = {}): string {
  const scan = `SELECT ${HOUR_ROW_COLUMNS.join(', ')} FROM ${rawEventsRelation(files, { hivePartitioning: false })} AS raw
  WHERE ${cutPredicateSql(cut)}`;
  // Compacted files hold each event once already, its lowest-offset copy: the copy below the cut
  // whenever any copy is (compactedCoversHour), so the cut alone gives the deduplicated rows.
  if (opts.compacted) return scan;
  return `WITH raw_rows AS MATERIALIZED (
  ${scan}
), repeated AS (
  SELECT tenant_id, event_id, min({'o': _offset, 'p': _partition}) AS first FROM raw_rows
  GROUP BY tenant_id, event_id HAVING count(*) > 1
)
SELECT r.* FROM raw_rows r LEFT JOIN repeated d ON d.tenant_id IS NOT DISTINCT FROM r.tenant_id AND d.event_id IS NOT DISTINCT FROM r.event_id
WHERE d.first IS NULL OR (r._offset = d.first.o AND r._partition = d.first.p)`;
}

/** A raw chunk as listed: its key and ETag (a rewrite in place, e.g. a GDPR erase, changes the ETag). */
export interface ListedRawChunk {
  key: string;
  etag: string;
}

/**
 * Whether an hour's compacted files (the current compaction manifest, `inputs` the raw chunks it
 * was built from) give exactly the rows hourRowsSql gives over `listed`, the hour's raw chunks
 * as listed now, at `cut`: true when the inputs holding offsets below the cut are exactly the
 * listed chunks holding offsets below the cut, same keys and same ETags. Then the compacted
 * rows below the cut are the deduplicated raw rows below the cut: compaction kept the
 * lowest-offset copy of each (tenant_id, event_id), and since every copy of an event is in one
 * Kafka partition (the partition key is tenant:user; DESIGN "Duplicates"), that copy is below the
 * partition's cut whenever any copy is. Chunks of the inputs wholly at or above the cut do not
 * matter (their rows are cut off either way); a chunk added below the cut since, rewritten in
 * place or removed makes the manifest stale for this cut, and the views read raw.
 */
export function compactedCoversHour(inputs: readonly ListedRawChunk[], listed: readonly ListedRawChunk[], cut: Cut): boolean {
  const below = (chunks: readonly ListedRawChunk[]) =>
    new Map(
      chunksBelowCut(
        chunks.flatMap((c) => {
          const ref = parseRawChunkKey(c.key);
          return ref ? [{ ...ref, key: c.key, etag: c.etag }] : [];
        }),
        cut,
      ).map((c) => [c.key, c.etag]),
    );
  const a = below(inputs);
  const b = below(listed);
  if (a.size !== b.size) return false;
  for (const [key, etag] of a) if (b.get(key) !== etag) return false;
  return true;
}

/**
 * The keys of an hour's compacted files when its current compaction manifest covers the raw
 * chunks listed now at `cut` (compactedCoversHour); [] when there is none or it does not (read raw).
 */
export function compactedFilesCovering(manifest: HourManifest | undefined, listed: readonly ListedRawChunk[], cut: Cut): string[] {
  return manifest && compactedCoversHour(manifest.inputs, listed, cut) ? liveFiles(manifest).map((f) => f.key) : [];
}

const CELL_ORDER = 'ORDER BY tenant_id, window_start_us, dimension NULLS FIRST';

/** Every rollup's cells of the rows (measuresSql, partitions and buckets folded): the minute and hour cells views filter it. */
export function hourCellsSql(decl: MeasuresDeclaration, rows: string): string {
  return measuresSql(decl, { source: rows, byOffsetBucket: false });
}

/**
 * The rows of hourRowsSql (already deduplicated) reduced to what measures read, with each part's
 * helper values computed once (measureEventsSql): materialize it as a temp table and compute the
 * cells from it with hourCellsFromEventsSql, instead of hourCellsSql's second deduplication.
 */
export function hourEventsSql(decl: MeasuresDeclaration, rows: string): string {
  return measureEventsSql(decl, { source: rows, deduplicated: true });
}

/** hourCellsSql's output, from hourEventsSql rows. */
export function hourCellsFromEventsSql(decl: MeasuresDeclaration, events: string): string {
  return cellsFromEventsSql(decl, { events, byOffsetBucket: false });
}

/**
 * A cells view of one hour from that hour's cells (`cells`, hourCellsSql): the rollup's own
 * window as is, a coarser grain merged part by part.
 */
export function cellsHourViewSql(decl: MeasuresDeclaration, view: ViewDef, cells: string): string {
  const rollup = decl.rollups.find((r) => r.name === view.rollup);
  if (view.kind !== 'cells' || view.unit !== 'hour' || !rollup) throw new RangeError(`${view.name} is not an hour cells view`);
  const own = `(SELECT * FROM ${cells} WHERE rollup = ${quote(rollup.name)})`;
  if (view.grain === rollup.window) return `SELECT * FROM ${own} ${CELL_ORDER}`;
  if (view.grain !== 'hour') throw new RangeError(`${view.name}: no ${view.grain} grain within an hour`);
  return `${mergeCellsSql(decl, { source: own, window: 'hour', rollup: view.name })} ${CELL_ORDER}`;
}

/** A day cells view from the day's files of the hour view it is merged from. */
export function cellsDayViewSql(decl: MeasuresDeclaration, view: ViewDef, hourFiles: readonly string[]): string {
  if (view.kind !== 'cells' || view.grain !== 'day') throw new RangeError(`${view.name} is not a day cells view`);
  return `${mergeCellsSql(decl, { source: parquetList(hourFiles), window: 'day', rollup: view.name })} ${CELL_ORDER}`;
}

/** session_steps: per tenant × session, whether the hour holds each funnel step. */
export function sessionStepsSql(rows: string): string {
  const flags = FUNNEL_STEPS.map((s) => `bool_or(event_subtype = ${quote(s)}) AS ${s}`);
  return `SELECT tenant_id, session_id, ${flags.join(', ')}
FROM ${rows}
WHERE session_id IS NOT NULL AND event_subtype IN (${FUNNEL_STEPS.map(quote).join(', ')})
GROUP BY tenant_id, session_id ORDER BY tenant_id, session_id`;
}

/**
 * funnel_1d: per tenant × step, the sessions of the day that reached that step and every one
 * before it (in any order within the day). One row per tenant and step, zeros included.
 */
export function funnelDaySql(dt: string, sessionStepFiles: readonly string[]): string {
  const reached = `CASE ${FUNNEL_STEPS.map((s, i) => `WHEN NOT ${s} THEN ${i}`).join(' ')} ELSE ${FUNNEL_STEPS.length} END`;
  const steps = FUNNEL_STEPS.map((s, i) => `(${i + 1}, ${quote(s)})`).join(', ');
  return `WITH s AS (
  SELECT tenant_id, session_id, ${FUNNEL_STEPS.map((s) => `bool_or(${s}) AS ${s}`).join(', ')}
  FROM ${parquetList(sessionStepFiles)} GROUP BY tenant_id, session_id
), r AS (SELECT tenant_id, ${reached} AS reached FROM s)
SELECT tenant_id, ${dayUs(dt)}::BIGINT AS window_start_us, k.step_index::INTEGER AS step_index, k.step::VARCHAR AS step,
  count(*) FILTER (WHERE r.reached >= k.step_index)::BIGINT AS sessions
FROM r CROSS JOIN (VALUES ${steps}) AS k(step_index, step)
GROUP BY tenant_id, k.step_index, k.step ORDER BY tenant_id, step_index`;
}

/** user_activity: per tenant × user of the hour, events, purchases and the first purchase's time. */
export function userActivitySql(rows: string): string {
  return `SELECT tenant_id, user_id, count(*)::BIGINT AS events,
  count(*) FILTER (WHERE event_subtype = 'purchase')::BIGINT AS purchases,
  min(epoch_us(event_time)) FILTER (WHERE event_subtype = 'purchase') AS first_purchase_us
FROM ${rows} WHERE user_id IS NOT NULL
GROUP BY tenant_id, user_id ORDER BY tenant_id, user_id`;
}

/** user_days: the day's user_activity hours merged. */
export function userDaysSql(dt: string, userActivityFiles: readonly string[]): string {
  return `SELECT tenant_id, user_id, ${dayUs(dt)}::BIGINT AS window_start_us, sum(events)::BIGINT AS events,
  sum(purchases)::BIGINT AS purchases, min(first_purchase_us) AS first_purchase_us
FROM ${parquetList(userActivityFiles)}
GROUP BY tenant_id, user_id ORDER BY tenant_id, user_id`;
}

/**
 * cohorts_weekly, from every user_days file: a user's cohort is the ISO week (Monday, UTC) of
 * their first purchase; `users` counts the cohort's users with any event in the week
 * `weeks_since` weeks later, `cohort_users` the cohort's size. Users without a user_id (guests)
 * have no cohort.
 */
export function cohortsSql(userDayFiles: readonly string[]): string {
  return `WITH u AS (SELECT tenant_id, user_id, window_start_us, first_purchase_us FROM ${parquetList(userDayFiles)}),
firsts AS (
  SELECT tenant_id, user_id, date_trunc('week', make_timestamp(min(first_purchase_us)))::DATE AS cohort_week
  FROM u WHERE first_purchase_us IS NOT NULL GROUP BY tenant_id, user_id
),
sizes AS (SELECT tenant_id, cohort_week, count(*)::BIGINT AS cohort_users FROM firsts GROUP BY tenant_id, cohort_week),
active AS (SELECT DISTINCT tenant_id, user_id, date_trunc('week', make_timestamp(window_start_us))::DATE AS week FROM u)
SELECT f.tenant_id, f.cohort_week, (date_diff('day', f.cohort_week, a.week) // 7)::INTEGER AS weeks_since,
  count(*)::BIGINT AS users, any_value(s.cohort_users) AS cohort_users
FROM firsts f
JOIN active a ON a.tenant_id = f.tenant_id AND a.user_id = f.user_id AND a.week >= f.cohort_week
JOIN sizes s ON s.tenant_id = f.tenant_id AND s.cohort_week = f.cohort_week
GROUP BY f.tenant_id, f.cohort_week, weeks_since ORDER BY f.tenant_id, f.cohort_week, weeks_since`;
}

/** attribution_purchases: every purchase with its revenue and touchpoint journey. */
export function attributionSql(rows: string): string {
  return `SELECT tenant_id, event_id, event_time, user_id, anonymous_id, session_id, cart_id,
  final_total AS revenue, currency, touchpoints, _partition, _offset
FROM ${rows} WHERE event_subtype = 'purchase'
ORDER BY tenant_id, event_time, event_id`;
}

/** The event subtypes fraud_events keeps (plus every event carrying a model score). */
export const FRAUD_EVENT_SUBTYPES = ['payment_attempt', 'purchase', 'refund'] as const;

const FRAUD_COLUMNS = [
  'tenant_id',
  'event_id',
  'event_time',
  'event_type',
  'event_subtype',
  'user_id',
  'anonymous_id',
  'session_id',
  'cart_id',
  'device_fingerprint',
  'country',
  'payment_method_type',
  'payment_provider',
  'payment_token',
  'final_total',
  'currency',
  'fraud_score',
  '_partition',
  '_offset',
];

/** fraud_events: payment attempts, purchases, refunds and scored events, with the model score and payment features. */
export function fraudEventsSql(rows: string): string {
  return `SELECT ${FRAUD_COLUMNS.join(', ')}
FROM ${rows} WHERE event_subtype IN (${FRAUD_EVENT_SUBTYPES.map(quote).join(', ')}) OR fraud_score IS NOT NULL
ORDER BY tenant_id, event_time, event_id`;
}

/**
 * fraud_labels_1d for day `dt`: every payment attempt and purchase of the day (fraud_events of the
 * day's hours) joined with the refunds of the same (tenant, cart) at or after it and before the end
 * of day dt + FEEDBACK_DAYS (fraud_events of the hours of those days, `windowFiles`).
 */
export function fraudLabelsSql(dt: string, dayFiles: readonly string[], windowFiles: readonly string[], feedbackDays = FEEDBACK_DAYS): string {
  const end = dayUs(dt) + (feedbackDays + 1) * DAY_US;
  return `WITH tx AS (
  SELECT * FROM ${parquetList(dayFiles)} WHERE event_subtype IN ('payment_attempt', 'purchase')
), refunds AS (
  SELECT tenant_id, cart_id, event_time, final_total FROM ${parquetList(windowFiles)}
  WHERE event_subtype = 'refund' AND cart_id IS NOT NULL AND event_time < make_timestamp(${end}::BIGINT)
), fb AS (
  SELECT tx.tenant_id, tx.event_id, count(*)::BIGINT AS refunds, sum(r.final_total)::DOUBLE AS refund_amount, min(r.event_time) AS first_refund_time
  FROM tx JOIN refunds r ON r.tenant_id = tx.tenant_id AND r.cart_id = tx.cart_id AND r.event_time >= tx.event_time
  GROUP BY tx.tenant_id, tx.event_id
)
SELECT tx.tenant_id, tx.event_id, tx.event_time, tx.event_subtype, tx.user_id, tx.anonymous_id, tx.session_id, tx.cart_id,
  tx.device_fingerprint, tx.country, tx.payment_method_type, tx.payment_provider, tx.payment_token, tx.final_total, tx.currency,
  tx.fraud_score, coalesce(fb.refunds, 0) > 0 AS refunded, coalesce(fb.refunds, 0)::BIGINT AS refunds,
  coalesce(fb.refund_amount, 0)::DOUBLE AS refund_amount, fb.first_refund_time, tx._partition, tx._offset
FROM tx LEFT JOIN fb ON fb.tenant_id = tx.tenant_id AND fb.event_id = tx.event_id
ORDER BY tx.tenant_id, tx.event_time, tx.event_id`;
}
