// The window of a session's policy, for the off-hours flag: its auto-approval window (access outside
// it needs an approver), read on its own zone's clock. The access window is not it: a session
// cannot start outside that one at all (access/decider.ts).
import type { Authorization } from '../access/decider.js';
import { type AccessWindow, autoApproveWindow } from '../access/windows.js';

export type PolicyWindowOf = (auth: Authorization) => AccessWindow | null;

export const autoApproveWindowOf: PolicyWindowOf = (auth) => (auth.policy?.autoApprove ? autoApproveWindow(auth.policy.autoApprove) : null);
