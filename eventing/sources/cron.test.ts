import { describe, expect, it } from 'vitest';
import { nextFire, parseCron, type CronSchedule } from './cron.js';

function parsed(schedule: string, tz?: string): CronSchedule {
  const r = parseCron(schedule, tz);
  if ('error' in r) throw new Error(r.error);
  return r.schedule;
}

const iso = (ms: number | undefined): string | undefined => (ms === undefined ? undefined : new Date(ms).toISOString());

/** The next `n` fire times after `from`, as ISO strings (UTC). */
function fires(schedule: string, from: string, n: number, tz?: string): (string | undefined)[] {
  const s = parsed(schedule, tz);
  const out: (string | undefined)[] = [];
  let t: number | undefined = Date.parse(from);
  for (let i = 0; i < n && t !== undefined; i++) {
    t = nextFire(s, t);
    out.push(iso(t));
  }
  return out;
}

describe('parseCron', () => {
  const errors: { schedule: string; tz?: string; field: 'schedule' | 'timezone'; message: RegExp }[] = [
    { schedule: '', field: 'schedule', message: /empty spec/ },
    { schedule: '* * * *', field: 'schedule', message: /expected 5 to 6 fields, found 4/ },
    { schedule: '* * * * * * *', field: 'schedule', message: /found 7/ },
    { schedule: '60 * * * *', field: 'schedule', message: /above maximum \(59\)/ },
    { schedule: '* 24 * * *', field: 'schedule', message: /above maximum \(23\)/ },
    { schedule: '* * 0 * *', field: 'schedule', message: /below minimum \(1\)/ },
    { schedule: '* * * 13 *', field: 'schedule', message: /above maximum \(12\)/ },
    { schedule: '* * * * 7', field: 'schedule', message: /above maximum \(6\)/ },
    { schedule: '5-1 * * * *', field: 'schedule', message: /beyond end of range/ },
    { schedule: '*/0 * * * *', field: 'schedule', message: /positive number/ },
    { schedule: 'x * * * *', field: 'schedule', message: /failed to parse int from x/ },
    { schedule: '1/2/3 * * * *', field: 'schedule', message: /too many slashes/ },
    { schedule: '@every 1m', field: 'schedule', message: /unsupported descriptor @every/ },
    { schedule: '@fortnightly', field: 'schedule', message: /unrecognized descriptor/ },
    { schedule: '* * * * *', tz: 'Mars/Olympus', field: 'timezone', message: /provided bad location Mars\/Olympus/ },
    { schedule: 'CRON_TZ=Nowhere/Land * * * * *', field: 'timezone', message: /bad location/ },
  ];
  it.each(errors)('refuses $schedule $tz', ({ schedule, tz, field, message }) => {
    const r = parseCron(schedule, tz);
    expect(r).toMatchObject({ field });
    expect('error' in r && r.error).toMatch(message);
  });

  it('accepts names, lists, ranges, steps, descriptors and zone prefixes', () => {
    for (const s of ['0 9 * * MON-FRI', '*/15 * * JAN,jul *', '0 0 1 * ?', '@hourly', '@Yearly', 'TZ=Europe/Paris 0 8 * * *', '*/2 * * * * *', '5/10 * * * *']) {
      expect(parseCron(s)).toHaveProperty('schedule');
    }
    expect(parsed('* * * * *', 'Asia/Tokyo').timeZone).toBe('Asia/Tokyo');
    expect(parsed('CRON_TZ=Asia/Kolkata * * * * *').timeZone).toBe('Asia/Kolkata');
    expect(parsed('* * * * *').timeZone).toBe('UTC');
  });
});

describe('nextFire', () => {
  const table: { label: string; schedule: string; tz?: string; from: string; want: string[] }[] = [
    { label: 'every minute, from mid-minute', schedule: '* * * * *', from: '2024-01-01T10:00:30Z', want: ['2024-01-01T10:01:00.000Z', '2024-01-01T10:02:00.000Z'] },
    { label: 'strictly after an exact fire time', schedule: '* * * * *', from: '2024-01-01T10:01:00Z', want: ['2024-01-01T10:02:00.000Z'] },
    { label: 'every second (seconds field)', schedule: '* * * * * *', from: '2024-01-01T10:00:00.400Z', want: ['2024-01-01T10:00:01.000Z', '2024-01-01T10:00:02.000Z', '2024-01-01T10:00:03.000Z'] },
    { label: 'every 20 seconds', schedule: '*/20 * * * * *', from: '2024-01-01T10:00:05Z', want: ['2024-01-01T10:00:20.000Z', '2024-01-01T10:00:40.000Z', '2024-01-01T10:01:00.000Z'] },
    { label: 'N/step runs to the maximum', schedule: '50/5 * * * *', from: '2024-01-01T10:00:00Z', want: ['2024-01-01T10:50:00.000Z', '2024-01-01T10:55:00.000Z', '2024-01-01T11:50:00.000Z'] },
    { label: 'weekdays at 9 (2024-01-05 is a Friday)', schedule: '0 9 * * MON-FRI', from: '2024-01-05T09:00:00Z', want: ['2024-01-08T09:00:00.000Z', '2024-01-09T09:00:00.000Z'] },
    { label: 'dom and dow both restricted: either matches', schedule: '0 0 13 * 5', from: '2024-09-01T00:00:00Z', want: ['2024-09-06T00:00:00.000Z', '2024-09-13T00:00:00.000Z', '2024-09-20T00:00:00.000Z'] },
    { label: 'dow starred: dom alone', schedule: '0 0 13 * *', from: '2024-09-01T00:00:00Z', want: ['2024-09-13T00:00:00.000Z', '2024-10-13T00:00:00.000Z'] },
    { label: 'leap day', schedule: '0 0 29 2 *', from: '2024-03-01T00:00:00Z', want: ['2028-02-29T00:00:00.000Z'] },
    { label: 'yearly across the new year', schedule: '@yearly', from: '2024-06-01T00:00:00Z', want: ['2025-01-01T00:00:00.000Z'] },
    { label: 'weekly is Sunday midnight', schedule: '@weekly', from: '2024-01-01T00:00:00Z', want: ['2024-01-07T00:00:00.000Z'] },
    { label: 'Feb 30 never fires (five-year limit)', schedule: '0 0 30 2 *', from: '2024-01-01T00:00:00Z', want: [] },
    { label: 'half-hour zone', schedule: '0 9 * * *', tz: 'Asia/Kolkata', from: '2024-01-01T00:00:00Z', want: ['2024-01-01T03:30:00.000Z', '2024-01-02T03:30:00.000Z'] },
    { label: 'zone prefix in the schedule', schedule: 'CRON_TZ=Asia/Tokyo 0 0 * * *', from: '2024-01-01T00:00:00Z', want: ['2024-01-01T15:00:00.000Z'] },
    // America/New_York: 2024-03-10 02:00 EST → 03:00 EDT; 2024-11-03 02:00 EDT → 01:00 EST.
    { label: 'DST spring forward: 02:30 does not exist that day', schedule: '30 2 * * *', tz: 'America/New_York', from: '2024-03-09T12:00:00Z', want: ['2024-03-11T06:30:00.000Z', '2024-03-12T06:30:00.000Z'] },
    { label: 'DST spring forward: 03:30 keeps its wall time', schedule: '30 3 * * *', tz: 'America/New_York', from: '2024-03-09T12:00:00Z', want: ['2024-03-10T07:30:00.000Z', '2024-03-11T07:30:00.000Z'] },
    { label: 'DST fall back: 01:30 happens twice', schedule: '30 1 * * *', tz: 'America/New_York', from: '2024-11-02T12:00:00Z', want: ['2024-11-03T05:30:00.000Z', '2024-11-03T06:30:00.000Z', '2024-11-04T06:30:00.000Z'] },
    { label: 'DST fall back: hourly keeps a 1 h rhythm', schedule: '0 * * * *', tz: 'America/New_York', from: '2024-11-03T04:30:00Z', want: ['2024-11-03T05:00:00.000Z', '2024-11-03T06:00:00.000Z', '2024-11-03T07:00:00.000Z'] },
    { label: 'DST: daily midnight across the change', schedule: '0 0 * * *', tz: 'America/New_York', from: '2024-03-09T06:00:00Z', want: ['2024-03-10T05:00:00.000Z', '2024-03-11T04:00:00.000Z'] },
    { label: 'DST in Europe/Berlin (2024-03-31 02:00 → 03:00)', schedule: '0 12 * * *', tz: 'Europe/Berlin', from: '2024-03-30T12:00:00Z', want: ['2024-03-31T10:00:00.000Z', '2024-04-01T10:00:00.000Z'] },
  ];
  it.each(table)('$label', ({ schedule, tz, from, want }) => {
    const got = fires(schedule, from, Math.max(want.length, 1), tz).filter((x) => x !== undefined);
    expect(got).toEqual(want);
  });
});
