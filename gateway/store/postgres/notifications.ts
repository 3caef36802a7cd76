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

export interface ListenerTiming {
  connectTimeoutMs: number;
  /**
   * How often a listening connection is checked with a query, which must answer within the same
   * time. An idle LISTEN connection to a server that vanished without a word (a partition) looks
   * fine to TCP for a long time while messages (a revoke on another node) are silently lost; this
   * finds it out and reports onState(false) so users fall back to the store.
   */
  pingMs: number;
}

export interface PgNotifications extends StoreNotifications {
  /** Stops every listener (store close). */
  closeAll(): Promise<void>;
}

export function pgNotifications(tx: PgTransactions, timing: ListenerTiming): PgNotifications {
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
      const l = new Listener(tx, timing, fn, onState);
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
  private ping: NodeJS.Timeout | null = null;
  private attempt = 0;

  constructor(
    private readonly tx: PgTransactions,
    private readonly timing: ListenerTiming,
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
    this.stopPing();
    const c = this.client;
    this.client = null;
    if (!c) return;
    // A clean goodbye when the server answers; a server that does not must not hang close().
    const ended = c.end().catch(() => undefined);
    const gaveUp = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 1_000).unref());
    if ((await Promise.race([ended, gaveUp])) === 'timeout') destroy(c);
  }

  private async connect(): Promise<void> {
    const c = new pg.Client({
      connectionString: this.tx.url, connectionTimeoutMillis: this.timing.connectTimeoutMs, application_name: 'portcullis-listen',
      keepAlive: true, keepAliveInitialDelayMillis: 10_000,
    });
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
    this.startPing(c);
    this.onState?.(true);
  }

  private startPing(c: pg.Client): void {
    this.stopPing();
    this.ping = setInterval(() => {
      const timeout = new Promise<never>((_, reject) => {
        const t = setTimeout(() => reject(new Error('no answer')), this.timing.pingMs);
        t.unref();
      });
      Promise.race([c.query('SELECT 1'), timeout]).catch(() => this.lost(c));
    }, this.timing.pingMs);
    this.ping.unref();
  }

  private stopPing(): void {
    if (this.ping) clearInterval(this.ping);
    this.ping = null;
  }

  private lost(c: pg.Client): void {
    if (this.stopped || this.client !== c) return;
    this.client = null;
    this.stopPing();
    // end() on a connection that hangs would wait forever: drop the socket instead.
    destroy(c);
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

/** Drops a client's socket at once (end() waits for the server, which may never answer). */
function destroy(c: pg.Client): void {
  const conn = (c as unknown as { connection?: { stream?: { destroy?: () => void } } }).connection;
  conn?.stream?.destroy?.();
  c.end().catch(() => undefined);
}
