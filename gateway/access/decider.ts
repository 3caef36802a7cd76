// AccessDecider: the one authorization step every protocol goes through. Given an authenticated
// user and a target name, finds the active grant or refuses with a message saying what to do.
// Fails closed: any unexpected error is a refusal, never an allow.
import type { GrantRecord, PolicyRecord, TargetKind, TargetRecord, UserRecord } from '../store/records.js';
import { PortcullisError } from '../util/errors.js';
import type { AccessContext } from './context.js';

export interface Authorization {
  user: UserRecord;
  target: TargetRecord;
  grant: GrantRecord;
  policy: PolicyRecord | null;
  /** Set when the authorization comes from opening a one-time link rather than a user's grant. */
  link?: { id: string; label: string; issuer: string };
}

export type Decision = { ok: true; auth: Authorization } | { ok: false; error: PortcullisError };

export class AccessDecider {
  constructor(private readonly ctx: AccessContext) {}

  async authorize(user: UserRecord, targetName: string, kind: TargetKind, addr: string): Promise<Decision> {
    try {
      return { ok: true, auth: await this.decide(user, targetName, kind) };
    } catch (err) {
      const error = err instanceof PortcullisError ? err : new PortcullisError('no-active-grant', 'access check failed; try again or ask an admin');
      try {
        await this.ctx.audit.append('access.denied', user.name, { user: user.name, target: targetName, protocol: kind, code: error.code, addr });
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

  private async decide(user: UserRecord, targetName: string, kind: TargetKind): Promise<Authorization> {
    const fresh = await this.ctx.store.users.byId(user.id);
    if (!fresh || fresh.disabled) throw new PortcullisError('user-disabled', `account ${user.name} is disabled; ask a Portcullis admin`);
    const target = await this.ctx.store.targets.byName(targetName);
    if (!target || target.kind !== kind) {
      throw new PortcullisError('not-found', `no ${kind} target "${targetName}"; see "portcullis target list"`);
    }
    const grant = (await this.ctx.store.grants.active(this.ctx.clock.now(), { userId: user.id, targetId: target.id }))[0];
    if (!grant) {
      throw new PortcullisError('no-active-grant',
        `no active grant for ${user.name} on ${target.name}; request one with: portcullis request ${target.name} --for 30m --reason "..."`);
    }
    const policy = grant.policyId ? (await this.ctx.store.policies.byId(grant.policyId)) ?? null : null;
    return { user: fresh, target, grant, policy };
  }
}
