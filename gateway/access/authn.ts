// Authentication of gateway users: password (+ TOTP when enrolled) with throttling, and API tokens.
// Every protocol adapter and the HTTP API call this; none checks a password itself. Failures are
// audited and all look alike to the caller ("invalid-credentials"), so they reveal no user names.
import { randomBytes } from 'node:crypto';
import type { GrantRecord, UserRecord } from '../store/records.js';
import { PortcullisError } from '../util/errors.js';
import { newId, newToken, sha256Hex } from '../util/ids.js';
import { aadFor, type Vault } from '../vault/vault.js';
import type { AccessContext } from './context.js';
import { verifyPassword } from './passwords.js';
import { makeScramVerifier, nativeVerifier, parseScramVerifier, scramMatches, type ScramKeys } from './scram-verifier.js';
import type { LoginThrottle } from './throttle.js';
import { verifyTotp } from './totp.js';

export interface LoginAttempt {
  user: string;
  password: string;
  /** One-time code; required when the user has TOTP. */
  totp?: string | undefined;
  addr: string;
  method: string;
}

const TOKEN_PREFIX = 'pcat';

let fake: string | null = null;
function fakeVerifier(): string {
  fake ??= makeScramVerifier(randomBytes(16).toString('hex'));
  return fake;
}

export class Authenticator {
  constructor(private readonly ctx: AccessContext, private readonly vault: Vault, private readonly throttle: LoginThrottle) {}

  /** Checks password (and TOTP if enrolled). Throws a PortcullisError on any failure. */
  async login(a: LoginAttempt): Promise<UserRecord> {
    const lockedMs = this.throttle.lockedFor(a.user, a.addr);
    if (lockedMs > 0) {
      await this.ctx.audit.append('auth.failed', a.user, { user: a.user, method: a.method, addr: a.addr, reason: 'locked' });
      throw new PortcullisError('locked', `too many failed logins for ${a.user} from ${a.addr}; try again in ${Math.ceil(lockedMs / 60_000)} min`);
    }
    const user = await this.ctx.store.users.byName(a.user);
    const passwordOk = await verifyPassword(a.password, user?.passwordHash ?? null);
    if (!user || !passwordOk) return this.reject(a, 'bad-password');
    if (user.totpSealed !== null) {
      if (!a.totp) {
        throw new PortcullisError('totp-required', `user ${a.user} has a one-time code enrolled; give it as well`);
      }
      const secret = this.vault.open(user.totpSealed, aadFor.totp(user.id)).toString();
      const step = verifyTotp(secret, a.totp, this.ctx.clock.now(), user.totpLastStep);
      // Taking the step is atomic in the store: of two logins racing with one code, one wins.
      if (step === null || !(await this.ctx.store.users.advanceTotpStep(user.id, step))) return this.reject(a, 'bad-totp');
    }
    if (user.disabled) {
      await this.ctx.audit.append('auth.failed', a.user, { user: a.user, method: a.method, addr: a.addr, reason: 'disabled' });
      throw new PortcullisError('user-disabled', `account ${a.user} is disabled; ask a Portcullis admin to enable it`);
    }
    this.throttle.succeed(a.user, a.addr);
    await this.ctx.audit.append('auth.succeeded', user.name, { user: user.name, method: a.method, addr: a.addr });
    // Users created before database logins existed get their SCRAM verifier at their next login.
    // Re-read and write in one transaction: the TOTP check above (or a concurrent login) may have
    // just moved totpLastStep, and an older copy must never be written back over it.
    return this.ctx.store.transaction(async () => {
      const current = (await this.ctx.store.users.byId(user.id)) ?? user;
      if (current.scramVerifier === null || current.nativeVerifier === null) {
        await this.ctx.store.users.update({
          ...current, scramVerifier: current.scramVerifier ?? makeScramVerifier(a.password), nativeVerifier: current.nativeVerifier ?? nativeVerifier(a.password),
        });
      }
      return current;
    });
  }

  /**
   * Public-key login. `verify` is the protocol's proof of possession (an SSH signature check); it
   * is called only for a key registered to the user. Same throttle and audit as passwords.
   */
  async publicKeyLogin(name: string, keyLine: (k: string) => boolean, verify: () => boolean, addr: string): Promise<UserRecord> {
    const a: LoginAttempt = { user: name, password: '', addr, method: 'publickey' };
    const lockedMs = this.throttle.lockedFor(name, addr);
    if (lockedMs > 0) throw new PortcullisError('locked', `too many failed logins for ${name} from ${addr}; try again in ${Math.ceil(lockedMs / 60_000)} min`);
    const user = await this.ctx.store.users.byName(name);
    if (!user || !user.sshKeys.some(keyLine) || !verify()) return this.reject(a, 'bad-key');
    if (user.disabled) {
      await this.ctx.audit.append('auth.failed', name, { user: name, method: a.method, addr, reason: 'disabled' });
      throw new PortcullisError('user-disabled', `account ${name} is disabled; ask a Portcullis admin to enable it`);
    }
    this.throttle.succeed(name, addr);
    await this.ctx.audit.append('auth.succeeded', user.name, { user: user.name, method: a.method, addr });
    return user;
  }

  /** Whether this user has a registered key matching `keyLine` (no signature yet: a probe). */
  async hasKey(name: string, keyLine: (k: string) => boolean): Promise<boolean> {
    const user = await this.ctx.store.users.byName(name);
    // Disabled users too: the signed attempt that follows is refused with a message saying why.
    return !!user && user.sshKeys.some(keyLine);
  }

  /** The one-time code after a first factor (an SSH key). */
  async secondFactor(user: UserRecord, code: string, addr: string, method: string): Promise<UserRecord> {
    const fresh = await this.ctx.store.users.byId(user.id);
    const a: LoginAttempt = { user: user.name, password: '', addr, method };
    if (!fresh || fresh.totpSealed === null) return this.reject(a, 'no-totp');
    const secret = this.vault.open(fresh.totpSealed, aadFor.totp(fresh.id)).toString();
    const step = verifyTotp(secret, code.trim(), this.ctx.clock.now(), fresh.totpLastStep);
    if (step === null || !(await this.ctx.store.users.advanceTotpStep(fresh.id, step))) return this.reject(a, 'bad-totp');
    await this.ctx.audit.append('auth.succeeded', fresh.name, { user: fresh.name, method: method + '+totp', addr });
    return { ...fresh, totpLastStep: step };
  }

  /**
   * Step one of a SCRAM login (database protocols): the verifier to run the exchange against, or
   * null for an unknown user (the exchange then runs against fake keys and fails). Throws when the
   * user+address is locked, or when the account needs a one-time code, which SCRAM cannot carry.
   */
  async scramBegin(name: string, target: string, addr: string): Promise<ScramKeys | null> {
    const lockedMs = this.throttle.lockedFor(name, addr);
    if (lockedMs > 0) throw new PortcullisError('locked', `too many failed logins for ${name} from ${addr}; try again in ${Math.ceil(lockedMs / 60_000)} min`);
    const user = await this.ctx.store.users.byName(name);
    if (user?.totpSealed) {
      // A second factor cannot travel in SCRAM: such users log in with the grant's one-time password.
      const grant = await this.dbPasswordGrant(user, target);
      if (!grant?.dbVerifier) {
        throw new PortcullisError('totp-required', `account ${name} uses a one-time code; get a database password for this grant with: portcullis db-password ${target}`);
      }
      return parseScramVerifier(grant.dbVerifier);
    }
    return user?.scramVerifier ? parseScramVerifier(user.scramVerifier) : null;
  }

  /** mysql_native_password: the stored SHA1(SHA1(password)), or null for an unknown user. */
  async nativeBegin(name: string, addr: string): Promise<string | null> {
    const lockedMs = this.throttle.lockedFor(name, addr);
    if (lockedMs > 0) throw new PortcullisError('locked', `too many failed logins for ${name} from ${addr}; try again in ${Math.ceil(lockedMs / 60_000)} min`);
    const user = await this.ctx.store.users.byName(name);
    if (user?.totpSealed) throw new PortcullisError('totp-required', `account ${name} uses a one-time code; connect with TLS and caching_sha2_password using: portcullis db-password TARGET`);
    return user?.nativeVerifier ?? null;
  }

  /**
   * A database login that received the password itself (over TLS): the account password, or for
   * users with a second factor the grant's one-time database password.
   */
  async dbPasswordLogin(name: string, target: string, password: string, addr: string, method: string): Promise<UserRecord> {
    const user = await this.ctx.store.users.byName(name);
    // Accounts from before SCRAM verifiers existed: scrypt, which also backfills the verifiers.
    if (user && !user.totpSealed && user.scramVerifier === null) return this.login({ user: name, password, addr, method });
    const lockedMs = this.throttle.lockedFor(name, addr);
    if (lockedMs > 0) throw new PortcullisError('locked', `too many failed logins for ${name} from ${addr}; try again in ${Math.ceil(lockedMs / 60_000)} min`);
    if (!user?.totpSealed) {
      // The stored SCRAM verifier proves the same password at a fraction of scrypt's cost (database
      // clients reconnect often); unknown users are checked against a fake one of equal cost.
      const matches = scramMatches(password, user?.scramVerifier ?? fakeVerifier());
      return this.proofFinish(name, addr, method, user !== undefined && matches);
    }
    const grant = await this.dbPasswordGrant(user, target);
    if (!grant?.dbVerifier) {
      throw new PortcullisError('totp-required', `account ${name} uses a one-time code; get a database password for this grant with: portcullis db-password ${target}`);
    }
    return this.proofFinish(name, addr, method, scramMatches(password, grant.dbVerifier));
  }

  /** Step two: the exchange's outcome, audited and throttled like any login. */
  async proofFinish(name: string, addr: string, method: string, proofOk: boolean): Promise<UserRecord> {
    const a: LoginAttempt = { user: name, password: '', addr, method };
    const user = await this.ctx.store.users.byName(name);
    if (!user || !proofOk) return this.reject(a, 'bad-password');
    if (user.disabled) {
      await this.ctx.audit.append('auth.failed', name, { user: name, method, addr, reason: 'disabled' });
      throw new PortcullisError('user-disabled', `account ${name} is disabled; ask a Portcullis admin to enable it`);
    }
    this.throttle.succeed(name, addr);
    await this.ctx.audit.append('auth.succeeded', user.name, { user: user.name, method, addr });
    return user;
  }

  /** Whether the user must also give a one-time code (for protocols that ask in two steps). */
  async needsTotp(name: string): Promise<boolean> {
    return (await this.ctx.store.users.byName(name))?.totpSealed != null;
  }

  /** The active grant of this user on this target that has a one-time database password, if any. */
  private async dbPasswordGrant(user: UserRecord, targetName: string): Promise<GrantRecord | undefined> {
    const t = await this.ctx.store.targets.byName(targetName);
    if (!t) return undefined;
    return (await this.ctx.store.grants.active(this.ctx.clock.now(), { userId: user.id, targetId: t.id })).find((g) => g.dbVerifier);
  }

  private async reject(a: LoginAttempt, reason: string): Promise<never> {
    // Count the failure before the first await: concurrent guesses must all be counted.
    const locked = this.throttle.fail(a.user, a.addr);
    await this.ctx.audit.append('auth.failed', a.user, { user: a.user, method: a.method, addr: a.addr, reason });
    if (locked) {
      const until = this.ctx.clock.now() + this.throttle.lockedFor(a.user, a.addr);
      await this.ctx.audit.append('auth.locked', a.user, { user: a.user, addr: a.addr, until });
    }
    throw new PortcullisError('invalid-credentials', 'invalid user name, password or one-time code');
  }

  async issueToken(actor: string, user: UserRecord, label: string, ttlMs: number | null): Promise<{ token: string; expiresAt: number | null }> {
    const token = newToken(TOKEN_PREFIX);
    const now = this.ctx.clock.now();
    const expiresAt = ttlMs === null ? null : now + ttlMs;
    const id = newId('tok');
    await this.ctx.store.transaction(async () => {
      await this.ctx.store.tokens.insert({ id, userId: user.id, hash: sha256Hex(token), label, expiresAt, createdAt: now });
      await this.ctx.audit.append('token.created', actor, { user: user.name, label, tokenId: id });
    });
    return { token, expiresAt };
  }

  revokeToken(token: string): Promise<void> {
    return this.ctx.store.tokens.removeByHash(sha256Hex(token));
  }

  /** Resolves a bearer token to its user; undefined when unknown, expired, or the user is disabled. */
  async byToken(token: string): Promise<UserRecord | undefined> {
    if (!token.startsWith(TOKEN_PREFIX + '_') || token.length > 200) return undefined;
    // Lookup by SHA-256 of a 256-bit random token: the index lookup leaks nothing usable about the token.
    const rec = await this.ctx.store.tokens.byHash(sha256Hex(token));
    if (!rec || (rec.expiresAt !== null && rec.expiresAt <= this.ctx.clock.now())) return undefined;
    const user = await this.ctx.store.users.byId(rec.userId);
    return user && !user.disabled ? user : undefined;
  }
}
