// Hostile and broken clients on the SSH port: each loses only its own connection, a live session
// keeps working throughout, and the gateway keeps serving.
import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SshFixture, startSshFixture } from '../harness/ssh-fixture.js';

let fx: SshFixture;

beforeAll(async () => {
  fx = await startSshFixture({ PORTCULLIS_SSH_AUTH_TIMEOUT: '3s' });
  fx.grant('ops', 'web01', '30m');
}, 120_000);

afterAll(async () => { await fx?.stop(); });

/** Opens a connection, sends bytes, and resolves with how long the server took to close it. */
function sendAndWaitClose(bytes: Buffer | null, timeoutMs = 15_000): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const s = connect(fx.gw.ports.ssh, '127.0.0.1');
    s.on('error', () => {});
    s.on('connect', () => { if (bytes) s.write(bytes); });
    s.on('data', () => {});
    s.on('close', () => { clearTimeout(timer); resolve(Date.now() - t0); });
    const timer = setTimeout(() => { s.destroy(); reject(new Error('server never closed the connection')); }, timeoutMs);
  });
}

const packet = (len: number, body: Buffer): Buffer => {
  const h = Buffer.alloc(4);
  h.writeUInt32BE(len);
  return Buffer.concat([h, body]);
};

describe('bad input on the SSH port', () => {
  it('closes only the offending connections while a live session keeps working', async () => {
    const live = fx.ssh('ops+web01', ['for i in 1 2 3 4 5 6; do echo alive $i; sleep 1; done']);
    await new Promise((r) => setTimeout(r, 800));
    const closes = await Promise.all([
      sendAndWaitClose(randomBytes(64 * 1024)),
      sendAndWaitClose(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n')),
      sendAndWaitClose(Buffer.concat([Buffer.from('SSH-2.0-evil\r\n'), packet(0x7fffffff, randomBytes(64))])),
      sendAndWaitClose(Buffer.concat([Buffer.from('SSH-2.0-evil\r\n'), packet(12, Buffer.from([5, 20]))])),
      sendAndWaitClose(Buffer.from('SSH-2.0-' + 'x'.repeat(100_000))),
      // Says hello, then never finishes: the auth timeout closes it.
      sendAndWaitClose(Buffer.from('SSH-2.0-slow\r\n')),
    ]);
    expect(closes).toHaveLength(6);
    const r = await live;
    expect(r.status).toBe(0);
    expect(r.stdout.toString()).toMatch(/alive 6/);
    expect(fx.gw.log()).toMatch(/"msg":"ssh.client_error"/);
  }, 60_000);

  it('survives 1,000 half-open connections: they are bounded and timed out, and new logins work after', async () => {
    const live = fx.ssh('ops+web01', ['sleep 4; echo still-here']);
    const sockets: Socket[] = [];
    for (let i = 0; i < 1000; i++) {
      const s = connect(fx.gw.ports.ssh, '127.0.0.1');
      s.on('error', () => {});
      // Read (and drop) the server's ident, or its FIN is never seen behind the unread bytes.
      s.resume();
      sockets.push(s);
    }
    const closed = (): number => sockets.filter((s) => s.destroyed || s.closed).length;
    // Beyond the pre-auth bound they are dropped at once; the rest go at the auth timeout.
    const end = Date.now() + 15_000;
    while (closed() < 1000 && Date.now() < end) await new Promise((r) => setTimeout(r, 200));
    expect(closed()).toBe(1000);
    expect((await live).stdout.toString()).toBe('still-here\n');
    expect((await fx.ssh('ops+web01', ['echo fresh'])).stdout.toString()).toBe('fresh\n');
    expect(fx.gw.log()).toMatch(/"msg":"ssh.preauth_limit"/);
    expect(fx.gw.log()).toMatch(/"msg":"ssh.auth_timeout"/);
  }, 60_000);
});
