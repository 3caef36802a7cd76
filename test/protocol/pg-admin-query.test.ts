// The provisioner's simple-query client (postgres/admin-query.ts) against an in-process server on
// loopback that answers with scripted bytes: a reply cut at every byte gives the same rows; an
// ErrorResponse fails that query with the server's SQLSTATE and words and leaves the connection
// usable; too many rows, an oversized message, an unknown message, a silent server or a FATAL
// while idle close the connection and fail what follows; queries sent together wait their turn.
import { connect, createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AdminConnectionLost, AdminQueryRefused, type AdminQueryLimits, DEFAULT_ADMIN_LIMITS, PgAdminConnection } from '../../gateway/postgres/admin-query.js';

const int16 = (n: number): Buffer => { const b = Buffer.alloc(2); b.writeInt16BE(n); return b; };
const int32 = (n: number): Buffer => { const b = Buffer.alloc(4); b.writeInt32BE(n); return b; };
const cstr = (s: string): Buffer => Buffer.from(s + '\0');
const msg = (type: string, ...body: Buffer[]): Buffer => { const b = Buffer.concat(body); return Buffer.concat([Buffer.from(type), int32(b.length + 4), b]); };
const rowDesc = (...cols: string[]): Buffer => msg('T', int16(cols.length), ...cols.flatMap((c) => [cstr(c), Buffer.alloc(18)]));
const dataRow = (...vals: Array<string | null>): Buffer => msg('D', int16(vals.length), ...vals.flatMap((v) => (v === null ? [int32(-1)] : [int32(Buffer.byteLength(v)), Buffer.from(v)])));
const complete = (tag: string): Buffer => msg('C', cstr(tag));
const ready = msg('Z', Buffer.from('I'));
const error = (severity: string, code: string, text: string, detail?: string): Buffer =>
  msg('E', cstr('S' + severity), cstr('C' + code), cstr('M' + text), ...(detail ? [cstr('D' + detail)] : []), Buffer.from([0]));

let server: Server;
let port = 0;
/** What the server does with the next connection: writes a reply per Query it receives. */
let script: (s: Socket, query: string, n: number) => void = () => {};
/** What the server does as soon as a connection opens, before any Query. */
let greet: ((s: Socket) => void) | null = null;

beforeAll(async () => {
  server = createServer((s) => {
    const mine = script;
    let n = 0;
    let buf = Buffer.alloc(0);
    s.on('error', () => {});
    greet?.(s);
    s.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 5 && buf.length >= 1 + buf.readInt32BE(1)) {
        const len = buf.readInt32BE(1);
        if (buf[0] === 0x51 /* Q */) mine(s, buf.toString('utf8', 5, len), n++);
        buf = buf.subarray(1 + len);
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const a = server.address();
  port = typeof a === 'object' && a ? a.port : 0;
});
afterAll(() => { server.close(); });

async function open(limits: Partial<AdminQueryLimits> = {}, rest: Buffer = Buffer.alloc(0)): Promise<{ conn: PgAdminConnection; socket: Socket }> {
  const socket = connect({ host: '127.0.0.1', port });
  await new Promise<void>((r) => socket.once('connect', () => r()));
  return { conn: new PgAdminConnection(socket, rest, 'fake-db', { ...DEFAULT_ADMIN_LIMITS, ...limits }), socket };
}

const REPLY = Buffer.concat([msg('N', cstr('SNOTICE'), cstr('Mhello'), Buffer.from([0])), rowDesc('rolname', 'rolsuper'), dataRow('postgres', 't'), dataRow('prov', null), complete('SELECT 2'), ready]);

describe('PostgreSQL admin query client', () => {
  it('collects the same rows wherever the reply is cut', async () => {
    for (let cut = 0; cut <= REPLY.length; cut++) {
      script = (s) => { s.write(REPLY.subarray(0, cut)); setTimeout(() => s.write(REPLY.subarray(cut)), 1); };
      const { conn } = await open();
      expect(await conn.query('SELECT rolname, rolsuper FROM pg_roles')).toEqual({
        columns: ['rolname', 'rolsuper'], rows: [['postgres', 't'], ['prov', null]], commands: ['SELECT 2'],
      });
      await conn.close();
    }
  });

  it('reads a reply that arrived with the login (bytes after its ReadyForQuery) before waiting for more', async () => {
    script = (s) => s.write(Buffer.concat([complete('SELECT 0'), ready]));
    const { conn } = await open({}, msg('S', cstr('application_name'), cstr('x')));
    expect((await conn.query('SELECT 1')).commands).toEqual(['SELECT 0']);
    await conn.close();
  });

  it('fails a refused statement with the server\'s SQLSTATE, message and detail, and stays usable', async () => {
    script = (s, _q, n) => s.write(n === 0 ? Buffer.concat([error('ERROR', '2BP01', 'role "x" cannot be dropped', '1 object in database other'), ready]) : Buffer.concat([complete('DROP ROLE'), ready]));
    const { conn } = await open();
    const err = await conn.query('DROP ROLE x').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AdminQueryRefused);
    expect(err).toMatchObject({ sqlstate: '2BP01', message: 'role "x" cannot be dropped', detail: '1 object in database other' });
    expect((await conn.query('DROP ROLE x')).commands).toEqual(['DROP ROLE']);
    await conn.close();
  });

  it('answers queries sent together in order, one at a time', async () => {
    const seen: string[] = [];
    script = (s, q) => { seen.push(q); setTimeout(() => s.write(Buffer.concat([rowDesc('q'), dataRow(q), complete('SELECT 1'), ready])), 5); };
    const { conn } = await open();
    const [a, b] = await Promise.all([conn.query('first'), conn.query('second')]);
    expect([a.rows, b.rows, seen]).toEqual([[['first']], [['second']], ['first', 'second']]);
    await conn.close();
  });

  it('closes the connection on more rows than allowed, and fails what follows', async () => {
    script = (s) => s.write(Buffer.concat([rowDesc('n'), ...Array.from({ length: 5 }, (_, i) => dataRow(String(i))), complete('SELECT 5'), ready]));
    const { conn, socket } = await open({ maxRows: 4 });
    await expect(conn.query('SELECT n')).rejects.toMatchObject({ why: 'protocol', message: 'fake-db returned more than 4 rows' });
    expect(socket.destroyed).toBe(true);
    await expect(conn.query('SELECT 1')).rejects.toBeInstanceOf(AdminConnectionLost);
  });

  it('closes the connection on a message over the size limit, before reading it', async () => {
    script = (s) => s.write(Buffer.concat([Buffer.from('D'), int32(10_000_000)]));
    const { conn } = await open({ maxMessageBytes: 64 * 1024 });
    await expect(conn.query('SELECT big')).rejects.toMatchObject({ why: 'protocol' });
  });

  it('closes the connection on a message a query never gets', async () => {
    script = (s) => s.write(msg('W', int16(0)));
    const { conn } = await open();
    await expect(conn.query('SELECT 1')).rejects.toMatchObject({ why: 'protocol', message: 'fake-db sent a malformed reply (unexpected message W)' });
  });

  it('gives up on a server that does not answer in time', async () => {
    script = () => {};
    const { conn, socket } = await open({ timeoutMs: 200 });
    const t0 = Date.now();
    await expect(conn.query('SELECT pg_sleep(60)')).rejects.toMatchObject({ why: 'timeout', message: 'fake-db did not answer in 200 ms' });
    expect(Date.now() - t0).toBeLessThan(2_000);
    expect(socket.destroyed).toBe(true);
  });

  it('fails the next query with the server\'s words after a FATAL while idle, and when the server closes during a query', async () => {
    greet = (s) => s.end(error('FATAL', '57P01', 'terminating connection due to administrator command'));
    const { conn } = await open();
    await new Promise((r) => setTimeout(r, 100));
    greet = null;
    await expect(conn.query('SELECT 1')).rejects.toMatchObject({ why: 'closed', message: 'fake-db ended the connection: terminating connection due to administrator command' });
    script = (s) => s.destroy();
    const second = await open();
    await expect(second.conn.query('SELECT 1')).rejects.toMatchObject({ why: 'closed', message: 'fake-db closed the connection' });
  });
});
