// Event-time hours, the batch layer's unit of work (an hour of all tenants), and the ranges a
// backfill names. Pure and import-free: workflow code uses it too.

/** One UTC event hour, as the lake names it (`dt=YYYY-MM-DD/hour=HH`). */
export interface HourRef {
  dt: string;
  hour: number;
}

const HOUR_MS = 3_600_000;

/** `2026-11-27T05` — how hours appear in progress, logs and unit ids. */
export function hourLabel(h: HourRef): string {
  return `${h.dt}T${String(h.hour).padStart(2, '0')}`;
}

export function hourStartMs(h: HourRef): number {
  return Date.parse(`${h.dt}T${String(h.hour).padStart(2, '0')}:00:00Z`);
}

export function hourOf(epochMs: number): HourRef {
  const iso = new Date(epochMs).toISOString();
  return { dt: iso.slice(0, 10), hour: Number(iso.slice(11, 13)) };
}

/**
 * Parses a range bound as users write it: `2026-11-27` (midnight), `2026-11-27T05` (an hour) or a
 * full ISO-8601 instant with zone. Throws a RangeError naming the value otherwise.
 */
export function parseHourBound(value: string, name: string): number {
  const text = value.trim();
  let ms = Number.NaN;
  if (/^\d{4}-\d{2}-\d{2}$/.test(text)) ms = Date.parse(`${text}T00:00:00Z`);
  else if (/^\d{4}-\d{2}-\d{2}T\d{2}$/.test(text)) ms = Date.parse(`${text}:00:00Z`);
  else if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(text)) ms = Date.parse(text);
  if (!Number.isFinite(ms)) {
    throw new RangeError(`${name}: ${JSON.stringify(value.slice(0, 64))} is not a date (YYYY-MM-DD), an hour (YYYY-MM-DDTHH) or an ISO-8601 instant with a zone`);
  }
  return ms;
}

/** The longest range one backfill request may name: ten years of hours. */
export const MAX_BACKFILL_HOURS = 24 * 366 * 10;

/**
 * The event hours of [from, to): every hour that starts before `to` and ends after `from`.
 * `to` is exclusive, so `--from 2026-11-01 --to 2026-11-02` is the 24 hours of Nov 1.
 */
export function hoursInRange(fromMs: number, toMs: number): HourRef[] {
  if (!(toMs > fromMs)) throw new RangeError('the range is empty: --to must be after --from');
  const first = Math.floor(fromMs / HOUR_MS);
  const last = Math.ceil(toMs / HOUR_MS);
  if (last - first > MAX_BACKFILL_HOURS) throw new RangeError(`the range spans ${last - first} hours; at most ${MAX_BACKFILL_HOURS} per request`);
  const hours: HourRef[] = [];
  for (let h = first; h < last; h++) hours.push(hourOf(h * HOUR_MS));
  return hours;
}

/** Sorted, distinct. */
export function uniqueHours(hours: readonly HourRef[]): HourRef[] {
  const byLabel = new Map(hours.map((h) => [hourLabel(h), h]));
  return [...byLabel.keys()].sort().map((k) => byLabel.get(k)!);
}

/**
 * Hours from untrusted input (a workflow argument, a request body): each `{dt: 'YYYY-MM-DD',
 * hour: 0–23}` naming a real date. Sorted and distinct; throws a RangeError naming the first bad one.
 */
export function hourRefsOf(list: unknown, name = 'hours'): HourRef[] {
  if (!Array.isArray(list)) throw new RangeError(`${name}: expected a list of {dt, hour}`);
  const out: HourRef[] = [];
  for (const [i, item] of list.entries()) {
    const { dt, hour } = (item ?? {}) as { dt?: unknown; hour?: unknown };
    const realDate = typeof dt === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(dt) && !Number.isNaN(Date.parse(`${dt}T00:00:00Z`)) && new Date(`${dt}T00:00:00Z`).toISOString().slice(0, 10) === dt;
    if (!realDate || !Number.isInteger(hour) || (hour as number) < 0 || (hour as number) > 23) {
      throw new RangeError(`${name}[${i}]: expected {dt: YYYY-MM-DD, hour: 0–23}, got ${JSON.stringify(item)?.slice(0, 80)}`);
    }
    out.push({ dt: dt as string, hour: hour as number });
  }
  return uniqueHours(out);
}
