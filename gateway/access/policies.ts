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
  if (p.ticketPattern !== null) {
    try {
      new RegExp(p.ticketPattern);
    } catch {
      throw new PortcullisError('bad-request', `ticket pattern "${p.ticketPattern}" is not a valid regular expression`);
    }
  }
}

/** Whether the auto-approval conditions hold for this user at this time (UTC). */
export function autoApproves(a: AutoApprove | null, user: UserRecord, now: number): boolean {
  if (!a) return false;
  if (a.roles.length > 0 && !a.roles.some((r) => user.roles.includes(r))) return false;
  if (a.onCall.length > 0 && !a.onCall.includes(user.name)) return false;
  const d = new Date(now);
  if (a.days.length > 0 && !a.days.includes(d.getUTCDay())) return false;
  if (a.fromHour !== null && a.toHour !== null) {
    const h = d.getUTCHours();
    const inWindow = a.fromHour <= a.toHour ? h >= a.fromHour && h < a.toHour : h >= a.fromHour || h < a.toHour;
    if (!inWindow) return false;
  }
  return true;
}

const DAY_NAMES = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];

/** Parses "mon-fri 09-17" (UTC), "sat,sun", or "08-20" into days and an hour window. */
export function parseWindow(text: string): Pick<AutoApprove, 'days' | 'fromHour' | 'toHour'> {
  const bad = (): never => { throw new PortcullisError('bad-request', `malformed window "${text}"; write e.g. "mon-fri 09-17" (UTC hours)`); };
  let days: number[] = [];
  let fromHour: number | null = null;
  let toHour: number | null = null;
  for (const part of text.trim().toLowerCase().split(/\s+/)) {
    const hours = /^(\d{1,2})-(\d{1,2})$/.exec(part);
    if (hours) {
      fromHour = Number(hours[1]);
      toHour = Number(hours[2]);
      if (fromHour > 23 || toHour > 24) bad();
      continue;
    }
    for (const piece of part.split(',')) {
      const range = /^([a-z]{3})(?:-([a-z]{3}))?$/.exec(piece) ?? bad();
      const a = DAY_NAMES.indexOf(range[1]!);
      const b = range[2] ? DAY_NAMES.indexOf(range[2]) : a;
      if (a < 0 || b < 0) bad();
      for (let i = a; ; i = (i + 1) % 7) {
        days.push(i);
        if (i === b) break;
      }
    }
  }
  days = [...new Set(days)].sort();
  return { days, fromHour, toHour };
}
