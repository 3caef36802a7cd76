// Rotation and discovery of SSH targets through the built gateway and the CLI, against a real sshd:
// `portcullis target rotate` of a static password account (`--rotate off`) makes the old password
// fail a direct `sshpass ssh` login while a session through the gateway still works, and of a key
// account makes the old key fail directly; `portcullis discover --json` on an ephemeral target
// lists a uid-0 user and a sudo-group member made behind the gateway's back as unmanaged, and the
// provisioner and a live ephemeral user as managed. Every OS user made here is removed in afterAll.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireBinary, run } from '../harness/common.js';
import { json } from '../harness/gateway.js';
import { type EphemeralSshWorld, must, startEphemeralSshWorld } from '../harness/ssh-ephemeral-gw.js';
import type { DiscoveryFindingView } from '../../gateway/api-types.js';

let w: EphemeralSshWorld;

beforeAll(async () => {
  w = await startEphemeralSshWorld();
  w.addUser('alice');
}, 90_000);

afterAll(async () => { await w?.cleanup(); }, 60_000);

const directOpts = (): string[] => ['-p', String(w.host.port), '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null',
  '-o', 'LogLevel=ERROR', '-o', 'ConnectTimeout=10'];

/** A direct password login to the sshd (not through the gateway). */
function directPassword(user: string, password: string): number {
  const sshpass = requireBinary('sshpass', 'sshpass');
  return run(sshpass, ['-e', 'ssh', ...directOpts(), '-o', 'PubkeyAuthentication=no', '-o', 'PreferredAuthentications=password', `${user}@127.0.0.1`, 'true'],
    { env: { ...process.env, SSHPASS: password } }).status;
}

/** A direct key login to the sshd. */
function directKey(user: string, privateKey: string): number {
  const file = join(w.dir, `direct-${Math.random().toString(36).slice(2)}`);
  writeFileSync(file, privateKey.endsWith('\n') ? privateKey : privateKey + '\n', { mode: 0o600 });
  return run('ssh', ['-i', file, ...directOpts(), '-o', 'BatchMode=yes', '-o', 'IdentitiesOnly=yes', `${user}@127.0.0.1`, 'true']).status;
}

describe('rotation of static SSH credentials', () => {
  it('a password account: the old password fails directly, and a session through the gateway works', async () => {
    const { user, password } = w.host.passwordAccount;
    must(w.gw.admin(['target', 'add', 'rotp', '--kind', 'ssh', '--host', '127.0.0.1', '--port', String(w.host.port), '--account', user,
      '--password-stdin', '--host-key', w.host.hostKeyFingerprint, '--rotate', 'off'], `${password}\n`));
    expect(directPassword(user, password)).toBe(0);
    const r = w.gw.admin(['target', 'rotate', 'rotp']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout + r.stderr).not.toContain(password);
    expect(directPassword(user, password)).not.toBe(0);
    w.grant('alice', 'rotp', '10m');
    const s = await w.ssh('alice', 'alice+rotp', 'whoami');
    expect(s.status, s.stderr).toBe(0);
    expect(s.stdout.trim()).toBe(user);
    expect(w.gw.log()).not.toContain(password);
  });

  it('a key account: after rotation the old key fails directly, and a session through the gateway works', async () => {
    const { user, privateKey } = w.host.keyAccount;
    const keyFile = join(w.dir, 'rotk_key');
    writeFileSync(keyFile, privateKey, { mode: 0o600 });
    must(w.gw.admin(['target', 'add', 'rotk', '--kind', 'ssh', '--host', '127.0.0.1', '--port', String(w.host.port), '--account', user,
      '--key-file', keyFile, '--host-key', w.host.hostKeyFingerprint, '--rotate', 'off']));
    expect(directKey(user, privateKey)).toBe(0);
    const r = w.gw.admin(['target', 'rotate', 'rotk']);
    expect(r.code, r.stderr).toBe(0);
    expect(directKey(user, privateKey)).not.toBe(0);
    expect(r.stdout + r.stderr + w.gw.log()).not.toMatch(/PRIVATE KEY|b3BlbnNzaC1rZXktdjE/);
    w.grant('alice', 'rotk', '10m');
    const s = await w.ssh('alice', 'alice+rotk', 'whoami');
    expect(s.status, s.stderr).toBe(0);
    expect(s.stdout.trim()).toBe(user);
  });
});

describe('discovery on an ephemeral SSH target', () => {
  it('lists accounts made behind the gateway\'s back as unmanaged, the provisioner and a live ephemeral user as managed', async () => {
    w.addEphemeralTarget('web');
    const suffix = w.host.provisioner.user.slice(5);
    const zero = `sneaky0_${suffix}`;
    const sudoer = `pcsg_${suffix}`;
    w.host.addForeignUser(zero, ['-o', '-u', '0', '-g', '0', '-M', '-d', '/nonexistent', '-s', '/usr/sbin/nologin']);
    w.host.addForeignUser(sudoer, ['-M', '-G', 'sudo', '-s', '/bin/bash']);
    w.grant('alice', 'web', '10m');
    const s = w.sshLong('alice', 'alice+web', 'exec sleep 1000');
    const account = await w.liveAccountOf('web', 'alice');
    const found = json<DiscoveryFindingView[]>(w.gw.admin(['discover', 'web', '--json']));
    const row = (a: string): DiscoveryFindingView | undefined => found.find((f) => f.account === a);
    expect(row(zero)).toMatchObject({ managed: false });
    expect(row(zero)?.privileges).toContain('uid-0');
    expect(row(sudoer)).toMatchObject({ managed: false });
    expect(row(sudoer)?.privileges).toContain('sudo-group:sudo');
    expect(row(w.host.provisioner.user)).toMatchObject({ managed: true });
    expect(row(account), `live ephemeral ${account} in ${JSON.stringify(found.map((f) => f.account))}`).toMatchObject({ managed: true });
    s.child.kill('SIGKILL');
  });
});
