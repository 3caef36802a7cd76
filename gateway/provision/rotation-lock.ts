// One lock per target between rotating its static credential and checking it out for sessions: a
// rotation runs alone (one at a time per target, and never while a session is between checking the
// credential out and finishing its upstream login, whose secret it would make stale); checkouts
// wait while a rotation runs. Both waits are bounded by the injected clock, so a stuck target or a
// login that never finishes cannot hold the other side forever. In memory: one node's sessions and
// rotations (a multi-node store would need the lock in the store). Decides nothing about rotating.
import type { Clock } from '../util/clock.js';
import { PortcullisError } from '../util/errors.js';

interface Slot {
  /** Sessions between checkout and the end of their upstream login. */
  logins: number;
  /** A rotation holds the target, or waits for its logins to finish (new checkouts then wait). */
  rotating: boolean;
  /** Woken whenever the slot changes; each waiter re-checks its own condition. */
  waiters: Array<() => void>;
}

/** Thrown when a wait ran out; the message names the target and the next step, never a secret. */
export class TargetBusy extends PortcullisError {
  constructor(message: string) {
    super('conflict', message);
  }
}

export class TargetLocks {
  private readonly slots = new Map<string, Slot>();

  constructor(private readonly clock: Clock, private readonly waitMs: { checkout: number; rotation: number }) {}

  /** Whether a rotation of the target holds it now. */
  rotating(targetId: string): boolean {
    return this.slots.get(targetId)?.rotating ?? false;
  }

  /** A session's checkout: waits for a running rotation, then counts as a login until `release` (idempotent). */
  async enterLogin(targetId: string, name: string): Promise<() => void> {
    const slot = this.slot(targetId);
    const ok = await this.waitFor(slot, () => {
      if (slot.rotating) return false;
      slot.logins++;
      return true;
    }, this.waitMs.checkout);
    if (!ok) throw new TargetBusy(`the credential of ${name} is being rotated and the rotation has not finished; try again in a minute`);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      slot.logins--;
      this.wake(slot);
    };
  }

  /**
   * Runs `fn` holding the target alone: after any rotation already running, and once no session is
   * logging in. New checkouts wait from the moment this is called, so logins cannot starve it.
   */
  async exclusive<T>(targetId: string, name: string, fn: () => Promise<T>): Promise<T> {
    const slot = this.slot(targetId);
    const claimed = await this.waitFor(slot, () => {
      if (slot.rotating) return false;
      slot.rotating = true;
      return true;
    }, this.waitMs.rotation);
    if (!claimed) throw new TargetBusy(`another rotation of ${name} is still running; try again when it has finished`);
    try {
      if (!(await this.waitFor(slot, () => slot.logins === 0, this.waitMs.rotation))) {
        throw new TargetBusy(`sessions are still logging in to ${name}; its credential was not rotated, try again in a minute`);
      }
      return await fn();
    } finally {
      slot.rotating = false;
      this.wake(slot);
    }
  }

  private slot(targetId: string): Slot {
    let s = this.slots.get(targetId);
    if (!s) {
      s = { logins: 0, rotating: false, waiters: [] };
      this.slots.set(targetId, s);
    }
    return s;
  }

  // Slots are kept (a few numbers per target): a waiter woken here takes its turn a tick later, on
  // this same slot, so forgetting an idle one would split its state.
  private wake(slot: Slot): void {
    const waiters = slot.waiters;
    slot.waiters = [];
    for (const w of waiters) w();
  }

  /** Resolves true once `claim` succeeds (it checks and takes its turn in one synchronous step, so two woken waiters cannot both win), false after `ms`. */
  private waitFor(slot: Slot, claim: () => boolean, ms: number): Promise<boolean> {
    if (claim()) return Promise.resolve(true);
    return new Promise((resolve) => {
      let done = false;
      const cancel = this.clock.schedule(this.clock.now() + ms, () => {
        if (done) return;
        done = true;
        slot.waiters = slot.waiters.filter((w) => w !== check);
        resolve(false);
      });
      const check = (): void => {
        if (done) return;
        if (claim()) {
          done = true;
          cancel();
          resolve(true);
        } else {
          slot.waiters.push(check);
        }
      };
      slot.waiters.push(check);
    });
  }
}
