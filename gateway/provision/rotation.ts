// Rotation of a target's static credential, two-phase and crash-safe. Each step leaves the store in
// a state a restart can finish from:
//   (a) a fresh secret of the same kind is sealed as the target's pendingCredentialSealed (bound
//       exactly like the credential it will replace);
//   (b) logged in with the current credential, the account sets its own new secret (keys: the new
//       public key is added);
//   (c) a fresh login with the new secret proves it (keys: then every other key is removed, and a
//       login proves the new one again);
//   (d) commit: credentialSealed = pending, pending = null, rotatedAt = now; audited.
// Any failure, and any pending secret found later (a crash), is settled by the recovery rules: the
// pending secret logs in → it is committed (the target changed); else the current one logs in →
// pending is cleared (the change never happened); neither → both are kept, an alert goes out (once),
// and rotation is refused while that lasts: each later attempt settles again first (a target that
// was unreachable settles when it is back), or an admin enters the credential (`target update`
// clears pending). A failure before the change was even sent just drops pending.
// Ephemeral targets rotate the provisioner's own credential the same way. The per-target lock
// (rotation-lock.ts) keeps rotations single and out of sessions' logins. Does not decide when to
// rotate: rotation-triggers.ts does. No secret reaches audit, logs, events or errors.
import type { AccessEvents } from '../access/events.js';
import type { AuditLog } from '../audit/audit-log.js';
import { LOG, type Logger } from '../log/logger.js';
import type { UpstreamCredential } from '../session/credentials.js';
import type { TargetKind, TargetRecord } from '../store/records.js';
import type { Store } from '../store/store.js';
import type { LoginProbe } from '../targets/target-check.js';
import type { Clock } from '../util/clock.js';
import { PortcullisError } from '../util/errors.js';
import type { EventBus } from '../util/event-bus.js';
import type { CheckedOutCredential, CredentialVault } from '../vault/credential-vault.js';
import { newSecretLike, publicKeyOf } from './new-secret.js';
import type { AdminLogin } from './provisioner.js';
import type { TargetLocks } from './rotation-lock.js';

export type RotationTrigger = 'manual' | 'after-session' | 'daily';
export type RotationStep = 'recover' | 'generate' | 'set' | 'verify' | 'retire' | 'verify-after-retire' | 'commit';
export type RotationOutcome = 'kept-old' | 'committed-new' | 'stuck';

/** What `target rotate` prints: never the secret. */
export interface RotationResult {
  target: string;
  rotatedAt: number;
  verified: boolean;
  /** Keys: the old key was removed from the account. */
  oldKeyRetired?: boolean;
  /** A pending secret a crash had left was settled first. */
  recovered?: RotationOutcome;
}

export interface RotationDeps {
  store: Store;
  audit: AuditLog;
  creds: CredentialVault;
  clock: Clock;
  events: EventBus<AccessEvents>;
  log: Logger;
  locks: TargetLocks;
  adminLogins: Partial<Record<TargetKind, AdminLogin>>;
  probes: Partial<Record<TargetKind, LoginProbe>>;
}

/** A failed step: what the admin reads (never a secret) and where it happened. */
class StepFailed extends Error {
  constructor(readonly step: RotationStep, reason: string) {
    super(reason);
  }
}

export class RotationService {
  /**
   * Pending secrets already found stuck and alerted: settling one again (each rotation attempt
   * does, so a target that was down and is back settles) does not alert again. A credential
   * entered again replaces the pending value and so leaves this set.
   */
  private readonly stuck = new Set<string>();

  constructor(private readonly d: RotationDeps) {}

  /** Rotates now, waiting for a rotation already running on the target. Rejects with a clear error when it could not. */
  async rotate(name: string, trigger: RotationTrigger, actor: string): Promise<RotationResult> {
    const t = await this.d.store.targets.byName(name);
    if (!t) throw new PortcullisError('not-found', `no target "${name}"; see "portcullis target list"`);
    this.tools(t);
    return this.d.locks.exclusive(t.id, t.name, () => this.rotateLocked(t.id, trigger, actor));
  }

  /**
   * At start, before any listener: settles every pending secret a crash left behind. Never throws;
   * a target that cannot be settled is alerted and stays refused for rotation.
   */
  async recoverAll(): Promise<Array<{ target: string; outcome: RotationOutcome }>> {
    const out: Array<{ target: string; outcome: RotationOutcome }> = [];
    for (const t of await this.d.store.targets.list()) {
      if (t.pendingCredentialSealed === null) continue;
      try {
        const outcome = await this.d.locks.exclusive(t.id, t.name, async () => {
          const cur = await this.d.store.targets.byId(t.id);
          return cur?.pendingCredentialSealed ? this.settle(cur, 'recovery', 'recover', 'a rotation was interrupted (gateway stopped)', 'system') : 'kept-old';
        });
        out.push({ target: t.name, outcome });
      } catch (err) {
        this.d.log.error({ target: t.name, err: errText(err) }, LOG.credentialRotationFailed);
      }
    }
    return out;
  }

  private async rotateLocked(id: string, trigger: RotationTrigger, actor: string): Promise<RotationResult> {
    let t = await this.current(id);
    let recovered: RotationOutcome | undefined;
    if (t.pendingCredentialSealed !== null) {
      // An earlier rotation was interrupted: settled as at start (quiet when it resolves cleanly).
      recovered = await this.settle(t, 'recovery', 'recover', 'a previous rotation had not finished', actor);
      if (recovered === 'stuck') throw stuckError(t);
      t = await this.current(id);
    }
    const { login, probe } = this.tools(t);
    const next = newSecretLike(t.credentialKind);
    let step: RotationStep = 'generate';
    let oldKeyRetired: boolean | undefined;
    // Until the change is sent, a failure (the target down, the admin login refused) certainly
    // left the target as it was: pending is dropped without probing, so a target that is down is
    // not mistaken for one whose secret is lost.
    let changeSent = false;
    try {
      // (a) Sealed inside the transaction that stores it, like any credential (key rotation safety).
      t = await this.d.store.transaction(async () => {
        const cur = await this.current(id);
        const rec: TargetRecord = { ...cur, pendingCredentialSealed: this.d.creds.sealFor(cur, next.secret) };
        await this.d.store.targets.update(rec);
        return rec;
      });
      step = 'set';
      const admin = await login(t, upstream(this.d.creds.checkoutForCheck(t)));
      try {
        // A copy: the implementation may keep or wipe what it gets; `next` is wiped below.
        const copy = Buffer.from(next.secret);
        changeSent = true;
        try { await admin.setOwnSecret(copy); } finally { copy.fill(0); }
      } finally {
        await admin.close().catch(() => {});
      }
      step = 'verify';
      await this.mustLogIn(t, probe, 'pending');
      if (next.publicKey !== null) {
        step = 'retire';
        oldKeyRetired = await this.retire(t, login, next.publicKey);
        step = 'verify-after-retire';
        await this.mustLogIn(t, probe, 'pending');
      }
      step = 'commit';
      const rotatedAt = await this.commit(t, trigger, actor, oldKeyRetired);
      return { target: t.name, rotatedAt, verified: true, ...(oldKeyRetired !== undefined ? { oldKeyRetired } : {}), ...(recovered ? { recovered } : {}) };
    } catch (err) {
      const reason = redact(err instanceof StepFailed ? err.message : errText(err), next.secret);
      const after = await this.current(id).catch(() => null);
      const failedAt = err instanceof StepFailed ? err.step : step;
      let outcome: RotationOutcome = 'kept-old';
      if (after?.pendingCredentialSealed && changeSent) {
        // Settling can itself fail (the admin re-entered the credential meanwhile): say so plainly.
        try {
          outcome = await this.settle(after, trigger, failedAt, reason, actor);
        } catch (e) {
          throw new PortcullisError('conflict', `rotating the credential of ${t.name} failed at ${failedAt}: ${reason}; settling it failed too: ${redact(errText(e), next.secret)}`);
        }
      } else {
        // Nothing pending (the failure came before (a) was stored), or the change was never sent.
        if (after?.pendingCredentialSealed) await this.dropPending(after);
        await this.failed(t, trigger, failedAt, reason, outcome, actor);
      }
      throw new PortcullisError('conflict', failureMessage(t.name, failedAt, reason, outcome));
    } finally {
      next.secret.fill(0);
    }
  }

  /**
   * The recovery rules, for a target with a pending secret (see the top). Audits and alerts a
   * failure at `step` unless the pending secret is simply found done at start (recovery).
   */
  private async settle(t: TargetRecord, trigger: RotationTrigger | 'recovery', step: RotationStep, reason: string, actor: string): Promise<RotationOutcome> {
    const { login, probe } = this.tools(t);
    if (await this.logsIn(t, probe, 'pending')) {
      let retired: boolean | undefined;
      if (t.credentialKind === 'private-key') {
        // An interrupted key rotation may have left the old key authorized: remove it now.
        const opened = this.d.creds.checkoutForCheck(pendingView(t));
        const pub = publicKeyOf(opened.secret);
        opened.wipe();
        retired = pub !== null && await this.retire(t, login, pub).catch(() => false) && await this.logsIn(t, probe, 'pending');
        if (!retired && !(await this.logsIn(t, probe, 'pending'))) return this.settleCurrent(t, trigger, step, reason, actor);
      }
      await this.commit(t, trigger === 'recovery' ? 'recovery' : trigger, actor, retired);
      // An interruption at start that resolved cleanly is not a failure; every other path is reported.
      const clean = trigger === 'recovery' && retired !== false;
      if (!clean) await this.failed(t, trigger, step, retired === false ? `${reason}; the old key is still authorized on the target` : reason, 'committed-new', actor);
      return 'committed-new';
    }
    return this.settleCurrent(t, trigger, step, reason, actor);
  }

  private async settleCurrent(t: TargetRecord, trigger: RotationTrigger | 'recovery', step: RotationStep, reason: string, actor: string): Promise<RotationOutcome> {
    const { probe } = this.tools(t);
    if (await this.logsIn(t, probe, 'current')) {
      await this.dropPending(t);
      if (trigger === 'recovery') this.d.log.warn({ target: t.name, outcome: 'kept-old' }, LOG.credentialRotationRecovered);
      else await this.failed(t, trigger, step, reason, 'kept-old', actor);
      return 'kept-old';
    }
    const known = t.pendingCredentialSealed !== null && this.stuck.has(t.pendingCredentialSealed);
    if (t.pendingCredentialSealed !== null) this.stuck.add(t.pendingCredentialSealed);
    if (!known) await this.failed(t, trigger, step, `${reason}; neither the new nor the current secret logs in`, 'stuck', actor);
    return 'stuck';
  }

  private async dropPending(t: TargetRecord): Promise<void> {
    await this.d.store.transaction(async () => {
      const cur = await this.d.store.targets.byId(t.id);
      // Cleared only if still ours: an admin may have entered a credential meanwhile.
      if (cur && cur.pendingCredentialSealed === t.pendingCredentialSealed) await this.d.store.targets.update({ ...cur, pendingCredentialSealed: null });
    });
  }

  private async commit(t: TargetRecord, trigger: RotationTrigger | 'recovery', actor: string, oldKeyRetired: boolean | undefined): Promise<number> {
    const now = this.d.clock.now();
    await this.d.store.transaction(async () => {
      const cur = await this.d.store.targets.byId(t.id);
      // The admin replaced the credential (or re-pointed the target) meanwhile: theirs wins.
      if (!cur || cur.pendingCredentialSealed !== t.pendingCredentialSealed || cur.credentialSealed !== t.credentialSealed || cur.pendingCredentialSealed === null) {
        throw new StepFailed('commit', 'the target was changed by an admin during the rotation');
      }
      await this.d.store.targets.update({ ...cur, credentialSealed: cur.pendingCredentialSealed, pendingCredentialSealed: null, rotatedAt: now });
      await this.d.audit.append('credential.rotated', actor, { target: t.name, trigger, verified: true, ...(oldKeyRetired !== undefined ? { oldKeyRetired } : {}) });
    });
    this.d.log.info({ target: t.name, trigger }, LOG.credentialRotated);
    return now;
  }

  private async retire(t: TargetRecord, login: AdminLogin, keep: string): Promise<boolean> {
    const admin = await login(t, upstream(this.d.creds.checkoutForCheck(pendingView(t))));
    try {
      if (!admin.retireOldKey) return false;
      await admin.retireOldKey(keep);
      return true;
    } finally {
      await admin.close().catch(() => {});
    }
  }

  private async failed(t: TargetRecord, trigger: string, step: string, reason: string, outcome: RotationOutcome, actor: string): Promise<void> {
    this.d.log.error({ target: t.name, trigger, step, reason, outcome }, LOG.credentialRotationFailed);
    await this.d.audit.append('credential.rotation_failed', actor, { target: t.name, trigger, step, reason, outcome });
    this.d.events.emit('credential.rotation_failed', { target: t.name, trigger, step, reason, outcome, at: new Date(this.d.clock.now()).toISOString() });
  }

  private async mustLogIn(t: TargetRecord, probe: LoginProbe, which: 'pending' | 'current'): Promise<void> {
    const r = await this.probe(t, probe, which);
    // Not a StepFailed: the caller knows which verify this was (before or after retiring the old key).
    if (!r.ok) throw new Error(`a fresh login with the new secret failed: ${r.detail}`);
  }

  private async logsIn(t: TargetRecord, probe: LoginProbe, which: 'pending' | 'current'): Promise<boolean> {
    return (await this.probe(t, probe, which).catch(() => ({ ok: false }))).ok;
  }

  private async probe(t: TargetRecord, probe: LoginProbe, which: 'pending' | 'current'): Promise<{ ok: boolean; detail: string }> {
    const cred = this.d.creds.checkoutForCheck(which === 'pending' ? pendingView(t) : t);
    try {
      return await probe(t, cred);
    } catch (err) {
      return { ok: false, detail: errText(err) };
    } finally {
      cred.wipe();
    }
  }

  private async current(id: string): Promise<TargetRecord> {
    const t = await this.d.store.targets.byId(id);
    if (!t) throw new PortcullisError('not-found', 'the target was removed during the rotation');
    return t;
  }

  private tools(t: TargetRecord): { login: AdminLogin; probe: LoginProbe } {
    const login = this.d.adminLogins[t.kind];
    const probe = this.d.probes[t.kind];
    if (!login || !probe) throw new PortcullisError('bad-request', `${t.kind} targets cannot rotate their credential: this gateway has no ${t.kind} provisioner`);
    return { login, probe };
  }
}

/** The target as its pending secret would make it: same binding, so the vault opens it the same way. */
function pendingView(t: TargetRecord): TargetRecord {
  return { ...t, credentialSealed: t.pendingCredentialSealed ?? '' };
}

function upstream(c: CheckedOutCredential): UpstreamCredential {
  return { kind: c.kind, account: c.account, secret: c.secret, wipe: () => c.wipe() };
}

function stuckError(t: TargetRecord): PortcullisError {
  return new PortcullisError('conflict', `a rotation of ${t.name} left a secret that does not log in, and neither does the vaulted one; ` +
    `no rotation until an admin enters the credential again: portcullis target update ${t.name} ${t.credentialKind === 'private-key' ? '--key-file FILE' : '--password-stdin'}`);
}

function failureMessage(name: string, step: string, reason: string, outcome: RotationOutcome): string {
  const now = outcome === 'stuck'
    ? `neither secret logs in: enter the credential again with portcullis target update ${name}`
    : `the vault holds the ${outcome === 'committed-new' ? 'new' : 'old'} secret, which logs in`;
  return `rotating the credential of ${name} failed at ${step}: ${reason}; ${now}`;
}

function errText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Second line of defence: an implementation's message that somehow carries the new secret loses it. */
function redact(text: string, secret: Buffer): string {
  const s = secret.toString();
  return s.length > 0 && text.includes(s) ? text.split(s).join('[redacted]') : text;
}
