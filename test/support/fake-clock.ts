// A clock tests move by hand. `advance` fires every scheduled callback that comes due, in time
// order, with now() set to each callback's deadline as it runs.
import type { Cancel, Clock } from '../../gateway/util/clock.js';

interface Timer { at: number; fn: () => void; id: number }

export class FakeClock implements Clock {
  private timers: Timer[] = [];
  private nextId = 0;

  constructor(private t = Date.UTC(2026, 10, 23, 10, 0, 0)) {}

  now(): number {
    return this.t;
  }

  schedule(atMs: number, fn: () => void): Cancel {
    const timer = { at: atMs, fn, id: this.nextId++ };
    this.timers.push(timer);
    return () => { this.timers = this.timers.filter((x) => x !== timer); };
  }

  get pendingTimers(): number {
    return this.timers.length;
  }

  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      const due = this.timers.filter((x) => x.at <= end).sort((a, b) => a.at - b.at || a.id - b.id)[0];
      if (!due) break;
      this.timers = this.timers.filter((x) => x !== due);
      this.t = Math.max(this.t, due.at);
      due.fn();
    }
    this.t = end;
  }

  set(ms: number): void {
    this.advance(ms - this.t);
  }
}
