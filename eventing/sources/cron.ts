/**
 * PingSource's `schedule`, parsed and evaluated the way Knative's mtping
 * adapter does it with robfig/cron v3 (ping_validation.go calls
 * `cron.ParseStandard("CRON_TZ=" + timezone + " " + schedule)`). Pure: no
 * clock; time zones through Intl (IANA names, no dependency).
 *
 * Syntax (robfig's standard parser):
 * - five fields `minute hour day-of-month month day-of-week`; each a comma
 *   list of `*`, `?`, `N`, `N-M`, with an optional `/STEP` (`N/STEP` means
 *   N to the field's maximum); months `JAN`–`DEC` and days `SUN`–`SAT`
 *   by name, case-insensitive; day-of-week 0–6 (0 = Sunday);
 * - descriptors `@yearly` (`@annually`), `@monthly`, `@weekly`, `@daily`
 *   (`@midnight`), `@hourly`; Knative refuses `@every`;
 * - a `CRON_TZ=Zone` or `TZ=Zone` prefix; `spec.timezone` becomes
 *   `CRON_TZ=`.
 * - When day-of-month and day-of-week are both restricted (neither starts
 *   with `*` or `?`), a day matching either one matches (Vixie cron).
 *
 * Beyond Knative, on purpose: six fields are accepted, the first being
 * seconds (robfig's `SecondOptional`). Knative's webhook parses with
 * ParseStandard and so refuses six fields; Zeno takes them so a schedule can
 * fire every second (issue 4 asks for it; tests and demos need it).
 *
 * Time zone edges follow robfig's Next(): hours advance in absolute time, so
 * a time inside a spring-forward gap does not fire that day, and a time
 * inside a fall-back repeated hour fires twice. Without any zone the
 * schedule is in UTC (Knative: the adapter pod's zone, UTC in practice).
 * Like robfig, the search gives up after five years (e.g. `0 0 30 2 *`).
 */

export interface CronSchedule {
  /** Allowed values per field, as 0/1 flags indexed by value. */
  second: Uint8Array;
  minute: Uint8Array;
  hour: Uint8Array;
  dom: Uint8Array;
  month: Uint8Array;
  dow: Uint8Array;
  /** Whether the field was `*` or `?` (robfig's starBit): decides AND vs OR of the day fields. */
  domStar: boolean;
  dowStar: boolean;
  /** IANA zone the fields are read in. */
  timeZone: string;
}

export type CronParseResult = { schedule: CronSchedule } | { error: string; field: 'schedule' | 'timezone' };

interface Bounds {
  min: number;
  max: number;
  names?: Record<string, number>;
}

const MONTH_NAMES: Record<string, number> = { jan: 1, feb: 2, mar: 3, apr: 4, may: 5, jun: 6, jul: 7, aug: 8, sep: 9, oct: 10, nov: 11, dec: 12 };
const DOW_NAMES: Record<string, number> = { sun: 0, mon: 1, tue: 2, wed: 3, thu: 4, fri: 5, sat: 6 };
const SECONDS: Bounds = { min: 0, max: 59 };
const MINUTES: Bounds = { min: 0, max: 59 };
const HOURS: Bounds = { min: 0, max: 23 };
const DOM: Bounds = { min: 1, max: 31 };
const MONTHS: Bounds = { min: 1, max: 12, names: MONTH_NAMES };
const DOW: Bounds = { min: 0, max: 6, names: DOW_NAMES };

const DESCRIPTORS: Record<string, string> = {
  '@yearly': '0 0 0 1 1 *',
  '@annually': '0 0 0 1 1 *',
  '@monthly': '0 0 0 1 * *',
  '@weekly': '0 0 0 * * 0',
  '@daily': '0 0 0 * * *',
  '@midnight': '0 0 0 * * *',
  '@hourly': '0 0 * * * *',
};

/** Whether `zone` is an IANA time zone name Intl knows. */
export function isValidTimeZone(zone: string): boolean {
  if (zone === '') return false;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

class FieldError extends Error {}

function parseValue(text: string, b: Bounds): number {
  const named = b.names?.[text.toLowerCase()];
  if (named !== undefined) return named;
  if (!/^\d+$/.test(text)) throw new FieldError(`failed to parse int from ${text}`);
  return Number(text);
}

/** One comma-separated element: `*`, `?`, `N`, `N-M`, each with an optional `/STEP`. */
function parseRange(expr: string, b: Bounds, into: Uint8Array): boolean {
  const [rangePart = '', stepPart, extra] = expr.split('/');
  if (extra !== undefined) throw new FieldError(`too many slashes: ${expr}`);
  let start: number;
  let end: number;
  let star = false;
  if (rangePart === '*' || rangePart === '?') {
    start = b.min;
    end = b.max;
    star = true;
  } else {
    const [lo = '', hi, more] = rangePart.split('-');
    if (more !== undefined) throw new FieldError(`too many hyphens: ${expr}`);
    start = parseValue(lo, b);
    end = hi === undefined ? (stepPart === undefined ? start : b.max) : parseValue(hi, b);
  }
  let step = 1;
  if (stepPart !== undefined) {
    step = parseValue(stepPart, { min: 0, max: 0 });
    if (step === 0) throw new FieldError(`step of range should be a positive number: ${expr}`);
    if (step > 1) star = false;
  }
  if (start < b.min) throw new FieldError(`beginning of range (${start}) below minimum (${b.min}): ${expr}`);
  if (end > b.max) throw new FieldError(`end of range (${end}) above maximum (${b.max}): ${expr}`);
  if (start > end) throw new FieldError(`beginning of range (${start}) beyond end of range (${end}): ${expr}`);
  for (let v = start; v <= end; v += step) into[v] = 1;
  return star;
}

function parseField(text: string, b: Bounds): { set: Uint8Array; star: boolean } {
  const set = new Uint8Array(b.max + 1);
  let star = false;
  for (const part of text.split(',')) if (parseRange(part, b, set)) star = true;
  return { set, star };
}

/**
 * Parses a schedule; `timezone` is PingSource's `spec.timezone` (applied as
 * a `CRON_TZ=` prefix, as Knative does). Errors say which field is wrong.
 */
export function parseCron(schedule: string, timezone?: string): CronParseResult {
  let spec = (timezone ? `CRON_TZ=${timezone} ${schedule}` : schedule).trim();
  if (spec === '') return { error: 'empty spec string', field: 'schedule' };
  let timeZone = 'UTC';
  const tz = /^(?:CRON_TZ|TZ)=(\S*)\s*/.exec(spec);
  if (tz) {
    const zone = tz[1] ?? '';
    if (!isValidTimeZone(zone)) return { error: `provided bad location ${zone}: unknown time zone ${zone}`, field: 'timezone' };
    timeZone = zone;
    spec = spec.slice(tz[0].length);
  }
  if (spec.startsWith('@')) {
    if (spec.startsWith('@every')) return { error: 'unsupported descriptor @every', field: 'schedule' };
    const expanded = DESCRIPTORS[spec.toLowerCase()];
    if (!expanded) return { error: `unrecognized descriptor: ${spec}`, field: 'schedule' };
    spec = expanded;
  }
  const fields = spec.split(/\s+/).filter((f) => f !== '');
  if (fields.length < 5 || fields.length > 6) {
    return { error: `expected 5 to 6 fields, found ${fields.length}: [${fields.join(' ')}]`, field: 'schedule' };
  }
  const all = fields.length === 6 ? fields : ['0', ...fields];
  try {
    const [s, mi, h, dom, mo, dow] = all as [string, string, string, string, string, string];
    const domF = parseField(dom, DOM);
    const dowF = parseField(dow, DOW);
    return {
      schedule: {
        second: parseField(s, SECONDS).set,
        minute: parseField(mi, MINUTES).set,
        hour: parseField(h, HOURS).set,
        dom: domF.set,
        month: parseField(mo, MONTHS).set,
        dow: dowF.set,
        domStar: domF.star,
        dowStar: dowF.star,
        timeZone,
      },
    };
  } catch (e) {
    if (e instanceof FieldError) return { error: e.message, field: 'schedule' };
    throw e;
  }
}

// ---- evaluation in a time zone ----

interface LocalTime {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  weekday: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(zone: string): Intl.DateTimeFormat {
  let f = formatters.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: zone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric',
    });
    formatters.set(zone, f);
  }
  return f;
}

/** The wall-clock fields of an instant in `zone`. */
export function localTime(ms: number, zone: string): LocalTime {
  const out: Record<string, number> = {};
  for (const p of formatterFor(zone).formatToParts(ms)) if (p.type !== 'literal') out[p.type] = Number(p.value);
  const year = out.year!;
  const month = out.month!;
  const day = out.day!;
  return { year, month, day, hour: out.hour!, minute: out.minute!, second: out.second!, weekday: new Date(Date.UTC(year, month - 1, day)).getUTCDay() };
}

/** local wall time minus UTC, in ms, at an instant. */
function offsetAt(ms: number, zone: string): number {
  const l = localTime(ms, zone);
  const wall = Date.UTC(l.year, l.month - 1, l.day, l.hour, l.minute, l.second);
  return wall - Math.floor(ms / 1000) * 1000;
}

/** The instant of a wall-clock time in `zone` (Date.UTC normalizes overflowing fields). */
function zonedToUtc(year: number, month: number, day: number, hour: number, zone: string): number {
  const wall = Date.UTC(year, month - 1, day, hour, 0, 0);
  let t = wall - offsetAt(wall, zone);
  const again = offsetAt(t, zone);
  if (again !== offsetAt(wall, zone)) t = wall - again;
  return t;
}

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;

function dayMatches(s: CronSchedule, l: LocalTime): boolean {
  const domMatch = s.dom[l.day] === 1;
  const dowMatch = s.dow[l.weekday] === 1;
  return s.domStar || s.dowStar ? domMatch && dowMatch : domMatch || dowMatch;
}

/**
 * The first time strictly after `afterMs` (rounded up to the next whole
 * second) that the schedule fires, or undefined when none within five
 * years. The same walk as robfig's SpecSchedule.Next.
 */
export function nextFire(s: CronSchedule, afterMs: number): number | undefined {
  const zone = s.timeZone;
  let t = Math.floor(afterMs / SECOND) * SECOND + SECOND;
  const yearLimit = localTime(t, zone).year + 5;
  let added = false;
  wrap: for (;;) {
    let l = localTime(t, zone);
    if (l.year > yearLimit) return undefined;

    while (s.month[l.month] !== 1) {
      if (!added) {
        added = true;
        t = zonedToUtc(l.year, l.month, 1, 0, zone);
      }
      const cur = localTime(t, zone);
      t = zonedToUtc(cur.year, cur.month + 1, 1, 0, zone);
      l = localTime(t, zone);
      if (l.month === 1) continue wrap;
    }

    while (!dayMatches(s, l)) {
      if (!added) {
        added = true;
        t = zonedToUtc(l.year, l.month, l.day, 0, zone);
      }
      const cur = localTime(t, zone);
      t = zonedToUtc(cur.year, cur.month, cur.day + 1, 0, zone);
      l = localTime(t, zone);
      // Midnight moved by a DST change: robfig steps to the nearest midnight.
      if (l.hour !== 0) t += l.hour > 12 ? (24 - l.hour) * HOUR : -l.hour * HOUR;
      l = localTime(t, zone);
      if (l.day === 1) continue wrap;
    }

    while (s.hour[l.hour] !== 1) {
      if (!added) {
        added = true;
        t -= l.minute * MINUTE + l.second * SECOND;
      }
      t += HOUR;
      l = localTime(t, zone);
      if (l.hour === 0) continue wrap;
    }

    while (s.minute[l.minute] !== 1) {
      if (!added) {
        added = true;
        t -= l.second * SECOND;
      }
      t += MINUTE;
      l = localTime(t, zone);
      if (l.minute === 0) continue wrap;
    }

    while (s.second[l.second] !== 1) {
      added = true;
      t += SECOND;
      l = localTime(t, zone);
      if (l.second === 0) continue wrap;
    }
    return t;
  }
}
