/**
 * Time strings of schedules, in an IANA time zone, with `Intl.DateTimeFormat` only (no time-zone dependency):
 * "HH:MM:SS" daily and "YYYY-MM-DDTHH:MM:SS" once, an explicit Z / ±HH:MM offset winning over the zone.
 * Shared by validation (is it well-formed?) and the scheduler (when does it fire?).
 */
const DAILY = /^([01]\d|2[0-3]):([0-5]\d):([0-5]\d)$/;
const ABSOLUTE = /^(\d{4})-(\d{2})-(\d{2})T([01]\d|2[0-3]):([0-5]\d):([0-5]\d)(Z|[+-](?:[01]\d|2[0-3]):[0-5]\d)?$/;
export const DAY_MS = 86_400_000;

/** Seconds after local midnight of a daily "HH:MM:SS", or undefined if malformed. */
export function parseDaily(at: string): number | undefined {
  const m = DAILY.exec(at);
  return m ? Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3]) : undefined;
}

const formatters = new Map<string, Intl.DateTimeFormat>();
function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' });
    formatters.set(timeZone, f);
  }
  return f;
}

export function isTimeZone(timeZone: string): boolean {
  try {
    formatter(timeZone);
    return true;
  } catch {
    return false;
  }
}

/** Local wall time of an instant, as milliseconds of a UTC calendar (so `% DAY_MS` is the local time of day). */
export function localMs(epochMs: number, timeZone: string): number {
  const parts = formatter(timeZone).formatToParts(new Date(Math.floor(epochMs / 1000) * 1000));
  const get = (type: string) => Number(parts.find((p) => p.type === type)?.value);
  return utcMs(get('year'), get('month') - 1, get('day'), get('hour'), get('minute'), get('second')) + (epochMs - Math.floor(epochMs / 1000) * 1000);
}

/** `Date.UTC` without its one surprise: it reads the years 0–99 as 1900–1999. Fields out of range roll over. */
function utcMs(year: number, month: number, day: number, hour: number, minute: number, second: number): number {
  const t = new Date(0);
  t.setUTCFullYear(year, month, day);
  t.setUTCHours(hour, minute, second, 0);
  return t.getTime();
}

/** The instant of an absolute "YYYY-MM-DDTHH:MM:SS[Z|±HH:MM]", or undefined if malformed or not a real date. */
export function parseAbsolute(at: string, timeZone: string): number | undefined {
  const m = ABSOLUTE.exec(at);
  if (!m) return undefined;
  const [y, mo, d, h, mi, s] = [1, 2, 3, 4, 5, 6].map((i) => Number(m[i]));
  const wall = utcMs(y!, mo! - 1, d!, h!, mi!, s!);
  const check = new Date(wall);
  if (check.getUTCMonth() !== mo! - 1 || check.getUTCDate() !== d!) return undefined;
  const off = m[7];
  if (off === 'Z') return wall;
  if (off) return wall - (off[0] === '-' ? -1 : 1) * (Number(off.slice(1, 3)) * 60 + Number(off.slice(4, 6))) * 60_000;
  return instantOfWall(wall, timeZone);
}

/**
 * The instant of a wall time in the zone (`wall`: ms of a UTC calendar, as localMs gives). The zone's offsets a day
 * either side of it are the only candidates (no zone changes its offset twice in two days). A time that occurs twice
 * (the repeated hour of autumn) is its first occurrence; a time the clocks skip (the spring-forward gap) is read with
 * the offset from before the jump, so it falls as long after the jump as it is after the gap's start (02:30 → 03:30),
 * as calendars do, never an hour early.
 */
export function instantOfWall(wall: number, timeZone: string): number {
  const offsetBefore = localMs(wall - DAY_MS, timeZone) - (wall - DAY_MS);
  const offsetAfter = localMs(wall + DAY_MS, timeZone) - (wall + DAY_MS);
  const fits = [wall - offsetBefore, wall - offsetAfter].filter((t) => localMs(t, timeZone) === wall);
  return fits.length > 0 ? Math.min(...fits) : wall - offsetBefore;
}
