// The one timer mechanism: a min-heap of keyed deadlines with a single armed clock timer for the
// earliest. Expiry warnings, session cuts, grant-expiry notices and pending-request expiry all use
// it, so 10,000 sessions cost 10,000 heap entries and one timer, not 10,000 timers.
// Does not know what a deadline means; callbacks do. A throwing callback never stops the others.
import type { Cancel, Clock } from './clock.js';

interface Entry { key: string; at: number; fn: (() => void) | (() => Promise<void>); version: number }

export class DeadlineScheduler {
  private heap: Entry[] = [];
  private live = new Map<string, Entry>();
  private armedAt: number | null = null;
  private cancelTimer: Cancel | null = null;
  private version = 0;
  private stopped = false;

  constructor(private readonly clock: Clock, private readonly onError: (key: string, err: unknown) => void = () => {}) {}

  get size(): number {
    return this.live.size;
  }

  has(key: string): boolean {
    return this.live.has(key);
  }

  /**
   * Adds or replaces the deadline for `key`. A deadline in the past fires on the next tick. An
   * async fn is not awaited (deadlines never wait for each other); its rejection goes to onError.
   */
  set(key: string, at: number, fn: (() => void) | (() => Promise<void>)): void {
    if (this.stopped) return;
    const entry: Entry = { key, at, fn, version: ++this.version };
    this.live.set(key, entry);
    this.push(entry);
    this.arm();
  }

  delete(key: string): void {
    // Lazy deletion: the heap entry stays and is skipped when popped.
    this.live.delete(key);
  }

  stop(): void {
    this.stopped = true;
    this.cancelTimer?.();
    this.cancelTimer = null;
    this.heap = [];
    this.live.clear();
  }

  private arm(): void {
    this.dropStale();
    const top = this.heap[0];
    if (!top) {
      this.cancelTimer?.();
      this.cancelTimer = null;
      this.armedAt = null;
      return;
    }
    if (this.armedAt !== null && this.armedAt <= top.at) return;
    this.cancelTimer?.();
    this.armedAt = top.at;
    this.cancelTimer = this.clock.schedule(top.at, () => this.fire());
  }

  private fire(): void {
    this.armedAt = null;
    this.cancelTimer = null;
    const now = this.clock.now();
    const due: Entry[] = [];
    for (;;) {
      this.dropStale();
      const top = this.heap[0];
      if (!top || top.at > now) break;
      this.pop();
      this.live.delete(top.key);
      due.push(top);
    }
    for (const e of due) {
      try {
        const done = e.fn();
        if (done instanceof Promise) done.catch((err: unknown) => this.onError(e.key, err));
      } catch (err) {
        this.onError(e.key, err);
      }
    }
    if (!this.stopped) this.arm();
  }

  private dropStale(): void {
    for (;;) {
      const top = this.heap[0];
      if (!top || this.live.get(top.key) === top) return;
      this.pop();
    }
  }

  private push(e: Entry): void {
    const h = this.heap;
    h.push(e);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!less(h[i]!, h[p]!)) break;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
  }

  private pop(): void {
    const h = this.heap;
    const last = h.pop();
    if (!last || h.length === 0) return;
    h[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && less(h[l]!, h[m]!)) m = l;
      if (r < h.length && less(h[r]!, h[m]!)) m = r;
      if (m === i) return;
      [h[i], h[m]] = [h[m]!, h[i]!];
      i = m;
    }
  }
}

function less(a: Entry, b: Entry): boolean {
  return a.at < b.at || (a.at === b.at && a.version < b.version);
}
