// The reconciler: drops every ephemeral account whose grant is over (grant-end.ts), and every row
// left `creating` by a gateway that died while creating it (the account may exist). It runs at
// start, before the listeners accept (then every `creating` row is stale: one node owns the
// store), on a schedule, at each live account's grant end (a deadline per account, re-armed at the
// grant's current end so extensions and shortenings count), and at once on the access events that
// end grants. Failed drops are retried with backoff by later passes; the grant has ended at the
// gateway regardless (authorization reads the grant, not the account). Passes never overlap (a
// request during one runs one more pass after it) and never throw out of a timer or a handler.
import type { AccessEvents } from '../access/events.js';
import { LOG, type Logger } from '../log/logger.js';
import type { EphemeralAccountRecord } from '../store/records.js';
import type { Store } from '../store/store.js';
import type { Clock } from '../util/clock.js';
import type { DeadlineScheduler } from '../util/deadline-scheduler.js';
import type { EventBus } from '../util/event-bus.js';
import { adminErrorText } from './admin-task.js';
import type { EphemeralDropper } from './ephemeral-drop.js';
import { accountStanding } from './grant-end.js';

export interface ReconcilerDeps {
  store: Store;
  clock: Clock;
  scheduler: DeadlineScheduler;
  events: EventBus<AccessEvents>;
  log: Logger;
  dropper: EphemeralDropper;
  /** Moves an account's expiry on the target to its extended grant's end, and records it in its row. */
  extend(row: EphemeralAccountRecord, until: number): Promise<void>;
  /** Rows being created by this process now: never stale. */
  creating: ReadonlySet<string>;
  /** Between scheduled passes; 0 = only at start, at deadlines and on events. */
  intervalMs: number;
  /** A `creating` row older than this was left by a crash (creation takes seconds). */
  staleCreatingMs?: number;
  /** Longest wait between retries of a failing drop. */
  maxBackoffMs?: number;
}

export const STALE_CREATING_MS = 2 * 60_000;
const PASS_KEY = 'ephemeral-reconcile';
const deadlineKey = (rowId: string): string => `ephemeral-end:${rowId}`;

export class EphemeralReconciler {
  private pass: Promise<void> | null = null;
  private again = false;
  private stopped = false;
  private readonly notBefore = new Map<string, number>();
  private readonly unsubscribe: Array<() => void> = [];

  constructor(private readonly d: ReconcilerDeps) {}

  /** Subscribes, runs the start pass (awaited: before listeners accept), then keeps the schedule. */
  async start(): Promise<void> {
    const soon = (): void => { void this.reconcile(); };
    const e = this.d.events;
    this.unsubscribe.push(e.on('grant.revoked', soon), e.on('grant.expired', soon), e.on('grant.shortened', soon),
      e.on('grant.extended', soon), e.on('user.disabled', soon));
    await this.run(true);
    this.armPass();
  }

  stop(): void {
    this.stopped = true;
    for (const u of this.unsubscribe.splice(0)) u();
    this.d.scheduler.delete(PASS_KEY);
  }

  /** Runs a pass now, or one more after the running one. Never rejects. */
  reconcile(): Promise<void> {
    return this.run(false);
  }

  /** A new active account: arm its deadline at once (the next pass would, later). */
  armed(row: EphemeralAccountRecord): void {
    this.armDeadline(row.id, row.expiresAt);
  }

  private run(atStart: boolean): Promise<void> {
    if (this.stopped) return Promise.resolve();
    if (this.pass) {
      this.again = true;
      return this.pass;
    }
    this.pass = (async () => {
      try {
        do {
          this.again = false;
          await this.once(atStart).catch((err: unknown) => this.d.log.error({ err: adminErrorText(err) }, LOG.ephemeralReconcileFailed));
          atStart = false;
        } while (this.again && !this.stopped);
      } finally {
        this.pass = null;
      }
    })();
    return this.pass;
  }

  private async once(atStart: boolean): Promise<void> {
    const now = this.d.clock.now();
    const stale = this.d.staleCreatingMs ?? STALE_CREATING_MS;
    const drops: Array<Promise<unknown>> = [];
    for (const row of await this.d.store.ephemeral.live()) {
      if (this.d.creating.has(row.id)) continue;
      const standing = await accountStanding(this.d.store, row, now);
      const reason = standing.end
        // Left `dropping` while its grant holds: a failed creation, or a refused target removal.
        ?? (row.state === 'dropping' ? 'cleanup'
          : row.state === 'creating' && (atStart || now - row.createdAt >= stale) ? 'stale-intent' : null);
      if (reason === null) {
        if (row.state === 'active') this.armDeadline(row.id, standing.endsAt);
        // An extended grant: the account's own expiry on the target (VALID UNTIL) must follow it.
        if (row.state === 'active' && standing.endsAt > row.expiresAt) {
          drops.push(this.d.extend(row, standing.endsAt).catch((err: unknown) =>
            this.d.log.warn({ account: row.account, err: adminErrorText(err) }, LOG.ephemeralExtendFailed)));
        }
        continue;
      }
      this.d.scheduler.delete(deadlineKey(row.id));
      if ((this.notBefore.get(row.id) ?? 0) > now) continue;
      drops.push(this.d.dropper.drop(row.id, reason).then((outcome) => {
        if (outcome === 'failed') this.notBefore.set(row.id, this.d.clock.now() + this.backoff(row.dropAttempts + 1));
        else this.notBefore.delete(row.id);
      }));
    }
    await Promise.all(drops);
  }

  /** Doubles from the pass interval (or 5 s) per failure, up to the cap. */
  private backoff(failures: number): number {
    const base = this.d.intervalMs > 0 ? this.d.intervalMs : 5000;
    return Math.min(base * 2 ** Math.max(0, failures - 1), this.d.maxBackoffMs ?? 5 * 60_000);
  }

  private armDeadline(rowId: string, at: number): void {
    if (this.stopped) return;
    this.d.scheduler.set(deadlineKey(rowId), at, () => this.reconcile());
  }

  private armPass(): void {
    if (this.stopped || this.d.intervalMs <= 0) return;
    this.d.scheduler.set(PASS_KEY, this.d.clock.now() + this.d.intervalMs, async () => {
      try {
        await this.reconcile();
      } finally {
        this.armPass();
      }
    });
  }
}
