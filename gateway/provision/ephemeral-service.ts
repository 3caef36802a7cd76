// Ephemeral accounts, assembled: the pipeline's credentials (ephemeral-credentials.ts), the
// dropper (ephemeral-drop.ts), the reconciler (reconciler.ts), target removal (target-removal.ts),
// the admin's listing and the provisioner check of `target test`. The services root builds one;
// serve starts it before the listeners accept and stops it before the store closes.
import type { AccessEvents } from '../access/events.js';
import { nameOfTarget, nameOfUser } from '../access/views.js';
import type { EphemeralAccountView } from '../api-types.js';
import type { AuditLog } from '../audit/audit-log.js';
import type { Logger } from '../log/logger.js';
import type { Credentials } from '../session/credentials.js';
import type { EphemeralAccountRecord, TargetRecord } from '../store/records.js';
import type { Store } from '../store/store.js';
import type { Clock } from '../util/clock.js';
import type { DeadlineScheduler } from '../util/deadline-scheduler.js';
import type { EventBus } from '../util/event-bus.js';
import { PortcullisError } from '../util/errors.js';
import type { CredentialVault } from '../vault/credential-vault.js';
import type { Vault } from '../vault/vault.js';
import { type AdminLogins, type AdminTaskDeps, canProvision, withAdmin } from './admin-task.js';
import { EphemeralCredentials } from './ephemeral-credentials.js';
import { EphemeralDropper } from './ephemeral-drop.js';
import { EphemeralReconciler } from './reconciler.js';
import { dropBeforeRemoval } from './target-removal.js';

export interface EphemeralServiceDeps {
  store: Store;
  vault: Vault;
  creds: CredentialVault;
  audit: AuditLog;
  clock: Clock;
  log: Logger;
  events: EventBus<AccessEvents>;
  scheduler: DeadlineScheduler;
  adminLogins: AdminLogins;
  /** Today's credentials for static targets. */
  statics: Credentials;
  reconcileIntervalMs: number;
  dropAlertAfter: number;
  /** Drops at once over every target. */
  dropConcurrency?: number;
  /** Bound on one provisioner login plus task (tests shorten it). */
  adminTimeoutMs?: number;
}

export class EphemeralService {
  readonly credentials: EphemeralCredentials;
  readonly reconciler: EphemeralReconciler;
  private readonly dropper: EphemeralDropper;
  private readonly creating = new Set<string>();
  private readonly admin: AdminTaskDeps;

  constructor(private readonly d: EphemeralServiceDeps) {
    this.admin = { logins: d.adminLogins, creds: d.creds, clock: d.clock, ...(d.adminTimeoutMs ? { timeoutMs: d.adminTimeoutMs } : {}) };
    this.dropper = new EphemeralDropper({
      store: d.store, audit: d.audit, clock: d.clock, log: d.log, events: d.events, admin: this.admin,
      alertAfter: d.dropAlertAfter, concurrency: d.dropConcurrency ?? 4,
    });
    this.reconciler = new EphemeralReconciler({
      store: d.store, clock: d.clock, scheduler: d.scheduler, events: d.events, log: d.log, dropper: this.dropper,
      creating: this.creating, intervalMs: d.reconcileIntervalMs, extend: (row, until) => this.extend(row, until),
    });
    this.credentials = new EphemeralCredentials({
      store: d.store, vault: d.vault, audit: d.audit, clock: d.clock, log: d.log, admin: this.admin, creating: this.creating,
      onActive: (row) => this.reconciler.armed(row),
      dropNow: async (rowId, reason) => {
        const outcome = await this.dropper.drop(rowId, reason);
        return outcome === 'dropped' || outcome === 'gone';
      },
    }, d.statics);
  }

  /** The start pass (awaited) and the schedule. */
  start(): Promise<void> {
    return this.reconciler.start();
  }

  /** Stops the schedule; drops already running may finish within `ms` (wall time on purpose: shutdown waits for I/O, it decides nothing). */
  async stop(ms = 5000): Promise<void> {
    this.reconciler.stop();
    await Promise.race([this.dropper.idle(), new Promise((r) => setTimeout(r, ms).unref())]);
  }

  /** For target removal (TargetService.onRemove). */
  beforeTargetRemoval(actor: string, target: TargetRecord, force: boolean): Promise<void> {
    return dropBeforeRemoval({ store: this.d.store, clock: this.d.clock, credentials: this.credentials, dropper: this.dropper, creating: this.creating },
      actor, target, force);
  }

  /**
   * After a grant extension: the account's expiry on the target follows (where the provisioner has
   * one), then its row's expiresAt, so it is done once. A failure is retried by the next pass.
   */
  private async extend(row: EphemeralAccountRecord, until: number): Promise<void> {
    const target = await this.d.store.targets.byId(row.targetId);
    if (!target) return;
    await withAdmin(this.admin, target, async (s) => { if (s.extendAccount) await s.extendAccount(row.account, until); });
    const cur = await this.d.store.ephemeral.byId(row.id);
    if (cur?.state === 'active') await this.d.store.ephemeral.update({ ...cur, expiresAt: until });
  }

  /** What the target's provisioner lacks for its levels (empty: nothing); `target test` of ephemeral targets. */
  checkProvisioner(target: TargetRecord): Promise<string[]> {
    if (!canProvision(this.d.adminLogins, target.kind)) return Promise.resolve([`Portcullis cannot provision ${target.kind} targets`]);
    return withAdmin(this.admin, target, (s) => s.checkProvisioner(target.levels));
  }

  /** Newest first; `target` by name. */
  async list(filter: { target?: string | undefined; limit?: number | undefined } = {}): Promise<EphemeralAccountView[]> {
    let targetId: string | undefined;
    if (filter.target !== undefined) {
      const t = await this.d.store.targets.byName(filter.target);
      if (!t) throw new PortcullisError('not-found', `no target "${filter.target}"; see "portcullis target list"`);
      targetId = t.id;
    }
    const rows = await this.d.store.ephemeral.list({ targetId, limit: filter.limit });
    return Promise.all(rows.map((r) => this.view(r)));
  }

  private async view(r: EphemeralAccountRecord): Promise<EphemeralAccountView> {
    const grant = await this.d.store.grants.byId(r.grantId);
    const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());
    return {
      id: r.id, account: r.account, target: await nameOfTarget(this.d.store, r.targetId), grant: r.grantId,
      user: grant ? await nameOfUser(this.d.store, grant.userId) : '(grant gone)', level: r.level,
      state: r.state === 'dropped' && r.droppedAt === null ? 'abandoned' : r.state,
      created_at: iso(r.createdAt)!, expires_at: iso(r.expiresAt)!, dropped_at: iso(r.droppedAt), drop_attempts: r.dropAttempts, last_error: r.lastError,
    };
  }
}
