// The provisioner's query client (gateway/mysql/admin-query.ts) against a scripted server on
// loopback: OK, ERR, result sets split at every byte, and the answers a broken or hostile server
// gives (silence, garbage, oversized packets, a close mid-result); plus the SQL pieces of admin-sql.ts.
import { type AddressInfo, type Server, type Socket, connect, createServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { AdminQueryConnection, ServerError } from '../../gateway/mysql/admin-query.js';
import { account, atLeast, flavorOf, globalGrant, ident, literal, nativeHash } from '../../gateway/mysql/admin-sql.js';
import { ProvisionError } from '../../gateway/provision/provisioner.js';
import { errPacket, lenenc, packet } from '../../gateway/mysql/wire/packets.js';

const servers: Server[] = [];
afterEach(() => { for (const s of servers.splice(0)) s.close(); });

/** A server that answers each COM_QUERY with `answer(sql)`'s bytes (written one byte at a time when `dribble`). */
async function scripted(answer: (sql: string, peer: Socket) => Buffer | null, dribble = false): Promise<AdminQueryConnection> {
  const server = createServer((peer) => {
    peer.on('data', (d) => {
      const out = answer(d.subarray(5).toString('utf8'), peer);
      if (!out) return;
      if (!dribble) peer.write(out);
      else for (let i = 0; i < out.length; i++) peer.write(out.subarray(i, i + 1));
    });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const socket = connect((server.address() as AddressInfo).port, '127.0.0.1');
  await new Promise<void>((r) => socket.once('connect', r));
  return new AdminQueryConnection(socket, Buffer.alloc(0), 'fake-db', 500);
}

const str = (s: string): Buffer => Buffer.concat([lenenc(Buffer.byteLength(s)), Buffer.from(s)]);
const columnDef = (seq: number, name: string): Buffer => packet(seq, Buffer.concat([str('def'), str(''), str(''), str(''), str(name), str(name), Buffer.from([0x0c, 45, 0, 0, 0, 0, 0, 0xfd, 0, 0, 0, 0, 0])]));
const eof = (seq: number): Buffer => packet(seq, Buffer.from([0xfe, 0, 0, 2, 0]));
const ok = (affected: number): Buffer => packet(1, Buffer.from([0x00, affected, 0, 2, 0, 0, 0]));
function resultSet(columns: string[], rows: (string | null)[][]): Buffer {
  let seq = 1;
  const parts = [packet(seq++, lenenc(columns.length)), ...columns.map((c) => columnDef(seq++, c)), eof(seq++)];
  for (const r of rows) parts.push(packet(seq++, Buffer.concat(r.map((v) => (v === null ? Buffer.from([0xfb]) : str(v))))));
  parts.push(eof(seq));
  return Buffer.concat(parts);
}

describe('admin query client', () => {
  it('reads OK, ERR and result sets, split at every byte, and stays usable after a refusal', async () => {
    const conn = await scripted((sql) => (sql.startsWith('SELECT') ? resultSet(['User', 'Host'], [['root', 'localhost'], ['x', null]])
      : sql.startsWith('BAD') ? errPacket(1, 1064, '42000', 'You have an error') : ok(3)), true);
    expect(await conn.query('DROP USER x')).toEqual({ kind: 'ok', affected: 3 });
    const err = await conn.query('BAD').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ServerError);
    expect(err).toMatchObject({ code: 1064, sqlstate: '42000', message: 'You have an error' });
    expect(await conn.query('SELECT User, Host FROM mysql.user')).toEqual({ kind: 'rows', columns: ['User', 'Host'], rows: [['root', 'localhost'], ['x', null]] });
    await conn.close();
  });

  it('a silent server is given up on in time, and the connection is not reused', async () => {
    const conn = await scripted(() => null);
    await expect(conn.query('SELECT 1')).rejects.toThrow(new ProvisionError('unreachable', 'fake-db did not answer in time'));
    await expect(conn.query('SELECT 1')).rejects.toBeInstanceOf(ProvisionError);
  });

  it('garbage, an oversized packet, a LOCAL INFILE request and a close mid-result are ProvisionErrors, never a crash', async () => {
    const answers: Buffer[] = [
      packet(1, Buffer.from([0x00 + 0])).subarray(0, 3),
      Buffer.concat([Buffer.from([0xff, 0xff, 0x7f, 1]), Buffer.alloc(16)]),
      packet(1, Buffer.from([0xfb, 0x2f])),
      packet(1, lenenc(0)),
      resultSet(['a'], [['1']]).subarray(0, 30),
    ];
    for (const a of answers) {
      const conn = await scripted((_sql, peer) => { peer.end(a); return null; });
      const err = await conn.query('SELECT 1').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ProvisionError);
    }
  });
});

describe('admin SQL pieces', () => {
  it('quotes identifiers with backticks and literals for either backslash mode', () => {
    expect(ident("x`; DROP ROLE y; --")).toBe('`x``; DROP ROLE y; --`');
    expect(account('pcx_abc', '%')).toBe('`pcx_abc`@`%`');
    expect(account('r', '')).toBe('`r`@``');
    expect(() => ident('')).toThrow(RangeError);
    expect(() => ident('a\0b')).toThrow(RangeError);
    expect(literal("a'b\\c", false)).toBe("'a''b\\\\c'");
    expect(literal("a'b\\c", true)).toBe("'a''b\\c'");
    expect(() => literal('a\0', false)).toThrow(RangeError);
  });

  it('hashes like mysql_native_password and reads the flavor from the greeting', () => {
    expect(nativeHash(Buffer.from('provpw'))).toBe('*800A9B3E98C38C417E68F6B24582117CCE1C2DE7');
    expect(flavorOf('5.5.5-10.11.19-MariaDB-0+deb12u1')).toEqual({ mariadb: true, version: [10, 11], patch: 19 });
    expect(flavorOf('11.4.2-MariaDB')).toEqual({ mariadb: true, version: [11, 4], patch: 2 });
    expect(flavorOf('8.0.36')).toEqual({ mariadb: false, version: [8, 0], patch: 36 });
    expect(atLeast(flavorOf('8.0.20'), 8, 0, 21)).toBe(false);
    expect(atLeast(flavorOf('8.0.21'), 8, 0, 21)).toBe(true);
    expect(atLeast(flavorOf('8.4.0'), 8, 0, 21)).toBe(true);
    expect(atLeast(flavorOf('5.5.5-10.3.39-MariaDB'), 10, 4)).toBe(false);
  });

  it('reads global grants from SHOW GRANTS lines and nothing from role grants with look-alike names', () => {
    expect(globalGrant('GRANT ALL PRIVILEGES ON *.* TO `root`@`localhost` IDENTIFIED VIA unix_socket WITH GRANT OPTION')).toEqual({ privileges: ['ALL PRIVILEGES'], grantOption: true });
    expect(globalGrant('GRANT RELOAD, PROCESS ON *.* TO `u`@`%`')).toEqual({ privileges: ['RELOAD', 'PROCESS'], grantOption: false });
    expect(globalGrant("GRANT USAGE ON *.* TO `u`@`%` IDENTIFIED BY PASSWORD '*AB WITH GRANT OPTION'")).toEqual({ privileges: ['USAGE'], grantOption: false });
    expect(globalGrant('GRANT SELECT ON `shop`.* TO `u`@`%` WITH GRANT OPTION')).toBeNull();
    expect(globalGrant('GRANT `x ON *.* TO ` TO `u`@`%`')).toBeNull();
  });
});
