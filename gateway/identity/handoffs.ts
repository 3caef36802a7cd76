// Login handoffs: a login that begins where there is no browser (the CLI's `login --sso`, an SSH
// keyboard-interactive prompt) and is approved in the console, where the person is signed in.
// Three things keep it safe:
// - the secret (256 bits) goes only to whoever began it, and only its hash is stored: the URL's id
//   lets a browser look and approve, never take the login;
// - a short code is shown on both sides, so the person checks that the login they approve is the
//   one in front of them (a phished approval link shows someone else's code and address);
// - every step is a single conditional write in the store (decide once, consume once), so any node
//   serves any step and two pollers never both get a token.
// An SSH handoff names the account in the SSH user name: only that user may approve it.
// It does not: authorize access to a target (the decider does, after), or speak HTTP or SSH.
import { randomBytes, randomInt } from 'node:crypto';
import type { Authenticator } from '../access/authn.js';
import { KeyedRate } from '../access/failure-budget.js';
import { addressKey } from '../access/throttle.js';
import type { AuditLog } from '../audit/audit-log.js';
import type { LoginHandoffKind, LoginHandoffRecord, UserRecord } from '../store/records.js';
import type { Store } from '../store/store.js';
import type { Clock } from '../util/clock.js';
import { PortcullisError } from '../util/errors.js';
import { constantTimeEqual, sha256Hex } from '../util/ids.js';

export const HANDOFF_TTL_MS = 10 * 60_000;
/** Expired handoffs are kept this long (an hour) so a late poll still reads "expired", then swept. */
const KEEP_EXPIRED_MS = 3_600_000;
/** No 0/O, 1/I/L: a code read aloud or retyped is not misread. 32 symbols, 8 of them: 40 bits. */
const CODE_ALPHABET = 'ABCDEFGHJKMNPQRSTUVWXYZ23456789';
const SECRET_PREFIX = 'pcl_';

/** The console page that approves handoff `id` (`base`: the gateway's public URL). */
export const approvalUrl = (base: string, id: string): string => `${base}/#/approve/${encodeURIComponent(id)}`;

export interface HandoffBegun {
  id: string;
  /** For whoever began it only (poll); never shown in a URL or a log. */
  secret: string;
  /** "XXXX-XXXX", shown on both sides. */
  code: string;
  expiresAt: number;
}

/** What the approver sees. */
export interface HandoffView {
  id: string;
  kind: LoginHandoffKind;
  state: LoginHandoffRecord['state'] | 'expired';
  code: string;
  addr: string;
  expiresAt: number;
  sshUser: string | null;
  sshTarget: string | null;
}

export type PollResult =
  | { state: 'pending' | 'denied' | 'expired' | 'consumed' }
  | { state: 'approved'; token: string; user: UserRecord; expiresAt: number | null };

export type SshClaim = { state: 'pending' } | { state: 'approved'; user: UserRecord } | { state: 'refused'; reason: string };

export interface HandoffDeps {
  store: Store;
  audit: AuditLog;
  clock: Clock;
  authn: Pick<Authenticator, 'issueToken'>;
  /** The API token's lifetime (api.tokenTtl), read per poll. */
  tokenTtlMs: () => number;
  /** Handoffs one address may begin: per second, and at once (default 0.2/s, burst 10). */
  rate?: { perSecond: number; burst: number };
}

export class HandoffService {
  private readonly rate: KeyedRate;

  constructor(private readonly d: HandoffDeps) {
    this.rate = new KeyedRate(d.clock, d.rate?.perSecond ?? 0.2, d.rate?.burst ?? 10, 50_000);
  }

  async begin(kind: LoginHandoffKind, ssh: { user: string; target: string | null } | null, addr: string): Promise<HandoffBegun> {
    if (!this.rate.take(addressKey(addr))) throw new PortcullisError('locked', 'too many sign-ins begun from this address; wait a minute and try again');
    const now = this.d.clock.now();
    // Each begin sweeps: the table holds at most about an hour of handoffs, whatever the traffic.
    await this.d.store.handoffs.removeExpired(now - KEEP_EXPIRED_MS);
    const id = `lho_${randomBytes(16).toString('base64url')}`;
    const secret = SECRET_PREFIX + randomBytes(32).toString('base64url');
    const code = Array.from({ length: 8 }, () => CODE_ALPHABET[randomInt(CODE_ALPHABET.length)]).join('');
    const expiresAt = now + HANDOFF_TTL_MS;
    const payload = { code, sshUser: ssh?.user ?? null, sshTarget: ssh?.target ?? null };
    await this.d.store.transaction(async () => {
      await this.d.store.handoffs.insert({ id, kind, secretHash: sha256Hex(secret), state: 'pending', userId: null, tokenId: null, payload, addr, createdAt: now, expiresAt });
      await this.d.audit.append('login.handoff_begun', 'anonymous', {
        handoff: id, kind, addr, code: showCode(code), ...(ssh ? { ssh_user: ssh.user, ssh_target: ssh.target } : {}),
      });
    });
    return { id, secret, code: showCode(code), expiresAt };
  }

  /** For a signed-in browser that has the id (the approval page). */
  async view(id: string): Promise<HandoffView> {
    const h = await this.find(id);
    return {
      id: h.id, kind: h.kind, state: this.stateOf(h), code: showCode(h.payload.code), addr: h.addr, expiresAt: h.expiresAt,
      sshUser: h.payload.sshUser, sshTarget: h.payload.sshTarget,
    };
  }

  approve(id: string, user: UserRecord, addr: string): Promise<HandoffView> {
    return this.decide(id, 'approved', user, addr);
  }

  deny(id: string, user: UserRecord, addr: string): Promise<HandoffView> {
    return this.decide(id, 'denied', user, addr);
  }

  private async decide(id: string, state: 'approved' | 'denied', user: UserRecord, addr: string): Promise<HandoffView> {
    const h = await this.find(id);
    const refuse = async (code: string, message: string, err: 'forbidden' | 'not-pending' = 'not-pending'): Promise<never> => {
      await this.d.audit.append('login.handoff_refused', user.name, { handoff: h.id, kind: h.kind, by: user.name, addr, code });
      throw new PortcullisError(err, message);
    };
    // Denying someone else's SSH login is harmless (and lets a phished user stop it); approving it is not.
    if (state === 'approved' && h.kind === 'ssh' && h.payload.sshUser !== user.name) {
      return refuse('wrong-user', `this SSH login is for ${h.payload.sshUser ?? '?'}; only ${h.payload.sshUser ?? 'that user'}, signed in, may approve it`, 'forbidden');
    }
    const now = this.d.clock.now();
    if (!(await this.d.store.handoffs.decide(h.id, state, user.id, now))) {
      const current = this.stateOf((await this.d.store.handoffs.byId(h.id)) ?? h);
      return refuse(current, current === 'expired' ? 'this sign-in expired; begin it again' : `this sign-in was already ${current}`);
    }
    const code = state === 'approved' ? 'login.handoff_approved' : 'login.handoff_denied';
    await this.d.audit.append(code, user.name, { handoff: h.id, kind: h.kind, by: user.name, addr, from: h.addr });
    return this.view(h.id);
  }

  /**
   * How long the CLI's token may live: api.tokenTtl, and for a single sign-on user no longer than
   * their latest sign-in through the provider (the provider's word governs every token such a user
   * holds: SsoService ends them all when it stops vouching). null: no live sign-in vouches now.
   */
  private async ttlFor(user: UserRecord): Promise<number | null> {
    const ttl = this.d.tokenTtlMs();
    if (user.source !== 'oidc') return ttl;
    const now = this.d.clock.now();
    const latest = Math.max(0, ...(await this.d.store.ssoSessions.forUser(user.id)).map((s) => s.expiresAt));
    return latest > now ? Math.min(ttl, latest - now) : null;
  }

  /**
   * The CLI's poll: with the secret it began with. Approved: the one poll that consumes it gets an
   * API token for the approving user (label 'sso-cli'); any other poll reads "consumed".
   */
  async poll(id: string, secret: string, addr: string): Promise<PollResult> {
    const h = await this.withSecret(id, secret, 'cli');
    const state = this.stateOf(h);
    if (state !== 'approved') return { state };
    const user = await this.approver(h);
    if (!user) return { state: 'denied' };
    const ttl = await this.ttlFor(user);
    if (ttl === null) return { state: 'denied' };
    try {
      return await this.d.store.transaction(async () => {
        const t = await this.d.authn.issueToken(user.name, user, 'sso-cli', ttl);
        // Consumed in the same transaction as the token is made: a poll that loses the race leaves no token behind.
        if (!(await this.d.store.handoffs.consume(h.id, h.secretHash, this.d.clock.now(), t.id))) throw new LostRace();
        await this.d.audit.append('login.handoff_consumed', user.name, { handoff: h.id, kind: h.kind, user: user.name, addr, token: t.id });
        return { state: 'approved' as const, token: t.token, user, expiresAt: t.expiresAt };
      });
    } catch (err) {
      if (!(err instanceof LostRace)) throw err;
      const now = await this.d.store.handoffs.byId(h.id);
      const state = now ? this.stateOf(now) : 'expired';
      return { state: state === 'approved' ? 'consumed' : state };
    }
  }

  /**
   * The SSH listener's check, after the person pressed Enter: approved by the user the SSH login
   * names (checked again here, and that user still enabled) → that user, once.
   */
  async claimSsh(id: string, secret: string, sshUser: string, addr: string): Promise<SshClaim> {
    const h = await this.withSecret(id, secret, 'ssh');
    const state = this.stateOf(h);
    if (state === 'pending') return { state: 'pending' };
    if (state !== 'approved') return { state: 'refused', reason: state === 'expired' ? 'the approval expired' : `the login was ${state}` };
    const user = await this.approver(h);
    if (!user || user.name !== sshUser || h.payload.sshUser !== sshUser) return { state: 'refused', reason: 'the login was not approved by its user' };
    if (!(await this.d.store.handoffs.consume(h.id, h.secretHash, this.d.clock.now(), null))) return { state: 'refused', reason: 'the approval was already used' };
    await this.d.audit.append('login.handoff_consumed', user.name, { handoff: h.id, kind: h.kind, user: user.name, addr, token: null });
    return { state: 'approved', user };
  }

  private async find(id: string): Promise<LoginHandoffRecord> {
    const h = /^lho_[A-Za-z0-9_-]{1,64}$/.test(id) ? await this.d.store.handoffs.byId(id) : undefined;
    if (!h) throw new PortcullisError('not-found', 'no sign-in is waiting under this link (it expired, or was never begun)');
    return h;
  }

  /** The handoff, only for the one holding its secret; anyone else learns nothing, not even that it exists. */
  private async withSecret(id: string, secret: string, kind: LoginHandoffKind): Promise<LoginHandoffRecord> {
    const h = /^lho_[A-Za-z0-9_-]{1,64}$/.test(id) ? await this.d.store.handoffs.byId(id) : undefined;
    if (!h || h.kind !== kind || !constantTimeEqual(sha256Hex(secret), h.secretHash)) {
      throw new PortcullisError('not-found', 'no such sign-in (it expired, or the secret is wrong)');
    }
    return h;
  }

  private async approver(h: LoginHandoffRecord): Promise<UserRecord | undefined> {
    const u = h.userId === null ? undefined : await this.d.store.users.byId(h.userId);
    return u && !u.disabled ? u : undefined;
  }

  private stateOf(h: LoginHandoffRecord): HandoffView['state'] {
    if (h.state === 'consumed' || h.state === 'denied') return h.state;
    return h.expiresAt <= this.d.clock.now() ? 'expired' : h.state;
  }
}

class LostRace extends Error {}

const showCode = (code: string): string => `${code.slice(0, 4)}-${code.slice(4)}`;
