// Queries and transactions of the PostgreSQL store over one pg.Pool.
// A transaction checks out one client and binds it with AsyncLocalStorage (TxContext), so every store call made
// inside fn (however deep in awaits) runs on it; a nested transaction joins; calls from anywhere
// else (and stragglers of a transaction that has ended) use the pool.
// Serializability: every transaction first takes pg_advisory_xact_lock(TX_LOCK), one constant for
// the whole database, so transactions on every node run one after the other. Simple and correct,
// and the Store contract asks for it ("never fail for running at the same time": callers have no
// retry logic, so SERIALIZABLE with its serialization failures is not an option). The price is no
// parallelism between transactions, which are short and never span network I/O to a peer.
// Within this process, transactions also queue FIFO before checking out a client: they would wait
// for the lock anyway, this keeps them from holding idle pool clients meanwhile and keeps audit
// appends in call order.
import pg from 'pg';
import { TxContext } from '../tx-context.js';
import { isUnavailable, storeError } from './errors.js';

/** The advisory lock every transaction takes (any constant other than the migration lock's). */
const TX_LOCK = 0x70637801;
const IDLE_IN_TX_TIMEOUT_MS = 30_000;

type Params = readonly unknown[];
export type Row = Record<string, unknown>;

interface Tx {
  readonly client: pg.PoolClient;
  /** Set once fn has settled: later calls carrying this context run outside it. */
  done: boolean;
  /** Savepoint-wrapped writes of this transaction run one at a time (they share one client). */
  writes: Promise<void>;
}

// BIGINT (int8) and its aggregates (COUNT) arrive as strings by default: every one of ours is an
// epoch-ms time, a counter or an id well inside 2^53, so read them as numbers.
const INT8_OID = 20;
const parseInt8 = (v: string): number => Number(v);
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    (oid === INT8_OID && format !== 'binary' ? parseInt8 : pg.types.getTypeParser(oid, format ?? 'text')) as unknown) as typeof pg.types.getTypeParser,
};

export interface PgTransactionsOptions {
  poolSize: number;
  connectTimeoutMs: number;
  queryTimeoutMs: number;
  onError?: ((err: Error) => void) | undefined;
}

export class PgTransactions {
  readonly pool: pg.Pool;
  private readonly ctx = new TxContext<Tx>();
  private tail: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(readonly url: string, readonly server: string, opts: PgTransactionsOptions) {
    this.pool = new pg.Pool({
      connectionString: url, max: opts.poolSize, connectionTimeoutMillis: opts.connectTimeoutMs, types,
      application_name: 'portcullis', idleTimeoutMillis: 30_000,
      // TCP keepalive notices a server gone without a word (a partition) sooner than the OS default.
      keepAlive: true, keepAliveInitialDelayMillis: 10_000,
      // Every transaction holds the cluster-wide lock: a node that vanishes mid-transaction (power
      // loss, partition: no RST) must not hold it for the hours TCP takes to notice. The server ends
      // such a session after this long idle in its transaction, rolling it back and freeing the
      // lock. Transactions never wait on peers, so a live one is never idle that long.
      idle_in_transaction_session_timeout: IDLE_IN_TX_TIMEOUT_MS,
      // A server gone silent (a partition) would hold a call for as long as TCP takes to give up:
      // minutes. Past this the call rejects as unavailable and its client is discarded. Generous,
      // since a transaction's first statement may queue for the lock behind other nodes'.
      query_timeout: opts.queryTimeoutMs,
    });
    // An idle client whose connection drops (server restart) emits here; without a listener the
    // process would crash. The pool discards that client and connects a new one when asked.
    this.pool.on('error', (err) => opts.onError?.(err));
  }

  /** Runs one statement: on the caller's transaction client, or on any pooled client. */
  async query(sql: string, params: Params = [], subject?: string): Promise<pg.QueryResult<Row>> {
    const tx = this.current();
    try {
      if (tx) return await tx.client.query<Row>(sql, params as unknown[]);
      return await this.pool.query<Row>(sql, params as unknown[]);
    } catch (err) {
      throw storeError(err, this.server, subject);
    }
  }

  /**
   * Runs a write that may break a uniqueness rule. Inside a transaction it runs under a savepoint,
   * so a conflict fails that one statement (as in SQLite) and fn may go on; PostgreSQL would
   * otherwise abort the whole transaction.
   */
  async write(sql: string, params: Params, subject?: string): Promise<pg.QueryResult<Row>> {
    const tx = this.current();
    if (!tx) return this.query(sql, params, subject);
    const run = tx.writes.then(async () => {
      await this.query('SAVEPOINT pcx_stmt');
      try {
        const r = await this.query(sql, params, subject);
        await this.query('RELEASE SAVEPOINT pcx_stmt');
        return r;
      } catch (err) {
        await tx.client.query('ROLLBACK TO SAVEPOINT pcx_stmt').catch(() => undefined);
        throw err;
      }
    });
    tx.writes = run.then(() => undefined, () => undefined);
    return run;
  }

  /** BEGIN, the advisory lock, fn, COMMIT; ROLLBACK when fn or COMMIT fails. Nested calls join. */
  transaction<T>(fn: () => Promise<T>): Promise<T> {
    if (this.current()) return (async () => fn())();
    return this.queued(() => this.runTransaction(fn));
  }

  /** Waits for every transaction queued in this process, then ends the pool. */
  async close(): Promise<void> {
    await this.queued(() => Promise.resolve());
    if (this.closed) return;
    this.closed = true;
    await this.pool.end();
  }

  private async runTransaction<T>(fn: () => Promise<T>): Promise<T> {
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (err) {
      throw storeError(err, this.server);
    }
    const tx: Tx = { client, done: false, writes: Promise.resolve() };
    let broken: Error | undefined;
    // The pool listens for errors only on idle clients. A checked-out client whose connection
    // drops between queries (fn awaiting something else) emits 'error': without this listener the
    // process would crash. Its next query rejects, and the client is discarded on release.
    const onError = (err: Error): void => { broken = err; };
    client.on('error', onError);
    try {
      await client.query('BEGIN');
      await client.query('SELECT pg_advisory_xact_lock($1)', [TX_LOCK]);
    } catch (err) {
      client.removeListener('error', onError);
      client.release(err instanceof Error ? err : true);
      throw storeError(err, this.server);
    }
    try {
      const result = await this.ctx.run(tx, fn);
      tx.done = true;
      try {
        await client.query('COMMIT');
      } catch (err) {
        throw storeError(err, this.server);
      }
      return result;
    } catch (err) {
      tx.done = true;
      if (broken === undefined && isUnavailable(err)) broken = err instanceof Error ? err : new Error(String(err));
      // A lost or silent connection: the server rolls back by itself (a silent one after the idle
      // timeout); a ROLLBACK would only queue behind the stuck query. Do not reuse the client.
      if (broken === undefined) {
        try {
          await client.query('ROLLBACK');
        } catch (rollbackErr) {
          broken = rollbackErr instanceof Error ? rollbackErr : new Error(String(rollbackErr));
        }
      }
      // fn's own error is what the caller sees (the contract: "rejects with the same error").
      throw err;
    } finally {
      client.removeListener('error', onError);
      client.release(broken ?? undefined);
    }
  }

  private current(): Tx | undefined {
    const tx = this.ctx.current();
    return tx && !tx.done ? tx : undefined;
  }

  /** FIFO: fn starts once everything queued before it has settled. */
  private queued<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.tail.then(fn);
    this.tail = run.then(() => undefined, () => undefined);
    return run;
  }
}
