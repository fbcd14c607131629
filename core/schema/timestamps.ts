// The one timestamp parser of the event contract. Validation (the ajv `date-time` format) and
// conversion (upcasters, normalization to UTC µs) both go through it, so a value that validates
// can always be converted. RFC 3339 only: a zone is required (`Z` or `±HH:MM`); `+01` or a bare
// local time is invalid rather than guessed at.

/** Years outside this range are refused: µs since the epoch stay exact in a double up to 2255. */
export const MIN_YEAR = 1900;
export const MAX_YEAR = 2199;

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
const isLeap = (y: number) => (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;

/** The number written by `count` ASCII digits of `s` at `at`, or -1 when one of them is not a digit. */
function digits(s: string, at: number, count: number): number {
  let n = 0;
  for (let i = at; i < at + count; i++) {
    const d = s.charCodeAt(i) - 48;
    if (!(d >= 0 && d <= 9)) return -1; // NaN past the end too
    n = n * 10 + d;
  }
  return n;
}

const DASH = 45;
const COLON = 58;
const DOT = 46;
const PLUS = 43;

/**
 * Microseconds since the Unix epoch (UTC) of an RFC 3339 timestamp, or undefined when invalid:
 * `YYYY-MM-DD` `T`|`t`|space `HH:MM:SS`, an optional fraction of 1–9 digits (truncated to µs),
 * then `Z`|`z` or `±HH:MM`. Read character by character (every event carries about ten
 * timestamps, and a regular expression's match array and substrings cost more than the parse).
 * The year, as written, must be MIN_YEAR–MAX_YEAR unless `anyYear` (for a time already validated
 * and then converted to UTC, which can cross into the year before or after): then 100–9999
 * (Date.UTC reads years below 100 as 19xx).
 */
export function parseTimestampMicros(value: string, anyYear = false): number | undefined {
  const n = value.length;
  if (n < 20 || n > 40) return undefined;
  const year = digits(value, 0, 4);
  const month = digits(value, 5, 2);
  const day = digits(value, 8, 2);
  const hour = digits(value, 11, 2);
  const minute = digits(value, 14, 2);
  const second = digits(value, 17, 2);
  const t = value.charCodeAt(10);
  if (year < 0 || month < 0 || day < 0 || hour < 0 || minute < 0 || second < 0) return undefined;
  if (value.charCodeAt(4) !== DASH || value.charCodeAt(7) !== DASH || (t !== 84 && t !== 116 && t !== 32)) return undefined;
  if (value.charCodeAt(13) !== COLON || value.charCodeAt(16) !== COLON) return undefined;
  let i = 19;
  let micros = 0;
  if (value.charCodeAt(i) === DOT) {
    const start = ++i;
    for (let d = value.charCodeAt(i) - 48; d >= 0 && d <= 9; d = value.charCodeAt(++i) - 48) {
      if (i - start < 6) micros = micros * 10 + d;
    }
    const count = i - start;
    if (count < 1 || count > 9) return undefined;
    for (let k = count; k < 6; k++) micros *= 10;
  }
  let offsetMinutes = 0;
  const zone = value.charCodeAt(i);
  if (zone === 90 || zone === 122) {
    if (i + 1 !== n) return undefined;
  } else if (zone === PLUS || zone === DASH) {
    const oh = digits(value, i + 1, 2);
    const om = digits(value, i + 4, 2);
    if (i + 6 !== n || value.charCodeAt(i + 3) !== COLON || oh < 0 || om < 0 || oh > 23 || om > 59) return undefined;
    offsetMinutes = (zone === DASH ? -1 : 1) * (oh * 60 + om);
  } else return undefined;
  if (year < (anyYear ? 100 : MIN_YEAR) || (!anyYear && year > MAX_YEAR) || month < 1 || month > 12 || hour > 23 || minute > 59 || second > 59) return undefined;
  if (day < 1 || day > (month === 2 && isLeap(year) ? 29 : DAYS_IN_MONTH[month - 1])) return undefined;
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
