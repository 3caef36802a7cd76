import { describe, expect, it } from 'vitest';
import { autoApproveFrom, autoApproves } from '../../gateway/access/policies.js';
import type { UserRecord } from '../../gateway/store/records.js';

const user = { name: 'ops', roles: ['ops'] } as UserRecord;
const monday10 = Date.UTC(2026, 10, 23, 10);

describe('auto-approval windows', () => {
  it('reads the window in the shared syntax; whole UTC hours are mirrored in the stored days and hours', () => {
    expect(autoApproveFrom([], [], 'mon-fri 09-17')).toMatchObject({ days: [1, 2, 3, 4, 5], fromHour: 9, toHour: 17 });
    expect(autoApproveFrom([], [], 'sat,sun')).toMatchObject({ days: [0, 6], fromHour: null, toHour: null });
    expect(autoApproveFrom([], [], 'mon 09:00-17:00 Europe/Berlin')).toMatchObject({ days: [1], fromHour: null, toHour: null, window: { zone: 'Europe/Berlin', fromMinute: 540 } });
    expect(autoApproveFrom(['ops'], [], undefined)).toEqual({ roles: ['ops'], onCall: [], days: [], fromHour: null, toHour: null });
    expect(() => autoApproveFrom([], [], 'someday')).toThrowError(/auto-approve window: unknown time zone or word "someday"/);
    expect(() => autoApproveFrom([], [], 'mon 25-26')).toThrowError(/no such time of day/);
  });

  it('a zoned window is read on its own clock: mon 09:00-17:00 Europe/Berlin is 08:00-16:00 UTC in November', () => {
    const a = autoApproveFrom(['ops'], [], 'mon 09:00-17:00 Europe/Berlin');
    expect(autoApproves(a, user, Date.UTC(2026, 10, 23, 7, 59))).toBe(false);
    expect(autoApproves(a, user, Date.UTC(2026, 10, 23, 8))).toBe(true);
    expect(autoApproves(a, user, Date.UTC(2026, 10, 23, 15, 59))).toBe(true);
    expect(autoApproves(a, user, Date.UTC(2026, 10, 23, 16))).toBe(false);
  });

  it('applies role, on-call list, day and hour conditions together', () => {
    const a = { roles: ['ops'], onCall: [], days: [1], fromHour: 9, toHour: 17 };
    expect(autoApproves(a, user, monday10)).toBe(true);
    expect(autoApproves(a, user, monday10 + 8 * 3_600_000)).toBe(false);
    expect(autoApproves(a, user, monday10 + 24 * 3_600_000)).toBe(false);
    expect(autoApproves({ ...a, roles: ['dba'] }, user, monday10)).toBe(false);
    expect(autoApproves({ ...a, onCall: ['alice'] }, user, monday10)).toBe(false);
    expect(autoApproves(null, user, monday10)).toBe(false);
  });

  it('handles windows that wrap past midnight', () => {
    const night = { roles: [], onCall: [], days: [], fromHour: 22, toHour: 6 };
    expect(autoApproves(night, user, Date.UTC(2026, 10, 23, 23))).toBe(true);
    expect(autoApproves(night, user, Date.UTC(2026, 10, 23, 3))).toBe(true);
    expect(autoApproves(night, user, Date.UTC(2026, 10, 23, 12))).toBe(false);
  });

  it('a stored window on days that wraps past midnight now belongs to the day it starts on (issue 18)', () => {
    // Monday 22:00 to Tuesday 06:00 UTC: open Tuesday 03:00, no longer Monday 03:00.
    const night = { roles: [], onCall: [], days: [1], fromHour: 22, toHour: 6 };
    expect(autoApproves(night, user, Date.UTC(2026, 10, 24, 3))).toBe(true);
    expect(autoApproves(night, user, Date.UTC(2026, 10, 23, 3))).toBe(false);
  });
});
