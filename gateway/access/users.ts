// Users and service accounts: create, list, remove, password, TOTP enrolment, SSH keys, disable.
// TOTP secrets are vault-sealed; the otpauth URI is returned once, at enrolment, to the admin.
import { createHash } from 'node:crypto';
import type { AuditEventMap } from '../audit/events.js';
import { PortcullisError } from '../util/errors.js';
import { newId } from '../util/ids.js';
import type { GrantRecord, UserRecord } from '../store/records.js';
import { aadFor, type Vault } from '../vault/vault.js';
import type { AccessContext } from './context.js';
import { checkName } from './names.js';
import { policyNarrowing } from './policy-match.js';
import { activeGrants, publishRevoked, revokeInTx, revokeIssuedLinksInTx, type Revoked } from './revocation.js';
import { hashPassword } from './passwords.js';
import { makeScramVerifier, nativeVerifier } from './scram-verifier.js';
import { newTotpSecret, otpauthUri } from './totp.js';

export interface NewUser {
  name: string;
  roles: string[];
  kind?: UserRecord['kind'];
  password?: string;
  /** A TOTP secret (base32) the user has already proven (first-run setup): sealed with the user. */
  totpSecret?: string;
  sshKeys?: string[];
  /** Allow mysql_native_password logins (and so keep the unsalted SHA1(SHA1(password)) they need). */
  mysqlNative?: boolean;
}

const MIN_PASSWORD = 8;
const MAX_PASSWORD = 1024;

export class UserService {
  constructor(private readonly ctx: AccessContext, private readonly vault: Vault) {}

  async add(actor: string, input: NewUser): Promise<UserRecord> {
    checkName('user', input.name);
    input.roles.forEach((r) => checkName('role', r));
    if (await this.ctx.store.users.byName(input.name)) throw new PortcullisError('conflict', `user "${input.name}" already exists`);
    if (input.kind === 'service' && input.password !== undefined) throw new PortcullisError('bad-request', 'service accounts authenticate with API tokens only: create it without a password');
    const user: UserRecord = {
      id: newId('usr'), name: input.name, kind: input.kind ?? 'human', roles: [...new Set(input.roles)],
      passwordHash: input.password === undefined ? null : await hashPassword(checkPassword(input.password)),
      scramVerifier: input.password === undefined ? null : await makeScramVerifier(input.password),
      nativeVerifier: input.password === undefined || !input.mysqlNative ? null : nativeVerifier(input.password),
      mysqlNative: input.mysqlNative === true,
      sshKeys: (input.sshKeys ?? []).map(normalizeSshKey), totpSealed: null, totpLastStep: 0, disabled: false, source: 'local', externalId: null,
      createdAt: this.ctx.clock.now(),
    };
    if (input.totpSecret !== undefined) user.totpSealed = this.vault.seal(input.totpSecret, aadFor.totp(user.id));
    await this.ctx.store.transaction(async () => {
      await this.ctx.store.users.insert(user);
      await this.ctx.audit.append('user.created', actor, { user: user.name, roles: user.roles, kind: user.kind });
    });
    return user;
  }

  async get(name: string): Promise<UserRecord> {
    const u = await this.ctx.store.users.byName(name);
    if (!u) throw new PortcullisError('not-found', `no user "${name}"; see "portcullis user list"`);
    return u;
  }

  list(): Promise<UserRecord[]> {
    return this.ctx.store.users.list();
  }

  async remove(actor: string, name: string): Promise<void> {
    const u = await this.get(name);
    const revoked = await this.ctx.store.transaction(async () => {
      await this.ctx.store.tokens.removeForUser(u.id);
      await this.ctx.store.users.remove(u.id);
      await this.ctx.audit.append('user.removed', actor, { user: name });
      return [
        ...await revokeInTx(this.ctx, actor, await activeGrants(this.ctx.store, this.ctx.clock.now(), { userId: u.id }), `user ${name} removed`, 'user-removed'),
        ...await revokeIssuedLinksInTx(this.ctx, actor, u.id, `its issuer ${name} was removed`),
      ];
    });
    await this.cut(actor, name, true, revoked);
  }

  /**
   * Sets a user's password and, in the same transaction, ends every API token and web session the
   * user has: whoever held one of them (a stolen cookie, a copied token file) is out, and the
   * caller of a change of one's own password gets a fresh token from the route. Whether the actor
   * may do it (the current password for one's own, the admin role for another's) is the caller's
   * check. Service accounts have no password: they authenticate with tokens only.
   */
  async setPassword(actor: string, name: string, password: string, reason: 'password-changed' | 'password-reset'): Promise<{ tokensRevoked: number }> {
    const u = await this.get(name);
    if (u.kind === 'service') throw new PortcullisError('bad-request', `${name} is a service account: it authenticates with API tokens only (portcullis user token ${name}), never a password`);
    const hash = await hashPassword(checkPassword(password));
    const scramVerifier = await makeScramVerifier(password);
    return this.ctx.store.transaction(async () => {
      await this.update(actor, u, (cur) => ({
        ...cur, passwordHash: hash, scramVerifier, nativeVerifier: cur.mysqlNative ? nativeVerifier(password) : null,
      }), 'password');
      const count = await this.ctx.store.tokens.removeForUser(u.id);
      await this.ctx.audit.append('token.revoked_all', actor, { user: u.name, by: actor, count, reason });
      return { tokensRevoked: count };
    });
  }

  /**
   * mysql_native_password for this user, on or off. On: the verifier it needs is made at the user's
   * next password login (or password change), since the admin does not know the password; off: the
   * stored verifier is dropped at once.
   */
  async setMysqlNative(actor: string, name: string, enabled: boolean): Promise<void> {
    const u = await this.get(name);
    await this.update(actor, u, (cur) => ({ ...cur, mysqlNative: enabled, nativeVerifier: enabled ? cur.nativeVerifier : null }),
      enabled ? 'mysql-native-enabled' : 'mysql-native-disabled');
  }

  async enrollTotp(actor: string, name: string, issuer: string): Promise<{ uri: string; secret: string }> {
    const u = await this.get(name);
    const secret = newTotpSecret();
    // The last used step stays (the store never lowers it): a new secret needs no reset, and a code
    // of a step already used cannot open the account again.
    await this.update(actor, u, (cur) => ({ ...cur, totpSealed: this.vault.seal(secret, aadFor.totp(u.id)) }), 'totp-enrolled');
    return { uri: otpauthUri(issuer, u.name, secret), secret };
  }

  async removeTotp(actor: string, name: string): Promise<void> {
    const u = await this.get(name);
    await this.update(actor, u, (cur) => ({ ...cur, totpSealed: null }), 'totp-removed');
  }

  async addSshKey(actor: string, name: string, key: string): Promise<void> {
    const u = await this.get(name);
    const k = normalizeSshKey(key);
    if (u.sshKeys.includes(k)) return;
    await this.update(actor, u, (cur) => ({ ...cur, sshKeys: cur.sshKeys.includes(k) ? cur.sshKeys : [...cur.sshKeys, k] }), 'ssh-key-added');
  }

  /**
   * Disabling revokes every active grant of the user and every unexpired link they issued in the
   * same transaction (re-enabling gives none back: access is asked for again) and ends their live
   * sessions with `user-disabled` (sessions through their links as revoked links').
   */
  async setDisabled(actor: string, name: string, disabled: boolean): Promise<void> {
    const u = await this.get(name);
    const revoked = await this.ctx.store.transaction(async () => {
      await this.update(actor, u, (cur) => ({ ...cur, disabled }), disabled ? 'disabled' : 'enabled');
      if (!disabled) return [];
      return [
        ...await revokeInTx(this.ctx, actor, await activeGrants(this.ctx.store, this.ctx.clock.now(), { userId: u.id }), `user ${name} disabled`, 'user-disabled'),
        ...await revokeIssuedLinksInTx(this.ctx, actor, u.id, `its issuer ${name} was disabled`),
      ];
    });
    if (disabled) await this.cut(actor, name, false, revoked);
  }

  /** New roles can narrow: request-based grants whose policy no longer covers the user are revoked. */
  async setRoles(actor: string, name: string, roles: string[]): Promise<void> {
    roles.forEach((r) => checkName('role', r));
    const u = await this.get(name);
    const revoked = await this.ctx.store.transaction(async () => {
      await this.update(actor, u, (cur) => ({ ...cur, roles: [...new Set(roles)] }), 'roles');
      const fresh = await this.get(name);
      const now = this.ctx.clock.now();
      const lost: GrantRecord[] = [];
      for (const g of await activeGrants(this.ctx.store, now, { userId: u.id })) {
        const p = g.policyId ? await this.ctx.store.policies.byId(g.policyId) : undefined;
        const t = await this.ctx.store.targets.byId(g.targetId);
        if (p && t && policyNarrowing(p, g, fresh, t, now)?.kind === 'uncovered') lost.push(g);
      }
      return revokeInTx(this.ctx, actor, lost, `roles of ${name} changed`, 'policy-narrowed');
    });
    await publishRevoked(this.ctx, actor, revoked);
  }

  /** After commit: live sessions end first (by user, with the user's reason), then the grants are announced. */
  private async cut(actor: string, name: string, removed: boolean, revoked: Revoked[]): Promise<void> {
    this.ctx.events.emit('user.disabled', { user: name, by: actor, removed });
    await publishRevoked(this.ctx, actor, revoked);
  }

  /**
   * Applies `edit` to the user as stored now, inside one transaction: a login that moved the TOTP
   * step (or another admin's change) meanwhile is kept, not overwritten by the copy read earlier.
   */
  private async update(actor: string, u: UserRecord, edit: (current: UserRecord) => UserRecord, change: AuditEventMap['user.updated']['change']): Promise<void> {
    await this.ctx.store.transaction(async () => {
      const current = await this.ctx.store.users.byId(u.id);
      if (!current) throw new PortcullisError('not-found', `no user "${u.name}"; see "portcullis user list"`);
      await this.ctx.store.users.update(edit(current));
      await this.ctx.audit.append('user.updated', actor, { user: u.name, change });
    });
  }
}

function checkPassword(p: string): string {
  if (p.length < MIN_PASSWORD) throw new PortcullisError('bad-request', `password must be at least ${MIN_PASSWORD} characters`);
  if (p.length > MAX_PASSWORD) throw new PortcullisError('bad-request', `password must be at most ${MAX_PASSWORD} characters`);
  return p;
}

/** "type base64 [comment]" → "type base64": the comment is not part of the key's identity. */
export function normalizeSshKey(line: string): string {
  const parts = line.trim().split(/\s+/);
  const [type, b64] = parts;
  if (!type || !b64 || !/^(ssh-(ed25519|rsa)|ecdsa-sha2-nistp(256|384|521)|sk-\S+)$/.test(type) || !/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) {
    throw new PortcullisError('bad-request', 'not an OpenSSH public key line ("ssh-ed25519 AAAA... comment")');
  }
  return `${type} ${b64}`;
}

export function sshKeyFingerprint(line: string): string {
  const b64 = line.split(' ')[1] ?? '';
  return 'SHA256:' + createHash('sha256').update(Buffer.from(b64, 'base64')).digest('base64').replace(/=+$/, '');
}
