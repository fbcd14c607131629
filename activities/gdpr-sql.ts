// The SQL of GDPR erase/export and retention: which rows a filter matches. Shared by the scans
// that find objects (activities/gdpr-locate.ts) and the rewrites that drop rows
// (activities/gdpr.ts), so "found" and "removed" can never disagree.
import { sqlLiteral } from '../core/duckdb';
import type { GdprSubject, RowFilter } from '../core/gdpr';

const list = (values: readonly string[]) => values.map(sqlLiteral).join(', ');

/** `TIMESTAMP 'YYYY-MM-DD HH:MM:SS'` of an epoch ms (event_time is a UTC TIMESTAMP without zone). */
export function timestampLiteral(ms: number): string {
  return `TIMESTAMP '${new Date(ms).toISOString().slice(0, 19).replace('T', ' ')}'`;
}

/**
 * The subject's rows. `tenant_id = …` comes first and alone at the top level, so DuckDB prunes
 * Parquet row groups by it (raw rows are sorted by tenant). `anonymousId`: the relation has an
 * `anonymous_id` column (some views do not).
 */
export function subjectSql(subject: GdprSubject, opts: { anonymousId?: boolean } = {}): string {
  const who = [`user_id IN (${list(subject.userTokens)})`];
  if (opts.anonymousId !== false && subject.anonymousIdHashes?.length) who.push(`sha256(anonymous_id) IN (${list(subject.anonymousIdHashes)})`);
  return `tenant_id = ${sqlLiteral(subject.tenant)} AND coalesce(${who.join(' OR ')}, false)`;
}

/** Rows past their tenant's retention: event_time before the tenant's cutoff. */
export function retentionSql(cutoffs: RowFilter & { kind: 'retention' }): string {
  if (cutoffs.cutoffs.length === 0) return 'false';
  const tenants = cutoffs.cutoffs.map((c) => c.tenant);
  const rules = cutoffs.cutoffs.map((c) => `(tenant_id = ${sqlLiteral(c.tenant)} AND event_time < ${timestampLiteral(c.beforeMs)})`);
  return `tenant_id IN (${list(tenants)}) AND coalesce(${rules.join(' OR ')}, false)`;
}

/** The rows a filter matches, as a boolean SQL expression over raw (or compacted) columns. */
export function matchSql(filter: RowFilter): string {
  return filter.kind === 'subject' ? subjectSql(filter.subject) : retentionSql(filter);
}

/** The rows a rewrite keeps: everything the filter does not match, NULLs included. */
export function keepSql(filter: RowFilter): string {
  return `NOT coalesce((${matchSql(filter)}), false)`;
}
