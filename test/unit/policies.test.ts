import { describe, expect, it } from 'vitest';
import { autoApproves, parseWindow } from '../../gateway/access/policies.js';
import type { UserRecord } from '../../gateway/store/records.js';

const user = { name: 'ops', roles: ['ops'] } as UserRecord;
const monday10 = Date.UTC(2026, 10, 23, 10);

describe('auto-approval windows', () => {
  it('parses day ranges, lists and hour windows', () => {
    expect(parseWindow('mon-fri 09-17')).toEqual({ days: [1, 2, 3, 4, 5], fromHour: 9, toHour: 17 });
    expect(parseWindow('sat,sun')).toEqual({ days: [0, 6], fromHour: null, toHour: null });
    expect(parseWindow('fri-mon')).toEqual({ days: [0, 1, 5, 6], fromHour: null, toHour: null });
    expect(() => parseWindow('someday')).toThrowError(/malformed window/);
    expect(() => parseWindow('mon 25-26')).toThrowError(/malformed window/);
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
});
