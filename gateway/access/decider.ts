// AccessDecider: the one authorization step every protocol goes through. Given an authenticated
// user and a target name, finds the active grant or refuses with a message saying what to do.
// Fails closed: any unexpected error is a refusal, never an allow. Levels: the grant at the level
// named (USER+TARGET+LEVEL), or else the least privileged level the user holds a grant at; the
// authorization carries that grant, whose level is the session's. Access windows: a grant whose
// policy's window is shut is not usable now (refused saying when it opens); the authorization
// carries when the window shuts, which the session's deadline takes (live-sessions.ts).
import type { GrantRecord, PolicyRecord, TargetKind, TargetRecord, UserRecord } from '../store/records.js';
import { PortcullisError } from '../util/errors.js';
import type { AccessContext } from './context.js';
import { levelNames, levelRank } from './levels.js';
import { closesAt, describeOpening, describeWindow, inWindow } from './windows.js';

export interface Authorization {
  user: UserRecord;
  target: TargetRecord;
  grant: GrantRecord;
  policy: PolicyRecord | null;
  /** Set when the authorization comes from opening a one-time link rather than a user's grant. */
  link?: { id: string; label: string; issuer: string };
  /**
   * When the grant's policy's access window shuts (windows.ts closesAt); absent or null: it has
   * none, or it never shuts. The session is warned and cut then, like at the grant's expiry.
   */
  windowEndsAt?: number | null;
}

export type Decision = { ok: true; auth: Authorization } | { ok: false; error: PortcullisError };

export class AccessDecider {
  constructor(private readonly ctx: AccessContext) {}

  async authorize(user: UserRecord, targetName: string, kind: TargetKind, addr: string, level?: string | null): Promise<Decision> {
    try {
      return { ok: true, auth: await this.decide(user, targetName, kind, level ?? null) };
    } catch (err) {
      const error = err instanceof PortcullisError ? err : new PortcullisError('no-active-grant', 'access check failed; try again or ask an admin');
      try {
        await this.ctx.audit.append('access.denied', user.name, {
          user: user.name, target: targetName, protocol: kind, code: error.code, addr, ...(level ? { level } : {}),
        });
      } catch {
        // Auditing failed too: still refuse.
      }
      return { ok: false, error };
    }
  }

  /** Active grants of this user for targets of this kind (for menus when no target was named). */
  async activeGrants(user: UserRecord, kind: TargetKind): Promise<Array<{ grant: GrantRecord; target: TargetRecord }>> {
    const now = this.ctx.clock.now();
    const out: Array<{ grant: GrantRecord; target: TargetRecord }> = [];
    for (const grant of await this.ctx.store.grants.active(now, { userId: user.id })) {
      const target = await this.ctx.store.targets.byId(grant.targetId);
      if (target && target.kind === kind) out.push({ grant, target });
    }
    return out;
  }

  private async decide(user: UserRecord, targetName: string, kind: TargetKind, level: string | null): Promise<Authorization> {
    const fresh = await this.ctx.store.users.byId(user.id);
    if (!fresh || fresh.disabled) throw new PortcullisError('user-disabled', `account ${user.name} is disabled; ask a Portcullis admin`);
    const target = await this.ctx.store.targets.byName(targetName);
    if (!target || target.kind !== kind) {
      throw new PortcullisError('not-found', `no ${kind} target "${targetName}"; see "portcullis target list"`);
    }
    if (level !== null && !target.levels.some((l) => l.name === level)) {
      throw new PortcullisError('not-found', `${target.name} has no level "${level.slice(0, 64)}"; its levels are: ${levelNames(target)}`);
    }
    // Grants at a level the target no longer has are not used (target-update revokes them too).
    const now = this.ctx.clock.now();
    const active = (await this.ctx.store.grants.active(now, { userId: user.id, targetId: target.id }))
      .filter((g) => levelRank(target, g.level) < Number.MAX_SAFE_INTEGER);
    // A grant whose policy has an access window is usable only inside it. The grant's own policy
    // governs (grant.policyId): admin grants, break-glass and links have none unless made under one.
    const policies = new Map<string, PolicyRecord | null>();
    for (const g of active) if (g.policyId && !policies.has(g.policyId)) policies.set(g.policyId, (await this.ctx.store.policies.byId(g.policyId)) ?? null);
    const policyOf = (g: GrantRecord): PolicyRecord | null => (g.policyId ? policies.get(g.policyId) ?? null : null);
    const shut = active.filter((g) => { const w = policyOf(g)?.window; return w ? !inWindow(w, now) : false; });
    const held = active.filter((g) => !shut.includes(g));
    const usable = level !== null ? held.some((g) => g.level === level) : held.length > 0;
    if (!usable) {
      const wanted = level !== null ? shut.find((g) => g.level === level) : shut[0];
      const w = wanted ? policyOf(wanted)?.window : undefined;
      if (w) {
        throw new PortcullisError('outside-window', `${target.name} is usable ${describeWindow(w)}; next from ${describeOpening(w, now)}`);
      }
    }
    const grant = level !== null
      ? held.find((g) => g.level === level)
      : [...held].sort((a, b) => levelRank(target, a.level) - levelRank(target, b.level) || a.startsAt - b.startsAt)[0];
    if (!grant) {
      const at = level !== null && target.levels.length > 1 ? ` at level ${level}` : '';
      const others = level !== null && held.length > 0 ? ` (you hold: ${[...new Set(held.map((g) => g.level))].sort((a, b) => levelRank(target, a) - levelRank(target, b)).join(', ')})` : '';
      throw new PortcullisError('no-active-grant',
        `no active grant for ${user.name} on ${target.name}${at}${others}; request one with: portcullis request ${target.name}` +
        `${level !== null ? ` --level ${level}` : ''} --for 30m --reason "..."`);
    }
    const policy = policyOf(grant);
    return { user: fresh, target, grant, policy, windowEndsAt: policy?.window ? closesAt(policy.window, now) : null };
  }
}
