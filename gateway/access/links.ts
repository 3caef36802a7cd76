// One-time links: a vendor without a gateway account opens a URL (or a one-time SSH login) and gets
// a recorded terminal on exactly one target, for a limited time, for as many opens as the link has
// uses (one by default). Issuing is governed by policy (allow_links, max TTL = the policy's max
// duration, approvals like a request) and audited. The token is 256 random bits; only its SHA-256
// is stored, and so is only the hash of the SSH code derived from it. An open consumes a use in one
// SQL statement, so of many simultaneous opens exactly as many as there are uses succeed; each open
// becomes a grant (source "link") whose principal is the link itself, so revocation, expiry,
// the live registry and the recordings all work as for any session.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { type GrantRecord, type LinkRecord, type PolicyRecord, type TargetRecord, type UserRecord } from '../store/records.js';
import { PortcullisError } from '../util/errors.js';
import { newId, sha256Hex } from '../util/ids.js';
import type { Authorization } from './decider.js';
import type { AccessContext } from './context.js';
import { closesAt, describeOpening, describeWindow, inWindow } from './windows.js';
import type { GrantService } from './grants.js';
import { isPrivileged } from './grants.js';
import { resolveLevel } from './levels.js';
import { requireText } from './names.js';
import type { PolicyService } from './policies.js';
import { FailureBudget } from './failure-budget.js';
import { addressKey } from './throttle.js';
import { type LinkView, linkView } from './views.js';

/** 256 bits, base64url without padding. */
export const LINK_TOKEN = /^[A-Za-z0-9_-]{43}$/;
/** The SSH user name carries a 128-bit code derived from the token: link-<22 chars>. */
export const LINK_SSH_USER = /^link-([A-Za-z0-9_-]{22})$/;

export interface LinkSettings {
  /** Longest TTL an admin may give a link (others: their policy's max duration). */
  maxTtlMs: number;
  /** Session length when the issuer does not say. */
  defaultSessionMaxMs: number;
  /** Most uses one link may have. */
  maxUses: number;
}

export const DEFAULT_LINK_SETTINGS: LinkSettings = { maxTtlMs: 7 * 24 * 3_600_000, defaultSessionMaxMs: 3_600_000, maxUses: 20 };

export interface NewLink { target: string; ttlMs: number; uses?: number; label: string; sessionMaxMs?: number; level?: string | undefined }

/** Who and what a link is about, as the vendor's page and the recordings show it. */
export interface LinkContext { link: LinkRecord; target: TargetRecord; issuer: string }

/** An opened link: the authorization a session is brokered with, plus the link it came from. */
export interface LinkOpening { auth: Authorization; link: LinkRecord; issuer: string }

export const sshCodeOf = (token: string): string => createHash('sha256').update(`portcullis-link-ssh:${token}`).digest('base64url').slice(0, 22);

/** The in-memory principal of a link's sessions (never stored as a user, cannot log in). */
export function linkPrincipal(l: LinkRecord): UserRecord {
  return {
    id: l.id, name: `link:${l.id}`, kind: 'link', roles: [], passwordHash: null, scramVerifier: null, nativeVerifier: null, mysqlNative: false,
    sshKeys: [], totpSealed: null, totpLastStep: 0, disabled: false, createdAt: l.createdAt, source: 'local', externalId: null,
  };
}

export class LinkService {
  /** Guesses per address: 10 bad tokens or codes in 10 minutes lock the address out for 10 minutes. */
  private readonly guesses: FailureBudget;

  constructor(
    private readonly ctx: AccessContext,
    private readonly policies: PolicyService,
    private readonly grants: GrantService,
    private readonly settings: LinkSettings = DEFAULT_LINK_SETTINGS,
  ) {
    this.guesses = new FailureBudget(ctx.clock, { failures: 10, windowMs: 10 * 60_000, lockMs: 10 * 60_000, maxKeys: 50_000 });
  }

  async create(issuer: UserRecord, input: NewLink): Promise<{ link: LinkRecord; token: string }> {
    const target = await this.ctx.store.targets.byName(input.target);
    if (!target) throw new PortcullisError('not-found', `no target "${input.target}"`);
    if (target.kind !== 'ssh') throw new PortcullisError('bad-request', `links open a terminal, so the target must be an SSH target; ${target.name} is ${target.kind}`);
    const label = requireText('label', input.label).slice(0, 200);
    const uses = input.uses ?? 1;
    if (!Number.isInteger(uses) || uses < 1 || uses > this.settings.maxUses) throw new PortcullisError('bad-request', `uses must be 1 to ${this.settings.maxUses}`);
    if (!(input.ttlMs > 0)) throw new PortcullisError('bad-duration', 'the TTL must be positive');
    const level = resolveLevel(target, input.level);
    let policy: PolicyRecord | null = null;
    let maxTtl = this.settings.maxTtlMs;
    if (!issuer.roles.includes('admin')) {
      policy = (await this.policies.covering(issuer, target, level)).find((p) => p.allowLinks) ?? null;
      if (!policy) {
        await this.ctx.audit.append('request.refused', issuer.name, { user: issuer.name, target: target.name, code: 'no-policy', message: 'links not allowed' });
        throw new PortcullisError('no-policy', `no policy lets ${issuer.name} issue links for ${target.name} at level ${level}; ask an admin`);
      }
      maxTtl = policy.maxDurationMs;
    }
    if (input.ttlMs > maxTtl) throw new PortcullisError('duration-too-long', `a link for ${target.name} may live at most ${Math.round(maxTtl / 60_000)} minutes`);
    const sessionMaxMs = Math.min(input.sessionMaxMs ?? this.settings.defaultSessionMaxMs, input.ttlMs);
    if (!(sessionMaxMs > 0)) throw new PortcullisError('bad-duration', 'the session maximum must be positive');
    const token = randomBytes(32).toString('base64url');
    const now = this.ctx.clock.now();
    const link: LinkRecord = {
      id: newId('lnk'), tokenHash: sha256Hex(token), sshCodeHash: sha256Hex(sshCodeOf(token)), targetId: target.id, issuerId: issuer.id,
      policyId: policy?.id ?? null, label, createdAt: now, expiresAt: now + input.ttlMs, usesLeft: uses, uses: 0, sessionMaxMs, level,
      status: policy && policy.approvalsRequired > 0 ? 'pending' : 'active', approvedBy: null, revokedAt: null, revokedBy: null,
    };
    await this.ctx.store.transaction(async () => {
      await this.ctx.store.links.insert(link);
      await this.ctx.audit.append('link.created', issuer.name, {
        link: link.id, target: target.name, issuer: issuer.name, label, expiresAt: link.expiresAt, uses, sessionMaxMs, status: link.status, level,
      });
    });
    return { link, token };
  }

  /** A pending link needs an approver of its policy (or an admin), never its issuer. */
  async approve(actor: UserRecord, id: string): Promise<LinkRecord> {
    const l = await this.get(id);
    if (l.status !== 'pending') throw new PortcullisError('not-pending', `link ${id} is not waiting for approval`);
    if (l.issuerId === actor.id) throw new PortcullisError('self-approval', 'you cannot approve your own link; ask an approver');
    const policy = l.policyId ? await this.ctx.store.policies.byId(l.policyId) : undefined;
    if (!isPrivileged(actor, policy?.approverRoles ?? [])) throw new PortcullisError('not-approver', `${actor.name} may not approve this link`);
    return this.ctx.store.transaction(async () => {
      // Fresh copy: uses and revocation may have changed since the checks above.
      const cur = await this.get(id);
      if (cur.status !== 'pending') throw new PortcullisError('not-pending', `link ${id} is not waiting for approval`);
      const updated: LinkRecord = { ...cur, status: 'active', approvedBy: actor.id };
      await this.ctx.store.links.update(updated);
      await this.ctx.audit.append('link.approved', actor.name, { link: id, by: actor.name });
      return updated;
    });
  }

  /** Revoking a link also revokes its open sessions' grants, which cuts them at once. */
  async revoke(actor: UserRecord, id: string): Promise<LinkRecord> {
    const l = await this.get(id);
    if (l.issuerId !== actor.id && !isPrivileged(actor, ['approver'])) throw new PortcullisError('forbidden', 'only the issuer, an approver or an admin can revoke a link');
    if (l.revokedAt !== null) return l;
    const updated = await this.ctx.store.transaction(async () => {
      // Fresh copy: a use consumed since the read above must not be given back by this update.
      const cur = await this.get(id);
      if (cur.revokedAt !== null) return cur;
      const rec: LinkRecord = { ...cur, revokedAt: this.ctx.clock.now(), revokedBy: actor.id };
      await this.ctx.store.links.update(rec);
      await this.ctx.audit.append('link.revoked', actor.name, { link: id, by: actor.name });
      return rec;
    });
    for (const g of await this.ctx.store.grants.active(this.ctx.clock.now(), { userId: l.id })) {
      try {
        await this.grants.revoke(actor, g.id, `link ${id} revoked`);
      } catch (err) {
        // Revoked meanwhile by someone else: that is the outcome we want.
        if (!(err instanceof PortcullisError && err.code === 'grant-inactive')) throw err;
      }
    }
    return updated;
  }

  /** The outward shape (names, status now; never the token) for the API. */
  view(l: LinkRecord): Promise<LinkView> {
    return linkView(this.ctx.store, l, this.ctx.clock.now());
  }

  async get(id: string): Promise<LinkRecord> {
    const l = await this.ctx.store.links.byId(id);
    if (!l) throw new PortcullisError('not-found', `no link "${id}"; see "portcullis link list"`);
    return l;
  }

  /** Admins and approvers see every link; others the ones they issued. */
  async list(actor: UserRecord): Promise<LinkRecord[]> {
    const all = await this.ctx.store.links.list();
    return isPrivileged(actor, ['approver']) ? all : all.filter((l) => l.issuerId === actor.id);
  }

  /** What the vendor's page shows before anything is consumed. Throws on a bad, used, expired or revoked link. */
  async inspect(token: string, addr: string): Promise<LinkContext> {
    return this.describe(await this.find(token, addr, 'browser'));
  }

  /** Consumes one use and grants the session; throws with the reason when it cannot. */
  async open(token: string, addr: string): Promise<LinkOpening> {
    return this.consume(await this.find(token, addr, 'browser'), 'browser', addr);
  }

  /** The one-time SSH login: `link-<code>` as the user name. Null when the name is not a link login. */
  async openBySsh(user: string, addr: string): Promise<LinkOpening | null> {
    const m = LINK_SSH_USER.exec(user);
    if (!m) return null;
    return this.consume(await this.find(m[1]!, addr, 'ssh'), 'ssh', addr);
  }

  private async describe(link: LinkRecord): Promise<LinkContext> {
    const target = await this.ctx.store.targets.byId(link.targetId);
    if (!target) throw new PortcullisError('link-invalid', 'this link points to a target that no longer exists');
    return { link, target, issuer: (await this.ctx.store.users.byId(link.issuerId))?.name ?? link.issuerId };
  }

  /** Looks a token (or SSH code) up by its hash, rate-limited per address, and checks its state. */
  private async find(secret: string, addr: string, via: 'browser' | 'ssh'): Promise<LinkRecord> {
    if (this.guesses.lockedFor(addressKey(addr)) > 0) {
      throw new PortcullisError('locked', 'too many invalid links from your address; try again in a few minutes');
    }
    const wellFormed = via === 'browser' ? LINK_TOKEN.test(secret) : /^[A-Za-z0-9_-]{22}$/.test(secret);
    const hash = sha256Hex(wellFormed ? secret : '');
    const l = wellFormed ? await (via === 'browser' ? this.ctx.store.links.byTokenHash(hash) : this.ctx.store.links.bySshCodeHash(hash)) : undefined;
    const stored = l ? (via === 'browser' ? l.tokenHash : l.sshCodeHash) : '0'.repeat(64);
    // The lookup is by hash already; the constant-time comparison keeps the final check honest too.
    if (!l || !timingSafeEqual(Buffer.from(stored, 'hex'), Buffer.from(hash, 'hex'))) {
      this.guesses.fail(addressKey(addr));
      await this.ctx.audit.append('link.refused', 'anonymous', { link: null, addr, code: wellFormed ? 'unknown' : 'malformed' });
      throw new PortcullisError('link-invalid', wellFormed ? 'this link is not valid; check that you copied all of it' : 'this is not a Portcullis link (malformed token)');
    }
    await this.check(l, addr);
    return l;
  }

  private async check(l: LinkRecord, addr: string): Promise<void> {
    const refuse = async (code: 'link-revoked' | 'link-expired' | 'link-used' | 'link-pending', message: string): Promise<never> => {
      await this.ctx.audit.append('link.refused', 'anonymous', { link: l.id, addr, code });
      throw new PortcullisError(code, message);
    };
    if (l.revokedAt !== null) await refuse('link-revoked', 'this link has been revoked by its issuer');
    if (l.expiresAt <= this.ctx.clock.now()) await refuse('link-expired', `this link expired at ${new Date(l.expiresAt).toISOString()}`);
    if (l.status === 'pending') await refuse('link-pending', 'this link is waiting for approval; try again once it is approved');
    if (l.usesLeft <= 0) await refuse('link-used', 'this link has already been used');
  }

  private async consume(l: LinkRecord, via: 'browser' | 'ssh', addr: string): Promise<LinkOpening> {
    const { target, issuer } = await this.describe(l);
    // The target's levels changed since the link was made: what it was issued for no longer exists.
    if (!target.levels.some((x) => x.name === l.level)) throw new PortcullisError('link-invalid', `this link was for a level ${target.name} no longer has; ask for a new link`);
    const now = this.ctx.clock.now();
    // A link made under a policy with an access window opens only inside it; refused before its use is spent.
    const governing = l.policyId ? (await this.ctx.store.policies.byId(l.policyId)) ?? null : null;
    if (governing?.window && !inWindow(governing.window, now)) {
      await this.ctx.audit.append('link.refused', 'anonymous', { link: l.id, addr, code: 'outside-window' });
      throw new PortcullisError('outside-window', `${target.name} is usable ${describeWindow(governing.window)}; next from ${describeOpening(governing.window, now)}`);
    }
    const grant = await this.ctx.store.transaction(async (): Promise<GrantRecord | null> => {
      if (!(await this.ctx.store.links.consume(l.id, now))) return null;
      const g = await this.grants.createInTx(`link:${l.id}`, {
        userId: l.id, targetId: target.id, durationMs: Math.min(l.sessionMaxMs, l.expiresAt - now), reason: l.label, ticket: null,
        source: 'link', policyId: l.policyId, approvers: [l.issuerId, ...(l.approvedBy ? [l.approvedBy] : [])], level: l.level,
      });
      await this.ctx.audit.append('link.opened', `link:${l.id}`, { link: l.id, target: target.name, label: l.label, issuer, via, grant: g.id, addr });
      return g;
    });
    if (!grant) {
      // Lost the race (or the state changed since find): say why in the same words.
      await this.check(await this.get(l.id), addr);
      throw new PortcullisError('link-used', 'this link has already been used');
    }
    this.guesses.clear(addressKey(addr));
    await this.grants.publishCreated(grant);
    const link = await this.get(l.id);
    const policy = l.policyId ? (await this.ctx.store.policies.byId(l.policyId)) ?? null : null;
    const windowEndsAt = policy?.window ? closesAt(policy.window, this.ctx.clock.now()) : null;
    return { auth: { user: linkPrincipal(link), target, grant, policy, link: { id: link.id, label: link.label, issuer }, windowEndsAt }, link, issuer };
  }
}
