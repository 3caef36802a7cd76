// Pure policy matching: whether a policy covers a user on a target, and what a policy as it is now
// means for a live grant that stands on it (narrowing). No store, no clock of its own, no events:
// policies.ts and revocation.ts act on the answers. Levels: a policy covers the levels it names
// (every level when it names none), so one policy can auto-approve `read` while another asks two
// approvers for `write` on the same targets.
import type { GrantRecord, PolicyRecord, TargetRecord, UserRecord } from '../store/records.js';

/** Whether the policy covers the user on the target; with `level`, at that level too (without: at some level). */
export function policyCovers(p: PolicyRecord, user: UserRecord, target: TargetRecord, level?: string): boolean {
  const roleOk = p.roles.includes('*') || p.roles.some((r) => user.roles.includes(r));
  return roleOk && policyMatchesTarget(p, target) && (level === undefined ? coversSomeLevel(p, target) : policyCoversLevel(p, level));
}

/** A policy that names no levels covers every level. */
export function policyCoversLevel(p: PolicyRecord, level: string): boolean {
  return p.levels.length === 0 || p.levels.includes(level);
}

/** Whether any of the target's levels is covered (a policy naming only levels the target lacks covers nothing there). */
function coversSomeLevel(p: PolicyRecord, target: TargetRecord): boolean {
  return p.levels.length === 0 || target.levels.some((l) => p.levels.includes(l.name));
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
  if (!policyCoversLevel(p, g.level)) return { kind: 'uncovered', why: `policy ${p.name} no longer covers level ${g.level} of ${target.name}` };
  switch (g.source) {
    case 'request': case 'breakglass':
      if (user && !policyCovers(p, user, target, g.level)) return { kind: 'uncovered', why: `policy ${p.name} no longer covers ${user.name}'s roles` };
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

