// A host for the SSH provisioner's e2e test: a real sshd reading ~/.ssh/authorized_keys, a
// provisioner OS user allowed through sudo exactly the documented lines (gateway/ssh/sudo-rules.ts,
// checked with `visudo -cf`), a second provisioner missing some of them, the level groups
// pcgrp_user/pcgrp_admin, and two static accounts to rotate (one with a password, one with a key).
// Names carry a per-run suffix; cleanup() removes every user, group, sudoers file and ephemeral
// user (pcx_*, found by this run's grant-id marker in their comment) that this run made.
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sudoersLines } from '../../gateway/ssh/sudo-rules.js';
import { newHostKeyPair } from '../../gateway/ssh/host-key.js';
import { type Proc, portOpen, requireBinary, run, runOk, startProc, tempDir, waitFor, withFreshPort } from './common.js';

export const LEVEL_GROUPS = ['pcgrp_user', 'pcgrp_admin'];

export interface ProvisionerHost {
  port: number;
  hostKeyFingerprint: string;
  dir: string;
  /** Grant ids to use: this run's marker, so cleanup finds the users made with them. */
  grantId(n: number): string;
  provisioner: { user: string; password: string };
  /** A provisioner whose sudoers lack the userdel line and the pcgrp_admin group. */
  weakProvisioner: { user: string; password: string };
  passwordAccount: { user: string; password: string };
  keyAccount: { user: string; privateKey: string; publicKey: string };
  /** Makes an OS user outside the provisioner (discovery's "behind the gateway's back"); removed by cleanup. */
  addForeignUser(name: string, args: string[]): void;
  /** Runs a command as the given OS user (runuser, no shell), for sudo checks. */
  runAs(user: string, argv: string[]): { status: number; stdout: string; stderr: string };
  cleanup(): Promise<void>;
}

const ephemeralUsersOfRun = (marker: string): string[] =>
  readFileSync('/etc/passwd', 'utf8').split('\n').map((l) => l.split(':'))
    .filter((f) => /^pcx_[a-z2-7]{12}$/.test(f[0] ?? '') && (f[4] ?? '').includes(marker)).map((f) => f[0]!);

function removeUser(name: string, opts: { killProcesses: boolean }): void {
  if (run('id', ['-u', name]).status !== 0) return;
  if (opts.killProcesses) for (let i = 0; i < 10 && run('pkill', ['-KILL', '-u', name]).status === 0; i++) runOk('sleep', ['0.1']);
  const home = runOk('getent', ['passwd', name]).split(':')[5] ?? '';
  run('userdel', ['-f', name]);
  if (/^\/home\/[a-z0-9_]+$/.test(home)) rmSync(home, { recursive: true, force: true });
  run('groupdel', [name]);
}

export async function startProvisionerHost(): Promise<ProvisionerHost> {
  const sshd = requireBinary('openssh-server', '/usr/sbin/sshd');
  const keygen = requireBinary('openssh-client', 'ssh-keygen');
  requireBinary('sudo', '/usr/bin/sudo');
  const suffix = randomBytes(3).toString('hex');
  const marker = `gr_pctest${suffix}`;
  const dir = tempDir('sshprov');
  let proc: Proc | null = null;
  const made: { users: string[]; groups: string[]; sudoers: string[]; foreign: string[] } = { users: [], groups: [], sudoers: [], foreign: [] };

  const cleanup = async (): Promise<void> => {
    for (const u of ephemeralUsersOfRun(marker)) removeUser(u, { killProcesses: true });
    // Foreign users may share uid 0: never pkill them (that would kill root's processes).
    for (const u of made.foreign) removeUser(u, { killProcesses: false });
    for (const u of made.users) removeUser(u, { killProcesses: true });
    for (const f of made.sudoers) rmSync(f, { force: true });
    for (const g of made.groups) run('groupdel', [g]);
    await proc?.stop();
  };

  try {
    // The level groups are shared by every test file that starts a host, possibly at the same time:
    // they are made once and left in place (removing them at one file's end broke another's run).
    for (const g of LEVEL_GROUPS) {
      if (run('getent', ['group', g]).status !== 0) run('groupadd', [g]);
    }
    const addUser = (name: string, password: string | null): void => {
      runOk('useradd', ['--create-home', '--shell', '/bin/bash', name]);
      made.users.push(name);
      if (password !== null) runOk('chpasswd', [], { input: `${name}:${password}\n` });
      // A key-only account: no password, but not locked ("!"), which sshd without PAM refuses.
      else runOk('usermod', ['-p', '*', name]);
    };
    const secret = (): string => `Pw-${randomBytes(12).toString('base64url')}`;
    const provisioner = { user: `pcpv_${suffix}`, password: secret() };
    const weakProvisioner = { user: `pcpn_${suffix}`, password: secret() };
    const passwordAccount = { user: `pcrp_${suffix}`, password: secret() };
    const kp = newHostKeyPair();
    const keyAccount = { user: `pcrk_${suffix}`, privateKey: kp.private, publicKey: kp.public.trim() };
    addUser(provisioner.user, provisioner.password);
    addUser(weakProvisioner.user, weakProvisioner.password);
    addUser(passwordAccount.user, passwordAccount.password);
    addUser(keyAccount.user, null);
    const keyHome = `/home/${keyAccount.user}`;
    mkdirSync(join(keyHome, '.ssh'), { mode: 0o700 });
    writeFileSync(join(keyHome, '.ssh', 'authorized_keys'), keyAccount.publicKey + '\n', { mode: 0o600 });
    runOk('chown', ['-R', `${keyAccount.user}:${keyAccount.user}`, join(keyHome, '.ssh')]);

    const writeSudoers = (name: string, lines: string[]): void => {
      const tmp = join(dir, name);
      writeFileSync(tmp, lines.join('\n') + '\n', { mode: 0o440 });
      runOk('visudo', ['-cf', tmp]);
      const path = `/etc/sudoers.d/${name}`;
      made.sudoers.push(path);
      writeFileSync(path, lines.join('\n') + '\n', { mode: 0o440 });
      chmodSync(path, 0o440);
    };
    writeSudoers(`portcullis-test-${suffix}`, sudoersLines(provisioner.user, LEVEL_GROUPS));
    writeSudoers(`portcullis-test-weak-${suffix}`, sudoersLines(weakProvisioner.user, ['pcgrp_user']).filter((l) => !l.includes('/usr/sbin/userdel')));

    mkdirSync('/run/sshd', { recursive: true });
    const hostKey = join(dir, 'host_ed25519');
    runOk(keygen, ['-q', '-t', 'ed25519', '-N', '', '-f', hostKey]);
    const fp = runOk(keygen, ['-l', '-f', hostKey + '.pub']).split(' ')[1]!;
    const config = join(dir, 'sshd_config');
    const port = await withFreshPort(async (p) => {
      writeFileSync(config, [
        `Port ${p}`, 'ListenAddress 127.0.0.1', `HostKey ${hostKey}`, `PidFile ${join(dir, 'sshd.pid')}`,
        'UsePAM no', 'PasswordAuthentication yes', 'KbdInteractiveAuthentication no', 'PubkeyAuthentication yes',
        'AuthorizedKeysFile .ssh/authorized_keys', 'StrictModes yes', 'PermitRootLogin no',
        `AllowUsers pcpv_${suffix} pcpn_${suffix} pcrp_${suffix} pcrk_${suffix} pcx_*`, 'LogLevel VERBOSE', 'MaxStartups 100:30:200', '',
      ].join('\n'));
      const started = startProc(sshd, ['-D', '-e', '-f', config]);
      try {
        await waitFor('sshd to listen', () => portOpen(p), 20_000, started);
      } catch (err) {
        await started.stop();
        throw err;
      }
      proc = started;
      return p;
    });
    return {
      port, hostKeyFingerprint: fp, dir, provisioner, weakProvisioner, passwordAccount, keyAccount,
      grantId: (n) => `${marker}_${n}`,
      addForeignUser: (name, args) => {
        made.foreign.push(name);
        runOk('useradd', [...args, name]);
      },
      runAs: (user, argv) => run('runuser', ['-u', user, '--', ...argv]),
      cleanup,
    };
  } catch (err) {
    await cleanup();
    throw err;
  }
}

/** Whether an OS user exists now. */
export const userExists = (name: string): boolean => run('id', ['-u', name]).status === 0;
export const homeExists = (name: string): boolean => existsSync(`/home/${name}`);
