// The access window of a session's policy, for the off-hours flag. Today the only window a policy
// has is its auto-approval window (days and UTC hours; access outside it needs an approver). Issue
// 18 adds access windows in local time: this function is the one place to read them from then.
import type { Authorization } from '../access/decider.js';
import type { HourWindow } from './hour-window.js';

export type PolicyWindowOf = (auth: Authorization) => HourWindow | null;

export const autoApproveWindow: PolicyWindowOf = (auth) => {
  const a = auth.policy?.autoApprove;
  if (!a) return null;
  const hours = a.fromHour !== null && a.toHour !== null;
  if (!hours && a.days.length === 0) return null;
  return { days: a.days, fromHour: hours ? a.fromHour : null, toHour: hours ? a.toHour : null };
};
