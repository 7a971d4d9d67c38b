// Freeze windows: times when rollouts, release trains and scale-in are refused, from
// config/freezes/<env>.json (FREEZE_WINDOWS in the functions' environment). A window is one-off
// (start and end) or recurring, as an RFC 5545 recurrence rule or a cron expression with a
// duration, in its time zone (daylight saving time included, through Intl). Pure: no I/O.
import * as z from '../../events/zod.ts';
import { jsonEnv } from './env.ts';
import { parseOrThrow } from './validation.ts';

export const FROZEN_ACTIONS = ['rollouts', 'trains', 'scale-in'] as const;
export type FrozenAction = (typeof FROZEN_ACTIONS)[number];

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;
/** The longest a recurring window may last: longer is a one-off window. */
export const MAX_RECURRING_MINUTES = 14 * 24 * 60;

function validTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/** `2026-11-27T00:00` (wall time in the window's zone) or with an offset (`...Z`, `...-05:00`). */
const LOCAL_DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?(Z|[+-]\d{2}:\d{2})?$/;

export const FreezeWindowSchema = z
  .strictObject({
    name: z.string().check(z.minLength(1), z.maxLength(64)),
    /** Why, for the refusal and `ops status`. */
    reason: z.optional(z.string().check(z.minLength(1), z.maxLength(200))),
    freezes: z._default(z.array(z.enum(FROZEN_ACTIONS)).check(z.minLength(1)), [...FROZEN_ACTIONS]),
    /** `cluster/service` it applies to; absent: every service. */
    services: z.optional(
      z.array(z.string().check(z.regex(/^[^/]+\/[^/]+$/, 'must be cluster/service'))).check(z.minLength(1)),
    ),
    timeZone: z._default(
      z.string().check(z.refine(validTimeZone, 'must be an IANA time zone, e.g. Europe/Berlin or UTC')),
      'UTC',
    ),
    start: z.optional(
      z.string().check(z.regex(LOCAL_DATE_TIME, 'must be a date-time like 2026-11-27T00:00')),
    ),
    end: z.optional(z.string().check(z.regex(LOCAL_DATE_TIME, 'must be a date-time like 2026-11-30T23:59'))),
    rrule: z.optional(z.string().check(z.minLength(1), z.maxLength(200))),
    cron: z.optional(z.string().check(z.minLength(1), z.maxLength(100))),
    durationMinutes: z.optional(z.number().check(z.int(), z.gte(1), z.lte(MAX_RECURRING_MINUTES))),
  })
  .check(
    z.superRefine((w, ctx) => {
      const kinds = [
        w.start !== undefined || w.end !== undefined,
        w.rrule !== undefined,
        w.cron !== undefined,
      ];
      if (kinds.filter(Boolean).length !== 1) {
        ctx.addIssue({
          code: 'custom',
          path: [],
          message: 'give exactly one of start and end, rrule, or cron',
        });
        return;
      }
      if (kinds[0]) {
        if (w.start === undefined || w.end === undefined) {
          ctx.addIssue({
            code: 'custom',
            path: [w.start === undefined ? 'start' : 'end'],
            message: 'a one-off window needs both start and end',
          });
          return;
        }
        const tz = validTimeZone(w.timeZone) ? w.timeZone : 'UTC';
        if (parseLocal(w.end, tz) <= parseLocal(w.start, tz))
          ctx.addIssue({ code: 'custom', path: ['end'], message: 'must be after start' });
        if (w.durationMinutes !== undefined)
          ctx.addIssue({
            code: 'custom',
            path: ['durationMinutes'],
            message: 'a one-off window ends at end: drop durationMinutes',
          });
        return;
      }
      if (w.durationMinutes === undefined)
        ctx.addIssue({
          code: 'custom',
          path: ['durationMinutes'],
          message: 'a recurring window needs durationMinutes',
        });
      const problem = w.rrule !== undefined ? rruleProblem(w.rrule) : cronProblem(w.cron ?? '');
      if (problem)
        ctx.addIssue({ code: 'custom', path: [w.rrule !== undefined ? 'rrule' : 'cron'], message: problem });
    }),
  );
export type FreezeWindow = z.infer<typeof FreezeWindowSchema>;
export type FreezeWindowDraft = z.input<typeof FreezeWindowSchema>;

export const FreezeConfigSchema = z.strictObject({
  windows: z.array(FreezeWindowSchema).check(
    z.superRefine((windows, ctx) => {
      const names = new Set<string>();
      windows.forEach((w, i) => {
        if (names.has(w.name))
          ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `${w.name} is named twice` });
        names.add(w.name);
      });
    }),
  ),
});
export type FreezeConfig = z.infer<typeof FreezeConfigSchema>;

const FreezeWindowsJsonSchema = jsonEnv(z.array(FreezeWindowSchema));
const parsedWindows = new Map<string, FreezeWindow[]>();

/**
 * FREEZE_WINDOWS (the environment's windows as config/freezes/<env>.json lists them), parsed when
 * first needed: a cold start of a function that never checks a window does not pay for the
 * schemas. Malformed, it fails that call with InvalidInput naming env.FREEZE_WINDOWS.
 */
export function freezeWindowsOf(raw: string | undefined): FreezeWindow[] {
  if (raw === undefined) return [];
  let windows = parsedWindows.get(raw);
  if (!windows) {
    windows = parseOrThrow(FreezeWindowsJsonSchema, raw, 'env.FREEZE_WINDOWS');
    parsedWindows.set(raw, windows);
  }
  return windows;
}

// ------------------------------------------------------------------------------------------
// Time zones.

const formatters = new Map<string, Intl.DateTimeFormat>();
function formatter(zone: string): Intl.DateTimeFormat {
  let f = formatters.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
      weekday: 'short',
    });
    formatters.set(zone, f);
  }
  return f;
}

const WEEKDAYS = ['SU', 'MO', 'TU', 'WE', 'TH', 'FR', 'SA'] as const;

interface Wall {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  /** 0 = Sunday. */
  weekday: number;
}

/** The wall-clock time in `zone` at `ms`. */
export function wallTime(ms: number, zone: string): Wall {
  const parts = Object.fromEntries(
    formatter(zone)
      .formatToParts(new Date(ms))
      .map((p) => [p.type, p.value]),
  );
  return {
    year: Number(parts.year),
    month: Number(parts.month),
    day: Number(parts.day),
    hour: Number(parts.hour),
    minute: Number(parts.minute),
    weekday: ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'].indexOf(String(parts.weekday)),
  };
}

/** How far `zone` is ahead of UTC at `ms`. */
function offsetMs(ms: number, zone: string): number {
  const w = wallTime(ms, zone);
  const seconds = new Date(ms).getUTCSeconds();
  return Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, seconds) - (ms - (ms % 1000));
}

/**
 * The instant of a wall-clock time in `zone`. A time the clocks skip (spring forward) is the
 * instant an hour later by the old offset; a time they pass twice (fall back) is the first.
 */
export function zonedInstant(
  year: number,
  month: number,
  day: number,
  hour: number,
  minute: number,
  zone: string,
): number {
  const guess = Date.UTC(year, month - 1, day, hour, minute);
  // The offsets either side of any transition that day: one of them gives the wall time asked for.
  const before = guess - offsetMs(guess - 12 * 3600_000, zone);
  const after = guess - offsetMs(guess + 12 * 3600_000, zone);
  const shows = (ms: number) => {
    const w = wallTime(ms, zone);
    return w.day === day && w.hour === hour && w.minute === minute;
  };
  const found = [before, after].filter(shows);
  return found.length > 0 ? Math.min(...found) : before;
}

function parseLocal(text: string, zone: string): number {
  const m = LOCAL_DATE_TIME.exec(text);
  if (!m) return Number.NaN;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map((v) => Number(v ?? 0)) as number[];
  if (m[7])
    return Date.parse(
      `${m.slice(1, 4).join('-')}T${m[4]}:${m[5]}:${m[6] ?? '00'}${m[7] === 'Z' ? 'Z' : m[7]}`,
    );
  return (
    zonedInstant(year as number, month as number, day as number, hour as number, minute as number, zone) +
    (second ?? 0) * 1000
  );
}

// ------------------------------------------------------------------------------------------
// Schedules: which days, and which times on those days, a recurring window starts.

interface Schedule {
  matchesDay(wall: Wall): boolean;
  times: { hour: number; minute: number }[];
}

const daysInMonth = (year: number, month: number) => new Date(Date.UTC(year, month, 0)).getUTCDate();

/** RFC 5545 RRULE, the part a freeze needs: FREQ DAILY|WEEKLY|MONTHLY|YEARLY, BYMONTH, BYMONTHDAY, BYDAY (with an ordinal under MONTHLY), BYHOUR, BYMINUTE. */
function parseRrule(rule: string): Schedule | string {
  const parts = new Map<string, string>();
  for (const part of rule.replace(/^RRULE:/i, '').split(';')) {
    const [key, value] = part.split('=');
    if (!key || value === undefined || value === '') return `"${part}" is not KEY=VALUE`;
    parts.set(key.toUpperCase(), value.toUpperCase());
  }
  const known = new Set(['FREQ', 'BYMONTH', 'BYMONTHDAY', 'BYDAY', 'BYHOUR', 'BYMINUTE', 'INTERVAL', 'WKST']);
  for (const key of parts.keys())
    if (!known.has(key))
      return `${key} is not supported (FREQ, BYMONTH, BYMONTHDAY, BYDAY, BYHOUR, BYMINUTE)`;
  const freq = parts.get('FREQ');
  if (!freq || !['DAILY', 'WEEKLY', 'MONTHLY', 'YEARLY'].includes(freq))
    return 'FREQ must be DAILY, WEEKLY, MONTHLY or YEARLY';
  if ((parts.get('INTERVAL') ?? '1') !== '1')
    return 'INTERVAL other than 1 is not supported (a window repeats every period)';
  const ints = (key: string, min: number, max: number): number[] | string | undefined => {
    const raw = parts.get(key);
    if (raw === undefined) return undefined;
    const values = raw.split(',').map(Number);
    if (values.some((v) => !Number.isInteger(v) || v < min || v > max || (min < 0 && v === 0)))
      return `${key} takes whole numbers from ${min} to ${max}`;
    return values;
  };
  const months = ints('BYMONTH', 1, 12);
  const monthDays = ints('BYMONTHDAY', -31, 31);
  const hours = ints('BYHOUR', 0, 23);
  const minutes = ints('BYMINUTE', 0, 59);
  for (const v of [months, monthDays, hours, minutes]) if (typeof v === 'string') return v;
  const byDay: { weekday: number; ordinal?: number }[] = [];
  for (const d of (parts.get('BYDAY') ?? '').split(',').filter(Boolean)) {
    const m = /^([+-]?\d{1,2})?(SU|MO|TU|WE|TH|FR|SA)$/.exec(d);
    if (!m) return `BYDAY "${d}" is not a day (MO..SU, with an ordinal under MONTHLY: 1MO, -1FR)`;
    if (m[1] && freq !== 'MONTHLY') return `BYDAY "${d}": an ordinal needs FREQ=MONTHLY`;
    if (m[1] && (Number(m[1]) === 0 || Math.abs(Number(m[1])) > 5))
      return `BYDAY "${d}": a month has a 1st to 5th (or -1st to -5th) of each weekday`;
    byDay.push({
      weekday: WEEKDAYS.indexOf(m[2] as (typeof WEEKDAYS)[number]),
      ...(m[1] ? { ordinal: Number(m[1]) } : {}),
    });
  }
  if (freq === 'WEEKLY' && byDay.length === 0) return 'FREQ=WEEKLY needs BYDAY (the days it starts)';
  if (freq === 'MONTHLY' && byDay.length === 0 && !monthDays) return 'FREQ=MONTHLY needs BYMONTHDAY or BYDAY';
  if (freq === 'YEARLY' && (!months || (!monthDays && byDay.length === 0)))
    return 'FREQ=YEARLY needs BYMONTH and BYMONTHDAY (or BYDAY)';
  const monthList = months as number[] | undefined;
  const dayList = monthDays as number[] | undefined;
  return {
    matchesDay(w) {
      if (monthList && !monthList.includes(w.month)) return false;
      const last = daysInMonth(w.year, w.month);
      if (dayList && !dayList.some((d) => (d > 0 ? d : last + d + 1) === w.day)) return false;
      if (byDay.length === 0) return true;
      return byDay.some((b) => {
        if (b.weekday !== w.weekday) return false;
        if (b.ordinal === undefined) return true;
        const nth = Math.floor((w.day - 1) / 7) + 1;
        const fromEnd = -(Math.floor((last - w.day) / 7) + 1);
        return b.ordinal === nth || b.ordinal === fromEnd;
      });
    },
    times: cross((hours as number[] | undefined) ?? [0], (minutes as number[] | undefined) ?? [0]),
  };
}

const cross = (hours: number[], minutes: number[]) =>
  hours.flatMap((hour) => minutes.map((minute) => ({ hour, minute })));

/** A five-field cron expression (minute hour day-of-month month day-of-week): *, lists, ranges and steps; day-of-month and day-of-week both restricted match either, as cron does. */
function parseCron(expression: string): Schedule | string {
  const fields = expression.trim().split(/\s+/);
  if (fields.length !== 5) return 'takes five fields: minute hour day-of-month month day-of-week';
  const field = (text: string, min: number, max: number, name: string): number[] | string => {
    const out = new Set<number>();
    for (const part of text.split(',')) {
      const m = /^(\*|(\d+)(?:-(\d+))?)(?:\/(\d+))?$/.exec(part);
      if (!m) return `${name} "${part}" is not a number, range, list or step`;
      const from = m[1] === '*' ? min : Number(m[2]);
      const to = m[1] === '*' ? max : m[3] !== undefined ? Number(m[3]) : m[4] ? max : from;
      const step = m[4] ? Number(m[4]) : 1;
      if (from < min || to > max || from > to || step < 1)
        return `${name} "${part}" is outside ${min}-${max}`;
      for (let v = from; v <= to; v += step) out.add(v);
    }
    return [...out];
  };
  const minutes = field(fields[0] as string, 0, 59, 'minute');
  const hours = field(fields[1] as string, 0, 23, 'hour');
  const days = field(fields[2] as string, 1, 31, 'day-of-month');
  const months = field(fields[3] as string, 1, 12, 'month');
  const weekdays = field(fields[4] as string, 0, 7, 'day-of-week');
  for (const v of [minutes, hours, days, months, weekdays]) if (typeof v === 'string') return v;
  // As cron reads them: a field that starts with * (*/2 too) does not restrict the day.
  const dayRestricted = !(fields[2] as string).startsWith('*');
  const weekdayRestricted = !(fields[4] as string).startsWith('*');
  const weekdaySet = new Set((weekdays as number[]).map((d) => d % 7));
  return {
    matchesDay(w) {
      if (!(months as number[]).includes(w.month)) return false;
      const byDay = (days as number[]).includes(w.day);
      const byWeekday = weekdaySet.has(w.weekday);
      if (dayRestricted && weekdayRestricted) return byDay || byWeekday;
      return byDay && byWeekday;
    },
    times: cross(hours as number[], minutes as number[]),
  };
}

function rruleProblem(rule: string): string | undefined {
  const parsed = parseRrule(rule);
  return typeof parsed === 'string' ? parsed : undefined;
}

function cronProblem(expression: string): string | undefined {
  const parsed = parseCron(expression);
  return typeof parsed === 'string' ? parsed : undefined;
}

/** Starts of a recurring window's occurrences in [from, to], oldest first. */
function occurrenceStarts(window: FreezeWindow, from: number, to: number): number[] {
  const schedule = window.rrule !== undefined ? parseRrule(window.rrule) : parseCron(window.cron ?? '');
  if (typeof schedule === 'string') throw new Error(`freeze window ${window.name}: ${schedule}`);
  const starts: number[] = [];
  // Every local calendar day from the day before `from` to the day after `to` (zones are at most
  // 14 h off UTC), stepped as dates: a day with a clock change is 23 or 25 hours long.
  const first = wallTime(from - DAY, window.timeZone);
  const last = wallTime(to + DAY, window.timeZone);
  const lastDay = Date.UTC(last.year, last.month - 1, last.day);
  for (let d = Date.UTC(first.year, first.month - 1, first.day); d <= lastDay; d += DAY) {
    const date = new Date(d);
    const day: Wall = {
      year: date.getUTCFullYear(),
      month: date.getUTCMonth() + 1,
      day: date.getUTCDate(),
      hour: 0,
      minute: 0,
      weekday: date.getUTCDay(),
    };
    if (!schedule.matchesDay(day)) continue;
    for (const t of schedule.times) {
      const start = zonedInstant(day.year, day.month, day.day, t.hour, t.minute, window.timeZone);
      if (start >= from && start <= to) starts.push(start);
    }
  }
  return [...new Set(starts)].sort((a, b) => a - b);
}

export interface WindowOccurrence {
  name: string;
  reason?: string;
  start: number;
  end: number;
}

/** The occurrence of `window` in force at `now`, if any (the latest one, when two overlap). */
export function occurrenceAt(window: FreezeWindow, now: number): WindowOccurrence | undefined {
  const info = { name: window.name, ...(window.reason ? { reason: window.reason } : {}) };
  if (window.start !== undefined && window.end !== undefined) {
    const start = parseLocal(window.start, window.timeZone);
    const end = parseLocal(window.end, window.timeZone);
    return start <= now && now < end ? { ...info, start, end } : undefined;
  }
  const duration = (window.durationMinutes ?? 0) * MINUTE;
  const starts = occurrenceStarts(window, now - duration, now).filter((s) => now < s + duration);
  const start = starts.at(-1);
  // Occurrences that overlap run on: the window ends with the last of them.
  return start === undefined ? undefined : { ...info, start: starts[0] as number, end: start + duration };
}

/** The next occurrence of `window` that starts after `now` and within `horizonMs`. */
export function nextOccurrence(
  window: FreezeWindow,
  now: number,
  horizonMs: number,
): WindowOccurrence | undefined {
  const info = { name: window.name, ...(window.reason ? { reason: window.reason } : {}) };
  if (window.start !== undefined && window.end !== undefined) {
    const start = parseLocal(window.start, window.timeZone);
    return start > now && start <= now + horizonMs
      ? { ...info, start, end: parseLocal(window.end, window.timeZone) }
      : undefined;
  }
  const start = occurrenceStarts(window, now + 1, now + horizonMs)[0];
  return start === undefined
    ? undefined
    : { ...info, start, end: start + (window.durationMinutes ?? 0) * MINUTE };
}

const applies = (w: FreezeWindow, action: FrozenAction, services: readonly string[] | undefined) =>
  w.freezes.includes(action) && (!w.services || !services || services.some((s) => w.services?.includes(s)));

/** The windows in force at `now` that freeze `action` for any of `services` (all services when absent). */
export function windowsInForce(
  windows: readonly FreezeWindow[],
  now: number,
  action: FrozenAction,
  services?: readonly string[],
): WindowOccurrence[] {
  return windows
    .filter((w) => applies(w, action, services))
    .map((w) => occurrenceAt(w, now))
    .filter((o): o is WindowOccurrence => o !== undefined);
}

/** Every window in force now, and every one starting within `horizonMs`: `ops status`. */
export function freezeCalendar(windows: readonly FreezeWindow[], now: number, horizonMs: number) {
  return {
    inForce: windows.flatMap((w) => {
      const o = occurrenceAt(w, now);
      return o ? [{ ...o, freezes: w.freezes, services: w.services }] : [];
    }),
    upcoming: windows
      .flatMap((w) => {
        const o = nextOccurrence(w, now, horizonMs);
        return o ? [{ ...o, freezes: w.freezes, services: w.services }] : [];
      })
      .sort((a, b) => a.start - b.start),
  };
}

const iso = (ms: number) => new Date(ms).toISOString();

/** One window in force, in words: `freeze window "weekend" (until 2026-12-07T08:00:00.000Z: quiet weekend)`. */
export function describeOccurrence(o: WindowOccurrence): string {
  return `freeze window "${o.name}" (until ${iso(o.end)}${o.reason ? `: ${o.reason}` : ''})`;
}

/** Why `action` is refused now, or undefined when no window freezes it. */
export function freezeRefusal(in_force: readonly WindowOccurrence[], what: string): string | undefined {
  if (in_force.length === 0) return undefined;
  return `refused: ${what} ${in_force.length === 1 ? 'is' : 'are'} frozen by ${in_force.map(describeOccurrence).join(' and ')}; nothing was changed. To go ahead anyway, give breakGlass: {"reason": "..."} (journaled and alerted)`;
}
