// The one timestamp parser of the event contract. Validation (the ajv `date-time` format) and
// conversion (upcasters, normalization to UTC µs) both go through it, so a value that validates
// can always be converted. RFC 3339 only: a zone is required (`Z` or `±HH:MM`); `+01` or a bare
// local time is invalid rather than guessed at.

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/;
/** Years outside this range are refused: µs since the epoch stay exact in a double up to 2255. */
export const MIN_YEAR = 1900;
export const MAX_YEAR = 2199;

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
const isLeap = (y: number) => (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;

/** Microseconds since the Unix epoch (UTC) of an RFC 3339 timestamp, or undefined when invalid. */
export function parseTimestampMicros(value: string): number | undefined {
  if (value.length > 40) return undefined;
  const m = RFC3339.exec(value);
  if (!m) return undefined;
  const year = +m[1];
  const month = +m[2];
  const day = +m[3];
  const hour = +m[4];
  const minute = +m[5];
  const second = +m[6];
  if (year < MIN_YEAR || year > MAX_YEAR || month < 1 || month > 12 || hour > 23 || minute > 59 || second > 59) return undefined;
  if (day < 1 || day > (month === 2 && isLeap(year) ? 29 : DAYS_IN_MONTH[month - 1])) return undefined;
  let offsetMinutes = 0;
  if (!m[8]) {
    const oh = +m[10];
    const om = +m[11];
    if (oh > 23 || om > 59) return undefined;
    offsetMinutes = (m[9] === '-' ? -1 : 1) * (oh * 60 + om);
  }
  const fraction = m[7];
  const micros = fraction === undefined ? 0 : fraction.length === 6 ? +fraction : +fraction.padEnd(6, '0').slice(0, 6);
  const epochMs = Date.UTC(year, month - 1, day) + ((hour * 60 + minute - offsetMinutes) * 60 + second) * 1000;
  return epochMs * 1000 + micros;
}

export function isTimestamp(value: string): boolean {
  return parseTimestampMicros(value) !== undefined;
}

/** `YYYY-MM-DDTHH:MM:SS.ffffffZ` of microseconds since the epoch. */
export function formatMicros(epochMicros: number): string {
  const ms = Math.floor(epochMicros / 1000);
  const micros = epochMicros - ms * 1000;
  return `${new Date(ms).toISOString().slice(0, 23)}${String(micros).padStart(3, '0')}Z`;
}

const CANONICAL = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/;

/** Any valid RFC 3339 timestamp → UTC with exactly six fractional digits. Throws on an invalid one (validate first). */
export function toMicrosIso(value: string): string {
  if (CANONICAL.test(value)) return value;
  const micros = parseTimestampMicros(value);
  if (micros === undefined) throw new RangeError(`not an RFC 3339 timestamp: ${JSON.stringify(value.slice(0, 40))}`);
  return formatMicros(micros);
}
