// A keyed failure budget with lockout: `failures` failures of one key within any `windowMs` lock it
// for `lockMs`. The count over the last window is estimated from two fixed windows (this one's count
// plus the previous one's, weighted by how much of it still overlaps), so each key costs three
// numbers instead of one timestamp per failure. A lock is reported once, when it starts; failures
// while locked neither extend nor re-report it.
// Memory is bounded: at most `maxKeys` keys, the least recently touched dropped first (dropping a
// key forgets its count, so a large `maxKeys` is what keeps an attacker from flushing a lock). It
// decides nothing about who a key is; the login throttle builds the keys. Time comes from the clock.
import type { Clock } from '../util/clock.js';

export interface BudgetOptions {
  /** Failures allowed in a burst; the one that reaches it locks the key. */
  failures: number;
  /** Time for a full budget to drain. */
  windowMs: number;
  lockMs: number;
  /** Keys tracked at most (oldest dropped first). */
  maxKeys: number;
}

interface Entry {
  /** Start of the current fixed window. */
  start: number;
  current: number;
  previous: number;
  lockedUntil: number;
}

export class FailureBudget {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly clock: Clock, private readonly opts: BudgetOptions) {
    if (!(opts.failures >= 1) || !(opts.windowMs > 0) || !(opts.lockMs >= 0) || !(opts.maxKeys >= 1)) {
      throw new Error('a failure budget needs failures >= 1, a window, a lock time and room for one key');
    }
  }

  /** Keys tracked now (never more than maxKeys). */
  get size(): number {
    return this.entries.size;
  }

  /** Milliseconds until the key may try again, or 0. */
  lockedFor(key: string): number {
    const e = this.entries.get(key);
    return e ? Math.max(0, e.lockedUntil - this.clock.now()) : 0;
  }

  /** Records a failure; returns the lock's end when this failure started a lock, else null. */
  fail(key: string): number | null {
    const now = this.clock.now();
    const e = this.entries.get(key) ?? { start: now, current: 0, previous: 0, lockedUntil: 0 };
    this.touch(key, e);
    if (e.lockedUntil > now) return null;
    this.roll(e, now);
    e.current++;
    if (this.inLastWindow(e, now) < this.opts.failures) return null;
    e.current = 0;
    e.previous = 0;
    e.lockedUntil = now + this.opts.lockMs;
    return e.lockedUntil;
  }

  /**
   * Failures of the key in the window ending now, without touching it (risk: failed logins before a
   * success). A key locked now counts as its full budget: the lock reset its count.
   */
  recent(key: string): number {
    const e = this.entries.get(key);
    if (!e) return 0;
    const now = this.clock.now();
    if (e.lockedUntil > now) return this.opts.failures;
    const passed = Math.floor((now - e.start) / this.opts.windowMs);
    if (passed >= 2) return 0;
    const view = passed === 1 ? { ...e, previous: e.current, current: 0, start: e.start + this.opts.windowMs } : e;
    return Math.round(this.inLastWindow(view, now));
  }

  /** Forgets the key (a success where that is the right answer). */
  clear(key: string): void {
    this.entries.delete(key);
  }

  private roll(e: Entry, now: number): void {
    const w = this.opts.windowMs;
    const passed = Math.floor((now - e.start) / w);
    if (passed <= 0) return;
    e.previous = passed === 1 ? e.current : 0;
    e.current = 0;
    e.start += passed * w;
  }

  /** Failures in the window ending now: all of this window's, the overlapping share of the last one's. */
  private inLastWindow(e: Entry, now: number): number {
    const overlap = 1 - (now - e.start) / this.opts.windowMs;
    return e.current + e.previous * overlap;
  }

  /** Moves the key to the young end; drops the oldest past the bound. */
  private touch(key: string, e: Entry): void {
    this.entries.delete(key);
    this.entries.set(key, e);
    while (this.entries.size > this.opts.maxKeys) {
      const oldest = this.entries.keys().next().value;
      if (oldest === undefined) break;
      this.entries.delete(oldest);
    }
  }
}

/**
 * A per-key rate (a token bucket): `perSecond` sustained, `burst` at once. Same memory bound and
 * clock as the failure budget. Used for work an attempt costs before it is known to fail.
 */
export class KeyedRate {
  private readonly entries = new Map<string, { tokens: number; at: number }>();

  constructor(private readonly clock: Clock, private readonly perSecond: number, private readonly burst: number, private readonly maxKeys: number) {
    if (!(perSecond > 0) || !(burst >= 1) || !(maxKeys >= 1)) throw new Error('a rate needs perSecond > 0, burst >= 1 and room for one key');
  }

  get size(): number {
    return this.entries.size;
  }

  /** Takes one token; false when the key is over its rate (nothing is taken then). */
  take(key: string): boolean {
    const now = this.clock.now();
    const e = this.entries.get(key) ?? { tokens: this.burst, at: now };
    e.tokens = Math.min(this.burst, e.tokens + ((now - e.at) * this.perSecond) / 1000);
    e.at = now;
    this.entries.delete(key);
    this.entries.set(key, e);
    while (this.entries.size > this.maxKeys) {
      const oldest = this.entries.keys().next().value;
      if (oldest === undefined) break;
      this.entries.delete(oldest);
    }
    if (e.tokens < 1) return false;
    e.tokens -= 1;
    return true;
  }
}
