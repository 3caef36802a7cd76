// Dropping one ephemeral account: row → dropping, log in as the provisioner, dropAccount (which ends
// the account's connections or processes first), row → dropped with its secret erased, audited. A
// failure counts an attempt, keeps the reason for `ephemeral list`, is audited, and at the N-th
// failure raises one alert (`ephemeral.drop_failing`, once per account: the count passes N once).
// One drop per account at a time (a second caller joins the running one) and a bounded number
// overall. Abandoning (the target is gone, or removed with --force) ends our record of an account
// that may still exist. Decides nothing about *when* to drop: the reconciler and target removal do.
import type { AccessEvents } from '../access/events.js';
import type { AuditLog } from '../audit/audit-log.js';
import { LOG, type Logger } from '../log/logger.js';
import type { EphemeralAccountRecord } from '../store/records.js';
import type { Store } from '../store/store.js';
import type { Clock } from '../util/clock.js';
import type { EventBus } from '../util/event-bus.js';
import { type AdminTaskDeps, adminErrorText, withAdmin } from './admin-task.js';
import { accountStanding } from './grant-end.js';

export interface DropDeps {
  store: Store;
  audit: AuditLog;
  clock: Clock;
  log: Logger;
  events: EventBus<AccessEvents>;
  admin: AdminTaskDeps;
  /** Failed attempts after which the alert goes out. */
  alertAfter: number;
  /** Drops running at once, over every target. */
  concurrency: number;
}

export type DropOutcome = 'dropped' | 'failed' | 'abandoned' | 'gone';

export class EphemeralDropper {
  private readonly running = new Map<string, Promise<DropOutcome>>();
  private active = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(private readonly d: DropDeps) {}

  /** Drops the account of this row; `reason` is what the audit entry says ended it. Never rejects. */
  drop(rowId: string, reason: string): Promise<DropOutcome> {
    const cur = this.running.get(rowId);
    if (cur) return cur;
    const run = this.slot(() => this.dropNow(rowId, reason)).catch((err: unknown) => {
      this.d.log.error({ row: rowId, err: adminErrorText(err) }, LOG.ephemeralDropFailed);
      return 'failed' as const;
    }).finally(() => this.running.delete(rowId));
    this.running.set(rowId, run);
    return run;
  }

  /** Drops running now, for a bounded wait at shutdown. */
  idle(): Promise<void> {
    return Promise.all([...this.running.values()]).then(() => undefined);
  }

  /**
   * Stops tracking an account Portcullis can no longer drop: state dropped without a drop time,
   * secret erased, the reason kept. Audited and alerted: someone must remove it on the target.
   */
  async abandon(row: EphemeralAccountRecord, targetName: string, by: string, reason: string): Promise<void> {
    const cur = await this.d.store.ephemeral.byId(row.id);
    if (!cur || cur.state === 'dropped') return;
    await this.d.store.transaction(async () => {
      await this.d.store.ephemeral.update({ ...cur, state: 'dropped', secretSealed: null, droppedAt: null, lastError: `abandoned: ${reason}` });
      await this.d.audit.append('ephemeral.abandoned', by, { target: targetName, grant: cur.grantId, account: cur.account, by, reason });
    });
    this.d.log.warn({ target: targetName, account: cur.account, by, reason }, LOG.ephemeralAbandoned);
    this.d.events.emit('ephemeral.abandoned', { target: targetName, account: cur.account, grant: cur.grantId, by, reason });
  }

  private async dropNow(rowId: string, reason: string): Promise<DropOutcome> {
    const row = await this.d.store.ephemeral.byId(rowId);
    if (!row || row.state === 'dropped') return 'gone';
    const target = await this.d.store.targets.byId(row.targetId);
    if (!target) {
      await this.abandon(row, row.targetId, 'system', 'its target no longer exists');
      return 'abandoned';
    }
    let cur = row;
    if (cur.state !== 'dropping') {
      cur = { ...cur, state: 'dropping' };
      await this.d.store.ephemeral.update(cur);
    }
    try {
      await this.refuseLiveTwin(cur);
      await withAdmin(this.d.admin, target, (s) => s.dropAccount(row.account, { reassignTo: target.ephemeralReassignTo, keepHome: target.ephemeralKeepHome }));
    } catch (err) {
      const error = adminErrorText(err);
      const attempts = cur.dropAttempts + 1;
      await this.d.store.transaction(async () => {
        await this.d.store.ephemeral.update({ ...cur, dropAttempts: attempts, lastError: error });
        await this.d.audit.append('ephemeral.drop_failed', 'system', { target: target.name, grant: row.grantId, account: row.account, attempts, error });
      });
      this.d.log.warn({ target: target.name, account: row.account, attempts, error }, LOG.ephemeralDropFailed);
      if (attempts === this.d.alertAfter) {
        this.d.events.emit('ephemeral.drop_failing', { target: target.name, account: row.account, grant: row.grantId, attempts, error });
      }
      return 'failed';
    }
    await this.d.store.transaction(async () => {
      await this.d.store.ephemeral.update({ ...cur, state: 'dropped', secretSealed: null, droppedAt: this.d.clock.now() });
      await this.d.audit.append('ephemeral.dropped', 'system', {
        target: target.name, grant: row.grantId, account: row.account, level: row.level, reason, attempts: cur.dropAttempts + 1,
      });
    });
    this.d.log.info({ target: target.name, account: row.account, reason }, LOG.ephemeralDropped);
    return 'dropped';
  }

  /**
   * Account names are random, so two rows never share one unless the store was edited: a row of an
   * ended grant pointed at the account of someone's live grant would have us drop that account. Its
   * drop fails (retried, audited, alerted) until no live grant holds the name.
   */
  private async refuseLiveTwin(row: EphemeralAccountRecord): Promise<void> {
    const now = this.d.clock.now();
    for (const other of await this.d.store.ephemeral.live({ targetId: row.targetId })) {
      if (other.id === row.id || other.account !== row.account) continue;
      if ((await accountStanding(this.d.store, other, now)).end === null) {
        throw new Error(`not dropped: ${row.account} is also the account of a live grant (${other.grantId}); the store was edited`);
      }
    }
  }

  /** Runs fn when one of the `concurrency` slots is free. */
  private async slot<T>(fn: () => Promise<T>): Promise<T> {
    if (this.active >= this.d.concurrency) await new Promise<void>((r) => this.waiting.push(r));
    this.active++;
    try {
      return await fn();
    } finally {
      this.active--;
      this.waiting.shift()?.();
    }
  }
}
