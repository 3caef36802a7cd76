// Policies: who may request what, for how long, and how it is approved. Matching and narrowing are
// pure so they can be unit-tested without a store. Removing or replacing a policy holds the grants
// that stand on it to the change at once (revocation.ts); it does not touch sessions itself.
import type { AutoApprove, GrantRecord, PolicyRecord, TargetRecord, UserRecord } from '../store/records.js';
import { PortcullisError } from '../util/errors.js';
import { newId } from '../util/ids.js';
import type { AccessContext } from './context.js';
import { checkName } from './names.js';
import { policyCovers, policyNarrowing } from './policy-match.js';
import { activeGrants, publishRevoked, revokeInTx } from './revocation.js';
import { checkTicketUrl } from './ticket-check.js';
import { autoApproveWindow, checkWindow, inWindow, parseWindow } from './windows.js';
import { grantView } from './views.js';

export { policyCovers, policyNarrowing, type Narrowing } from './policy-match.js';

/** A policy as given; the ticket check and the access window are optional (none). */
export type NewPolicy = Omit<PolicyRecord, 'id' | 'createdAt' | 'ticketCheck' | 'window'> & Partial<Pick<PolicyRecord, 'ticketCheck' | 'window'>>;

export class PolicyService {
  constructor(private readonly ctx: AccessContext) {}

  async add(actor: string, p: NewPolicy): Promise<PolicyRecord> {
    checkPolicy(p);
    if (await this.ctx.store.policies.byName(p.name)) throw new PortcullisError('conflict', `policy "${p.name}" already exists`);
    const rec: PolicyRecord = { ...p, ticketCheck: p.ticketCheck ?? null, window: p.window ?? null, id: newId('pol'), createdAt: this.ctx.clock.now() };
    await this.ctx.store.transaction(async () => {
      await this.ctx.store.policies.insert(rec);
      await this.ctx.audit.append('policy.created', actor, { policy: rec.name });
    });
    return rec;
  }

  /**
   * Replaces a policy in place (same id and name): grants standing on it stay bound to it and are
   * held to the new version at once (policyNarrowing): those it no longer covers are revoked,
   * those with more time left than its max are cut short, in the same transaction.
   */
  async replace(actor: string, name: string, next: NewPolicy): Promise<{ policy: PolicyRecord; revoked: number; shortened: number }> {
    checkPolicy({ ...next, name });
    const out = await this.ctx.store.transaction(async () => {
      const cur = await this.ctx.store.policies.byName(name);
      if (!cur) throw new PortcullisError('not-found', `no policy "${name}"; see "portcullis policy list"`);
      const rec: PolicyRecord = { ...next, ticketCheck: next.ticketCheck ?? null, window: next.window ?? null, name, id: cur.id, createdAt: cur.createdAt };
      await this.ctx.store.policies.update(rec);
      const now = this.ctx.clock.now();
      const lost: GrantRecord[] = [];
      const shortened: GrantRecord[] = [];
      const why: string[] = [];
      for (const g of await activeGrants(this.ctx.store, now, { policyId: rec.id })) {
        const user = await this.ctx.store.users.byId(g.userId);
        const target = await this.ctx.store.targets.byId(g.targetId);
        if (!target) continue;
        const n = policyNarrowing(rec, g, user ?? null, target, now);
        if (n?.kind === 'uncovered') { lost.push(g); why.push(n.why); }
        if (n?.kind === 'shorter') {
          const short: GrantRecord = { ...g, expiresAt: n.expiresAt };
          await this.ctx.store.grants.update(short);
          await this.ctx.audit.append('grant.shortened', actor, { grant: g.id, by: actor, expiresAt: n.expiresAt, reason: `policy ${name} allows at most ${rec.maxDurationMs / 1000}s` });
          shortened.push(short);
        }
      }
      const revoked = await revokeInTx(this.ctx, actor, lost, why[0] ?? `policy ${name} narrowed`, 'policy-narrowed');
      await this.ctx.audit.append('policy.updated', actor, { policy: name, revoked: revoked.length, shortened: shortened.length });
      return { rec, revoked, shortened };
    });
    await publishRevoked(this.ctx, actor, out.revoked);
    for (const g of out.shortened) {
      this.ctx.events.emit('grant.shortened', { grant: await grantView(this.ctx.store, g, this.ctx.clock.now()), by: actor, reason: `policy ${name} narrowed` });
    }
    return { policy: out.rec, revoked: out.revoked.length, shortened: out.shortened.length };
  }

  list(): Promise<PolicyRecord[]> {
    return this.ctx.store.policies.list();
  }

  /** Removing a policy revokes every active grant standing on it; their sessions end with `policy-removed`. */
  async remove(actor: string, name: string): Promise<void> {
    const p = await this.ctx.store.policies.byName(name);
    if (!p) throw new PortcullisError('not-found', `no policy "${name}"; see "portcullis policy list"`);
    const revoked = await this.ctx.store.transaction(async () => {
      await this.ctx.store.policies.remove(p.id);
      await this.ctx.audit.append('policy.removed', actor, { policy: name });
      return revokeInTx(this.ctx, actor, await activeGrants(this.ctx.store, this.ctx.clock.now(), { policyId: p.id }), `policy ${name} removed`, 'policy-removed');
    });
    await publishRevoked(this.ctx, actor, revoked);
  }

  /** Policies covering the user on the target; with `level`, at that level (policy-match.ts). */
  async covering(user: UserRecord, target: TargetRecord, level?: string): Promise<PolicyRecord[]> {
    return (await this.list()).filter((p) => policyCovers(p, user, target, level));
  }
}

/** What every version of a policy must satisfy (add and replace). */
function checkPolicy(p: NewPolicy): void {
  checkName('policy', p.name);
  if (p.roles.length === 0) throw new PortcullisError('bad-request', 'a policy needs at least one role (--roles)');
  if (p.targets.length === 0 && p.targetTags.length === 0) {
    throw new PortcullisError('bad-request', 'a policy needs target names (--targets) or tags (--tags); "*" means every target');
  }
  for (const l of p.levels) checkName('level', l);
  if (new Set(p.levels).size !== p.levels.length) throw new PortcullisError('bad-request', 'a policy names each level once (--levels)');
  if (p.maxDurationMs <= 0) throw new PortcullisError('bad-request', 'max duration must be positive');
  if (!Number.isInteger(p.approvalsRequired) || p.approvalsRequired < 0 || p.approvalsRequired > 10) {
    throw new PortcullisError('bad-request', 'approvals required must be 0-10');
  }
  if (p.approvalsRequired > 0 && p.approverRoles.length === 0) {
    throw new PortcullisError('bad-request', 'a policy that needs approvals must name approver roles (--approver-roles)');
  }
  if (p.ticketCheck != null) checkTicketUrl(p.ticketCheck);
  if (p.window != null) checkWindow(p.window);
  if (p.autoApprove?.window != null) checkWindow(p.autoApprove.window);
  if (p.ticketPattern !== null) {
    try {
      new RegExp(p.ticketPattern);
    } catch {
      throw new PortcullisError('bad-request', `ticket pattern "${p.ticketPattern}" is not a valid regular expression`);
    }
  }
}

/** Whether the auto-approval conditions hold for this user at this time (its window read on its zone's clock). */
export function autoApproves(a: AutoApprove | null, user: UserRecord, now: number): boolean {
  if (!a) return false;
  if (a.roles.length > 0 && !a.roles.some((r) => user.roles.includes(r))) return false;
  if (a.onCall.length > 0 && !a.onCall.includes(user.name)) return false;
  const w = autoApproveWindow(a);
  return w === null || inWindow(w, now);
}

/**
 * The auto-approval conditions from the API's words: a window in any syntax windows.ts reads. The
 * stored days and hours mirror it where they can (whole hours in UTC), for readers that predate zones.
 */
export function autoApproveFrom(roles: string[], onCall: string[], windowText: string | undefined): AutoApprove {
  if (windowText === undefined || windowText.trim() === '') return { roles, onCall, days: [], fromHour: null, toHour: null };
  const w = parseWindow(windowText, 'auto-approve window');
  const whole = w.zone === 'UTC' && (w.fromMinute ?? 0) % 60 === 0 && (w.toMinute ?? 0) % 60 === 0;
  return {
    roles, onCall, days: w.days, window: w,
    fromHour: whole && w.fromMinute !== null ? w.fromMinute / 60 : null, toHour: whole && w.toMinute !== null ? w.toMinute / 60 : null,
  };
}
