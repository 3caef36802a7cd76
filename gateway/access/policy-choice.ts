// Which of the policies covering a request is the one it stands on: the order a request tries them
// in (auto-approving now first, then fewest approvals), and the first whose maximum duration fits.
// Pure: requests.ts decides with it, and the self-service catalog shows the same order, so the
// catalog cannot promise an approval path that a request would not take.
import type { PolicyRecord, UserRecord } from '../store/records.js';
import { autoApproves } from './policies.js';

/** Whether a request under this policy, made by this user at `now`, is granted without an approver. */
export function approvesAtOnce(p: PolicyRecord, user: UserRecord, now: number): boolean {
  return p.approvalsRequired === 0 || autoApproves(p.autoApprove, user, now);
}

/** The covering policies in the order a request chooses among them (stable: equal ranks keep their order). */
export function requestOrder(covering: readonly PolicyRecord[], user: UserRecord, now: number): PolicyRecord[] {
  const rank = (p: PolicyRecord): number => (approvesAtOnce(p, user, now) ? -1 : p.approvalsRequired);
  return [...covering].sort((a, b) => rank(a) - rank(b));
}

/** The policy a request for `durationMs` stands on, or undefined when no covering policy allows that long. */
export function chooseFor(covering: readonly PolicyRecord[], user: UserRecord, now: number, durationMs: number): PolicyRecord | undefined {
  return requestOrder(covering, user, now).find((p) => durationMs <= p.maxDurationMs);
}
