// Grants: creation (from an approved request, an admin, break-glass), revoke, extend, review, listing.
// A grant's clock starts when it is created (at approval). Publishing events happens after commit.
import { randomBytes } from 'node:crypto';
import { DEFAULT_LEVEL, type GrantRecord, type GrantSource, type UserRecord } from '../store/records.js';
import { makeScramVerifier } from './scram-verifier.js';
import { PortcullisError } from '../util/errors.js';
import { newId } from '../util/ids.js';
import type { AccessContext } from './context.js';
import { levelRank, resolveLevel } from './levels.js';
import { requireText } from './names.js';
import { type GrantView, grantView } from './views.js';

export interface GrantInput {
  userId: string;
  targetId: string;
  durationMs: number;
  reason: string;
  ticket: string | null;
  source: GrantSource;
  /** The access level; default: the first (least privileged) level of the target. */
  level?: string;
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
  async createInTx(actor: string, g: GrantInput): Promise<GrantRecord> {
    const now = this.ctx.clock.now();
    // Callers resolve the level against the target; a caller that names none gets the target's first.
    const level = g.level ?? (await this.ctx.store.targets.byId(g.targetId))?.levels[0]?.name ?? DEFAULT_LEVEL;
    const rec: GrantRecord = {
      id: newId('grt'), userId: g.userId, targetId: g.targetId, requestId: g.requestId ?? null, policyId: g.policyId ?? null,
      source: g.source, level, startsAt: now, expiresAt: now + g.durationMs, reason: g.reason, ticket: g.ticket,
      approvers: g.approvers ?? [], revokedAt: null, revokedBy: null, revokeReason: null, needsReview: g.needsReview ?? false,
      reviewedBy: null, reviewedAt: null, dbVerifier: null, createdAt: now,
    };
    await this.ctx.store.grants.insert(rec);
    const v = await grantView(this.ctx.store, rec, now);
    await this.ctx.audit.append('grant.created', actor, {
      grant: rec.id, user: v.user, target: v.target, source: rec.source, expiresAt: rec.expiresAt, reason: rec.reason,
      ticket: rec.ticket, approvers: v.approvers, level: rec.level,
    });
    return rec;
  }

  async publishCreated(g: GrantRecord): Promise<void> {
    this.ctx.events.emit('grant.created', { grant: await grantView(this.ctx.store, g, this.ctx.clock.now()) });
  }

  /** Admin direct grant: any positive duration, reason required; `level` defaults to the target's first. */
  async adminGrant(actor: UserRecord, userName: string, targetName: string, durationMs: number, reason: string, ticket: string | null, level?: string): Promise<GrantRecord> {
    const user = await this.ctx.store.users.byName(userName);
    if (!user) throw new PortcullisError('not-found', `no user "${userName}"`);
    const target = await this.ctx.store.targets.byName(targetName);
    if (!target) throw new PortcullisError('not-found', `no target "${targetName}"`);
    const why = requireText('reason', reason);
    const lvl = resolveLevel(target, level);
    const g = await this.ctx.store.transaction(() =>
      this.createInTx(actor.name, { userId: user.id, targetId: target.id, durationMs, reason: why, ticket, source: 'admin', approvers: [actor.id], level: lvl }));
    await this.publishCreated(g);
    return g;
  }

  /** The outward shape (names, status now) for the API and webhooks. */
  view(g: GrantRecord): Promise<GrantView> {
    return grantView(this.ctx.store, g, this.ctx.clock.now());
  }

  async get(id: string): Promise<GrantRecord> {
    const g = await this.ctx.store.grants.byId(id);
    if (!g) throw new PortcullisError('not-found', `no grant "${id}"; see "portcullis grant list"`);
    return g;
  }

  list(filter: { userId?: string | undefined; active?: boolean | undefined }): Promise<GrantRecord[]> {
    const now = this.ctx.clock.now();
    return filter.active
      ? this.ctx.store.grants.active(now, { userId: filter.userId })
      : this.ctx.store.grants.list({ userId: filter.userId });
  }

  async revoke(actor: UserRecord, id: string, reason: string, cause: 'revoked' | 'breakglass-denied' = 'revoked'): Promise<GrantRecord> {
    const now = this.ctx.clock.now();
    // Read and write in one transaction: two concurrent revokes must not both succeed.
    const updated = await this.ctx.store.transaction(async () => {
      const g = await this.get(id);
      if (g.revokedAt !== null) throw new PortcullisError('grant-inactive', `grant ${id} is already revoked`);
      const rec: GrantRecord = { ...g, revokedAt: now, revokedBy: actor.id, revokeReason: reason };
      await this.ctx.store.grants.update(rec);
      await this.ctx.audit.append('grant.revoked', actor.name, { grant: id, by: actor.name, reason });
      return rec;
    });
    this.ctx.events.emit('grant.revoked', { grant: await grantView(this.ctx.store, updated, now), by: actor.name, reason, cause });
    return updated;
  }

  /** An extension is a new approval: by an admin or one of the policy's approver roles, never the grantee. */
  async extend(actor: UserRecord, id: string, byMs: number): Promise<GrantRecord> {
    const g = await this.get(id);
    const now = this.ctx.clock.now();
    if (g.revokedAt !== null || g.expiresAt <= now) throw new PortcullisError('grant-inactive', `grant ${id} is no longer active; request a new one`);
    if (g.userId === actor.id) throw new PortcullisError('self-approval', 'you cannot extend your own grant; ask an approver');
    const policy = g.policyId ? await this.ctx.store.policies.byId(g.policyId) : undefined;
    if (!isPrivileged(actor, policy?.approverRoles ?? [])) {
      throw new PortcullisError('not-approver', `${actor.name} may not extend this grant; an admin or an approver of its policy can`);
    }
    if (policy && byMs > policy.maxDurationMs) {
      throw new PortcullisError('duration-too-long', `policy ${policy.name} allows at most ${policy.maxDurationMs / 1000}s per extension`);
    }
    const updated = await this.ctx.store.transaction(async () => {
      // Re-read inside the transaction: a concurrent extend or revoke must not be overwritten.
      const cur = await this.get(id);
      if (cur.revokedAt !== null || cur.expiresAt <= now) throw new PortcullisError('grant-inactive', `grant ${id} is no longer active; request a new one`);
      const rec: GrantRecord = { ...cur, expiresAt: cur.expiresAt + byMs, approvers: [...cur.approvers, actor.id] };
      await this.ctx.store.grants.update(rec);
      await this.ctx.store.approvals.insert({ subjectId: id, approverId: actor.id, kind: 'extend', at: now });
      await this.ctx.audit.append('grant.extended', actor.name, { grant: id, by: actor.name, expiresAt: rec.expiresAt });
      return rec;
    });
    this.ctx.events.emit('grant.extended', { grant: await grantView(this.ctx.store, updated, now), by: actor.name });
    return updated;
  }

  /**
   * A one-time database password for the caller's active grant on a database target: how users
   * with a second factor reach psql and drivers, which cannot carry a one-time code. Valid for the
   * grant's lifetime; a new one replaces the old. Only its SCRAM verifier is stored.
   */
  async issueDbPassword(user: UserRecord, targetName: string, level?: string): Promise<{ password: string; expiresAt: number }> {
    const target = await this.ctx.store.targets.byName(targetName);
    if (!target || target.kind === 'ssh') throw new PortcullisError('not-found', `no database target "${targetName}"`);
    // The password only proves who logs in (USER+TARGET[+LEVEL] still picks the grant); it lives as
    // long as the grant it is kept on: the one at `level`, or the least privileged one held.
    if (level !== undefined) resolveLevel(target, level);
    const held = (await this.ctx.store.grants.active(this.ctx.clock.now(), { userId: user.id, targetId: target.id }))
      .filter((g) => level === undefined || g.level === level);
    const grant = held.sort((a, b) => levelRank(target, a.level) - levelRank(target, b.level))[0];
    if (!grant) {
      throw new PortcullisError('no-active-grant', `no active grant for ${user.name} on ${targetName}; request one with: portcullis request ${targetName} --for 30m --reason "..."`);
    }
    const password = randomBytes(24).toString('base64url');
    // Derived before the transaction: the store's transactions are serialized, and hashing waits.
    const dbVerifier = await makeScramVerifier(password);
    await this.ctx.store.transaction(async () => {
      // Fresh copy inside the transaction: only the verifier changes, never a concurrent revoke.
      const cur = (await this.ctx.store.grants.byId(grant.id)) ?? grant;
      await this.ctx.store.grants.update({ ...cur, dbVerifier });
      await this.ctx.audit.append('grant.db_password', user.name, { grant: grant.id, user: user.name, target: target.name });
    });
    return { password, expiresAt: grant.expiresAt };
  }

  /** Review of a break-glass grant. Denial revokes it at once, which cuts its sessions. */
  async review(actor: UserRecord, id: string, verdict: 'accepted' | 'denied', reason: string): Promise<GrantRecord> {
    const g = await this.get(id);
    if (g.source !== 'breakglass' || !g.needsReview) throw new PortcullisError('conflict', `grant ${id} is not a break-glass grant awaiting review`);
    if (g.userId === actor.id) throw new PortcullisError('self-approval', 'you cannot review your own break-glass access');
    const policy = g.policyId ? await this.ctx.store.policies.byId(g.policyId) : undefined;
    if (!isPrivileged(actor, ['approver', ...(policy?.approverRoles ?? [])])) {
      throw new PortcullisError('not-approver', `${actor.name} may not review break-glass access; an approver or admin can`);
    }
    const why = verdict === 'denied' ? requireText('reason', reason) : reason;
    const now = this.ctx.clock.now();
    const reviewed = await this.ctx.store.transaction(async () => {
      const cur = await this.get(id);
      if (!cur.needsReview) throw new PortcullisError('conflict', `grant ${id} is not a break-glass grant awaiting review`);
      const rec: GrantRecord = { ...cur, needsReview: false, reviewedBy: actor.id, reviewedAt: now };
      await this.ctx.store.grants.update(rec);
      await this.ctx.store.approvals.insert({ subjectId: id, approverId: actor.id, kind: 'review', at: now });
      await this.ctx.audit.append('grant.reviewed', actor.name, { grant: id, by: actor.name, verdict, reason: why });
      return rec;
    });
    this.ctx.events.emit('breakglass.reviewed', { grant: await grantView(this.ctx.store, reviewed, now), by: actor.name, verdict, reason: why });
    if (verdict === 'denied' && reviewed.revokedAt === null && reviewed.expiresAt > now) {
      return this.revoke(actor, id, `break-glass review denied: ${why}`, 'breakglass-denied');
    }
    return reviewed;
  }
}
