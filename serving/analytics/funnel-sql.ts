// The SQL of funnels and attribution over the batch views (docs/lake.md "Batch views"). Pure
// string builders, run by serving/analytics/funnel.ts against the local copies of view files
// (and, for time decay, the raw objects on S3), and by the unit tests against hand-made files.
// Every statement takes the named parameters $tenant, $from and $to (µs since the epoch,
// [from, to)); time decay also $half_life (hours).
import { rawEventsRelation } from '../../core/lake';
import { FLAT_COLUMNS } from '../../core/lake-columns';
import { FUNNEL_STEPS } from '../../core/lake-views';
import { parquetList } from '../../core/views-sql';

export type FunnelStep = (typeof FUNNEL_STEPS)[number];
export type FunnelGrain = 'all' | 'day';
export const ATTRIBUTION_MODELS = ['first', 'last', 'linear', 'time_decay'] as const;
export type AttributionModel = (typeof ATTRIBUTION_MODELS)[number];

const quote = (s: string) => `'${s.replace(/'/g, "''")}'`;

/** Whether the steps are the head of FUNNEL_STEPS, so funnel_1d holds their counts as they are. */
export function isStepPrefix(steps: readonly string[]): boolean {
  return steps.length >= 1 && steps.length <= FUNNEL_STEPS.length && steps.every((s, i) => s === FUNNEL_STEPS[i]);
}

const stepTable = (steps: readonly FunnelStep[]) => `(VALUES ${steps.map((s, i) => `(${i + 1}, ${quote(s)})`).join(', ')}) AS k(step_index, step)`;

/**
 * The funnel of the tenant's days in [from, to): per step, the sessions of a day that reached it
 * and every step before it (in any order within the day, as funnel_1d counts), summed over the
 * days (grain 'all', one row per step, zeros included) or per day (grain 'day', days with data).
 * Conversions are ratios of sessions: to the step before and to the first step.
 *
 * `source` is funnel_1d's day files when the steps are the head of FUNNEL_STEPS, otherwise the
 * session_steps hour files of those days (one row per tenant × session × hour with a flag per
 * step), folded per day here exactly as funnel_1d folds them.
 */
export function funnelSql(source: { view: 'funnel_1d' | 'session_steps'; files: readonly string[] }, steps: readonly FunnelStep[], grain: FunnelGrain): string {
  if (steps.length === 0) throw new RangeError('funnelSql: no steps');
  let perDay: string;
  if (source.view === 'funnel_1d') {
    if (!isStepPrefix(steps)) throw new RangeError('funnel_1d holds the head of the standard steps only');
    perDay = `SELECT window_start_us, step_index, sum(sessions)::DOUBLE AS sessions FROM ${parquetList(source.files)}
  WHERE tenant_id = $tenant AND window_start_us >= $from AND window_start_us < $to AND step_index <= ${steps.length}
  GROUP BY window_start_us, step_index`;
  } else {
    // dt comes from the Hive path of each hour file; a session's flags are OR-ed over its hours of the day
    const flags = steps.map((s, i) => `bool_or(${s}) AS s${i + 1}`).join(', ');
    const reached = `CASE ${steps.map((_, i) => `WHEN NOT s${i + 1} THEN ${i}`).join(' ')} ELSE ${steps.length} END`;
    perDay = `SELECT r.window_start_us, k.step_index, count(*) FILTER (WHERE r.reached >= k.step_index)::DOUBLE AS sessions
  FROM (
    SELECT window_start_us, ${reached} AS reached FROM (
      SELECT epoch_us(CAST(CAST(dt AS VARCHAR) AS DATE)::TIMESTAMP) AS window_start_us, session_id, ${flags}
      FROM read_parquet([${source.files.map(quote).join(', ')}], hive_partitioning = true)
      WHERE tenant_id = $tenant GROUP BY ALL)
    WHERE window_start_us >= $from AND window_start_us < $to
  ) AS r CROSS JOIN ${stepTable(steps)}
  GROUP BY r.window_start_us, k.step_index`;
  }
  const conversions = `sessions / nullif(lag(sessions) OVER w, 0) AS conversion_from_previous,
  sessions / nullif(first_value(sessions) OVER w, 0) AS conversion_from_first`;
  if (grain === 'day') {
    return `WITH d AS (${perDay})
SELECT strftime(make_timestamp(d.window_start_us), '%Y-%m-%d') AS day, d.step_index::INTEGER AS step_index, k.step, d.sessions, ${conversions}
FROM d JOIN ${stepTable(steps)} USING (step_index)
WINDOW w AS (PARTITION BY d.window_start_us ORDER BY d.step_index)
ORDER BY day, step_index`;
  }
  return `WITH d AS (${perDay}), t AS (
  SELECT k.step_index, k.step, coalesce(sum(d.sessions), 0)::DOUBLE AS sessions FROM ${stepTable(steps)} LEFT JOIN d USING (step_index) GROUP BY ALL)
SELECT step_index::INTEGER AS step_index, step, sessions, ${conversions}
FROM t WINDOW w AS (ORDER BY step_index)
ORDER BY step_index`;
}

/** `$.…touchpoint_journey`: the lake's own path of the journey (core/lake-columns.ts), so the two never drift. */
const JOURNEY_PATH = FLAT_COLUMNS.find((c) => c.name === 'touchpoints')!.paths[0];

/** Each model's weight of touchpoint `pos` (1-based) of a journey of `n`; time decay normalizes `decay` per purchase. */
const WEIGHT: Readonly<Record<AttributionModel, string>> = {
  first: '(pos = 1)::INTEGER::DOUBLE',
  last: '(pos = n)::INTEGER::DOUBLE',
  linear: '1.0 / n',
  // a purchase whose touchpoints have no usable timestamp (or whose raw object is gone) falls back to linear
  time_decay: 'CASE WHEN sum(decay) OVER (PARTITION BY event_id) > 0 THEN coalesce(decay, 0) / sum(decay) OVER (PARTITION BY event_id) ELSE 1.0 / n END',
};

/**
 * Purchase revenue of the tenant in [from, to) attributed to touchpoints (attribution_purchases:
 * one row per purchase with its `touchpoints`, in journey order). Each purchase's weights sum to 1:
 * first / last touch, linear (1/n each), or time decay (2^(−hours before the purchase / $half_life),
 * normalized). Time decay needs the touchpoints' timestamps, which the view does not keep: they are
 * read from the purchases' raw objects (`rawFiles`, s3:// or local; `event_json`), joined on the
 * Kafka coordinates the view carries. Purchases with no journey count under a NULL touchpoint, so
 * the rows' revenue sums to the purchases' revenue. Columns: touchpoint, conversions (weights
 * summed), revenue, purchases (purchases the touchpoint has weight in), revenue_share.
 */
export function attributionSql(viewFiles: readonly string[], model: AttributionModel, rawFiles: readonly string[] = []): string {
  const decay = model === 'time_decay';
  const journeys =
    decay && rawFiles.length > 0
      ? `, j AS (
  SELECT _partition, _offset, json_extract(event_json, ${quote(`${JOURNEY_PATH}[*]`)}) AS journey
  FROM ${rawEventsRelation(rawFiles, { hivePartitioning: false })} WHERE tenant_id = $tenant AND event_subtype = 'purchase')`
      : '';
  const decayColumn = !decay
    ? ''
    : journeys
      ? `, pow(0.5, greatest(0, epoch_us(tp.event_time) - epoch_us(TRY_CAST(j.journey[tp.pos] ->> 'timestamp' AS TIMESTAMPTZ))) / 3600000000.0 / $half_life) AS decay`
      : ', NULL::DOUBLE AS decay';
  const join = journeys ? ' LEFT JOIN j USING (_partition, _offset)' : '';
  return `WITH p AS (
  SELECT event_id, coalesce(revenue, 0)::DOUBLE AS revenue, touchpoints, event_time, _partition, _offset
  FROM ${parquetList(viewFiles)}
  WHERE tenant_id = $tenant AND event_time >= make_timestamp($from) AND event_time < make_timestamp($to)
)${journeys}, tp AS (
  SELECT event_id, revenue, event_time, _partition, _offset, len(touchpoints) AS n, unnest(touchpoints) AS touchpoint, generate_subscripts(touchpoints, 1) AS pos
  FROM p WHERE len(touchpoints) > 0
), steps AS (
  SELECT tp.*${decayColumn} FROM tp${join}
), weighted AS (
  SELECT event_id, revenue, touchpoint, ${WEIGHT[model]} AS weight FROM steps
  UNION ALL
  SELECT event_id, revenue, NULL::VARCHAR AS touchpoint, 1.0 AS weight FROM p WHERE coalesce(len(touchpoints), 0) = 0
)
SELECT touchpoint, sum(weight)::DOUBLE AS conversions, sum(weight * revenue)::DOUBLE AS revenue,
  count(DISTINCT event_id) FILTER (WHERE weight > 0)::DOUBLE AS purchases,
  (sum(weight * revenue) / nullif(sum(sum(weight * revenue)) OVER (), 0))::DOUBLE AS revenue_share
FROM weighted GROUP BY touchpoint
ORDER BY revenue DESC, touchpoint NULLS LAST`;
}
