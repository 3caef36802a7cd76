// The time limits every session has, on the one timer mechanism (DeadlineScheduler, injected
// clock): an idle timeout (per front end, from config), a maximum session length, and how long a
// client that went away may take to come back (a browser reload) before the session ends. Grant expiry
// and its warning stay with the live registry (live-sessions.ts), which also re-arms on extension.
// Idle means no one is at the session. Adapters call `touch()` for what counts, which only stores
// the clock's time: input from the client always; the target's output only where it answers the
// client or moves data the client asked for (database replies, SSH exec/sftp/forwards without a
// terminal). On an SSH terminal (pty) output never counts, so a loop printing on the target cannot
// keep an abandoned session open (the browser terminal still counts output, as its e2e test pins); keepalives at the SSH layer never count. The
// idle timeout is not a control against the grant holder (who can always send input); grant expiry
// and the maximum session length are. The single scheduled check re-arms itself to the last
// activity plus the timeout, so a busy session costs one heap entry per timeout period, not one
// timer reset per chunk.
import type { Clock } from '../util/clock.js';
import type { DeadlineScheduler } from '../util/deadline-scheduler.js';

export type LimitReason = 'idle-timeout' | 'max-session-length' | 'closed-by-client';

export class SessionLimits {
  private last: number;
  private readonly idleKey: string;
  private readonly maxKey: string;
  private readonly awayKey: string;

  constructor(
    private readonly scheduler: DeadlineScheduler,
    private readonly clock: Clock,
    id: string,
    /** 0 = no idle timeout. */
    private readonly idleMs: number,
    /** 0 = no maximum length. */
    private readonly maxMs: number,
    private readonly onLimit: (reason: LimitReason) => void,
  ) {
    this.last = clock.now();
    this.idleKey = `session-idle:${id}`;
    this.maxKey = `session-max:${id}`;
    this.awayKey = `session-away:${id}`;
  }

  arm(startedAt: number): void {
    this.last = this.clock.now();
    if (this.maxMs > 0) this.scheduler.set(this.maxKey, startedAt + this.maxMs, () => this.onLimit('max-session-length'));
    if (this.idleMs > 0) this.scheduler.set(this.idleKey, this.last + this.idleMs, this.checkIdle);
  }

  touch(): void {
    this.last = this.clock.now();
  }

  /** The client went away; unless it is back within `graceMs`, the session ends as closed by it. */
  away(graceMs: number): void {
    this.scheduler.set(this.awayKey, this.clock.now() + graceMs, () => this.onLimit('closed-by-client'));
  }

  back(): void {
    this.scheduler.delete(this.awayKey);
  }

  disarm(): void {
    this.scheduler.delete(this.idleKey);
    this.scheduler.delete(this.maxKey);
    this.scheduler.delete(this.awayKey);
  }

  private readonly checkIdle = (): void => {
    const due = this.last + this.idleMs;
    if (this.clock.now() >= due) this.onLimit('idle-timeout');
    else this.scheduler.set(this.idleKey, due, this.checkIdle);
  };
}
