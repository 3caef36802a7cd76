// Which targets a signed-in user may know about, and how much of each (need-to-know). Pure: the
// caller hands in the targets, policies and the user's active grants; nothing here reads a store.
//   - admins: every target, whole (address, account, host key, TLS settings) — they manage them;
//   - approvers and investigators: every target by name, kind and tags, never where it is — they
//     decide on requests for any target and read sessions on any target, by name;
//   - everyone else: only targets a policy lets them request (or break glass on), or that they
//     hold an active grant on (an admin's direct grant needs no policy), by name, kind and tags.
// A target left out is answered exactly like a target that does not exist, so its name leaks not.
import type { GrantRecord, PolicyRecord, TargetRecord, UserRecord } from '../store/records.js';
import { policyCovers } from './policy-match.js';

export type TargetAudience = 'full' | 'catalogue' | 'own';

export function audienceOf(user: UserRecord): TargetAudience {
  if (user.roles.includes('admin')) return 'full';
  if (user.roles.includes('approver') || user.roles.includes('investigator')) return 'catalogue';
  return 'own';
}

export interface VisibleTarget {
  target: TargetRecord;
  /** A policy covers this user on it: `portcullis request` can ask for it. */
  requestable: boolean;
  /** One of the covering policies allows break-glass. */
  breakglass: boolean;
  /** The user holds an active grant on it now. */
  granted: boolean;
}

export function visibleTargets(user: UserRecord, targets: TargetRecord[], policies: PolicyRecord[], activeGrants: GrantRecord[]): VisibleTarget[] {
  const audience = audienceOf(user);
  const granted = new Set(activeGrants.filter((g) => g.userId === user.id).map((g) => g.targetId));
  const out: VisibleTarget[] = [];
  for (const target of targets) {
    const covering = policies.filter((p) => policyCovers(p, user, target));
    const v: VisibleTarget = { target, requestable: covering.length > 0, breakglass: covering.some((p) => p.breakglass), granted: granted.has(target.id) };
    if (audience !== 'own' || v.requestable || v.granted) out.push(v);
  }
  return out;
}
