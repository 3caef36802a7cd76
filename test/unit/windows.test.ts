// Weekly windows in local time (access/windows.ts): every syntax, bad input with clear errors,
// midnight crossing, every weekday, and both daylight-saving days in Europe/Berlin and
// America/New_York, read against instants written in UTC.
import { describe, expect, it } from 'vitest';
import { autoApproveWindow, closesAt, describeOpening, describeWindow, inWindow, opensAt, parseOptionalWindow, parseWindow } from '../../gateway/access/windows.js';

const utc = (iso: string): number => Date.parse(iso);
const H = 3_600_000;

describe('parsing windows', () => {
  it.each([
    ['mon-fri 09:00-17:00 Europe/Berlin', { days: [1, 2, 3, 4, 5], fromMinute: 540, toMinute: 1020, zone: 'Europe/Berlin' }],
    ['sat,sun 10:00-14:00', { days: [0, 6], fromMinute: 600, toMinute: 840, zone: 'UTC' }],
    ['22:00-06:00 America/New_York', { days: [], fromMinute: 1320, toMinute: 360, zone: 'America/New_York' }],
    ['mon-fri 09-17', { days: [1, 2, 3, 4, 5], fromMinute: 540, toMinute: 1020, zone: 'UTC' }],
    ['fri-mon', { days: [0, 1, 5, 6], fromMinute: null, toMinute: null, zone: 'UTC' }],
    ['  MON,wed   8:30-12:45  europe/berlin ', { days: [1, 3], fromMinute: 510, toMinute: 765, zone: 'Europe/Berlin' }],
    ['Europe/Berlin tue 23:00-24:00', { days: [2], fromMinute: 1380, toMinute: 1440, zone: 'Europe/Berlin' }],
    ['mon-sun 00:00-24:00', { days: [], fromMinute: 0, toMinute: 1440, zone: 'UTC' }],
  ])('reads %j', (text, want) => {
    expect(parseWindow(text)).toEqual(want);
  });

  it.each([
    ['', /no days or hours/],
    ['Europe/Berlin', /no days or hours/],
    ['someday', /unknown time zone or word "someday"/],
    ['mon 25-26', /no such time of day "25"/],
    ['mon 09:60-10:00', /no such time of day "09:60"/],
    ['mon 24:00-06:00', /cannot start at 24:00/],
    ['mon 09:00-09:00', /empty/],
    ['mon 09-17 10-12', /two time ranges/],
    ['mon tue', /two lists of days/],
    ['mon-fri 09:00-17:00 Mars/Olympus', /unknown time zone or word "Mars\/Olympus"/],
    ['mon 09:00-17:00 UTC Europe/Berlin', /second time zone/],
    ['mon-fry 09:00-17:00', /unknown day in "mon-fry"/],
    ['x'.repeat(300), /too long/],
    ['mon 09:00-17:00 ../../etc/passwd', /unknown time zone/],
  ])('refuses %j with a clear error', (text, message) => {
    expect(() => parseWindow(text, '--window')).toThrowError(message);
    expect(() => parseWindow(text, '--window')).toThrowError(/^--window: .*write e\.g\. "mon-fri 09:00-17:00 Europe\/Berlin"/);
  });

  it('"off" and "" are no window where a setting allows none', () => {
    expect(parseOptionalWindow('off', 'risk.businessHours')).toBeNull();
    expect(parseOptionalWindow('', 'risk.businessHours')).toBeNull();
    expect(parseOptionalWindow('mon-fri 08-19', 'x')).toEqual({ days: [1, 2, 3, 4, 5], fromMinute: 480, toMinute: 1140, zone: 'UTC' });
  });

  it.each([
    ['mon-fri 09:00-17:00 Europe/Berlin', 'mon-fri 09:00-17:00 Europe/Berlin'],
    ['sun,sat 10-14', 'sat,sun 10:00-14:00 UTC'],
    ['fri-mon', 'mon,fri-sun UTC'],
    ['22:00-06:00 America/New_York', '22:00-06:00 America/New_York'],
    ['mon,wed,thu 00:00-24:00', 'mon,wed,thu 00:00-24:00 UTC'],
  ])('describes %j as %j, which reads back the same', (text, shown) => {
    expect(describeWindow(parseWindow(text))).toBe(shown);
    expect(parseWindow(describeWindow(parseWindow(text)))).toEqual(parseWindow(text));
  });
});

describe('inside or outside, on the zone\'s clock', () => {
  // 2026-11-23 is a Monday; Berlin is UTC+1 (CET) then, New York UTC-5 (EST).
  const berlin = parseWindow('mon-fri 09:00-17:00 Europe/Berlin');

  it.each([
    ['2026-11-23T07:59:59Z', false], ['2026-11-23T08:00:00Z', true], ['2026-11-23T15:59:59Z', true], ['2026-11-23T16:00:00Z', false],
    ['2026-11-27T12:00:00Z', true], ['2026-11-28T12:00:00Z', false], ['2026-11-29T12:00:00Z', false],
  ])('mon-fri 09:00-17:00 Europe/Berlin at %s: %s', (iso, open) => {
    expect(inWindow(berlin, utc(iso))).toBe(open);
  });

  it('each weekday opens only on its own day', () => {
    const names = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];
    for (const [i, name] of names.entries()) {
      const w = parseWindow(`${name} 10:00-11:00 Europe/Berlin`);
      for (let d = 0; d < 7; d++) {
        // 2026-11-22 is a Sunday: day d of that week at 10:30 CET.
        const at = utc('2026-11-22T09:30:00Z') + d * 24 * H;
        expect(inWindow(w, at), `${name} on day ${d}`).toBe(d === i);
      }
    }
  });

  it('a window crossing midnight belongs to the day it starts on: "fri 22:00-06:00" is open Saturday 03:00, not Friday 03:00', () => {
    const w = parseWindow('fri 22:00-06:00 Europe/Berlin');
    expect(inWindow(w, utc('2026-11-28T02:00:00Z'))).toBe(true); // Sat 03:00 CET
    expect(inWindow(w, utc('2026-11-27T02:00:00Z'))).toBe(false); // Fri 03:00 CET
    expect(inWindow(w, utc('2026-11-27T21:00:00Z'))).toBe(true); // Fri 22:00 CET
    expect(inWindow(w, utc('2026-11-28T05:00:00Z'))).toBe(false); // Sat 06:00 CET
    expect(closesAt(w, utc('2026-11-27T21:30:00Z'))).toBe(utc('2026-11-28T05:00:00Z'));
  });

  it('22:00-06:00 America/New_York every day, in winter (EST)', () => {
    const w = parseWindow('22:00-06:00 America/New_York');
    expect(inWindow(w, utc('2026-11-24T03:00:00Z'))).toBe(true); // 22:00 EST
    expect(inWindow(w, utc('2026-11-24T10:59:00Z'))).toBe(true); // 05:59 EST
    expect(inWindow(w, utc('2026-11-24T11:00:00Z'))).toBe(false); // 06:00 EST
    expect(closesAt(w, utc('2026-11-24T04:00:00Z'))).toBe(utc('2026-11-24T11:00:00Z'));
  });

  it('touching periods are one: "mon-fri" closes on Saturday at midnight; every day all day never closes', () => {
    expect(closesAt(parseWindow('mon-fri Europe/Berlin'), utc('2026-11-23T12:00:00Z'))).toBe(utc('2026-11-27T23:00:00Z'));
    expect(closesAt(parseWindow('00:00-24:00'), utc('2026-11-23T12:00:00Z'))).toBeNull();
    expect(closesAt(parseWindow('sat 12:00-24:00'), utc('2026-11-28T13:00:00Z'))).toBe(utc('2026-11-29T00:00:00Z'));
  });

  it('the next opening and the words for it', () => {
    const friNight = utc('2026-11-27T16:48:00Z'); // Fri 17:48 CET
    expect(opensAt(berlin, friNight)).toBe(utc('2026-11-30T08:00:00Z'));
    expect(describeOpening(berlin, friNight)).toBe('Mon 09:00 CET (in 2d 15h 12m)');
    expect(opensAt(berlin, utc('2026-11-23T09:00:00Z'))).toBe(utc('2026-11-23T09:00:00Z'));
    const ny = parseWindow('mon-fri 09:00-17:00 America/New_York');
    expect(describeOpening(ny, utc('2026-11-23T13:00:00Z'))).toBe('Mon 09:00 EST (in 1h)');
  });

  it('reads stored auto-approval windows (days and whole UTC hours) as UTC, and prefers the zoned one', () => {
    expect(autoApproveWindow({ roles: [], onCall: [], days: [1], fromHour: 9, toHour: 24 })).toEqual({ days: [1], fromMinute: 540, toMinute: 1440, zone: 'UTC' });
    expect(autoApproveWindow({ roles: [], onCall: [], days: [], fromHour: null, toHour: null })).toBeNull();
    const w = parseWindow('mon 09:00-10:00 Asia/Tokyo');
    expect(autoApproveWindow({ roles: [], onCall: [], days: [], fromHour: null, toHour: null, window: w })).toBe(w);
  });
});

describe('daylight saving time', () => {
  // Europe/Berlin: 2026-03-29 02:00 CET → 03:00 CEST (01:00Z); 2026-10-25 03:00 CEST → 02:00 CET (01:00Z).
  it('Berlin, spring: 02:30 does not exist; a window from 02:30 opens when the clock jumps to 03:00 CEST', () => {
    const w = parseWindow('sun 02:30-04:00 Europe/Berlin');
    expect(inWindow(w, utc('2026-03-29T00:59:59Z'))).toBe(false); // 01:59:59 CET
    expect(inWindow(w, utc('2026-03-29T01:00:00Z'))).toBe(true); // 03:00 CEST
    expect(opensAt(w, utc('2026-03-29T00:00:00Z'))).toBe(utc('2026-03-29T01:00:00Z'));
    expect(closesAt(w, utc('2026-03-29T01:00:00Z'))).toBe(utc('2026-03-29T02:00:00Z')); // 04:00 CEST: 1 h long that day
  });

  it('Berlin, spring: a window ending at 02:30 closes at the jump; one wholly inside the gap does not open that day', () => {
    expect(closesAt(parseWindow('sun 01:00-02:30 Europe/Berlin'), utc('2026-03-29T00:30:00Z'))).toBe(utc('2026-03-29T01:00:00Z'));
    const gap = parseWindow('sun 02:00-02:45 Europe/Berlin');
    expect(inWindow(gap, utc('2026-03-29T01:00:00Z'))).toBe(false);
    expect(opensAt(gap, utc('2026-03-29T00:00:00Z'))).toBe(utc('2026-04-05T00:00:00Z')); // the next Sunday, 02:00 CEST
    // Working hours that day are an ordinary 8 hours.
    const work = parseWindow('sun 09:00-17:00 Europe/Berlin');
    expect(closesAt(work, utc('2026-03-29T07:00:00Z'))! - utc('2026-03-29T07:00:00Z')).toBe(8 * H);
  });

  it('Berlin, autumn: 02:30 happens twice; a bound there is its first time, and the repeated hour inside a window stays open', () => {
    const w = parseWindow('sun 02:30-04:00 Europe/Berlin');
    expect(opensAt(w, utc('2026-10-24T22:00:00Z'))).toBe(utc('2026-10-25T00:30:00Z')); // 02:30 CEST
    expect(inWindow(w, utc('2026-10-25T01:10:00Z'))).toBe(true); // 02:10 CET, the repeated hour
    expect(closesAt(w, utc('2026-10-25T00:30:00Z'))).toBe(utc('2026-10-25T03:00:00Z')); // 04:00 CET: 2.5 h that day
    const early = parseWindow('sun 01:00-02:30 Europe/Berlin');
    expect(closesAt(early, utc('2026-10-24T23:30:00Z'))).toBe(utc('2026-10-25T00:30:00Z')); // the first 02:30
    expect(inWindow(early, utc('2026-10-25T01:15:00Z'))).toBe(false); // 02:15 CET, the second time round
  });

  it('Berlin: a night window across the autumn change lasts an hour longer, across spring an hour shorter', () => {
    const night = parseWindow('sat 22:00-06:00 Europe/Berlin');
    expect(closesAt(night, utc('2026-10-24T20:00:00Z'))! - utc('2026-10-24T20:00:00Z')).toBe(9 * H);
    expect(closesAt(night, utc('2026-03-28T21:00:00Z'))! - utc('2026-03-28T21:00:00Z')).toBe(7 * H);
  });

  // America/New_York: 2026-03-08 02:00 EST → 03:00 EDT (07:00Z); 2026-11-01 02:00 EDT → 01:00 EST (06:00Z).
  it('New York, spring: 02:30 does not exist; the window opens at 03:00 EDT', () => {
    const w = parseWindow('sun 02:30-05:00 America/New_York');
    expect(opensAt(w, utc('2026-03-08T05:00:00Z'))).toBe(utc('2026-03-08T07:00:00Z'));
    expect(inWindow(w, utc('2026-03-08T06:59:00Z'))).toBe(false); // 01:59 EST
    expect(closesAt(w, utc('2026-03-08T07:00:00Z'))).toBe(utc('2026-03-08T09:00:00Z')); // 05:00 EDT
  });

  it('New York, autumn: 01:30 happens twice; the window from 01:30 opens the first time and holds through the repeat', () => {
    const w = parseWindow('sun 01:30-03:00 America/New_York');
    expect(opensAt(w, utc('2026-11-01T04:00:00Z'))).toBe(utc('2026-11-01T05:30:00Z')); // 01:30 EDT
    expect(inWindow(w, utc('2026-11-01T06:15:00Z'))).toBe(true); // 01:15 EST
    expect(closesAt(w, utc('2026-11-01T05:30:00Z'))).toBe(utc('2026-11-01T08:00:00Z')); // 03:00 EST
    expect(describeOpening(w, utc('2026-11-01T04:00:00Z'))).toBe('Sun 01:30 EDT (in 1h 30m)');
  });
});
