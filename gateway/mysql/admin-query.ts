// A small text-protocol client for the provisioner's own connection to a MySQL/MariaDB target,
// over a socket that connectMyUpstream already logged in: one COM_QUERY at a time, its answer read
// whole (OK, ERR, or a text result set: column count, column definitions, EOF, rows, EOF). Bounded:
// per packet, per result (rows and bytes) and per query (a deadline that closes the connection).
// It runs only statements the provisioner builds; it never relays a client's bytes. It does not
// decide anything: provisioner.ts says what to run and what an error means.
import type { Socket } from 'node:net';
import { ProvisionError } from '../provision/provisioner.js';
import { MyPacketReader, MyReader, packet, parseErr } from './wire/packets.js';

const COM_QUERY = 0x03;
const COM_QUIT = 0x01;
/** Administrative answers are small; a larger packet or result is a confused or hostile peer. */
const MAX_PACKET = 1024 * 1024;
const MAX_RESULT_BYTES = 16 * 1024 * 1024;
const MAX_ROWS = 100_000;

export type QueryResult =
  | { kind: 'ok'; affected: number }
  | { kind: 'rows'; columns: string[]; rows: (string | null)[][] };

/** The rows of a result; none for an OK. */
export function rowsOf(r: QueryResult): (string | null)[][] {
  return r.kind === 'rows' ? r.rows : [];
}

/** The server's refusal of one statement: its code and message (the statements here carry no secret in clear). */
export class ServerError extends Error {
  constructor(readonly code: number, readonly sqlstate: string, message: string) {
    super(message);
    this.name = 'ServerError';
  }
}

export class AdminQueryConnection {
  private readonly reader: MyPacketReader;
  private readonly queue: Buffer[] = [];
  private queued = 0;
  private waiter: (() => void) | null = null;
  private failure: Error | null = null;
  private busy = false;

  constructor(private readonly socket: Socket, rest: Buffer, private readonly targetName: string, private readonly timeoutMs: number) {
    this.reader = new MyPacketReader((p) => {
      this.queue.push(p.head);
      this.queued += p.head.length;
      if (this.queued > MAX_RESULT_BYTES) this.fail(new ProvisionError('protocol', `${targetName} sent an oversized answer`));
      this.waiter?.();
    }, MAX_PACKET, MAX_PACKET);
    socket.on('data', this.onData);
    socket.once('close', () => this.fail(new ProvisionError('unreachable', `${targetName} closed the administrative connection`)));
    socket.on('error', () => this.fail(new ProvisionError('unreachable', `${targetName}: administrative connection failed`)));
    if (rest.length) this.onData(rest);
  }

  private readonly onData = (d: Buffer): void => {
    try {
      this.reader.push(d);
    } catch {
      this.fail(new ProvisionError('protocol', `${this.targetName} sent a malformed packet`));
    }
  };

  private fail(err: Error): void {
    if (this.failure) return;
    this.failure = err;
    this.socket.destroy();
    this.waiter?.();
  }

  private async next(): Promise<Buffer> {
    for (;;) {
      const p = this.queue.shift();
      if (p) {
        this.queued -= p.length;
        return p;
      }
      if (this.failure) throw this.failure;
      await new Promise<void>((r) => { this.waiter = r; });
      this.waiter = null;
    }
  }

  /** Runs one statement. A refusal throws ServerError; a dead, slow or confused peer throws ProvisionError (and the connection is closed). */
  async query(sql: string): Promise<QueryResult> {
    if (this.busy) throw new Error('AdminQueryConnection runs one query at a time');
    if (this.failure) throw this.failure;
    this.busy = true;
    const timer = setTimeout(() => this.fail(new ProvisionError('unreachable', `${this.targetName} did not answer in time`)), this.timeoutMs);
    try {
      this.socket.write(packet(0, Buffer.concat([Buffer.from([COM_QUERY]), Buffer.from(sql, 'utf8')])));
      return await this.readAnswer();
    } catch (e) {
      // A refusal ends its answer; anything else leaves the stream mid-answer: the connection goes.
      if (e instanceof ServerError) throw e;
      this.fail(e instanceof ProvisionError ? e : new ProvisionError('protocol', `${this.targetName} sent an answer that could not be read`));
      throw this.failure ?? e;
    } finally {
      clearTimeout(timer);
      this.busy = false;
    }
  }

  private async readAnswer(): Promise<QueryResult> {
    const first = await this.next();
    const kind = first[0];
    if (kind === 0x00) {
      const r = new MyReader(first);
      r.u8();
      return { kind: 'ok', affected: r.lenenc() ?? 0 };
    }
    if (kind === 0xff) {
      const e = parseErr(first);
      throw new ServerError(e.code, e.sqlstate, e.message);
    }
    if (kind === 0xfb) throw new ProvisionError('protocol', `${this.targetName} asked for a local file`);
    const count = new MyReader(first).lenenc() ?? 0;
    if (count < 1 || count > 4096) throw new ProvisionError('protocol', `${this.targetName} sent a result with ${count} columns`);
    const columns: string[] = [];
    for (let i = 0; i < count; i++) columns.push(columnName(await this.next()));
    // No DEPRECATE_EOF on this connection (connectMyUpstream never asks for it): an EOF follows the definitions.
    const eof = await this.next();
    if (eof[0] !== 0xfe) throw new ProvisionError('protocol', `${this.targetName}: no EOF after the column definitions`);
    const rows: (string | null)[][] = [];
    let bytes = 0;
    for (;;) {
      const p = await this.next();
      bytes += p.length;
      if (bytes > MAX_RESULT_BYTES) throw new ProvisionError('protocol', `${this.targetName} sent an oversized result`);
      if (p[0] === 0xfe && p.length < 9) break;
      if (p[0] === 0xff) {
        const e = parseErr(p);
        throw new ServerError(e.code, e.sqlstate, e.message);
      }
      if (rows.length >= MAX_ROWS) throw new ProvisionError('protocol', `${this.targetName} sent more than ${MAX_ROWS} rows`);
      const r = new MyReader(p);
      const row: (string | null)[] = [];
      for (let i = 0; i < count; i++) row.push(r.lenencBytes()?.toString('utf8') ?? null);
      rows.push(row);
    }
    return { kind: 'rows', columns, rows };
  }

  /** COM_QUIT and close; never throws. */
  close(): Promise<void> {
    if (this.failure || this.socket.destroyed) return Promise.resolve();
    return new Promise((resolve) => {
      const t = setTimeout(() => { this.socket.destroy(); resolve(); }, 2_000);
      this.socket.once('close', () => { clearTimeout(t); resolve(); });
      this.socket.end(packet(0, Buffer.from([COM_QUIT])));
    });
  }
}

/** ColumnDefinition41: catalog, schema, table, org_table, name, ... — the name is the fifth field. */
function columnName(p: Buffer): string {
  const r = new MyReader(p);
  for (let i = 0; i < 4; i++) r.lenencBytes();
  return r.lenencBytes()?.toString('utf8') ?? '';
}
