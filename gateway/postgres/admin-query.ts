// A small simple-query client over an upstream leg the gateway logged in itself (upstream.ts):
// the provisioner's connection to a PostgreSQL target. One Query at a time; RowDescription, DataRow,
// CommandComplete and ErrorResponse are collected until ReadyForQuery. Every reply is bounded (one
// message, the rows of a query, the time to answer); past a bound the connection is closed and the
// query fails. Text only: it never sees user data, only SQL the provisioner built with sql-text.ts.
// Does not decide what to send, nor translate errors for the admin (provisioner.ts does).
import type { Socket } from 'node:net';
import { serialize } from 'pg-protocol';
import { type PgMessage, PgFrameReader, PgProtocolError, PgReader } from './wire/frames.js';
import { parseErrorFields } from './wire/server-messages.js';

export interface AdminQueryLimits {
  /** Largest single message accepted from the server. */
  maxMessageBytes: number;
  /** Most rows one query may return. */
  maxRows: number;
  /** Time the server has to answer one query (ReadyForQuery), ms. */
  timeoutMs: number;
}

// The answer wait is longer than the provisioner's statement_timeout (30 s, set at login), so a slow
// statement normally ends with the server's own error, and the connection survives it.
export const DEFAULT_ADMIN_LIMITS: AdminQueryLimits = { maxMessageBytes: 1024 * 1024, maxRows: 100_000, timeoutMs: 35_000 };

/** Rows as text (null for SQL NULL), columns by name; of the last statement that returned rows. */
export interface AdminResult {
  columns: string[];
  rows: Array<Array<string | null>>;
  /** CommandComplete tags of every statement, in order ("CREATE ROLE", "SELECT 1"). */
  commands: string[];
}

/** The server refused a statement: its SQLSTATE, message and detail (the server's own words). */
export class AdminQueryRefused extends Error {
  constructor(readonly sqlstate: string, message: string, readonly detail: string | null) {
    super(message);
  }
}

/** The connection failed, timed out or broke the protocol; it is closed and every later query fails too. */
export class AdminConnectionLost extends Error {
  constructor(readonly why: 'closed' | 'timeout' | 'protocol', message: string) {
    super(message);
  }
}

interface Pending {
  resolve(r: AdminResult): void;
  reject(e: Error): void;
  result: AdminResult;
  error: AdminQueryRefused | null;
  timer: NodeJS.Timeout;
}

const TERMINATE = Buffer.from([0x58, 0, 0, 0, 4]);

export class PgAdminConnection {
  private readonly reader: PgFrameReader;
  private pending: Pending | null = null;
  /** Queries wait their turn here: the protocol answers one Query at a time. */
  private queue: Promise<unknown> = Promise.resolve();
  private lost: AdminConnectionLost | null = null;

  constructor(
    private readonly socket: Socket,
    /** Bytes that arrived after the login's ReadyForQuery. */
    rest: Buffer,
    private readonly name: string,
    private readonly limits: AdminQueryLimits = DEFAULT_ADMIN_LIMITS,
  ) {
    // headMax = maxMessage: bodies are kept whole (DataRow too), each bounded by maxMessage.
    this.reader = new PgFrameReader((m) => this.onMessage(m), limits.maxMessageBytes, limits.maxMessageBytes);
    socket.on('data', (chunk: Buffer) => this.push(chunk));
    socket.on('error', () => this.fail(new AdminConnectionLost('closed', `connection to ${name} failed`)));
    socket.on('close', () => this.fail(new AdminConnectionLost('closed', `${name} closed the connection`)));
    if (rest.length > 0) this.push(rest);
  }

  /** Sends one simple Query (one or more statements, run by the server as one implicit transaction). */
  query(sql: string): Promise<AdminResult> {
    const run = this.queue.then(() => this.send(sql));
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Terminate, then close; never rejects. */
  close(): Promise<void> {
    return new Promise((resolve) => {
      if (this.socket.destroyed) return resolve();
      const t = setTimeout(() => this.socket.destroy(), 2_000);
      this.socket.once('close', () => { clearTimeout(t); resolve(); });
      this.socket.end(TERMINATE);
    });
  }

  private send(sql: string): Promise<AdminResult> {
    if (this.lost) return Promise.reject(this.lost);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => this.fail(new AdminConnectionLost('timeout', `${this.name} did not answer in ${this.limits.timeoutMs} ms`)), this.limits.timeoutMs);
      this.pending = { resolve, reject, timer, error: null, result: { columns: [], rows: [], commands: [] } };
      this.socket.write(serialize.query(sql));
    });
  }

  private push(chunk: Buffer): void {
    if (this.lost) return;
    try {
      this.reader.push(chunk);
    } catch (e) {
      this.fail(e instanceof AdminConnectionLost ? e : new AdminConnectionLost('protocol', `${this.name} sent a malformed reply${e instanceof PgProtocolError ? ` (${e.message})` : ''}`));
    }
  }

  private fail(e: AdminConnectionLost): void {
    if (this.lost) return;
    this.lost = e;
    this.socket.destroy();
    const p = this.pending;
    this.pending = null;
    if (p) {
      clearTimeout(p.timer);
      p.reject(e);
    }
  }

  private onMessage(m: PgMessage): void {
    const p = this.pending;
    const r = new PgReader(m.head);
    switch (m.type) {
      // Asynchronous: may come at any time, answer nothing.
      case 'N': case 'S': case 'A': return;
      case 'E': {
        const f = parseErrorFields(m.head);
        // A FATAL outside a query (the server is shutting down, an admin ended us) arrives before the close.
        if (!p) throw new AdminConnectionLost('closed', `${this.name} ended the connection: ${f.M ?? 'no reason given'}`);
        p.error ??= new AdminQueryRefused(f.C ?? 'XX000', f.M ?? 'error without a message', f.D ?? null);
        return;
      }
      case 'Z': {
        if (!p) throw new PgProtocolError('ReadyForQuery without a query');
        this.pending = null;
        clearTimeout(p.timer);
        if (p.error) p.reject(p.error);
        else p.resolve(p.result);
        return;
      }
      case 'T': case 'D': case 'C': case 'I': break;
      default: throw new PgProtocolError(`unexpected message ${m.type}`);
    }
    if (!p) throw new PgProtocolError(`message ${m.type} without a query`);
    switch (m.type) {
      case 'T': {
        const n = r.int16();
        const columns: string[] = [];
        for (let i = 0; i < n; i++) {
          columns.push(r.cstring());
          r.bytes(18); // table OID, column number, type OID, size, modifier, format
        }
        p.result.columns = columns;
        p.result.rows = [];
        return;
      }
      case 'D': {
        if (p.result.rows.length >= this.limits.maxRows) throw new AdminConnectionLost('protocol', `${this.name} returned more than ${this.limits.maxRows} rows`);
        const n = r.int16();
        const row: Array<string | null> = [];
        for (let i = 0; i < n; i++) {
          const len = r.int32();
          row.push(len < 0 ? null : r.bytes(len).toString('utf8'));
        }
        p.result.rows.push(row);
        return;
      }
      case 'C': p.result.commands.push(r.cstring()); return;
      default: return; // 'I': EmptyQueryResponse
    }
  }
}
