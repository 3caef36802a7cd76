// Async transactions over one synchronous better-sqlite3 connection. SQLite has one connection
// here, so a transaction is a property of the connection, not of the caller: while one is open,
// any other statement on the connection would silently become part of it (and be rolled back with
// it). So transactions run one at a time behind a FIFO async mutex, the running one is tracked
// with AsyncLocalStorage (TxContext), and a call is let through only when it belongs to the running
// transaction or none is running; everything else waits its turn.
// It does not: retry on SQLITE_BUSY from another process (busy_timeout does that), or nest with
// savepoints (a nested transaction joins the outer one, per the Store contract).
import { TxContext } from '../tx-context.js';

/** The part of a better-sqlite3 Database this needs. */
export interface TxConnection {
  exec(sql: string): unknown;
  readonly inTransaction: boolean;
}

interface Tx { readonly id: number }

export class SerialTransactions {
  private readonly ctx = new TxContext<Tx>();
  /** The transaction that holds the connection right now (its fn has not settled yet). */
  private active: Tx | null = null;
  private busy = false;
  private readonly waiters: Array<() => void> = [];
  private nextId = 1;

  constructor(private readonly db: TxConnection) {}

  /**
   * Runs synchronous statements: at once when called from the running transaction or when none
   * is running (one statement is atomic by itself), otherwise after the running transaction ends.
   */
  run<T>(fn: () => T): Promise<T> {
    if (this.inRunningTransaction() || !this.busy) return settle(fn);
    return this.exclusive(() => settle(fn));
  }

  /** BEGIN IMMEDIATE, await fn, COMMIT; ROLLBACK when fn (or COMMIT) throws. Nested calls join. */
  transaction<T>(fn: () => Promise<T>): Promise<T> {
    if (this.inRunningTransaction()) return settle(fn).then((p) => p);
    return this.exclusive(async () => {
      const tx: Tx = { id: this.nextId++ };
      // IMMEDIATE takes the write lock now: another process (the CLI's `audit verify`, `init`)
      // makes us wait here (busy_timeout), never fail at COMMIT after the work is done.
      this.db.exec('BEGIN IMMEDIATE');
      this.active = tx;
      try {
        const result = await this.ctx.run(tx, fn);
        this.active = null;
        this.db.exec('COMMIT');
        return result;
      } catch (err) {
        this.active = null;
        if (this.db.inTransaction) this.db.exec('ROLLBACK');
        throw err;
      }
    });
  }

  /** Waits for the running transaction and everyone queued before, then runs fn alone. */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const start = async (): Promise<T> => {
      try {
        return await fn();
      } finally {
        // Hand the connection straight to the next waiter so nothing slips in between.
        const next = this.waiters.shift();
        if (next) next();
        else this.busy = false;
      }
    };
    if (!this.busy) {
      this.busy = true;
      return start();
    }
    return new Promise<void>((resolve) => this.waiters.push(resolve)).then(start);
  }

  private inRunningTransaction(): boolean {
    const tx = this.ctx.current();
    // A task forked inside a transaction that outlives it carries the old context: it must wait.
    return tx !== undefined && tx === this.active;
  }
}

function settle<T>(fn: () => T): Promise<T> {
  try {
    return Promise.resolve(fn());
  } catch (err) {
    return Promise.reject(err instanceof Error ? err : new Error(String(err)));
  }
}
