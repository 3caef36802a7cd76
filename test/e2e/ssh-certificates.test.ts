// SSH certificates from the sign-in, with real peers: `portcullis login` (the built CLI) leaves a
// key and a certificate, `portcullis ssh-config` a Host block, and plain OpenSSH `ssh -F` logs in
// through the gateway to a real sshd with no password. Refused: a tampered certificate, one of
// another CA (ssh-keygen -s), an expired one, another user's, and after logout, a password change
// and a disabled user (the sign-in the certificate came from has ended).
import { copyFileSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readCertificate, USER_CERT } from '../../gateway/ssh/certs/certificate.js';
import { readKeyLine, readPublicKeyLine } from '../../gateway/ssh/certs/ed25519.js';
import { SshUserCa, userCaPath } from '../../gateway/ssh/certs/user-ca.js';
import { requireBinary, run, runOk, tempDir } from '../harness/common.js';
import { json } from '../harness/gateway.js';
import { startSshFixture, type SshFixture } from '../harness/ssh-fixture.js';

let fx: SshFixture;
let dir: string;
const ssh = requireBinary('openssh-client', 'ssh');
const keygen = requireBinary('openssh-client', 'ssh-keygen');
const PW = { alice: 'alice-Password-1', bob: 'bob-Password-1' };

const home = (user: string): string => join(fx.gw.dataDir, '..', 'homes', user, 'ssh');

/** ssh -F with the Host block `user` got from ssh-config, certificate and key swapped when given. */
function sshVia(cfg: string, login: string, swap: { cert?: string; key?: string } = {}): { status: number; stdout: string; stderr: string } {
  let text = cfg;
  if (swap.cert) text = text.replace(/CertificateFile .*/, `CertificateFile ${swap.cert}`);
  if (swap.key) text = text.replace(/IdentityFile .*/, `IdentityFile ${swap.key}`);
  const file = join(dir, `cfg-${Math.random().toString(36).slice(2)}`);
  writeFileSync(file, text);
  return run(ssh, ['-F', file, '-o', 'BatchMode=yes', '-o', 'ConnectTimeout=10', `${login}@pc`, 'echo', 'via-cert-ok']);
}

function sshConfig(user: string): string {
  const r = fx.gw.as(user, ['ssh-config', '--alias', 'pc']);
  expect(r.code, r.stderr).toBe(0);
  return r.stdout;
}

beforeAll(async () => {
  fx = await startSshFixture();
  dir = tempDir('sshcert');
  for (const [u, pw] of Object.entries(PW)) {
    const r = fx.gw.admin(['user', 'add', u, '--role', 'ops', '--password-stdin'], `${pw}\n`);
    expect(r.code, r.stderr).toBe(0);
    fx.grant(u, 'web01', '30m');
  }
}, 120_000);

afterAll(async () => { await fx?.stop(); });

describe('SSH certificates from portcullis login', () => {
  let cfg: string;

  it('login leaves a key (0600) and a certificate for the user that ssh-keygen reads', () => {
    const r = fx.gw.login('alice', PW.alice);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/SSH certificate for alice valid until/);
    expect(statSync(join(home('alice'), 'id_ed25519')).mode & 0o777).toBe(0o600);
    const out = runOk(keygen, ['-L', '-f', join(home('alice'), 'id_ed25519-cert.pub')]);
    expect(out).toMatch(/user certificate/);
    expect(out).toMatch(/Principals:\s*\n\s*alice\n/);
    expect(out).toMatch(/Key ID: "portcullis:alice:tok_/);
    const audit = fx.gw.admin(['audit', 'list', '--json']).stdout;
    expect(audit).toContain('ssh_certificate.issued');
  });

  it('plain ssh logs in with the ssh-config block: certificate, no password, host key pinned', () => {
    cfg = sshConfig('alice');
    expect(cfg).toMatch(/^Host pc$/m);
    expect(cfg).toMatch(/StrictHostKeyChecking yes/);
    const r = sshVia(cfg, 'alice+web01');
    expect(r.stderr).not.toMatch(/Permanently added/);
    expect(r.stdout, r.stderr).toContain('via-cert-ok');
    expect(r.status).toBe(0);
  });

  it('refuses a tampered certificate (one byte of the CA signature flipped)', () => {
    const line = readFileSync(join(home('alice'), 'id_ed25519-cert.pub'), 'utf8');
    const { type, blob } = readKeyLine(line, 'cert');
    blob[blob.length - 5] = blob[blob.length - 5]! ^ 0x01;
    const bad = join(dir, 'tampered-cert.pub');
    writeFileSync(bad, `${type} ${blob.toString('base64')}\n`);
    const r = sshVia(cfg, 'alice+web01', { cert: bad });
    expect(r.stdout).not.toContain('via-cert-ok');
    expect(r.status).not.toBe(0);
  });

  it('refuses a certificate of another CA (ssh-keygen -s), even with our key id', () => {
    const real = readCertificate(readKeyLine(readFileSync(join(home('alice'), 'id_ed25519-cert.pub'), 'utf8'), 'cert').blob);
    runOk(keygen, ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'rogue_ca')]);
    copyFileSync(join(home('alice'), 'id_ed25519.pub'), join(dir, 'alice.pub'));
    run(keygen, ['-q', '-s', join(dir, 'rogue_ca'), '-I', real.keyId, '-n', 'alice', '-V', '-5m:+1h', join(dir, 'alice.pub')]);
    const r = sshVia(cfg, 'alice+web01', { cert: join(dir, 'alice-cert.pub') });
    expect(r.stdout).not.toContain('via-cert-ok');
    expect(r.status).not.toBe(0);
  });

  it('refuses an expired certificate of our CA (and accepts the same one still valid)', () => {
    const real = readCertificate(readKeyLine(readFileSync(join(home('alice'), 'id_ed25519-cert.pub'), 'utf8'), 'cert').blob);
    const ca = SshUserCa.load(userCaPath(fx.gw.dataDir));
    const pub = readPublicKeyLine(readFileSync(join(home('alice'), 'id_ed25519.pub'), 'utf8'));
    const now = BigInt(Math.floor(Date.now() / 1000));
    const make = (validBefore: bigint, name: string): string => {
      const { line } = ca.issue({ publicKey: pub, serial: 7n, type: USER_CERT, keyId: real.keyId, principals: ['alice'], validAfter: now - 3600n, validBefore, criticalOptions: [], extensions: real.extensions }, 'test');
      const p = join(dir, name);
      writeFileSync(p, line + '\n');
      return p;
    };
    const expired = sshVia(cfg, 'alice+web01', { cert: make(now - 5n, 'expired-cert.pub') });
    expect(expired.stdout).not.toContain('via-cert-ok');
    expect(expired.status).not.toBe(0);
    expect(sshVia(cfg, 'alice+web01', { cert: make(now + 600n, 'fresh-cert.pub') }).stdout).toContain('via-cert-ok');
  });

  it("refuses bob's certificate for a login as alice", () => {
    expect(fx.gw.login('bob', PW.bob).code).toBe(0);
    const r = sshVia(cfg, 'alice+web01', { cert: join(home('bob'), 'id_ed25519-cert.pub'), key: join(home('bob'), 'id_ed25519') });
    expect(r.stdout).not.toContain('via-cert-ok');
    expect(r.status).not.toBe(0);
    // bob's own works.
    expect(sshVia(sshConfig('bob'), 'bob+web01').stdout).toContain('via-cert-ok');
  });

  it('refuses the certificate once the sign-in ended: logout, password change, user disabled', () => {
    // logout: the token is revoked on the gateway, the files removed; a copy kept elsewhere is refused.
    copyFileSync(join(home('alice'), 'id_ed25519'), join(dir, 'kept_key'));
    copyFileSync(join(home('alice'), 'id_ed25519-cert.pub'), join(dir, 'kept_key-cert.pub'));
    const out = fx.gw.as('alice', ['logout']);
    expect(out.code, out.stderr).toBe(0);
    expect(() => statSync(join(home('alice'), 'id_ed25519'))).toThrow();
    const afterLogout = sshVia(cfg, 'alice+web01', { cert: join(dir, 'kept_key-cert.pub'), key: join(dir, 'kept_key') });
    expect(afterLogout.stdout).not.toContain('via-cert-ok');
    expect(afterLogout.status).not.toBe(0);

    // Password change: every token of bob ends, so the certificate from the old sign-in is refused.
    const bobCfg = sshConfig('bob');
    const pw = fx.gw.as('bob', ['passwd', '--password-stdin'], `${PW.bob}\nbob-Password-2\n`);
    expect(pw.code, pw.stderr).toBe(0);
    expect(sshVia(bobCfg, 'bob+web01').stdout).not.toContain('via-cert-ok');

    // A fresh sign-in works again; disabling bob ends it.
    expect(fx.gw.login('bob', 'bob-Password-2').code).toBe(0);
    expect(sshVia(bobCfg, 'bob+web01').stdout).toContain('via-cert-ok');
    expect(fx.gw.admin(['user', 'disable', 'bob']).code).toBe(0);
    const disabled = sshVia(bobCfg, 'bob+web01');
    expect(disabled.stdout).not.toContain('via-cert-ok');
    expect(disabled.status).not.toBe(0);
    const failures = json<Array<{ code: string; data: { method?: string; reason?: string } }>>(fx.gw.admin(['audit', 'list', '--json']))
      .filter((e) => e.code === 'auth.failed' && e.data.method === 'ssh-certificate').map((e) => e.data.reason);
    expect(failures).toEqual(expect.arrayContaining(['expired', 'wrong-principal', 'sign-in-ended', 'disabled']));
  });
});
