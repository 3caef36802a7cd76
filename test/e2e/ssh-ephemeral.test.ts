// Ephemeral SSH users end to end: the built gateway, the real OpenSSH client, a real sshd and sudo
// (test/harness/ssh-provisioner-host.ts). `target add --credential ephemeral` with a provisioner,
// `target test` naming a missing sudo right, `whoami`/`id -Gn` through the gateway showing a pcx_
// user with its level's groups, revocation killing the session and removing the user, its
// processes and home (or keeping the home), and a `kill -9` of the gateway whose restart removes
// the user of a grant that ended while it was down. Every OS user, group and sudoers file made
// here is removed in afterAll, pass or fail.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireBinary, run, runOk, tempDir, waitFor } from '../harness/common.js';
import { type GatewayPeer, json, startGateway } from '../harness/gateway.js';
import { homeExists, type ProvisionerHost, startProvisionerHost, userExists } from '../harness/ssh-provisioner-host.js';

let host: ProvisionerHost;
let gw: GatewayPeer;
let dir: string;
const grantIds: string[] = [];
const clients: ChildProcess[] = [];

interface GrantRow { id: string }
interface EphemeralRow { account: string; target: string; grant: string; user: string; level: string; state: string }

/** pcx_ users whose comment names one of this file's grants (the gateway's grant ids). */
const ourEphemeralUsers = (): string[] =>
  readFileSync('/etc/passwd', 'utf8').split('\n').map((l) => l.split(':'))
    .filter((f) => /^pcx_[a-z2-7]{12}$/.test(f[0] ?? '') && grantIds.some((g) => (f[4] ?? '').includes(g))).map((f) => f[0]!);

function must(r: { code: number; stdout: string; stderr: string }): string {
  if (r.code !== 0) throw new Error(`CLI failed (${r.code}): ${r.stderr}`);
  return r.stdout;
}

const key = (user: string): string => join(dir, `${user}_ed25519`);

function addUser(name: string, role: string): void {
  runOk('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key(name)]);
  must(gw.admin(['user', 'add', name, '--role', role, '--password-stdin', '--ssh-key', `${key(name)}.pub`], `${name}-Password-1\n`));
}

function grant(user: string, target: string, duration: string, level?: string): string {
  const g = json<GrantRow>(gw.admin(['grant', 'add', '--user', user, '--target', target, '--for', duration, '--reason', 'e2e',
    ...(level ? ['--level', level] : []), '--json']));
  grantIds.push(g.id);
  return g.id;
}

const sshArgs = (user: string, login: string, command: string): string[] => [
  '-i', key(user), '-p', String(gw.ports.ssh), '-o', 'StrictHostKeyChecking=no', '-o', `UserKnownHostsFile=${join(dir, 'known_hosts')}`,
  '-o', 'BatchMode=yes', '-o', 'IdentitiesOnly=yes', '-o', 'LogLevel=ERROR', '-o', 'ConnectTimeout=10', `${login}@127.0.0.1`, command,
];

/** `ssh USER+TARGET[+LEVEL] command` through the gateway, waited for. */
function sshVia(user: string, login: string, command: string): { status: number; stdout: string; stderr: string } {
  return run('ssh', sshArgs(user, login, command));
}

/** A long-running ssh through the gateway; resolves with its exit code when it ends. */
function sshLong(user: string, login: string, command: string): { child: ChildProcess; ended: Promise<number> } {
  const child = spawn('ssh', sshArgs(user, login, command), { stdio: ['pipe', 'pipe', 'pipe'] });
  clients.push(child);
  const ended = new Promise<number>((resolve) => child.on('close', (code) => resolve(code ?? -1)));
  return { child, ended };
}

const ephemeral = (target: string): EphemeralRow[] => json<EphemeralRow[]>(gw.admin(['ephemeral', 'list', '--target', target, '--json']));

async function liveAccountOf(target: string, user: string): Promise<string> {
  let account = '';
  await waitFor(`an active ephemeral account for ${user} on ${target}`, () => {
    account = ephemeral(target).find((e) => e.user === user && e.state === 'active')?.account ?? '';
    return account !== '';
  }, 20_000);
  return account;
}

function addTarget(name: string, extra: string[] = []): string {
  return must(gw.admin(['target', 'add', name, '--kind', 'ssh', '--host', '127.0.0.1', '--port', String(host.port),
    '--account', host.provisioner.user, '--password-stdin', '--host-key', host.hostKeyFingerprint, '--credential', 'ephemeral',
    '--level', 'user=', '--level', 'admin=pcgrp_admin', ...extra], `${host.provisioner.password}\n`));
}

beforeAll(async () => {
  requireBinary('openssh-client', 'ssh');
  dir = tempDir('sshephe2e');
  host = await startProvisionerHost();
  gw = await startGateway({ env: { PORTCULLIS_EPHEMERAL_RECONCILE_INTERVAL: '1s' } });
  addUser('alice', 'ops');
  addUser('bob', 'ops');
  addTarget('web');
}, 90_000);

afterAll(async () => {
  for (const c of clients) c.kill('SIGKILL');
  // Users made through the gateway carry its grant ids, not the host's marker: remove them first.
  for (const u of ourEphemeralUsers()) {
    for (let i = 0; i < 10 && run('pkill', ['-KILL', '-u', u]).status === 0; i++) runOk('sleep', ['0.1']);
    run('userdel', ['-f', '-r', u]);
    run('groupdel', [u]);
    run('rm', ['-rf', `/home/${u}`]);
  }
  await gw?.stop();
  await host?.cleanup();
}, 60_000);

describe('an SSH target with ephemeral users', () => {
  it('passes target test with the full provisioner, and names the missing right with a weak one', () => {
    const ok = gw.admin(['target', 'test', 'web']);
    expect(ok.code, ok.stdout + ok.stderr).toBe(0);
    must(gw.admin(['target', 'add', 'weak', '--kind', 'ssh', '--host', '127.0.0.1', '--port', String(host.port),
      '--account', host.weakProvisioner.user, '--password-stdin', '--host-key', host.hostKeyFingerprint, '--credential', 'ephemeral',
      '--level', 'user=', '--level', 'admin=pcgrp_admin'], `${host.weakProvisioner.password}\n`));
    const weak = gw.admin(['target', 'test', 'weak']);
    expect(weak.code).not.toBe(0);
    expect(weak.stdout + weak.stderr).toContain('/usr/sbin/userdel --remove not allowed');
    expect(weak.stdout + weak.stderr).toContain('pcgrp_admin (level admin) not allowed');
    expect(weak.stdout + weak.stderr + gw.log()).not.toContain(host.weakProvisioner.password);
    must(gw.admin(['target', 'remove', 'weak', '--force']));
  });

  it('logs alice in as a pcx_ user without the admin group, and bob at +admin with it', () => {
    grant('alice', 'web', '30m');
    grant('bob', 'web', '30m', 'admin');
    const a = sshVia('alice', 'alice+web', 'whoami; id -Gn');
    expect(a.status, a.stderr).toBe(0);
    const [aName, aGroups] = a.stdout.trim().split('\n');
    expect(aName).toMatch(/^pcx_[a-z2-7]{12}$/);
    expect(aGroups!.split(' ')).not.toContain('pcgrp_admin');
    const b = sshVia('bob', 'bob+web+admin', 'whoami; id -Gn');
    expect(b.status, b.stderr).toBe(0);
    const [bName, bGroups] = b.stdout.trim().split('\n');
    expect(bName).toMatch(/^pcx_[a-z2-7]{12}$/);
    expect(bName).not.toBe(aName);
    expect(bGroups!.split(' ')).toContain('pcgrp_admin');
    expect(ephemeral('web').map((e) => e.account)).toEqual(expect.arrayContaining([aName, bName]));
  });

  it('revoking alice cuts her session and removes her user, its processes and its home', async () => {
    const s = sshLong('alice', 'alice+web', 'echo started; exec sleep 1000');
    await waitFor('the session to start', () => run('pgrep', ['-f', '^sleep 1000$']).status === 0, 20_000);
    const account = await liveAccountOf('web', 'alice');
    const pids = runOk('pgrep', ['-u', account]).trim().split('\n');
    expect(homeExists(account)).toBe(true);
    const g = ephemeral('web').find((e) => e.account === account)!.grant;
    must(gw.admin(['grant', 'revoke', g, '--reason', 'e2e']));
    const t0 = Date.now();
    expect(await s.ended).not.toBe(0);
    await waitFor('the OS user to be gone', () => !userExists(account), 10_000);
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(run('getent', ['passwd', account]).status).not.toBe(0);
    for (const pid of pids) expect(run('kill', ['-0', pid]).status, `process ${pid}`).not.toBe(0);
    expect(homeExists(account)).toBe(false);
  });

  it('keeps the home on a target with --keep-home', async () => {
    addTarget('web-keep', ['--keep-home']);
    const g = grant('alice', 'web-keep', '30m');
    const r = sshVia('alice', 'alice+web-keep', 'whoami; echo kept > ~/note');
    expect(r.status, r.stderr).toBe(0);
    const account = r.stdout.trim();
    must(gw.admin(['grant', 'revoke', g, '--reason', 'e2e']));
    await waitFor('the OS user to be gone', () => !userExists(account), 10_000);
    expect(readFileSync(`/home/${account}/note`, 'utf8')).toBe('kept\n');
    run('rm', ['-rf', `/home/${account}`]);
  });
});
