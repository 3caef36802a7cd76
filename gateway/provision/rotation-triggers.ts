// When a static credential is rotated by itself (TargetRecord.rotate), and the session side of the
// rotation lock. after-session: a session's credential was revoked → one rotation a little later,
// debounced so sessions ending together cause one rotation, and never while another session is
// still logging in (the lock waits for it). daily: once per 24 h per target from its last rotation
// (or from this start), on the DeadlineScheduler; an hourly sweep arms targets whose mode changed
// and retries failed ones. `off`: only `portcullis target rotate`. The rotation itself, its audit
// and its alert are rotation.ts's; a failed automatic rotation is only logged again here.
// Several nodes: every node arms every daily target; the one that claims the target's rotation
// (keyed by its last rotation and the sweep period, so a failed one can be claimed again at the
// next retry) rotates, and the others find the new rotatedAt and re-arm from it. after-session
// rotations stay with the node whose sessions ended.
import { LOG, type Logger } from '../log/logger.js';
import type { CheckoutGate } from '../session/credentials.js';
import { UpstreamFailure } from '../session/upstream-failure.js';
import type { TargetRecord } from '../store/records.js';
import type { Store } from '../store/store.js';
import type { Clock } from '../util/clock.js';
import type { DeadlineScheduler } from '../util/deadline-scheduler.js';
import type { RotationService, RotationTrigger } from './rotation.js';
import { TargetBusy, type TargetLocks } from './rotation-lock.js';

export const DAY_MS = 24 * 3600_000;
const SWEEP_KEY = 'rotation:sweep';

export interface TriggerTiming {
  /** Quiet time after the last session on a target ended before it is rotated. */
  debounceMs: number;
  /** How often daily targets are (re)armed, and how soon a failed daily rotation is tried again. */
  sweepMs: number;
}

export const DEFAULT_TRIGGER_TIMING: TriggerTiming = { debounceMs: 5_000, sweepMs: 3600_000 };

export interface TriggerDeps {
  store: Store;
  scheduler: DeadlineScheduler;
  clock: Clock;
  log: Logger;
  locks: TargetLocks;
  rotation: RotationService;
  /** True for exactly one node per key (store.claims); default: always (one node). */
  claim?: (key: string) => Promise<boolean>;
}

export class RotationTriggers implements CheckoutGate {
  private startedAt: number | null = null;

  constructor(private readonly d: TriggerDeps, private readonly timing: TriggerTiming = DEFAULT_TRIGGER_TIMING) {}

  /** Arms the daily rotations (call after RotationService.recoverAll, before the listeners). */
  start(): void {
    this.startedAt = this.d.clock.now();
    this.d.scheduler.set(SWEEP_KEY, this.startedAt, () => this.sweep());
  }

  async enter(target: TargetRecord): Promise<{ target: TargetRecord; release(): void }> {
    let release: () => void;
    try {
      release = await this.d.locks.enterLogin(target.id, target.name);
    } catch (err) {
      // The client may read this: it names the target and the wait, nothing else.
      if (err instanceof TargetBusy) throw new UpstreamFailure('credential', err.message);
      throw err;
    }
    // Only the credential is taken from the store: a rotation may have replaced it since the session
    // was authorized. The rest stays as authorized, so a re-pointed target's credential (bound to
    // the new address) does not open for the old one and is never sent there.
    const now = await this.d.store.targets.byId(target.id).catch(() => undefined);
    return { target: now ? { ...target, credentialSealed: now.credentialSealed } : target, release };
  }

  ended(target: TargetRecord): void {
    // Debounced by key: every session ending within the quiet time pushes the one rotation back.
    // The mode is read when it fires, so a mode changed meanwhile is honoured.
    this.d.scheduler.set(afterKey(target.id), this.d.clock.now() + this.timing.debounceMs, () => this.fire(target.id, 'after-session'));
  }

  private async sweep(): Promise<void> {
    try {
      for (const t of await this.d.store.targets.list()) {
        const key = dailyKey(t.id);
        if (t.rotate !== 'daily') { this.d.scheduler.delete(key); continue; }
        if (!this.d.scheduler.has(key)) this.armDaily(t.id, (t.rotatedAt ?? this.startedAt ?? this.d.clock.now()) + DAY_MS);
      }
    } finally {
      this.d.scheduler.set(SWEEP_KEY, this.d.clock.now() + this.timing.sweepMs, () => this.sweep());
    }
  }

  private armDaily(id: string, at: number): void {
    this.d.scheduler.set(dailyKey(id), at, () => this.fire(id, 'daily'));
  }

  private async fire(id: string, trigger: Exclude<RotationTrigger, 'manual'>): Promise<void> {
    const t = await this.d.store.targets.byId(id);
    if (!t || t.rotate !== trigger) return;
    if (trigger === 'daily') {
      const now = this.d.clock.now();
      // Another node rotated it since this timer was armed: count the day from there.
      if (t.rotatedAt !== null && t.rotatedAt + DAY_MS > now) return this.armDaily(id, t.rotatedAt + DAY_MS);
      const key = `rotation-daily:${id}:${t.rotatedAt ?? 'never'}:${Math.floor(now / this.timing.sweepMs)}`;
      if (this.d.claim && !(await this.d.claim(key))) return this.armDaily(id, now + this.timing.sweepMs);
    }
    try {
      const r = await this.d.rotation.rotate(t.name, trigger, 'portcullis');
      if (trigger === 'daily') this.armDaily(id, r.rotatedAt + DAY_MS);
    } catch (err) {
      const busy = err instanceof TargetBusy;
      this.d.log.warn({ target: t.name, trigger, busy, err: err instanceof Error ? err.message : String(err) }, LOG.credentialRotationSkipped);
      // Sessions still logging in: after-session tries again after another quiet time. A failed
      // rotation was audited and alerted; daily tries again at the next sweep interval.
      if (trigger === 'after-session' && busy) this.ended(t);
      if (trigger === 'daily') this.armDaily(id, this.d.clock.now() + this.timing.sweepMs);
    }
  }
}

const afterKey = (id: string): string => `rotation:after-session:${id}`;
const dailyKey = (id: string): string => `rotation:daily:${id}`;
