// The SSH provisioner against a real OpenSSH sshd and the real sudo, logged in as an ordinary
// provisioner user whose sudoers file is exactly the documented lines: ephemeral users are created
// with the level's groups and a key that logs in directly, dropped with their processes and home,
// sudo refuses the provisioner anything else, checkProvisioner names what is missing, discovery
// finds accounts made behind the gateway's back, and rotation as the account itself retires the old
// password or key. Every OS user this file makes is removed in afterAll, pass or fail.
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { aTarget } from '../contract/store-fixtures.js';
import { type AdminSession, ephemeralAccountName, ProvisionError } from '../../gateway/provision/provisioner.js';
import type { UpstreamCredential } from '../../gateway/session/credentials.js';
import type { TargetRecord } from '../../gateway/store/records.js';
import { newHostKeyPair } from '../../gateway/ssh/host-key.js';
import { probeSshLogin } from '../../gateway/ssh/probe.js';
import { publicKeyLine, sshAdminLogin } from '../../gateway/ssh/provisioner.js';
import { execRemote } from '../../gateway/ssh/remote-exec.js';
import { connectUpstream } from '../../gateway/ssh/upstream.js';
import { homeExists, type ProvisionerHost, startProvisionerHost, userExists } from '../harness/ssh-provisioner-host.js';
import { run, runOk } from '../harness/common.js';

let host: ProvisionerHost;

beforeAll(async () => { host = await startProvisionerHost(); });
afterAll(async () => { await host?.cleanup(); });

const target = (account: string, kind: TargetRecord['credentialKind'] = 'password'): TargetRecord =>
  aTarget({ name: 'prov01', port: host.port, hostKey: host.hostKeyFingerprint, account, credentialKind: kind, credentialMode: 'ephemeral' });

const cred = (account: string, secret: string, kind: UpstreamCredential['kind'] = 'password'): UpstreamCredential & { buf: Buffer } => {
  const buf = Buffer.from(secret);
  return { kind, account, secret: buf, buf, wipe: () => buf.fill(0) };
};

async function withAdmin<T>(account: string, secret: string, kind: TargetRecord['credentialKind'], f: (s: AdminSession) => Promise<T>): Promise<T> {
  const c = cred(account, secret, kind);
  const s = await sshAdminLogin(target(account, kind), c);
  expect(c.buf.every((b) => b === 0), 'the credential is wiped once logged in').toBe(true);
  try { return await f(s); } finally { await s.close(); }
}
const asProvisioner = <T>(f: (s: AdminSession) => Promise<T>): Promise<T> => withAdmin(host.provisioner.user, host.provisioner.password, 'password', f);

/** The real OpenSSH client, directly to the host as `user` with `key`. */
function sshAs(user: string, key: string, command: string): { status: number; stdout: string; stderr: string } {
  const keyFile = join(host.dir, `key-${user}-${Math.random().toString(36).slice(2)}`);
  writeFileSync(keyFile, key, { mode: 0o600 });
  return run('ssh', ['-i', keyFile, '-p', String(host.port), '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null',
    '-o', 'BatchMode=yes', '-o', 'IdentitiesOnly=yes', '-o', 'LogLevel=ERROR', '-o', 'ConnectTimeout=10', `${user}@127.0.0.1`, command]);
}

const level = (name: string, grants: string[]): { name: string; grants: string[] } => ({ name, grants });
const login = (account: string, kind: TargetRecord['credentialKind'], secret: string): Promise<boolean> =>
  probeSshLogin(target(account, kind), { secret: Buffer.from(secret) }).then((r) => r.ok);

describe('ephemeral SSH users', () => {
  it('creates a user with the level groups whose key logs in directly, and drops it with its processes and home', async () => {
    const account = ephemeralAccountName();
    const created = await asProvisioner((s) => s.createAccount({ account, level: level('admin', ['pcgrp_user', 'pcgrp_admin']), validUntil: Date.now() + 3_600_000, grantId: host.grantId(1) }));
    expect(created.kind).toBe('private-key');
    const key = created.secret.toString();
    expect(key).toMatch(/BEGIN OPENSSH PRIVATE KEY/);
    const who = sshAs(account, key, 'whoami; id -Gn; stat -c %a:%U ~/.ssh ~/.ssh/authorized_keys; wc -l < ~/.ssh/authorized_keys');
    expect(who.status, who.stderr).toBe(0);
    const [name, groups, dirMode, fileMode, lines] = who.stdout.trim().split('\n');
    expect(name).toBe(account);
    expect(groups!.split(' ')).toEqual(expect.arrayContaining([account, 'pcgrp_user', 'pcgrp_admin']));
    expect(dirMode).toBe(`700:${account}`);
    expect(fileMode).toBe(`600:${account}`);
    expect(lines!.trim()).toBe('1');
    // No password can match ('*'); the account carries its grant and an expiry as a backstop.
    expect(runOk('getent', ['shadow', account]).split(':')[1]).toBe('*');
    expect(runOk('getent', ['passwd', account])).toContain(`portcullis-ephemeral grant ${host.grantId(1)}`);
    expect(runOk('chage', ['-l', account])).not.toMatch(/Account expires\s*:\s*never/);

    // A process left running by the user (detached from the ssh session).
    const bg = sshAs(account, key, 'setsid sleep 600 </dev/null >/dev/null 2>&1 & echo started');
    expect(bg.stdout).toContain('started');
    const pids = runOk('pgrep', ['-u', account]).trim().split('\n');
    expect(pids.length).toBeGreaterThan(0);
    await asProvisioner((s) => s.dropAccount(account, { reassignTo: null, keepHome: false }));
    for (const pid of pids) expect(existsSync(`/proc/${pid}`), `process ${pid} of ${account}`).toBe(false);
    expect(userExists(account)).toBe(false);
    expect(homeExists(account)).toBe(false);
    expect(sshAs(account, key, 'true').status).not.toBe(0);
    // Idempotent when absent.
    await asProvisioner((s) => s.dropAccount(account, { reassignTo: null, keepHome: false }));
  });

  it('keeps the home with keepHome, recreates a leftover user of the same name, and refuses a missing group or a non-ephemeral name', async () => {
    const account = ephemeralAccountName();
    await asProvisioner(async (s) => {
      const first = await s.createAccount({ account, level: level('user', []), validUntil: Date.now() + 60_000, grantId: host.grantId(2) });
      // The same name again (a crash after creating it): the old user and its key are gone.
      const second = await s.createAccount({ account, level: level('user', ['pcgrp_user']), validUntil: Date.now() + 60_000, grantId: host.grantId(2) });
      expect(sshAs(account, first.secret.toString(), 'true').status).not.toBe(0);
      expect(sshAs(account, second.secret.toString(), 'id -Gn').stdout).toContain('pcgrp_user');
      await s.dropAccount(account, { reassignTo: null, keepHome: true });
      expect(userExists(account)).toBe(false);
      expect(homeExists(account)).toBe(true);
      const err = await s.createAccount({ account: ephemeralAccountName(), level: level('x', ['pcgrp_nosuch']), validUntil: Date.now() + 60_000, grantId: host.grantId(3) }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ProvisionError);
      expect((err as ProvisionError).message).toContain('group pcgrp_nosuch');
      const refused = await s.dropAccount(host.passwordAccount.user, { reassignTo: null, keepHome: false }).catch((e: unknown) => e);
      expect((refused as ProvisionError).kind).toBe('refused');
      expect(userExists(host.passwordAccount.user)).toBe(true);
    });
    runOk('rm', ['-rf', `/home/${account}`]);
  });

  it('sudo refuses the provisioner what the lines do not allow', () => {
    const p = host.provisioner.user;
    const victim = ephemeralAccountName();
    const tries: string[][] = [
      ['/usr/sbin/useradd', '-o', '-u', '0', victim],
      ['/usr/sbin/useradd', '--create-home', '--shell', '/bin/bash', '--password', '*', '--comment', 'portcullis-ephemeral grant x', '--groups', 'sudo', victim],
      ['/usr/sbin/useradd', '--create-home', '--shell', '/bin/bash', '--password', 'x', '--comment', 'portcullis-ephemeral grant x', victim],
      ['/usr/sbin/useradd', '--create-home', '--shell', '/bin/sh', '--password', '*', '--comment', 'portcullis-ephemeral grant x', victim],
      ['/usr/sbin/useradd', '--create-home', '--shell', '/bin/bash', '--password', '*', '--comment', 'portcullis-ephemeral grant x', '-o', '-u', '0', victim],
      ['/usr/sbin/userdel', '--remove', host.passwordAccount.user],
      ['/usr/bin/pkill', '-KILL', '-u', 'root'],
      ['/usr/bin/install', '-m', '0600', '-o', victim, '-g', victim, '/dev/stdin', '/root/.ssh/authorized_keys'],
      ['/usr/bin/cat', '/etc/shadow'],
      ['/usr/bin/cat', '/etc/sudoers', '/etc/sudoers.d/../shadow'],
    ];
    for (const argv of tries) {
      const r = host.runAs(p, ['sudo', '-n', ...argv]);
      expect(r.status, argv.join(' ')).not.toBe(0);
      expect(r.stderr, argv.join(' ')).toMatch(/not allowed|password is required/);
    }
    expect(userExists(victim)).toBe(false);
    expect(userExists(host.passwordAccount.user)).toBe(true);
    // What it is allowed shows in `sudo -l`, exactly the lines.
    expect(host.runAs(p, ['sudo', '-n', '-l']).stdout).toContain('/usr/sbin/useradd ^--create-home');
  });

  it('checkProvisioner names a missing sudo right and a missing group; nothing for the full provisioner', async () => {
    const levels = [level('user', ['pcgrp_user']), level('admin', ['pcgrp_admin']), level('odd', ['pcgrp_nosuch'])];
    const weak = await withAdmin(host.weakProvisioner.user, host.weakProvisioner.password, 'password', (s) => s.checkProvisioner(levels));
    expect(weak).toContain('sudo: /usr/sbin/useradd --groups pcgrp_admin (level admin) not allowed');
    expect(weak).toContain('sudo: /usr/sbin/userdel --remove not allowed');
    expect(weak).toContain('group pcgrp_nosuch (level odd) does not exist');
    expect(weak.some((w) => w.includes('level user'))).toBe(false);
    const full = await asProvisioner((s) => s.checkProvisioner(levels.slice(0, 2)));
    expect(full).toEqual([]);
  });

  it('discover finds a uid-0 user and a sudo-group member made behind its back, and the provisioner\'s own sudo rule', async () => {
    const suffix = host.provisioner.user.slice(5);
    const zero = `pcz0_${suffix}`;
    const sudoer = `pcsg_${suffix}`;
    host.addForeignUser(zero, ['-o', '-u', '0', '-g', '0', '-M', '-d', '/nonexistent', '-s', '/usr/sbin/nologin']);
    host.addForeignUser(sudoer, ['-M', '-G', 'sudo', '-s', '/bin/bash']);
    const found = await asProvisioner((s) => s.discover());
    const of = (a: string): string[] => found.find((f) => f.account === a)?.privileges ?? [];
    expect(of(zero)).toContain('uid-0');
    expect(of('root')).toContain('uid-0');
    expect(of(sudoer)).toContain('sudo-group:sudo');
    expect(of(host.provisioner.user)).toEqual(expect.arrayContaining(['sudo', 'password']));
    expect(of(host.keyAccount.user)).toContain('authorized-keys');
    expect(of(host.passwordAccount.user)).toContain('password');
  });
});

describe('commands on the target', () => {
  it('are bounded in time and output, and a closed session fails cleanly', async () => {
    const client = await connectUpstream(target(host.provisioner.user), cred(host.provisioner.user, host.provisioner.password));
    try {
      await expect(execRemote(client, ['sleep', '20'], { timeoutMs: 500 })).rejects.toThrow(/did not finish in time/);
      await expect(execRemote(client, ['head', '-c', '3000000', '/dev/zero'], { maxStdout: 1_000_000 })).rejects.toThrow(/more than 1000000 bytes/);
      const r = await execRemote(client, ['cat'], { stdin: Buffer.from("it's $HOME `id`") });
      expect(r).toEqual({ code: 0, stdout: "it's $HOME `id`", stderr: '' });
      const quoted = await execRemote(client, ['printf', '%s|', "a'b", '$(id)', '; true']);
      expect(quoted.stdout).toBe("a'b|$(id)|; true|");
    } finally {
      client.end();
    }
    await new Promise((r) => setTimeout(r, 200));
    await expect(execRemote(client, ['true'])).rejects.toThrow(ProvisionError);
  });
});

describe('rotation as the account itself', () => {
  it('a password account: passwd in a pty; the old password no longer logs in', async () => {
    const { user, password } = host.passwordAccount;
    // A new password PAM refuses (the same one): passwd's words, at once, and the old one still works.
    const t0 = Date.now();
    const refused = await withAdmin(user, password, 'password', (s) => s.setOwnSecret(Buffer.from(password))).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ProvisionError);
    expect((refused as Error).message).not.toContain(password);
    expect(Date.now() - t0).toBeLessThan(15_000);
    expect(await login(user, 'password', password)).toBe(true);
    const next = Buffer.from(`Rot-${Math.random().toString(36).slice(2)}-${Date.now().toString(36)}-Zq9`);
    const nextText = next.toString();
    await withAdmin(user, password, 'password', (s) => s.setOwnSecret(next));
    expect(await login(user, 'password', password)).toBe(false);
    expect(await login(user, 'password', nextText)).toBe(true);
    // Nothing of either password in a process list while it ran is checked by construction (stdin only);
    // the sudo/auth log is not involved: passwd ran as the account.
    host.passwordAccount.password = nextText;
  });

  it('a key account: the new key is added, and after retireOldKey the old one stops working', async () => {
    const { user, privateKey } = host.keyAccount;
    const next = newHostKeyPair();
    await withAdmin(user, privateKey, 'private-key', (s) => s.setOwnSecret(Buffer.from(next.private)));
    expect(await login(user, 'private-key', privateKey)).toBe(true);
    expect(await login(user, 'private-key', next.private)).toBe(true);
    const keep = publicKeyLine(Buffer.from(next.private));
    await withAdmin(user, next.private, 'private-key', async (s) => {
      // Refuses to retire everything when the key to keep is not installed.
      const other = newHostKeyPair();
      await expect(s.retireOldKey!(other.public)).rejects.toThrow(/not among/);
      await s.retireOldKey!(keep);
    });
    expect(await login(user, 'private-key', privateKey)).toBe(false);
    expect(await login(user, 'private-key', next.private)).toBe(true);
    expect(runOk('stat', ['-c', '%a', `/home/${user}/.ssh/authorized_keys`]).trim()).toBe('600');
    expect(runOk('cat', [`/home/${user}/.ssh/authorized_keys`]).trim().split('\n')).toHaveLength(1);
  });
});

