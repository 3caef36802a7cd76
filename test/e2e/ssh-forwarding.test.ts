// ssh -L through the gateway: allowed only where the policy says so, audited either way; -R refused.
import { createServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, requireBinary, startProc, waitFor } from '../harness/common.js';
import { type SshFixture, startSshFixture } from '../harness/ssh-fixture.js';

let fx: SshFixture;
let echo: Server;
let echoPort = 0;

beforeAll(async () => {
  fx = await startSshFixture();
  echo = createServer((s) => s.pipe(s));
  echoPort = await freePort();
  await new Promise<void>((r) => echo.listen(echoPort, '127.0.0.1', r));
  fx.gw.admin(['target', 'add', 'fwd-ok', '--kind', 'ssh', '--host', '127.0.0.1', '--port', String(fx.sshd.port), '--account', fx.sshd.user,
    '--password-stdin', '--host-key', fx.sshd.hostKeyFingerprint], `${fx.sshd.password}\n`);
  fx.gw.admin(['policy', 'add', 'fwd', '--roles', 'ops', '--targets', 'fwd-ok', '--approvals', '0', '--allow-port-forwarding']);
  fx.gw.admin(['policy', 'add', 'nofwd', '--roles', 'ops', '--targets', 'web01', '--approvals', '0']);
  fx.gw.login('ops', 'ops-Password-1');
  expect(fx.gw.as('ops', ['request', 'fwd-ok', '--for', '10m', '--reason', 'tunnel']).code).toBe(0);
  expect(fx.gw.as('ops', ['request', 'web01', '--for', '10m', '--reason', 'no tunnel']).code).toBe(0);
}, 120_000);

afterAll(async () => {
  await fx?.stop();
  echo?.close();
});

async function throughTunnel(target: string): Promise<string> {
  const ssh = requireBinary('openssh-client', 'ssh');
  const local = await freePort();
  const tunnel = startProc(ssh, ['-N', '-L', `127.0.0.1:${local}:127.0.0.1:${echoPort}`, ...fx.sshOpts(['-i', fx.opsKey, '-o', 'BatchMode=yes', '-o', 'ExitOnForwardFailure=yes']), `ops+${target}@127.0.0.1`]);
  try {
    const { connect } = await import('node:net');
    await waitFor('tunnel listening', () => new Promise<boolean>((res) => { const s = connect(local, '127.0.0.1'); s.on('connect', () => { s.destroy(); res(true); }); s.on('error', () => res(false)); }), 20_000, tunnel);
    return await new Promise<string>((resolve) => {
      const s = connect(local, '127.0.0.1');
      let got = '';
      s.on('data', (d: Buffer) => { got += d.toString(); if (got.length >= 5) s.end(); });
      s.on('close', () => resolve(got));
      s.on('error', () => resolve(got));
      s.write('hello');
      setTimeout(() => s.destroy(), 5000);
    });
  } finally {
    await tunnel.stop();
  }
}

describe('port forwarding', () => {
  it('forwards -L where the policy allows it, and audits host, port and bytes', async () => {
    expect(await throughTunnel('fwd-ok')).toBe('hello');
    // The forward's audit entry (with its byte counts) is booked when the gateway sees the channel close.
    const forwarded = new RegExp(`"code":"session.forward".*"allowed":true.*"bytesIn":5.*"port":${echoPort}`);
    await waitFor('the forward audited', () => forwarded.test(fx.gw.admin(['audit', 'export']).stdout), 10_000);
  });

  it('refuses -L where the policy does not allow it, and audits the attempt', async () => {
    expect(await throughTunnel('web01')).toBe('');
    expect(fx.gw.admin(['audit', 'export']).stdout).toMatch(/"code":"session.forward".*"allowed":false/);
  });
});
