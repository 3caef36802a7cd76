// A bounded pool with a FIFO queue: at most `concurrency` jobs run at once, the rest wait in order,
// and the queue itself is bounded (a job past `maxQueued` is refused, and the caller decides what
// that means). Stopping takes no new job, lets the running ones finish (up to a deadline) and
// hands back the ones that never started, so their owner can keep them for later. It knows nothing
// about what a job does; a job that throws is reported and frees its slot like any other.

export interface WorkPoolHooks<T> {
  failed(job: T, err: unknown): void;
}

export class WorkPool<T> {
  private readonly queue: T[] = [];
  private running = 0;
  private stopping = false;
  private idleWaiters: Array<() => void> = [];

  constructor(
    private readonly concurrency: number,
    private readonly maxQueued: number,
    private readonly run: (job: T) => Promise<void>,
    private readonly hooks: WorkPoolHooks<T>,
  ) {
    if (!(concurrency >= 1)) throw new Error('a work pool needs at least one slot');
  }

  /** Jobs waiting for a slot. */
  get depth(): number {
    return this.queue.length;
  }

  /** Jobs running now (never more than the concurrency). */
  get active(): number {
    return this.running;
  }

  /** Queues a job; false when the pool is stopping or its queue is full (the job was not taken). */
  add(job: T): boolean {
    if (this.stopping || this.queue.length >= this.maxQueued) return false;
    this.queue.push(job);
    this.pump();
    return true;
  }

  /** Resolves once nothing runs and nothing waits. */
  idle(): Promise<void> {
    if (this.running === 0 && this.queue.length === 0) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  /**
   * Takes no more jobs and starts no queued one; resolves with the jobs that never started once
   * the running ones are done, or at `deadline` (a promise the caller resolves) if that is sooner.
   */
  async stop(deadline: Promise<void>): Promise<T[]> {
    this.stopping = true;
    const left = this.queue.splice(0);
    const drained = this.running === 0 ? Promise.resolve() : new Promise<void>((r) => this.idleWaiters.push(r));
    await Promise.race([drained, deadline]);
    return left;
  }

  private pump(): void {
    while (!this.stopping && this.running < this.concurrency && this.queue.length > 0) {
      const job = this.queue.shift()!;
      this.running++;
      void this.runOne(job);
    }
    if (this.running === 0 && (this.queue.length === 0 || this.stopping)) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
  }

  private async runOne(job: T): Promise<void> {
    try {
      await this.run(job);
    } catch (err) {
      this.hooks.failed(job, err);
    } finally {
      this.running--;
      this.pump();
    }
  }
}
