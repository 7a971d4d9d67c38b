// Freeze windows: one-off and recurring (RRULE, cron) windows in their time zones, across
// daylight saving time, and the config errors that name the field.
import { describe, expect, it } from 'vitest';
import {
  FreezeConfigSchema,
  type FreezeWindowDraft,
  FreezeWindowSchema,
  freezeCalendar,
  freezeRefusal,
  nextOccurrence,
  occurrenceAt,
  windowsInForce,
  zonedInstant,
} from '../../functions/shared/freeze-windows.ts';

const at = (text: string) => Date.parse(text);
const window = (draft: FreezeWindowDraft) => FreezeWindowSchema.parse(draft);
const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());

describe('wall-clock times in a zone', () => {
  it('maps a time the clocks pass twice to the first, and one they skip to an hour later', () => {
    // Berlin falls back at 03:00 CEST on 2026-10-25: 02:30 happens at 00:30Z and again at 01:30Z.
    expect(iso(zonedInstant(2026, 10, 25, 2, 30, 'Europe/Berlin'))).toBe('2026-10-25T00:30:00.000Z');
    // It springs forward at 02:00 CET on 2026-03-29: 02:30 does not exist; 03:30 CEST is 01:30Z.
    expect(iso(zonedInstant(2026, 3, 29, 2, 30, 'Europe/Berlin'))).toBe('2026-03-29T01:30:00.000Z');
    expect(iso(zonedInstant(2026, 7, 1, 9, 0, 'America/New_York'))).toBe('2026-07-01T13:00:00.000Z');
  });
});

describe('recurring windows', () => {
  // Friday 17:00 in Berlin for 64 hours: to Monday 09:00 in winter.
  const weekend = window({
    name: 'weekend',
    timeZone: 'Europe/Berlin',
    rrule: 'FREQ=WEEKLY;BYDAY=FR;BYHOUR=17;BYMINUTE=0',
    durationMinutes: 64 * 60,
    reason: 'nobody on call',
  });

  it('is in force from its start in its own zone, for its duration, across daylight saving time', () => {
    expect(occurrenceAt(weekend, at('2026-12-05T12:00:00Z'))).toMatchObject({
      name: 'weekend',
      start: at('2026-12-04T16:00:00Z'),
      end: at('2026-12-07T08:00:00Z'),
    });
    expect(occurrenceAt(weekend, at('2026-12-04T15:59:00Z'))).toBeUndefined();
    expect(occurrenceAt(weekend, at('2026-12-07T08:00:00Z'))).toBeUndefined();
    // Before and after Berlin's spring change: 17:00 CET is 16:00Z, 17:00 CEST is 15:00Z.
    expect(occurrenceAt(weekend, at('2026-03-28T12:00:00Z'))?.start).toBe(at('2026-03-27T16:00:00Z'));
    expect(occurrenceAt(weekend, at('2026-04-04T12:00:00Z'))?.start).toBe(at('2026-04-03T15:00:00Z'));
  });

  it('knows its next start', () => {
    expect(iso(nextOccurrence(weekend, at('2026-12-08T00:00:00Z'), 14 * 86_400_000)?.start)).toBe(
      '2026-12-11T16:00:00.000Z',
    );
    expect(nextOccurrence(weekend, at('2026-12-08T00:00:00Z'), 86_400_000)).toBeUndefined();
  });

  it('reads cron in its zone: weekday nights in New York', () => {
    const nights = window({
      name: 'nights',
      timeZone: 'America/New_York',
      cron: '0 22 * * 1-5',
      durationMinutes: 480,
    });
    // Monday 22:30 EST is Tuesday 03:30Z; Saturday 22:30 is not a weeknight.
    expect(occurrenceAt(nights, at('2026-12-08T03:30:00Z'))?.start).toBe(at('2026-12-08T03:00:00Z'));
    expect(occurrenceAt(nights, at('2026-12-13T03:30:00Z'))).toBeUndefined();
    // Friday 22:00 runs into Saturday 06:00.
    expect(occurrenceAt(nights, at('2026-12-12T10:59:00Z'))?.end).toBe(at('2026-12-12T11:00:00Z'));
  });

  it('starts on the day the clocks change: a Sunday 01:00 window in Berlin on the spring-forward night', () => {
    const sunday = window({
      name: 'sunday',
      timeZone: 'Europe/Berlin',
      rrule: 'FREQ=WEEKLY;BYDAY=SU;BYHOUR=1',
      durationMinutes: 120,
    });
    // 01:00 CET on 2027-03-28 is 00:00Z; the clocks go from 02:00 CET to 03:00 CEST an hour later.
    expect(occurrenceAt(sunday, at('2027-03-28T00:30:00Z'))?.start).toBe(at('2027-03-28T00:00:00Z'));
    expect(iso(nextOccurrence(sunday, at('2027-03-27T22:30:00Z'), 86_400_000)?.start)).toBe(
      '2027-03-28T00:00:00.000Z',
    );
    const cron = window({
      name: 'cron',
      timeZone: 'America/New_York',
      cron: '0 1 * * 0',
      durationMinutes: 180,
    });
    // New York springs forward on 2027-03-14: 01:00 EST is 06:00Z.
    expect(occurrenceAt(cron, at('2027-03-14T06:30:00Z'))?.start).toBe(at('2027-03-14T06:00:00Z'));
  });

  it('takes an ordinal weekday in a month: the last Friday', () => {
    const lastFriday = window({
      name: 'month end',
      rrule: 'FREQ=MONTHLY;BYDAY=-1FR;BYHOUR=12',
      durationMinutes: 60,
    });
    expect(occurrenceAt(lastFriday, at('2026-12-25T12:30:00Z'))).toBeDefined();
    expect(occurrenceAt(lastFriday, at('2026-12-18T12:30:00Z'))).toBeUndefined();
  });
});

describe('one-off windows', () => {
  it('are read in their zone, or at the offset they give', () => {
    const local = window({
      name: 'sale',
      timeZone: 'America/New_York',
      start: '2026-11-27T00:00',
      end: '2026-11-30T23:59',
    });
    expect(occurrenceAt(local, at('2026-11-27T04:59:00Z'))).toBeUndefined();
    expect(occurrenceAt(local, at('2026-11-27T05:00:00Z'))?.end).toBe(at('2026-12-01T04:59:00Z'));
    const fixed = window({
      name: 'migration',
      start: '2026-12-05T10:00+01:00',
      end: '2026-12-05T12:00+01:00',
    });
    expect(occurrenceAt(fixed, at('2026-12-05T09:30:00Z'))).toBeDefined();
    expect(occurrenceAt(fixed, at('2026-12-05T11:00:00Z'))).toBeUndefined();
  });
});

describe('what a window freezes', () => {
  const windows = [
    window({
      name: 'api only',
      start: '2026-12-05T00:00Z',
      end: '2026-12-06T00:00Z',
      services: ['web/api'],
      freezes: ['rollouts'],
    }),
    window({ name: 'everything', start: '2026-12-10T00:00Z', end: '2026-12-11T00:00Z' }),
  ];
  it('applies to its actions and services only, and says why a refusal is one', () => {
    const now = at('2026-12-05T12:00:00Z');
    expect(windowsInForce(windows, now, 'rollouts', ['web/api']).map((w) => w.name)).toEqual(['api only']);
    expect(windowsInForce(windows, now, 'rollouts', ['web/cart'])).toEqual([]);
    expect(windowsInForce(windows, now, 'scale-in', ['web/api'])).toEqual([]);
    // A train names its services: one frozen service freezes the train.
    expect(windowsInForce(windows, now, 'rollouts', ['web/cart', 'web/api'])).toHaveLength(1);
    expect(freezeRefusal(windowsInForce(windows, now, 'rollouts', ['web/api']), 'rollouts of web/api')).toBe(
      'refused: rollouts of web/api is frozen by freeze window "api only" (until 2026-12-06T00:00:00.000Z); nothing was changed. To go ahead anyway, give breakGlass: {"reason": "..."} (journaled and alerted)',
    );
    const calendar = freezeCalendar(windows, now, 7 * 86_400_000);
    expect(calendar.inForce.map((w) => w.name)).toEqual(['api only']);
    expect(calendar.upcoming.map((w) => w.name)).toEqual(['everything']);
  });
});

describe('config errors name the field', () => {
  const problem = (windows: unknown[]) => {
    const parsed = FreezeConfigSchema.safeParse({ windows });
    return parsed.success
      ? undefined
      : parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`)[0];
  };
  it.each([
    [
      { name: 'a', rrule: 'FREQ=WEEKLY;BYDAY=XX', durationMinutes: 5 },
      'windows.0.rrule: BYDAY "XX" is not a day',
    ],
    [{ name: 'a', rrule: 'FREQ=HOURLY', durationMinutes: 5 }, 'windows.0.rrule: FREQ must be'],
    [{ name: 'a', cron: '0 25 * * *', durationMinutes: 5 }, 'windows.0.cron: hour "25" is outside 0-23'],
    [{ name: 'a', cron: '0 1 * *', durationMinutes: 5 }, 'windows.0.cron: takes five fields'],
    [
      { name: 'a', rrule: 'FREQ=MONTHLY;BYDAY=0MO', durationMinutes: 5 },
      'windows.0.rrule: BYDAY "0MO": a month has a 1st to 5th',
    ],
    [{ name: 'a', cron: '0 1 * * *' }, 'windows.0.durationMinutes: a recurring window needs durationMinutes'],
    [
      { name: 'a', cron: '0 1 * * *', rrule: 'FREQ=DAILY', durationMinutes: 5 },
      'windows.0: give exactly one of',
    ],
    [{ name: 'a', start: '2026-12-05T10:00', end: '2026-12-05T09:00' }, 'windows.0.end: must be after start'],
    [{ name: 'a', start: '2026-12-05T10:00' }, 'windows.0.end: a one-off window needs both'],
    [
      { name: 'a', timeZone: 'Mars/Olympus', cron: '0 1 * * *', durationMinutes: 5 },
      'windows.0.timeZone: must be an IANA time zone',
    ],
    [
      { name: 'a', cron: '0 1 * * *', durationMinutes: 5, services: ['api'] },
      'windows.0.services.0: must be cluster/service',
    ],
  ])('%j', (w, expected) => {
    expect(problem([w])).toContain(expected);
  });
  it('refuses a name used twice', () => {
    const w = { name: 'a', cron: '0 1 * * *', durationMinutes: 5 };
    expect(problem([w, w])).toBe('windows.1.name: a is named twice');
  });
});
