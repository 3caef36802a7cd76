// Login throttling: 5 failures for one user+address within 10 minutes lock that pair for 10 minutes.
// In memory (one node); a restart clears it, which costs an attacker a restart they cannot cause.
// Bounded: at most MAX_KEYS pairs are tracked, oldest dropped first.
import type { Clock } from '../util/clock.js';

const MAX_KEYS = 100_000;

export interface ThrottleOptions {
  maxFailures: number;
  windowMs: number;
  lockMs: number;
}

export const DEFAULT_THROTTLE: ThrottleOptions = { maxFailures: 5, windowMs: 10 * 60_000, lockMs: 10 * 60_000 };

interface Entry { failures: number[]; lockedUntil: number }

export class LoginThrottle {
  private entries = new Map<string, Entry>();

  constructor(private readonly clock: Clock, private readonly opts: ThrottleOptions = DEFAULT_THROTTLE) {}

  private key(user: string, addr: string): string {
    return `${user.toLowerCase()}\u0000${addr}`;
  }

  /** Milliseconds until the pair may try again, or 0. */
  lockedFor(user: string, addr: string): number {
    const e = this.entries.get(this.key(user, addr));
    if (!e) return 0;
    return Math.max(0, e.lockedUntil - this.clock.now());
  }

  /** Records a failure; returns true when this failure locked the pair. */
  fail(user: string, addr: string): boolean {
    const k = this.key(user, addr);
    const now = this.clock.now();
    const e = this.entries.get(k) ?? { failures: [], lockedUntil: 0 };
    e.failures = e.failures.filter((t) => t > now - this.opts.windowMs);
    e.failures.push(now);
    this.entries.delete(k);
    this.entries.set(k, e);
    if (this.entries.size > MAX_KEYS) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    if (e.failures.length >= this.opts.maxFailures) {
      e.lockedUntil = now + this.opts.lockMs;
      e.failures = [];
      return true;
    }
    return false;
  }

  succeed(user: string, addr: string): void {
    this.entries.delete(this.key(user, addr));
  }
}
