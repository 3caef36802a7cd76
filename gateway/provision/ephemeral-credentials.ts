// The pipeline's credentials (session/credentials.ts) for every target: static targets get the
// vaulted secret as before; ephemeral targets get the grant's own account, created on the target
// the first time one of the grant's sessions needs it and reused by the grant's later sessions.
// Creation is crash-safe: the intent row is written BEFORE the account is created, so a crash at
// any point leaves a row the reconciler finds and drops. One live row per grant (a unique index):
// sessions of one grant on this node wait their turn here; on another node, an insert `conflict`
// means that node creates it and we wait for it to become active. Revoking only wipes our copy:
// the account lives as long as the grant and the reconciler drops it (reconciler.ts). Errors reach
// the client as UpstreamFailure with the reason, never a secret.
import type { AuditLog } from '../audit/audit-log.js';
import { LOG, type Logger } from '../log/logger.js';
import type { Credentials, IssuedCredential } from '../session/credentials.js';
import { UpstreamFailure } from '../session/upstream-failure.js';
import type { AccessLevel, CredentialKind, EphemeralAccountRecord, GrantRecord, TargetRecord } from '../store/records.js';
import type { Store } from '../store/store.js';
import type { Clock } from '../util/clock.js';
import { PortcullisError } from '../util/errors.js';
import { newId } from '../util/ids.js';
import { aadFor, type Vault } from '../vault/vault.js';
import { type AdminTaskDeps, adminErrorText, canProvision, withAdmin } from './admin-task.js';
import { type CreatedAccount, ephemeralAccountName } from './provisioner.js';

export interface EphemeralCredentialDeps {
  store: Store;
  vault: Vault;
  audit: AuditLog;
  clock: Clock;
  log: Logger;
  admin: AdminTaskDeps;
  /** Rows whose creation runs in this process now: the reconciler leaves them alone. */
  creating: Set<string>;
  /** Told of each account once it is active (the reconciler arms a deadline at the grant's end). */
  onActive(row: EphemeralAccountRecord): void;
  /** Drops a row left `dropping` (a failed creation) now; true when it is gone. The reconciler's dropper. */
  dropNow(rowId: string, reason: string): Promise<boolean>;
  /** How long to wait for an account another node is creating, and how often to look. */
  waitMs?: number;
  pollMs?: number;
}

/** The login material of an ephemeral account: SSH users get a one-time key, databases a password. */
export const ephemeralKind = (t: TargetRecord): CredentialKind => (t.kind === 'ssh' ? 'private-key' : 'password');

export class EphemeralCredentials implements Credentials {
  private readonly perGrant = new Map<string, Promise<void>>();
  private readonly closing = new Set<string>();

  constructor(private readonly d: EphemeralCredentialDeps, private readonly statics: Credentials) {}

  issue(grant: GrantRecord, target: TargetRecord, level?: string): Promise<IssuedCredential> {
    if (target.credentialMode !== 'ephemeral') return this.statics.issue(grant, target, level);
    return this.serialized(grant.id, () => this.issueEphemeral(grant, target));
  }

  /** The account outlives the session (it is the grant's): revoking is wiping our copy. */
  revoke(credential: IssuedCredential): Promise<void> {
    if (credential.source !== 'ephemeral') return this.statics.revoke(credential);
    credential.wipe();
    return Promise.resolve();
  }

  /** While a target's accounts are dropped for its removal, no new one is created there. */
  closeTarget(targetId: string): void {
    this.closing.add(targetId);
  }

  reopenTarget(targetId: string): void {
    this.closing.delete(targetId);
  }

  /** Creations running in this process for a target (removal waits for them). */
  creatingOn(targetId: string, rows: readonly EphemeralAccountRecord[]): boolean {
    return rows.some((r) => r.targetId === targetId && this.d.creating.has(r.id));
  }

  private async issueEphemeral(grant: GrantRecord, target: TargetRecord): Promise<IssuedCredential> {
    if (grant.targetId !== target.id) throw new UpstreamFailure('credential', 'the grant is not for this target');
    const level = target.levels.find((l) => l.name === grant.level);
    const refuse = async (reason: string, account: string | null = null): Promise<never> => {
      await this.d.audit.append('ephemeral.create_failed', 'system', { target: target.name, grant: grant.id, account, level: grant.level, error: reason })
        .catch(() => undefined);
      this.d.log.warn({ target: target.name, grant: grant.id, account, error: reason }, LOG.ephemeralCreateFailed);
      throw new UpstreamFailure('credential', `could not create your account on ${target.name}: ${reason}`);
    };
    if (this.closing.has(target.id)) return refuse('the target is being removed');
    if (!level) return refuse(`level "${grant.level}" is not defined on ${target.name} (it has ${target.levels.map((l) => l.name).join(', ')})`);
    if (!canProvision(this.d.admin.logins, target.kind)) return refuse(`Portcullis cannot create accounts on ${target.kind} targets`);
    for (let attempt = 0; attempt < 3; attempt++) {
      const row = await this.d.store.ephemeral.forGrant(grant.id);
      // Rows are written with the grant's target and level: another one means the store was edited
      // (an account of more privilege moved onto this grant). Never used; the reconciler drops it.
      if (row && (row.targetId !== grant.targetId || row.level !== grant.level)) {
        return refuse('the grant\'s account record does not match the grant; an admin must look at "portcullis ephemeral list"', row.account);
      }
      if (row?.state === 'active') return this.open(row, target).catch((err: unknown) => refuse(adminErrorText(err), row.account));
      if (row?.state === 'dropping') {
        // A failed creation (or an earlier grant end) left it to be dropped: drop it now, then create.
        if (await this.d.dropNow(row.id, 'create-failed')) continue;
        return refuse('an earlier account of this grant could not be removed yet; try again shortly', row.account);
      }
      if (row?.state === 'creating') {
        // Sessions of one grant are serialized on this node: another node is creating it.
        const ready = await this.waitActive(grant.id);
        if (ready) return this.open(ready, target).catch((err: unknown) => refuse(adminErrorText(err), ready.account));
        return refuse('another gateway node is still creating it; try again shortly', row.account);
      }
      const made = await this.create(grant, target, level, refuse);
      if (made) return made;
      // `conflict`: another node inserted the grant's row between our look and our insert.
    }
    return refuse('the grant\'s account kept changing while it was being set up; try again');
  }

  /** Null when another node won the insert. */
  private async create(grant: GrantRecord, target: TargetRecord, level: AccessLevel,
    refuse: (reason: string, account?: string | null) => Promise<never>): Promise<IssuedCredential | null> {
    const row: EphemeralAccountRecord = {
      id: newId('eph'), targetId: target.id, grantId: grant.id, account: ephemeralAccountName(), level: level.name, state: 'creating',
      secretSealed: null, createdAt: this.d.clock.now(), expiresAt: grant.expiresAt, dropAttempts: 0, lastError: null, droppedAt: null,
    };
    try {
      await this.d.store.ephemeral.insert(row);
    } catch (err) {
      if (err instanceof PortcullisError && err.code === 'conflict') return null;
      throw err;
    }
    this.d.creating.add(row.id);
    try {
      let made: CreatedAccount;
      try {
        made = await withAdmin(this.d.admin, target, (s) => s.createAccount({ account: row.account, level, validUntil: grant.expiresAt, grantId: grant.id }));
      } catch (err) {
        return await this.failed(row, err, refuse);
      }
      try {
        const active = await this.d.store.transaction(async () => {
          // Sealed inside the transaction that stores it: a master key rotation runs wholly before or after.
          const a: EphemeralAccountRecord = { ...row, state: 'active', secretSealed: this.d.vault.seal(made.secret, aadFor.ephemeral(row.id, row.targetId, row.account)) };
          await this.d.store.ephemeral.update(a);
          await this.d.audit.append('ephemeral.created', 'system', { target: target.name, grant: grant.id, account: row.account, level: level.name });
          return a;
        });
        this.d.log.info({ target: target.name, grant: grant.id, account: row.account, level: level.name }, LOG.ephemeralCreated);
        this.d.onActive(active);
        return issued(made.kind, row.account, made.secret);
      } catch (err) {
        made.secret.fill(0);
        return await this.failed(row, err, refuse);
      }
    } finally {
      this.d.creating.delete(row.id);
    }
  }

  /** The account may exist in part: its row goes to `dropping` for the reconciler, and the client hears why. */
  private async failed(row: EphemeralAccountRecord, err: unknown, refuse: (reason: string, account?: string | null) => Promise<never>): Promise<never> {
    const reason = adminErrorText(err);
    await this.d.store.ephemeral.update({ ...row, state: 'dropping', lastError: `creating failed: ${reason}` })
      .catch((e: unknown) => this.d.log.error({ account: row.account, err: adminErrorText(e) }, LOG.ephemeralCreateFailed));
    // Cleaned up now rather than at the next reconcile; a failure is retried there.
    void this.d.dropNow(row.id, 'create-failed').catch(() => false);
    return refuse(reason, row.account);
  }

  private open(row: EphemeralAccountRecord, target: TargetRecord): Promise<IssuedCredential> {
    return new Promise((resolve) => {
      if (row.secretSealed === null) throw new PortcullisError('internal', `the account ${row.account} has no stored secret`);
      const secret = this.d.vault.open(row.secretSealed, aadFor.ephemeral(row.id, row.targetId, row.account));
      resolve(issued(ephemeralKind(target), row.account, secret));
    });
  }

  /** Polls the store (bounded) until the grant's row another node creates is active; null if it is not in time. */
  private async waitActive(grantId: string): Promise<EphemeralAccountRecord | null> {
    const pollMs = this.d.pollMs ?? 250;
    const until = this.d.clock.now() + (this.d.waitMs ?? 20_000);
    while (this.d.clock.now() < until) {
      await new Promise<void>((r) => { this.d.clock.schedule(this.d.clock.now() + pollMs, r); });
      const row = await this.d.store.ephemeral.forGrant(grantId);
      if (row?.state === 'active') return row;
      if (!row || row.state !== 'creating') return null;
    }
    return null;
  }

  /** One issue at a time per grant on this node, so its sessions share one account. */
  private serialized<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.perGrant.get(key) ?? Promise.resolve();
    const run = prev.then(fn);
    const tail = run.then(() => undefined, () => undefined);
    this.perGrant.set(key, tail);
    void tail.then(() => { if (this.perGrant.get(key) === tail) this.perGrant.delete(key); });
    return run;
  }
}

function issued(kind: CredentialKind, account: string, secret: Buffer): IssuedCredential {
  return { kind, account, secret, wipe: () => secret.fill(0), source: 'ephemeral' };
}
