// A man in the middle cannot slip bytes in before the TLS handshake (CVE-2021-23222 style): bytes a
// PostgreSQL server sends after its 'S', or a MySQL server after its greeting, arrive unencrypted
// and would otherwise be read as if the verified server had said them. Both upstream legs refuse
// the connection instead, before TLS and before any login byte.
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { CAP } from '../../gateway/mysql/wire/capabilities.js';
import { encodeGreeting } from '../../gateway/mysql/wire/handshake.js';
import { packet } from '../../gateway/mysql/wire/packets.js';
import { connectMyUpstream } from '../../gateway/mysql/upstream.js';
import { connectPgUpstream } from '../../gateway/postgres/upstream.js';
import type { TargetRecord } from '../../gateway/store/records.js';
import { UpstreamFailure } from '../../gateway/session/upstream-failure.js';

let server: Server | null = null;
afterEach(async () => { if (server) await new Promise((r) => server!.close(r)); server = null; });

async function listen(onConn: (s: import('node:net').Socket, received: Buffer[]) => void): Promise<{ port: number; received: Buffer[] }> {
  const received: Buffer[] = [];
  server = createServer((s) => { s.on('data', (d: Buffer) => received.push(d)); s.on('error', () => undefined); onConn(s, received); });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  return { port: (server.address() as { port: number }).port, received };
}

const target = (kind: 'postgres' | 'mysql', port: number): TargetRecord => ({
  id: 'tgt_i', name: 'db-i', kind, host: '127.0.0.1', port, account: 'app', credentialKind: 'password', credentialSealed: 's',
  hostKey: null, database: null, tlsMode: 'verify-full', tlsCaPem: null, tlsFingerprint: 'sha256:' + 'a'.repeat(64), allowWeakUpstreamAuth: false, rsaKeyFingerprint: null, tags: [], credentialMode: 'static', levels: [{ name: 'default', grants: [] }], rotate: 'off', ephemeralReassignTo: null, ephemeralKeepHome: false, pendingCredentialSealed: null, rotatedAt: null, createdAt: 1,
});
const cred = (): { kind: 'password'; account: string; secret: Buffer; wipe(): void } => {
  const secret = Buffer.from('vaulted-secret-1');
  return { kind: 'password', account: 'app', secret, wipe: () => secret.fill(0) };
};

describe('bytes before the TLS handshake', () => {
  it('PostgreSQL: an answer of S plus injected bytes is refused', async () => {
    const srv = await listen((s) => { s.once('data', () => s.write(Buffer.concat([Buffer.from('S'), Buffer.from([0x52, 0, 0, 0, 8, 0, 0, 0, 0])]))); });
    const err = await connectPgUpstream(target('postgres', srv.port), cred(), {}).then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(UpstreamFailure);
    expect((err as Error).message).toBe('db-i sent unencrypted data after accepting TLS');
    // Only the SSLRequest was sent.
    expect(Buffer.concat(srv.received)).toEqual(Buffer.from([0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]));
  });

  it('PostgreSQL: a server that declines TLS gets nothing more', async () => {
    const srv = await listen((s) => { s.once('data', () => s.write('N')); });
    await expect(connectPgUpstream(target('postgres', srv.port), cred(), {})).rejects.toThrow(/does not accept TLS/);
    expect(Buffer.concat(srv.received).length).toBe(8);
  });

  it('MySQL: bytes queued behind the greeting are refused before the SSL request is answered', async () => {
    const caps = CAP.PROTOCOL_41 | CAP.SSL | CAP.SECURE_CONNECTION | CAP.PLUGIN_AUTH | CAP.LONG_PASSWORD;
    const greeting = packet(0, encodeGreeting({ serverVersion: '10.11.6-MariaDB', connectionId: 1, nonce: randomBytes(20), caps, extCaps: 0, charset: 45, status: 2, plugin: 'mysql_native_password' }));
    // A fake OK packet right behind the greeting, as an injector would send it.
    const srv = await listen((s) => { s.write(Buffer.concat([greeting, packet(2, Buffer.from([0, 0, 0, 2, 0, 0, 0]))])); });
    const err = await connectMyUpstream(target('mysql', srv.port), cred(), { caps, extCaps: 0, charset: 45, database: null }).then(() => null, (e: unknown) => e);
    // One write, so one segment on loopback; were it split, the late bytes would break the TLS handshake instead.
    expect((err as Error).message).toMatch(/^db-i sent unencrypted data before the TLS handshake$|TLS handshake/);
    await new Promise((r) => setTimeout(r, 100));
    // At most the 32-byte SSL request (no user name, no scramble) went out.
    const sent = Buffer.concat(srv.received);
    expect(sent.length).toBeLessThanOrEqual(36);
    expect(sent.includes('app')).toBe(false);
  });

  it('MySQL: a server that does not offer TLS gets nothing', async () => {
    const greeting = packet(0, encodeGreeting({ serverVersion: '10.11.6-MariaDB', connectionId: 1, nonce: randomBytes(20), caps: CAP.PROTOCOL_41 | CAP.SECURE_CONNECTION | CAP.PLUGIN_AUTH, extCaps: 0, charset: 45, status: 2, plugin: 'mysql_native_password' }));
    const srv = await listen((s) => { s.write(greeting); });
    await expect(connectMyUpstream(target('mysql', srv.port), cred(), { caps: CAP.PROTOCOL_41, extCaps: 0, charset: 45, database: null })).rejects.toThrow(/does not offer TLS/);
    await new Promise((r) => setTimeout(r, 100));
    expect(Buffer.concat(srv.received).length).toBe(0);
  });
});
