// Ephemeral SSH users end to end: the built gateway, the real OpenSSH client, a real sshd and sudo
// (test/harness/ssh-provisioner-host.ts). `target add --credential ephemeral` with a provisioner,
// `target test` naming a missing sudo right, `whoami`/`id -Gn` through the gateway showing a pcx_
// user with its level's groups, revocation killing the session and removing the user, its
// processes and home (or keeping the home), and no secret in `ps` while a user is provisioned nor
// in the gateway's log. (A crash of the gateway: ssh-ephemeral-crash.test.ts; rotation and
// discovery: ssh-rotation-discovery.test.ts.) Every OS user, group and sudoers file made here is
// removed in afterAll, pass or fail.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run, runOk, waitFor } from '../harness/common.js';
import { type EphemeralSshWorld, must, startEphemeralSshWorld } from '../harness/ssh-ephemeral-gw.js';
import { homeExists, userExists } from '../harness/ssh-provisioner-host.js';

let w: EphemeralSshWorld;

beforeAll(async () => {
  w = await startEphemeralSshWorld();
  w.addUser('alice');
  w.addUser('bob');
  w.addEphemeralTarget('web');
}, 90_000);

afterAll(async () => { await w?.cleanup(); }, 60_000);

describe('an SSH target with ephemeral users', () => {
  it('passes target test with the full provisioner, and names the missing right with a weak one', () => {
    const ok = w.gw.admin(['target', 'test', 'web']);
    expect(ok.code, ok.stdout + ok.stderr).toBe(0);
    must(w.gw.admin(['target', 'add', 'weak', '--kind', 'ssh', '--host', '127.0.0.1', '--port', String(w.host.port),
      '--account', w.host.weakProvisioner.user, '--password-stdin', '--host-key', w.host.hostKeyFingerprint, '--credential', 'ephemeral',
      '--level', 'user=', '--level', 'admin=pcgrp_admin'], `${w.host.weakProvisioner.password}\n`));
    const weak = w.gw.admin(['target', 'test', 'weak']);
    expect(weak.code).not.toBe(0);
    expect(weak.stdout + weak.stderr).toContain('/usr/sbin/userdel --remove not allowed');
    expect(weak.stdout + weak.stderr).toContain('pcgrp_admin (level admin) not allowed');
    expect(weak.stdout + weak.stderr + w.gw.log()).not.toContain(w.host.weakProvisioner.password);
    must(w.gw.admin(['target', 'remove', 'weak', '--force']));
  });

  it('logs alice in as a pcx_ user without the admin group, and bob at +admin with it', async () => {
    w.grant('alice', 'web', '30m');
    w.grant('bob', 'web', '30m', 'admin');
    const a = await w.ssh('alice', 'alice+web', 'whoami; id -Gn');
    expect(a.status, a.stderr).toBe(0);
    const [aName, aGroups] = a.stdout.trim().split('\n');
    expect(aName).toMatch(/^pcx_[a-z2-7]{12}$/);
    expect(aGroups!.split(' ')).not.toContain('pcgrp_admin');
    // While bob's user is created and logged in: what any local user sees in `ps` never holds a secret.
    const samples: string[] = [];
    const sampler = setInterval(() => { samples.push(spawnSync('ps', ['-eo', 'args'], { encoding: 'utf8' }).stdout); }, 15);
    const b = await w.ssh('bob', 'bob+web+admin', 'whoami; id -Gn').finally(() => clearInterval(sampler));
    expect(samples.length).toBeGreaterThan(5);
    // The samples did overlap the login (the client's own command line is in them).
    expect(samples.some((x) => x.includes('bob+web+admin@127.0.0.1'))).toBe(true);
    const ps = samples.join('\n');
    expect(ps).not.toContain(w.host.provisioner.password);
    expect(ps).not.toMatch(/PRIVATE KEY|b3BlbnNzaC1rZXktdjE/);
    expect(b.status, b.stderr).toBe(0);
    const [bName, bGroups] = b.stdout.trim().split('\n');
    expect(bName).toMatch(/^pcx_[a-z2-7]{12}$/);
    expect(bName).not.toBe(aName);
    expect(bGroups!.split(' ')).toContain('pcgrp_admin');
    expect(w.ephemeral('web').map((e) => e.account)).toEqual(expect.arrayContaining([aName, bName]));
  });

  it('revoking alice cuts her session and removes her user, its processes and its home', async () => {
    const s = w.sshLong('alice', 'alice+web', 'echo started; exec sleep 1000');
    const account = await w.liveAccountOf('web', 'alice');
    await waitFor('the session to start', () => run('pgrep', ['-u', account, '-f', '^sleep 1000$']).status === 0, 20_000);
    const pids = runOk('pgrep', ['-u', account]).trim().split('\n');
    expect(homeExists(account)).toBe(true);
    const g = w.ephemeral('web').find((e) => e.account === account)!.grant;
    must(w.gw.admin(['grant', 'revoke', g, '--reason', 'e2e']));
    const t0 = Date.now();
    expect(await s.ended).not.toBe(0);
    await waitFor('the OS user to be gone', () => !userExists(account), 10_000);
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(run('getent', ['passwd', account]).status).not.toBe(0);
    for (const pid of pids) expect(run('kill', ['-0', pid]).status, `process ${pid}`).not.toBe(0);
    expect(homeExists(account)).toBe(false);
  });

  it('keeps the home on a target with --keep-home', async () => {
    w.addEphemeralTarget('web-keep', ['--keep-home']);
    const g = w.grant('alice', 'web-keep', '30m');
    const r = await w.ssh('alice', 'alice+web-keep', 'whoami; echo kept > ~/note');
    expect(r.status, r.stderr).toBe(0);
    const account = r.stdout.trim();
    must(w.gw.admin(['grant', 'revoke', g, '--reason', 'e2e']));
    await waitFor('the OS user to be gone', () => !userExists(account), 10_000);
    expect(readFileSync(`/home/${account}/note`, 'utf8')).toBe('kept\n');
    run('rm', ['-rf', `/home/${account}`]);
  });

  it('the gateway log holds no provisioner password and no ephemeral key', () => {
    const log = w.gw.log();
    expect(log.length).toBeGreaterThan(1000);
    expect(log).not.toContain(w.host.provisioner.password);
    expect(log).not.toContain(w.host.weakProvisioner.password);
    expect(log).not.toMatch(/PRIVATE KEY|b3BlbnNzaC1rZXktdjE/);
  });
});
