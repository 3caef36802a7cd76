// Pure policy matching: whether a policy covers a user on a target, and what a policy as it is now
// means for a live grant that stands on it (narrowing). No store, no clock of its own, no events:
// policies.ts and revocation.ts act on the answers.
import type { GrantRecord, PolicyRecord, TargetRecord, UserRecord } from '../store/records.js';

export function policyCovers(p: PolicyRecord, user: UserRecord, target: TargetRecord): boolean {
  const roleOk = p.roles.includes('*') || p.roles.some((r) => user.roles.includes(r));
  return roleOk && policyMatchesTarget(p, target);
}

function policyMatchesTarget(p: PolicyRecord, target: TargetRecord): boolean {
  return p.targets.includes('*') || p.targets.includes(target.name) || p.targetTags.some((t) => target.tags.includes(t));
}

/**
 * What a policy, as it is now, means for a live grant that stands on it ("narrowing"):
 *   - `uncovered`: the grant could not be given under it any more — the user's roles or the target
 *     no longer match, or the kind of access it came from (break-glass, links) was switched off.
 *     The grant is revoked and its sessions end (`policy-narrowed`).
 *   - `shorter`: more time is left than the policy's max duration now allows: the grant is cut to
 *     now + max (its sessions warn and end then), not revoked — what is left of it is still allowed.
 *   - null: not affected. Switches that shape sessions (forwarding, keystrokes, full capture) are
 *     read per session or per forward, not here.
 * `user` is null for link grants (a link's principal is not a stored user) and for a user that is
 * gone (removal revokes on its own).
 */
export type Narrowing = { kind: 'uncovered'; why: string } | { kind: 'shorter'; expiresAt: number };

export function policyNarrowing(p: PolicyRecord, g: GrantRecord, user: UserRecord | null, target: TargetRecord, now: number): Narrowing | null {
  // An admin's direct grant stands on no policy; one that names a policy is not narrowed by it.
  if (g.source === 'admin') return null;
  if (!policyMatchesTarget(p, target)) return { kind: 'uncovered', why: `policy ${p.name} no longer covers ${target.name}` };
  switch (g.source) {
    case 'request': case 'breakglass':
      if (user && !policyCovers(p, user, target)) return { kind: 'uncovered', why: `policy ${p.name} no longer covers ${user.name}'s roles` };
      // Break-glass is capped by the gateway's setting, not the policy's max duration.
      if (g.source === 'breakglass') return p.breakglass ? null : { kind: 'uncovered', why: `policy ${p.name} no longer allows break-glass access` };
      break;
    case 'link':
      if (!p.allowLinks) return { kind: 'uncovered', why: `policy ${p.name} no longer allows links` };
      break;
  }
  if (g.expiresAt - now > p.maxDurationMs) return { kind: 'shorter', expiresAt: now + p.maxDurationMs };
  return null;
}

