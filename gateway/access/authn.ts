// Authentication of gateway users: password (+ TOTP when enrolled) with throttling, and API tokens.
// Every protocol adapter and the HTTP API call this; none checks a password itself. Failures are
// audited and all look alike to the caller ("invalid-credentials"), so they reveal no user names.
// Before authentication every name is treated alike: unknown names, users without a verifier and
// users with a one-time code run the same exchange against per-name decoys (login-decoys.ts) and
// the same hashing, and database logins answer every failure (disabled included) the same way.
// Before any password hash an attempt must pass the throttle's locks and its address's hashing
// rate; the hash itself runs off the event loop (hash-runner.ts). A lock is audited and announced
// (webhook) once, when it starts; attempts refused while locked are counted, not audited one by one,
// so a flood cannot grow the audit log.
import type { GrantRecord, UserRecord } from '../store/records.js';
import { isPortcullisError, PortcullisError } from '../util/errors.js';
import { newId, newToken, sha256Hex } from '../util/ids.js';
import { aadFor, type Vault } from '../vault/vault.js';
import type { AccessContext } from './context.js';
import { KeyedRate } from './failure-budget.js';
import { LoginDecoys } from './login-decoys.js';
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

/** A mysql_native_password check's verifier; `genuine` false for a decoy, which never passes. */
export interface NativeVerifier { verifier: string; genuine: boolean }

/** The outcome of a password given first, where a one-time code may follow (SSH keyboard-interactive). */
export type PasswordStep =
  | { kind: 'authenticated'; user: UserRecord }
  /** Ask for the code. The same for a wrong password, an unknown name and a user with a code. */
  | { kind: 'code'; pending: PendingCode };

/** Opaque to callers: which user (if any) proved the password, waiting for the code. */
export interface PendingCode { readonly name: string; readonly userId: string | null; readonly method: string }

const TOKEN_PREFIX = 'pcat';

// Lock alerts (webhooks): 20 at once, then one a minute.
const ALERT_BURST = 20;
const ALERTS_PER_SECOND = 1 / 60;

/**
 * Whether a proven password may sign this user in by `method` (single sign-on can switch local
 * passwords off: identity/sso-password-policy.ts): null = yes, else the refusal's words.
 */
export type PasswordPolicy = (user: UserRecord, method: string) => string | null;

/** Told about refusals that are not audited one by one (locked, over rate, hashing saturated). */
export type RefusalCounter = (reason: 'locked' | 'rate' | 'busy') => void;

export class Authenticator {
  private readonly decoys: LoginDecoys;
  /** Code rounds handed out and not yet used: one code try per counted attempt, none forged. */
  private readonly pendingCodes = new WeakSet<PendingCode>();

  private readonly alerts: KeyedRate;
  private unannounced = 0;

  constructor(
    private readonly ctx: AccessContext,
    private readonly vault: Vault,
    private readonly throttle: LoginThrottle,
    private readonly counted: RefusalCounter = () => undefined,
    private readonly passwordPolicy: PasswordPolicy = () => null,
  ) {
    this.decoys = new LoginDecoys(vault.deriveKey('login-decoys'));
    this.alerts = new KeyedRate(ctx.clock, ALERTS_PER_SECOND, ALERT_BURST, 1);
  }

  /** Checks password (and TOTP if enrolled). Throws a PortcullisError on any failure. */
  async login(a: LoginAttempt): Promise<UserRecord> {
    const user = await this.checkedPassword(a);
    if (!user) return this.reject(a, 'bad-password');
    return this.afterPassword(a, user);
  }

  /**
   * The throttle's locks and hashing rate, then the password hash off the event loop: the user when
   * the password is right, else undefined. A lock that started while this guess was hashing (its
   * siblings failed) wins over its result.
   */
  private async checkedPassword(a: LoginAttempt): Promise<UserRecord | undefined> {
    this.refuseIfLocked(a.user, a.addr);
    this.admitHash(a.addr);
    const user = await this.ctx.store.users.byName(a.user);
    const passwordOk = await this.hashed(() => verifyPassword(a.password, user?.passwordHash ?? null));
    this.refuseIfLocked(a.user, a.addr);
    return user && passwordOk ? user : undefined;
  }

  /** The password was right: the code when enrolled, disabled, then success. */
  private async afterPassword(a: LoginAttempt, user: UserRecord): Promise<UserRecord> {
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
    await this.checkPasswordPolicy(user, a.method, a.addr);
    this.throttle.succeed(a.user, a.addr);
    await this.ctx.audit.append('auth.succeeded', user.name, { user: user.name, method: a.method, addr: a.addr });
    // Users created before database logins existed get their SCRAM verifier at their next login.
    // Re-read and write in one transaction: the TOTP check above (or a concurrent login) may have
    // just moved totpLastStep, and an older copy must never be written back over it. The verifier is
    // derived first (hashing waits for a slot; a transaction must not).
    const scram = user.scramVerifier ?? (await makeScramVerifier(a.password));
    return this.ctx.store.transaction(async () => {
      const current = (await this.ctx.store.users.byId(user.id)) ?? user;
      await this.backfill(current, a.password, scram);
      return current;
    });
  }

  /**
   * Verifiers the user lacks, from a password just proven: SCRAM for users from before database
   * logins, and SHA1(SHA1(password)) for users opted in to mysql_native_password since their last
   * password login (the admin who opts them in does not know the password).
   */
  private async backfill(u: UserRecord, password: string, scram: string): Promise<void> {
    const native = u.mysqlNative && u.nativeVerifier === null;
    if (u.scramVerifier !== null && !native) return;
    await this.ctx.store.users.update({
      ...u, scramVerifier: u.scramVerifier ?? scram, nativeVerifier: native ? nativeVerifier(password) : u.nativeVerifier,
    });
  }

  /**
   * A password first, for protocols that can ask for a one-time code next (SSH). A user without a
   * code is authenticated by the right password. Everything else — a wrong password, an unknown
   * name, a user with a code (right password or not) — is asked for the code, so the answer says
   * nothing about the name or, for users with a code, about the password. Every attempt that is not
   * authenticated here counts one failure now (a client that drops the connection at the code
   * prompt has still spent a guess); a right code later clears it.
   */
  async passwordStep(name: string, password: string, addr: string, method: string): Promise<PasswordStep> {
    const a: LoginAttempt = { user: name, password, addr, method };
    this.refuseIfLocked(name, addr);
    this.admitHash(addr);
    const user = await this.ctx.store.users.byName(name);
    const passwordOk = await this.hashed(() => verifyPassword(password, user?.passwordHash ?? null));
    this.refuseIfLocked(name, addr);
    if (user && passwordOk && user.totpSealed === null) return { kind: 'authenticated', user: await this.afterPassword(a, user) };
    const proven = user !== undefined && passwordOk;
    await this.countFailure({ user: name, password: '', addr, method }, proven ? 'code-pending' : 'bad-password');
    const pending: PendingCode = { name, userId: proven ? user.id : null, method };
    this.pendingCodes.add(pending);
    return { kind: 'code', pending };
  }

  /** The code after passwordStep. Fails alike for all; the attempt was already counted. */
  async codeStep(pending: PendingCode, code: string, addr: string): Promise<UserRecord> {
    if (!this.pendingCodes.delete(pending)) throw invalidCredentials();
    // A wrong password or an unknown name does the same lookup and code check (against a decoy
    // secret), so how long the answer takes does not tell whether the password was right.
    const fresh = pending.userId === null ? undefined : await this.ctx.store.users.byId(pending.userId);
    if (!fresh) await this.ctx.store.users.byName(pending.name);
    const secret = fresh?.totpSealed ? this.vault.open(fresh.totpSealed, aadFor.totp(fresh.id)).toString() : this.decoys.totpSecret(pending.name);
    const found = verifyTotp(secret, code.trim(), this.ctx.clock.now(), fresh?.totpLastStep ?? 0);
    const step = fresh?.totpSealed ? found : null;
    // Taking the step is atomic in the store: of two logins racing with one code, one wins.
    if (!fresh || step === null || !(await this.ctx.store.users.advanceTotpStep(fresh.id, step))) {
      await this.ctx.audit.append('auth.failed', pending.name, { user: pending.name, method: pending.method + '+totp', addr, reason: fresh ? 'bad-totp' : 'bad-password' });
      throw invalidCredentials();
    }
    if (fresh.disabled) {
      await this.ctx.audit.append('auth.failed', fresh.name, { user: fresh.name, method: pending.method, addr, reason: 'disabled' });
      throw new PortcullisError('user-disabled', `account ${fresh.name} is disabled; ask a Portcullis admin to enable it`);
    }
    await this.checkPasswordPolicy(fresh, pending.method, addr);
    this.throttle.succeed(fresh.name, addr);
    await this.ctx.audit.append('auth.succeeded', fresh.name, { user: fresh.name, method: pending.method + '+totp', addr });
    return { ...fresh, totpLastStep: step };
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
    // A guess at the code like any other (an SSH client may answer keyboard-interactive again and
    // again on one connection once its key was accepted): the same locks, checked after the read so
    // the check, the code and the failure count run with nothing in between.
    const fresh = await this.ctx.store.users.byId(user.id);
    const a: LoginAttempt = { user: user.name, password: '', addr, method };
    this.refuseIfLocked(user.name, addr);
    if (!fresh || fresh.totpSealed === null) return this.reject(a, 'no-totp');
    const secret = this.vault.open(fresh.totpSealed, aadFor.totp(fresh.id)).toString();
    const step = verifyTotp(secret, code.trim(), this.ctx.clock.now(), fresh.totpLastStep);
    if (step === null || !(await this.ctx.store.users.advanceTotpStep(fresh.id, step))) return this.reject(a, 'bad-totp');
    await this.ctx.audit.append('auth.succeeded', fresh.name, { user: fresh.name, method: method + '+totp', addr });
    return { ...fresh, totpLastStep: step };
  }

  /**
   * Step one of a SCRAM login (database protocols): the keys to run the exchange against. The
   * user's own verifier; for a user with a one-time code (which SCRAM cannot carry) the active
   * grant's one-time database password; otherwise — unknown name, no verifier yet, no such grant —
   * the name's decoy, which looks the same and never passes. Throws only when the name+address is
   * locked (which happens to unknown names alike).
   */
  async scramBegin(name: string, target: string, addr: string): Promise<ScramKeys> {
    this.refuseIfLocked(name, addr);
    const v = await this.dbVerifier(await this.ctx.store.users.byName(name), target);
    return (v === null ? null : parseScramVerifier(v)) ?? this.decoys.scramKeys(name);
  }

  /**
   * mysql_native_password: the stored SHA1(SHA1(password)) of a user who opted in
   * (`--mysql-native-password`) and has no one-time code; for anyone else a decoy of the same shape,
   * so the check costs the same and fails.
   */
  async nativeBegin(name: string, addr: string): Promise<NativeVerifier> {
    this.refuseIfLocked(name, addr);
    const user = await this.ctx.store.users.byName(name);
    const v = user && user.mysqlNative && !this.grantPasswordsOnly(user) ? user.nativeVerifier : null;
    return v !== null ? { verifier: v, genuine: true } : { verifier: this.decoys.nativeVerifier(name), genuine: false };
  }

  /**
   * A database login that received the password itself (over TLS): the account password, or for
   * users with a second factor the grant's one-time database password. Unknown names and users with
   * nothing to check against pay the same PBKDF2 against their decoy.
   */
  async dbPasswordLogin(name: string, target: string, password: string, addr: string, method: string): Promise<UserRecord> {
    const user = await this.ctx.store.users.byName(name);
    // Accounts from before SCRAM verifiers existed: scrypt, which also backfills the verifiers.
    if (user && !this.grantPasswordsOnly(user) && user.scramVerifier === null) {
      return this.login({ user: name, password, addr, method }).catch((err: unknown) => {
        // A database refusal is the same for every failure (see proofFinish); the audit has the reason.
        throw isPortcullisError(err) && err.code === 'user-disabled' ? invalidCredentials() : err;
      });
    }
    this.refuseIfLocked(name, addr);
    this.admitHash(addr);
    const v = await this.dbVerifier(user, target);
    // The stored SCRAM verifier proves the same password at a fraction of scrypt's cost (database
    // clients reconnect often).
    const against = v ?? this.decoys.scramVerifier(name);
    const matches = await this.hashed(() => scramMatches(password, against));
    const u = await this.proofFinish(name, addr, method, v !== null && matches);
    if (u.totpSealed === null && u.mysqlNative && u.nativeVerifier === null) await this.ctx.store.transaction(async () => {
      const current = await this.ctx.store.users.byId(u.id);
      if (current?.scramVerifier) await this.backfill(current, password, current.scramVerifier);
    });
    return u;
  }

  /**
   * Step two: the exchange's outcome, audited and throttled like any login. Database clients get
   * one refusal for every failure — unknown name, wrong password, no database password for a user
   * with a code, no native opt-in, disabled — so it reveals nothing about the name; the audit entry
   * keeps the real reason.
   */
  async proofFinish(name: string, addr: string, method: string, proofOk: boolean): Promise<UserRecord> {
    const a: LoginAttempt = { user: name, password: '', addr, method };
    // Locked while the exchange ran (its siblings failed): the proof's outcome is not looked at.
    this.refuseIfLocked(name, addr);
    const user = await this.ctx.store.users.byName(name);
    if (!user || !proofOk) return this.reject(a, failureReason(user, method));
    if (user.disabled) {
      await this.ctx.audit.append('auth.failed', name, { user: name, method, addr, reason: 'disabled' });
      throw invalidCredentials();
    }
    this.throttle.succeed(name, addr);
    await this.ctx.audit.append('auth.succeeded', user.name, { user: user.name, method, addr });
    return user;
  }

  /** What a database login checks against: the user's verifier, or the grant's for users with a code. */
  private async dbVerifier(user: UserRecord | undefined, target: string): Promise<string | null> {
    if (!user) return null;
    if (!this.grantPasswordsOnly(user)) return user.scramVerifier;
    return (await this.dbPasswordGrant(user, target))?.dbVerifier ?? null;
  }

  /**
   * Whether this user's database logins take only the grant's one-time password: users with a code
   * or without a password (usesGrantPasswords), and users whose account password may not sign in
   * (`oidc.local_passwords: false` and not a break-glass admin): a database login is a sign-in too.
   */
  private grantPasswordsOnly(user: UserRecord): boolean {
    return usesGrantPasswords(user) || this.passwordPolicy(user, 'database-password') !== null;
  }

  /** The active grant of this user on this target that has a one-time database password, if any. */
  private async dbPasswordGrant(user: UserRecord, targetName: string): Promise<GrantRecord | undefined> {
    const t = await this.ctx.store.targets.byName(targetName);
    if (!t) return undefined;
    return (await this.ctx.store.grants.active(this.ctx.clock.now(), { userId: user.id, targetId: t.id })).find((g) => g.dbVerifier);
  }

  /** After the password was proven (so the refusal tells nothing about who exists): password sign-in may be off for this user. */
  private async checkPasswordPolicy(user: UserRecord, method: string, addr: string): Promise<void> {
    const refusal = this.passwordPolicy(user, method);
    if (refusal === null) return;
    await this.ctx.audit.append('auth.failed', user.name, { user: user.name, method, addr, reason: 'sso-only' });
    throw new PortcullisError('forbidden', refusal);
  }

  private async reject(a: LoginAttempt, reason: string): Promise<never> {
    await this.countFailure(a, reason);
    throw invalidCredentials();
  }

  private async countFailure(a: LoginAttempt, reason: string): Promise<void> {
    // Count the failure before the first await: concurrent guesses must all be counted.
    const started = this.throttle.fail(a.user, a.addr);
    await this.ctx.audit.append('auth.failed', a.user, { user: a.user, method: a.method, addr: a.addr, reason });
    for (const lock of started) await this.announceLock(lock, a);
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


  /** `id`: the token's record id (never the token), for whoever must point at it (a login handoff). */
  async issueToken(actor: string, user: UserRecord, label: string, ttlMs: number | null): Promise<{ token: string; expiresAt: number | null; id: string }> {
    const token = newToken(TOKEN_PREFIX);
    const now = this.ctx.clock.now();
    const expiresAt = ttlMs === null ? null : now + ttlMs;
    const id = newId('tok');
    await this.ctx.store.transaction(async () => {
      await this.ctx.store.tokens.insert({ id, userId: user.id, hash: sha256Hex(token), label, expiresAt, createdAt: now });
      await this.ctx.audit.append('token.created', actor, { user: user.name, label, tokenId: id });
    });
    return { token, expiresAt, id };
  }

  revokeToken(token: string): Promise<void> {
    return this.ctx.store.tokens.removeByHash(sha256Hex(token));
  }

  /**
   * Whether this token is a console session made by a browser sign-in (password, setup or single
   * sign-on), not an API token: the label is set by the gateway at sign-in, never by the holder.
   */
  async isBrowserSession(token: string): Promise<boolean> {
    if (!token.startsWith(TOKEN_PREFIX + '_') || token.length > 200) return false;
    const rec = await this.ctx.store.tokens.byHash(sha256Hex(token));
    return !!rec && BROWSER_SESSION_LABELS.has(rec.label) && (rec.expiresAt === null || rec.expiresAt > this.ctx.clock.now());
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

/**
 * Database logins of users with a one-time code (which SCRAM cannot carry) or without a password of
 * their own (single sign-on users, key-only users) use the grant's one-time database password
 * (`portcullis db-password`); everyone else their account password.
 */
/** Labels of the tokens a browser sign-in issues (web.ts, setup.ts, password.ts, sso-service.ts). */
const BROWSER_SESSION_LABELS = new Set(['web', 'sso']);

function usesGrantPasswords(user: UserRecord): boolean {
  return user.totpSealed !== null || user.passwordHash === null;
}

function invalidCredentials(): PortcullisError {
  return new PortcullisError('invalid-credentials', 'invalid user name, password or one-time code');
}

/** For the audit only (the client is told the same for all): why a database proof failed. */
function failureReason(user: UserRecord | undefined, method: string): string {
  if (!user) return 'unknown-user';
  if (method === 'mysql-native' && !user.mysqlNative) return 'native-not-enabled';
  if (usesGrantPasswords(user)) return 'bad-db-password';
  return 'bad-password';
}
