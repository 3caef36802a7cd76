// Grants: creation (from an approved request, an admin, break-glass), revoke, extend, review, listing.
// A grant's clock starts when it is created (at approval). Publishing events happens after commit.
import { randomBytes } from 'node:crypto';
import type { GrantRecord, GrantSource, UserRecord } from '../store/records.js';
import { makeScramVerifier } from './scram-verifier.js';
import { PortcullisError } from '../util/errors.js';
import { newId } from '../util/ids.js';
import type { AccessContext } from './context.js';
import { requireText } from './names.js';
import { grantView } from './views.js';

export interface GrantInput {
  userId: string;
  targetId: string;
  durationMs: number;
  reason: string;
  ticket: string | null;
  source: GrantSource;
  requestId?: string | null;
  policyId?: string | null;
  approvers?: string[];
  needsReview?: boolean;
}

export const isPrivileged = (u: UserRecord, roles: string[]): boolean =>
  u.roles.includes('admin') || roles.some((r) => u.roles.includes(r));

export class GrantService {
  constructor(private readonly ctx: AccessContext) {}

  /** Inserts a grant and its audit entry; call inside the caller's transaction. Returns it unpublished. */
  createInTx(actor: string, g: GrantInput): GrantRecord {
    const now = this.ctx.clock.now();
    const rec: GrantRecord = {
      id: newId('grt'), userId: g.userId, targetId: g.targetId, requestId: g.requestId ?? null, policyId: g.policyId ?? null,
      source: g.source, startsAt: now, expiresAt: now + g.durationMs, reason: g.reason, ticket: g.ticket,
      approvers: g.approvers ?? [], revokedAt: null, revokedBy: null, revokeReason: null, needsReview: g.needsReview ?? false,
      reviewedBy: null, reviewedAt: null, dbVerifier: null, createdAt: now,
    };
    this.ctx.store.grants.insert(rec);
    const v = grantView(this.ctx.store, rec, now);
    this.ctx.audit.append('grant.created', actor, {
      grant: rec.id, user: v.user, target: v.target, source: rec.source, expiresAt: rec.expiresAt, reason: rec.reason,
      ticket: rec.ticket, approvers: v.approvers,
    });
    return rec;
  }

  publishCreated(g: GrantRecord): void {
    this.ctx.events.emit('grant.created', { grant: grantView(this.ctx.store, g, this.ctx.clock.now()) });
  }

  /** Admin direct grant: any positive duration, reason required. */
  adminGrant(actor: UserRecord, userName: string, targetName: string, durationMs: number, reason: string, ticket: string | null): GrantRecord {
    const user = this.ctx.store.users.byName(userName);
    if (!user) throw new PortcullisError('not-found', `no user "${userName}"`);
    const target = this.ctx.store.targets.byName(targetName);
    if (!target) throw new PortcullisError('not-found', `no target "${targetName}"`);
    const why = requireText('reason', reason);
    const g = this.ctx.store.transaction(() =>
      this.createInTx(actor.name, { userId: user.id, targetId: target.id, durationMs, reason: why, ticket, source: 'admin', approvers: [actor.id] }));
    this.publishCreated(g);
    return g;
  }

  get(id: string): GrantRecord {
    const g = this.ctx.store.grants.byId(id);
    if (!g) throw new PortcullisError('not-found', `no grant "${id}"; see "portcullis grant list"`);
    return g;
  }

  list(filter: { userId?: string; active?: boolean }): GrantRecord[] {
    const now = this.ctx.clock.now();
    return filter.active
      ? this.ctx.store.grants.active(now, { userId: filter.userId })
      : this.ctx.store.grants.list({ userId: filter.userId });
  }

  revoke(actor: UserRecord, id: string, reason: string, cause: 'revoked' | 'breakglass-denied' = 'revoked'): GrantRecord {
    const g = this.get(id);
    if (g.revokedAt !== null) throw new PortcullisError('grant-inactive', `grant ${id} is already revoked`);
    const now = this.ctx.clock.now();
    const updated: GrantRecord = { ...g, revokedAt: now, revokedBy: actor.id, revokeReason: reason };
    this.ctx.store.transaction(() => {
      this.ctx.store.grants.update(updated);
      this.ctx.audit.append('grant.revoked', actor.name, { grant: id, by: actor.name, reason });
    });
    this.ctx.events.emit('grant.revoked', { grant: grantView(this.ctx.store, updated, now), by: actor.name, reason, cause });
    return updated;
  }

  /** An extension is a new approval: by an admin or one of the policy's approver roles, never the grantee. */
  extend(actor: UserRecord, id: string, byMs: number): GrantRecord {
    const g = this.get(id);
    const now = this.ctx.clock.now();
    if (g.revokedAt !== null || g.expiresAt <= now) throw new PortcullisError('grant-inactive', `grant ${id} is no longer active; request a new one`);
    if (g.userId === actor.id) throw new PortcullisError('self-approval', 'you cannot extend your own grant; ask an approver');
    const policy = g.policyId ? this.ctx.store.policies.byId(g.policyId) : undefined;
    if (!isPrivileged(actor, policy?.approverRoles ?? [])) {
      throw new PortcullisError('not-approver', `${actor.name} may not extend this grant; an admin or an approver of its policy can`);
    }
    if (policy && byMs > policy.maxDurationMs) {
      throw new PortcullisError('duration-too-long', `policy ${policy.name} allows at most ${policy.maxDurationMs / 1000}s per extension`);
    }
    const updated: GrantRecord = { ...g, expiresAt: g.expiresAt + byMs, approvers: [...g.approvers, actor.id] };
    this.ctx.store.transaction(() => {
      this.ctx.store.grants.update(updated);
      this.ctx.store.approvals.insert({ subjectId: id, approverId: actor.id, kind: 'extend', at: now });
      this.ctx.audit.append('grant.extended', actor.name, { grant: id, by: actor.name, expiresAt: updated.expiresAt });
    });
    this.ctx.events.emit('grant.extended', { grant: grantView(this.ctx.store, updated, now), by: actor.name });
    return updated;
  }

  /**
   * A one-time database password for the caller's active grant on a database target: how users
   * with a second factor reach psql and drivers, which cannot carry a one-time code. Valid for the
   * grant's lifetime; a new one replaces the old. Only its SCRAM verifier is stored.
   */
  issueDbPassword(user: UserRecord, targetName: string): { password: string; expiresAt: number } {
    const target = this.ctx.store.targets.byName(targetName);
    if (!target || target.kind === 'ssh') throw new PortcullisError('not-found', `no database target "${targetName}"`);
    const grant = this.ctx.store.grants.active(this.ctx.clock.now(), { userId: user.id, targetId: target.id })[0];
    if (!grant) {
      throw new PortcullisError('no-active-grant', `no active grant for ${user.name} on ${targetName}; request one with: portcullis request ${targetName} --for 30m --reason "..."`);
    }
    const password = randomBytes(24).toString('base64url');
    this.ctx.store.transaction(() => {
      this.ctx.store.grants.update({ ...grant, dbVerifier: makeScramVerifier(password) });
      this.ctx.audit.append('grant.db_password', user.name, { grant: grant.id, user: user.name, target: target.name });
    });
    return { password, expiresAt: grant.expiresAt };
  }

  /** Review of a break-glass grant. Denial revokes it at once, which cuts its sessions. */
  review(actor: UserRecord, id: string, verdict: 'accepted' | 'denied', reason: string): GrantRecord {
    const g = this.get(id);
    if (g.source !== 'breakglass' || !g.needsReview) throw new PortcullisError('conflict', `grant ${id} is not a break-glass grant awaiting review`);
    if (g.userId === actor.id) throw new PortcullisError('self-approval', 'you cannot review your own break-glass access');
    const policy = g.policyId ? this.ctx.store.policies.byId(g.policyId) : undefined;
    if (!isPrivileged(actor, ['approver', ...(policy?.approverRoles ?? [])])) {
      throw new PortcullisError('not-approver', `${actor.name} may not review break-glass access; an approver or admin can`);
    }
    const why = verdict === 'denied' ? requireText('reason', reason) : reason;
    const now = this.ctx.clock.now();
    const reviewed: GrantRecord = { ...g, needsReview: false, reviewedBy: actor.id, reviewedAt: now };
    this.ctx.store.transaction(() => {
      this.ctx.store.grants.update(reviewed);
      this.ctx.store.approvals.insert({ subjectId: id, approverId: actor.id, kind: 'review', at: now });
      this.ctx.audit.append('grant.reviewed', actor.name, { grant: id, by: actor.name, verdict, reason: why });
    });
    this.ctx.events.emit('breakglass.reviewed', { grant: grantView(this.ctx.store, reviewed, now), by: actor.name, verdict, reason: why });
    if (verdict === 'denied' && reviewed.revokedAt === null && reviewed.expiresAt > now) {
      return this.revoke(actor, id, `break-glass review denied: ${why}`, 'breakglass-denied');
    }
    return reviewed;
  }
}
