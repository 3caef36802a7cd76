// Which transaction the running code belongs to, switched on only while a transaction is open.
// On Node 20 an enabled AsyncLocalStorage installs async hooks that run on every promise, timer
// and socket write in the whole process (about a tenth of a relay's CPU in the profiles), and once
// run() has been called it stays enabled for good. Transactions are short and rare next to relay
// traffic, so the hooks are on only while one is open and off again when the last one settles.
// Code that outlives its transaction keeps that transaction's context (or none, if it was created
// while the hooks were off): the stores already treat both as "outside any transaction".
import { AsyncLocalStorage } from 'node:async_hooks';

export class TxContext<T> {
  private readonly als = new AsyncLocalStorage<T>();
  private open = 0;

  /** Runs fn with tx as the context of everything it starts, and waits for it. */
  async run<R>(tx: T, fn: () => Promise<R>): Promise<R> {
    this.open++;
    try {
      return await this.als.run(tx, fn);
    } finally {
      if (--this.open === 0) this.als.disable();
    }
  }

  /** The transaction the caller runs in, if one is open. */
  current(): T | undefined {
    return this.open === 0 ? undefined : this.als.getStore();
  }
}
