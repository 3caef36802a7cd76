// Store notifications on PostgreSQL LISTEN/NOTIFY, one channel for the whole cluster.
// publish goes through the pool (pg_notify with bound parameters: the payload is never SQL).
// Each listen holds a dedicated client, not one from the pool: LISTEN belongs to a session, and a
// pooled client would be handed to other queries. When that connection drops, listen reports
// onState(false), reconnects with backoff (at most MAX_BACKOFF_MS between tries) and reports
// onState(true) once listening again, the moment for users to reconcile what they missed.
// Anyone who can connect to the database can NOTIFY on this channel: payloads are hints, never
// authority, and carry no secrets (the cluster bus validates them and rereads the store).
import pg from 'pg';
import { PortcullisError } from '../../util/errors.js';
import type { StoreNotifications } from '../store.js';
import { storeError } from './errors.js';
import type { PgTransactions } from './transactions.js';

export const CHANNEL = 'portcullis';
export const MAX_PAYLOAD = 7000;
const MAX_BACKOFF_MS = 2000;

export interface PgNotifications extends StoreNotifications {
  /** Stops every listener (store close). */
  closeAll(): Promise<void>;
}

export function pgNotifications(tx: PgTransactions, connectTimeoutMs: number): PgNotifications {
  const listeners = new Set<Listener>();
  return {
    publish: async (payload) => {
      if (Buffer.byteLength(payload) > MAX_PAYLOAD) {
        throw new PortcullisError('payload-too-large', `notification payload over ${MAX_PAYLOAD} bytes`);
      }
      // On the pool, never in the caller's transaction: PostgreSQL would hold the message until
      // COMMIT and drop it on ROLLBACK, while SQLite's delivers at once. Same semantics on both.
      try {
        await tx.pool.query('SELECT pg_notify($1, $2)', [CHANNEL, payload]);
      } catch (err) {
        throw storeError(err, tx.server);
      }
    },
    listen: async (fn, onState) => {
      const l = new Listener(tx, connectTimeoutMs, fn, onState);
      await l.start();
      listeners.add(l);
      return async () => {
        listeners.delete(l);
        await l.stop();
      };
    },
    closeAll: async () => {
      const all = [...listeners];
      listeners.clear();
      await Promise.all(all.map((l) => l.stop()));
    },
  };
}

class Listener {
  private client: pg.Client | null = null;
  private stopped = false;
  private listening = false;
  private retry: NodeJS.Timeout | null = null;
  private attempt = 0;

  constructor(
    private readonly tx: PgTransactions,
    private readonly connectTimeoutMs: number,
    private readonly fn: (payload: string) => void,
    private readonly onState?: (listening: boolean) => void,
  ) {}

  /** The first connection: its failure rejects listen() itself. */
  async start(): Promise<void> {
    try {
      await this.connect();
    } catch (err) {
      throw storeError(err, this.tx.server);
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.retry) clearTimeout(this.retry);
    this.retry = null;
    const c = this.client;
    this.client = null;
    if (c) await c.end().catch(() => undefined);
  }

  private async connect(): Promise<void> {
    const c = new pg.Client({ connectionString: this.tx.url, connectionTimeoutMillis: this.connectTimeoutMs, keepAlive: true });
    // Without an 'error' listener a dropped connection would crash the process.
    c.on('error', () => this.lost(c));
    c.on('end', () => this.lost(c));
    c.on('notification', (m) => {
      if (this.stopped || m.channel !== CHANNEL || m.payload === undefined) return;
      try {
        this.fn(m.payload);
      } catch {
        // A listener's bug must not take the connection (and everyone's messages) down with it.
      }
    });
    try {
      await c.connect();
      await c.query(`LISTEN ${CHANNEL}`);
    } catch (err) {
      await c.end().catch(() => undefined);
      throw err;
    }
    if (this.stopped) {
      await c.end().catch(() => undefined);
      return;
    }
    this.client = c;
    this.attempt = 0;
    this.listening = true;
    this.onState?.(true);
  }

  private lost(c: pg.Client): void {
    if (this.stopped || this.client !== c) return;
    this.client = null;
    c.end().catch(() => undefined);
    if (this.listening) {
      this.listening = false;
      this.onState?.(false);
    }
    this.schedule();
  }

  private schedule(): void {
    if (this.stopped || this.retry) return;
    const delay = Math.min(MAX_BACKOFF_MS, 100 * 2 ** this.attempt++);
    this.retry = setTimeout(() => {
      this.retry = null;
      this.connect().catch(() => this.schedule());
    }, delay);
    this.retry.unref();
  }
}
