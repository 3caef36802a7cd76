// Taking access away at its root revokes every grant that stood on it: a user disabled or removed,
// a target removed, a policy removed or narrowed. Each grant is revoked and audited inside the
// caller's transaction (with the change that caused it, so both land or neither does), and
// published after commit with its cause, which the live registry turns into the session's
// termination reason. Also the one place that says whether an authorization still holds
// (`accessLoss`): the pipeline asks it before relaying and again for every new SSH channel or
// forward. Does not touch sessions or sockets.
import type { GrantRecord, TargetRecord, UserRecord } from '../store/records.js';
import type { Store } from '../store/store.js';
import type { AccessContext } from './context.js';
import type { RevokeCause } from './events.js';
import { repointedFields } from '../vault/target-binding.js';
import { policyNarrowing } from './policy-match.js';
import { grantView } from './views.js';

export type { RevokeCause };

/** Why an authorization no longer holds (a subset of the session's termination reasons). */
export type AccessLoss =
  | 'grant-expired' | 'grant-revoked' | 'user-disabled' | 'user-removed' | 'target-removed' | 'target-changed' | 'policy-removed' | 'policy-narrowed';

export interface Revoked {
  grant: GrantRecord;
  reason: string;
  cause: RevokeCause;
}

/**
 * Inside the caller's transaction: revokes each still-active grant and audits it. Returns what was
 * revoked, for `publishRevoked` after commit (events must never announce a rolled-back change).
 */
export async function revokeInTx(ctx: AccessContext, actor: string, grants: readonly GrantRecord[], reason: string, cause: RevokeCause): Promise<Revoked[]> {
  const now = ctx.clock.now();
  const by = (await ctx.store.users.byName(actor))?.id ?? null;
  const out: Revoked[] = [];
  for (const g of grants) {
    // Re-read: a concurrent revoke or expiry must not be revoked (and audited) twice.
    const cur = await ctx.store.grants.byId(g.id);
    if (!cur || cur.revokedAt !== null || cur.expiresAt <= now) continue;
    const rec: GrantRecord = { ...cur, revokedAt: now, revokedBy: by, revokeReason: reason };
    await ctx.store.grants.update(rec);
    await ctx.audit.append('grant.revoked', actor, { grant: rec.id, by: actor, reason, cause });
    out.push({ grant: rec, reason, cause });
  }
  return out;
}

/**
 * Inside the caller's transaction: an offboarded user's one-time links die with their access — each
 * unexpired link they issued is revoked (audited `link.revoked`) and so is the grant of any session
 * open through it (a vendor's session ends as a revoked link's does). Otherwise a disabled user's
 * link, even one made out to themselves, would still open a terminal.
 */
export async function revokeIssuedLinksInTx(ctx: AccessContext, actor: string, issuerId: string, why: string): Promise<Revoked[]> {
  const now = ctx.clock.now();
  const by = (await ctx.store.users.byName(actor))?.id ?? null;
  const out: Revoked[] = [];
  for (const l of await ctx.store.links.list()) {
    if (l.issuerId !== issuerId || l.revokedAt !== null || l.expiresAt <= now) continue;
    await ctx.store.links.update({ ...l, revokedAt: now, revokedBy: by });
    await ctx.audit.append('link.revoked', actor, { link: l.id, by: actor });
    out.push(...await revokeInTx(ctx, actor, await activeGrants(ctx.store, now, { userId: l.id }), `link ${l.id} revoked: ${why}`, 'revoked'));
  }
  return out;
}

/** After commit: tells the live registry, the timers and webhooks. */
export async function publishRevoked(ctx: AccessContext, actor: string, revoked: readonly Revoked[]): Promise<void> {
  const now = ctx.clock.now();
  for (const r of revoked) {
    ctx.events.emit('grant.revoked', { grant: await grantView(ctx.store, r.grant, now), by: actor, reason: r.reason, cause: r.cause });
  }
}

/** Active grants of one user, on one target, or standing on one policy. */
export function activeGrants(store: Store, now: number, of: { userId?: string; targetId?: string; policyId?: string }): Promise<GrantRecord[]> {
  return store.grants.active(now, { userId: of.userId, targetId: of.targetId }).then((gs) =>
    of.policyId === undefined ? gs : gs.filter((g) => g.policyId === of.policyId));
}

/** What a live session connected with, to tell a re-pointed target from the same one. */
export interface Connected {
  user: UserRecord;
  target: TargetRecord;
  grant: GrantRecord;
  /** Sessions opened through a one-time link have no stored user to re-check. */
  link: boolean;
}

/**
 * Whether an authorization still holds now, and if not the most specific reason: the user, then
 * the target, then the policy, then the grant itself — a grant revoked because its user was
 * disabled says `user-disabled`, not `grant-revoked`. Fails closed: the caller treats a throw as lost.
 */
export async function accessLoss(store: Store, now: number, c: Connected): Promise<AccessLoss | null> {
  if (!c.link) {
    const u = await store.users.byId(c.user.id);
    if (!u) return 'user-removed';
    if (u.disabled) return 'user-disabled';
  }
  const t = await store.targets.byId(c.target.id);
  if (!t) return 'target-removed';
  // Any bound field that says where the credential goes (address, account, TLS, host key pin).
  if (repointedFields(c.target, t).length > 0) return 'target-changed';
  const g = await store.grants.byId(c.grant.id);
  if (!g) return 'grant-revoked';
  if (g.policyId !== null) {
    const p = await store.policies.byId(g.policyId);
    if (!p) return 'policy-removed';
    const user = c.link ? null : await store.users.byId(c.user.id);
    if (policyNarrowing(p, g, user ?? null, t, now)?.kind === 'uncovered') return 'policy-narrowed';
  }
  if (g.revokedAt !== null) return 'grant-revoked';
  return now < g.expiresAt ? null : 'grant-expired';
}
