// Authentication of gateway users: password (+ TOTP when enrolled) with throttling, and API tokens.
// Every protocol adapter and the HTTP API call this; none checks a password itself. Failures are
// audited and all look alike to the caller ("invalid-credentials"), so they reveal no user names.
// Before any password hash an attempt must pass the throttle's locks and its address's hashing
// rate; the hash itself runs off the event loop (hash-runner.ts). A lock is audited and announced
// (webhook) once, when it starts; attempts refused while locked are counted, not audited one by one,
// so a flood cannot grow the audit log.
import { randomBytes } from 'node:crypto';
import type { GrantRecord, UserRecord } from '../store/records.js';
import { isPortcullisError, PortcullisError } from '../util/errors.js';
import { newId, newToken, sha256Hex } from '../util/ids.js';
import { aadFor, type Vault } from '../vault/vault.js';
import type { AccessContext } from './context.js';
import { KeyedRate } from './failure-budget.js';
import { verifyPassword } from './passwords.js';
import { makeScramVerifier, nativeVerifier, parseScramVerifier, scramMatches, type ScramKeys } from './scram-verifier.js';
import type { AttemptKind, Lock, LoginThrottle } from './throttle.js';
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

let fake: Promise<string> | null = null;
function fakeVerifier(): Promise<string> {
  fake ??= makeScramVerifier(randomBytes(16).toString('hex'));
  return fake;
}

// Lock alerts (webhooks): 20 at once, then one a minute.
const ALERT_BURST = 20;
const ALERTS_PER_SECOND = 1 / 60;

/** Told about refusals that are not audited one by one (locked, over rate, hashing saturated). */
export type RefusalCounter = (reason: 'locked' | 'rate' | 'busy') => void;

export class Authenticator {
  constructor(
    private readonly ctx: AccessContext,
    private readonly vault: Vault,
    private readonly throttle: LoginThrottle,
    private readonly counted: RefusalCounter = () => undefined,
  ) {
    this.alerts = new KeyedRate(ctx.clock, ALERTS_PER_SECOND, ALERT_BURST, 1);
  }

  private readonly alerts: KeyedRate;
  private unannounced = 0;

  /** Checks password (and TOTP if enrolled). Throws a PortcullisError on any failure. */
  async login(a: LoginAttempt): Promise<UserRecord> {
    this.refuseIfLocked(a.user, a.addr);
    this.admitHash(a.addr);
    const user = await this.ctx.store.users.byName(a.user);
    const passwordOk = await this.hashed(() => verifyPassword(a.password, user?.passwordHash ?? null));
    // A lock that started while this guess was hashing (its siblings failed) wins over its result.
    this.refuseIfLocked(a.user, a.addr);
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
    // just moved totpLastStep, and an older copy must never be written back over it. The verifier is
    // derived first (hashing waits for a slot; a transaction must not).
    const backfill = user.scramVerifier ?? (await makeScramVerifier(a.password));
    return this.ctx.store.transaction(async () => {
      const current = (await this.ctx.store.users.byId(user.id)) ?? user;
      if (current.scramVerifier === null || current.nativeVerifier === null) {
        await this.ctx.store.users.update({
          ...current, scramVerifier: current.scramVerifier ?? backfill, nativeVerifier: current.nativeVerifier ?? nativeVerifier(a.password),
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
    this.refuseIfLocked(name, addr, 'key');
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
    this.refuseIfLocked(name, addr);
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
    this.refuseIfLocked(name, addr);
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
    this.refuseIfLocked(name, addr);
    if (!user?.totpSealed) {
      // The stored SCRAM verifier proves the same password at a fraction of scrypt's cost (database
      // clients reconnect often); unknown users are checked against a fake one of equal cost.
      this.admitHash(addr);
      const verifier = user?.scramVerifier ?? (await fakeVerifier());
      const matches = await this.hashed(() => scramMatches(password, verifier));
      return this.proofFinish(name, addr, method, user !== undefined && matches);
    }
    const grant = await this.dbPasswordGrant(user, target);
    if (!grant?.dbVerifier) {
      throw new PortcullisError('totp-required', `account ${name} uses a one-time code; get a database password for this grant with: portcullis db-password ${target}`);
    }
    this.admitHash(addr);
    const dbVerifier = grant.dbVerifier;
    return this.proofFinish(name, addr, method, await this.hashed(() => scramMatches(password, dbVerifier)));
  }

  /** Step two: the exchange's outcome, audited and throttled like any login. */
  async proofFinish(name: string, addr: string, method: string, proofOk: boolean): Promise<UserRecord> {
    const a: LoginAttempt = { user: name, password: '', addr, method };
    // Locked while the exchange ran (its siblings failed): the proof's outcome is not looked at.
    this.refuseIfLocked(name, addr);
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
    const started = this.throttle.fail(a.user, a.addr);
    await this.ctx.audit.append('auth.failed', a.user, { user: a.user, method: a.method, addr: a.addr, reason });
    for (const lock of started) await this.announceLock(lock, a);
    throw new PortcullisError('invalid-credentials', 'invalid user name, password or one-time code');
  }

  /**
   * Once per lock: the audit entry, then the event webhooks take. Alerts are themselves rate-bound
   * (an attacker with many addresses makes many locks): past the rate a lock is only audited, and
   * the next alert says how many went unannounced.
   */
  private async announceLock(lock: Lock, a: LoginAttempt): Promise<void> {
    await this.ctx.audit.append('auth.locked', a.user, { user: a.user, addr: a.addr, until: lock.until, scope: lock.scope });
    if (!this.alerts.take('')) {
      this.unannounced++;
      return;
    }
    const suppressed = this.unannounced;
    this.unannounced = 0;
    this.ctx.events.emit('auth.locked', {
      scope: lock.scope, user: lock.scope === 'address' ? null : a.user, addr: lock.scope === 'account' ? null : a.addr,
      until: new Date(lock.until).toISOString(), method: a.method, suppressed,
    });
  }

  /**
   * Throws `locked` when a lock covers this attempt. The message names what is locked and for how
   * long, the same for a name that exists and one that does not (both have budgets).
   */
  private refuseIfLocked(user: string, addr: string, kind: AttemptKind = 'password'): void {
    const lock = this.throttle.check(user, addr, kind);
    if (!lock) return;
    this.counted('locked');
    const min = Math.max(1, Math.ceil((lock.until - this.ctx.clock.now()) / 60_000));
    const what = lock.scope === 'pair' ? `for ${user} from ${addr}` : lock.scope === 'account' ? `for ${user}` : `from ${addr}`;
    throw new PortcullisError('locked', `too many failed logins ${what}; try again in ${min} min`);
  }

  /**
   * Before a database connection's TLS handshake: a refusal message when its address is locked or
   * over its connection rate (refused, counted, not audited), else null.
   */
  admitConnection(addr: string): string | null {
    const lock = this.throttle.addressLock(addr);
    if (lock) {
      this.counted('locked');
      return `too many failed logins from ${addr}; try again in ${Math.max(1, Math.ceil((lock.until - this.ctx.clock.now()) / 60_000))} min`;
    }
    const over = this.throttle.admitConnection(addr);
    if (over === null) return null;
    this.counted('rate');
    return over === 'address'
      ? `too many connections from ${addr}; try again in a few seconds`
      : 'the gateway is taking too many new connections at once; try again in a few seconds';
  }

  /** One password hash from this address's rate, or a quick refusal (not a failure: nothing was checked). */
  private admitHash(addr: string): void {
    if (this.throttle.admitHash(addr)) return;
    this.counted('rate');
    throw new PortcullisError('locked', `too many logins from ${addr} at once; try again in a few seconds`);
  }

  /** Runs a pre-auth hash; a full queue is a quick refusal, counted. */
  private async hashed<T>(run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (err) {
      if (isPortcullisError(err) && err.code === 'unavailable') this.counted('busy');
      throw err;
    }
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
