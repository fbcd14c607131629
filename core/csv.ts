// CSV as RFC 4180 writes it (quotes where needed, NULL as an empty field), shared by `rtap sql`
// and the API's text/csv results.

/** A JSON value of a result cell (what DuckDB's getRowsJson and the API's rows hold). */
export type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

export function cellText(v: Json): string {
  if (v === null) return 'NULL';
  return typeof v === 'string' ? v : JSON.stringify(v);
}

export function toCsv(columns: string[], rows: Json[][]): string {
  const field = (s: string) => (/[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
  return [columns.map(field).join(','), ...rows.map((r) => r.map((v) => (v === null ? '' : field(cellText(v)))).join(','))].join('\n') + '\n';
}
